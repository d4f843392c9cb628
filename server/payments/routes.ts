import { createRoute, z } from '@hono/zod-openapi';
import { ValidationError } from '../errors.ts';
import { allow, signedIn } from '../http/guards.ts';
import { ctxOf, type RouteDeps } from '../http/deps.ts';
import { conflictResponse, errorResponses, json, tooLargeResponse } from '../http/openapi.ts';
import { newRouter } from '../http/router.ts';
import { idParam } from '../http/schemas.ts';
import { downloadPaymentFile, exportPaymentFiles, getPaymentFile, listPaymentFiles, type PaymentFileRow } from './files.ts';
import { eventPayments } from './ledger.ts';
import type { Channel } from './layouts.ts';
import { reconcile } from './reconcile.ts';
import { approveReissue, listReissues, rejectReissue, requestReissue } from './reissue.ts';
import {
  decideBody,
  eventPaymentsSchema,
  instructionParam,
  paymentFileSchema,
  paymentFilesSchema,
  reconciliationReportSchema,
  reissueBody,
  reissueSchema,
  rejectReissueBody,
} from './schema.ts';

const tags = ['Payments'];

const toFile = (f: PaymentFileRow) => ({
  id: f.id,
  batchId: f.batchId,
  kind: f.kind as 'payment' | 'cancellation',
  channel: f.channel as Channel,
  seq: f.seq,
  payers: f.payers as { agency: string; jurisdiction: string; signedFor: string }[],
  sha256: f.sha256,
  count: f.count,
  totalPkr: f.totalPkr,
  madeBy: f.madeBy,
  madeAt: f.madeAt.toISOString(),
  download: `/api/payment-files/${f.id}/csv`,
});

/** An async iterable of text as a web stream, pulled as the client reads: a file is never held whole. */
function streamOf(text: AsyncIterable<string>): ReadableStream<Uint8Array> {
  const it = text[Symbol.asyncIterator]();
  const encoder = new TextEncoder();
  return new ReadableStream({
    async pull(controller) {
      const next = await it.next();
      if (next.done) controller.close();
      else controller.enqueue(encoder.encode(next.value));
    },
    async cancel() {
      await it.return?.();
    },
  });
}

/** Payment files per channel, their download and reconciliation, and the money of an event. */
export function paymentRoutes(deps: RouteDeps) {
  return newRouter()
    .openapi(
      createRoute({
        method: 'post',
        path: '/api/batches/{id}/payment-files',
        tags,
        summary: 'Make the payment files of a released batch (one per channel, only instructions not yet in a file); returns every file of the batch',
        middleware: [allow('finance_officer')],
        request: { params: idParam },
        responses: { 200: json(paymentFilesSchema, 'The files made now and all files of the batch'), ...errorResponses, 409: conflictResponse },
      }),
      async (c) => {
        const { made, files } = await exportPaymentFiles(ctxOf(c, deps), { batchId: c.req.valid('param').id });
        return c.json({ made: made.map(toFile), files: files.map(toFile) }, 200);
      },
    )
    .openapi(
      createRoute({
        method: 'get',
        path: '/api/batches/{id}/payment-files',
        tags,
        summary: 'The payment and cancellation files of a batch made so far (manifests: sha256, count, total PKR); nothing is made',
        middleware: [allow('finance_officer')],
        request: { params: idParam },
        responses: { 200: json(z.object({ files: z.array(paymentFileSchema) }), 'The files of the batch'), ...errorResponses },
      }),
      async (c) => c.json({ files: (await listPaymentFiles(ctxOf(c, deps), c.req.valid('param').id)).map(toFile) }, 200),
    )
    .openapi(
      createRoute({
        method: 'get',
        path: '/api/payment-files/{id}',
        tags,
        summary: 'A payment file\u2019s manifest: sha256, count, total PKR, batch, payers, channel, made by and at',
        middleware: [allow('finance_officer')],
        request: { params: idParam },
        responses: { 200: json(paymentFileSchema, 'The manifest'), ...errorResponses },
      }),
      async (c) => c.json(toFile(await getPaymentFile(ctxOf(c, deps), c.req.valid('param').id)), 200),
    )
    .openapi(
      createRoute({
        method: 'get',
        path: '/api/payment-files/{id}/csv',
        tags,
        summary: 'The file itself (CSV: header, one line per instruction, trailer), streamed; the same bytes every time (audited)',
        middleware: [allow('finance_officer')],
        request: { params: idParam },
        responses: { 200: { description: 'The CSV file; x-madad-sha256 is its hash', content: { 'text/csv': { schema: z.string() } } }, ...errorResponses },
      }),
      async (c) => {
        const { file, text } = await downloadPaymentFile(ctxOf(c, deps), c.req.valid('param').id);
        return c.body(streamOf(text), 200, {
          'content-type': 'text/csv; charset=utf-8',
          'content-disposition': `attachment; filename="madad-${file.kind}-${file.channel}-${file.batchId.slice(0, 8)}-${file.seq}.csv"`,
          'x-madad-sha256': file.sha256,
          'cache-control': 'no-store',
        }) as never;
      },
    )
    .openapi(
      createRoute({
        method: 'post',
        path: '/api/payment-files/{id}/reconciliation',
        tags,
        summary: 'Apply the bank\u2019s answer (CSV by instruction id): checked whole first, applied whole or not at all; the same file twice changes nothing',
        middleware: [allow('finance_officer')],
        request: { params: idParam, body: { content: { 'text/csv': { schema: z.string() } }, required: true } },
        responses: { 200: json(reconciliationReportSchema, 'What moved to which state, and what is outstanding'), ...errorResponses, 409: conflictResponse, 413: tooLargeResponse },
      }),
      async (c) => {
        // Read as it arrives: an answer to a file of a million instructions is checked without holding it.
        const body = c.req.raw.body;
        if (!body || c.req.header('content-length') === '0') throw new ValidationError('The body is empty: send the bank\u2019s reconciliation CSV.', [{ field: 'body', message: 'empty' }]);
        return c.json(await reconcile(ctxOf(c, deps), { fileId: c.req.valid('param').id, text: body as unknown as AsyncIterable<Uint8Array> }), 200);
      },
    )
    .openapi(
      createRoute({
        method: 'get',
        path: '/api/events/{id}/payments',
        tags,
        summary: 'The money of an event by state (reserved, released, exported, paid, failed, …), by programme, district and channel, within your jurisdiction',
        middleware: [signedIn],
        request: { params: idParam },
        responses: { 200: json(eventPaymentsSchema, 'Totals from the one ledger'), ...errorResponses },
      }),
      async (c) => c.json(eventPaymentsSchema.parse(await eventPayments(ctxOf(c, deps), c.req.valid('param').id, deps.registry.policy)), 200),
    )
    .openapi(
      createRoute({
        method: 'post',
        path: '/api/payment-instructions/{id}/reissue',
        tags,
        summary: 'Ask to pay a failed or unclaimed line again (same or another channel and account); a second programme manager decides',
        middleware: [allow('program_manager')],
        request: { params: instructionParam, body: { content: { 'application/json': { schema: reissueBody } }, required: true } },
        responses: { 201: json(reissueSchema, 'The open request'), ...errorResponses, 409: conflictResponse, 413: tooLargeResponse },
      }),
      async (c) => {
        const ctx = ctxOf(c, deps);
        const row = await requestReissue(ctx, { instructionId: c.req.valid('param').id, ...c.req.valid('json') });
        return c.json((await listReissues(ctx, { id: row.id }))[0]!, 201);
      },
    )
    .openapi(
      createRoute({
        method: 'get',
        path: '/api/reissues',
        tags,
        summary: 'Requests to pay again, with the old and the new account side by side (masked)',
        middleware: [allow('program_manager', 'finance_officer')],
        request: { query: z.object({ open: z.enum(['true', 'false']).optional() }) },
        responses: { 200: json(z.object({ items: z.array(reissueSchema) }), 'Requests'), ...errorResponses },
      }),
      async (c) => c.json({ items: await listReissues(ctxOf(c, deps), { open: c.req.valid('query').open === 'true' }) }, 200),
    )
    .openapi(
      createRoute({
        method: 'post',
        path: '/api/reissues/{id}/approve',
        tags,
        summary: 'Approve a request to pay again (not your own): the next attempt is made for the amount already released',
        middleware: [allow('program_manager')],
        request: { params: idParam, body: { content: { 'application/json': { schema: decideBody } }, required: true } },
        responses: { 200: json(reissueSchema, 'The decided request'), ...errorResponses, 409: conflictResponse, 413: tooLargeResponse },
      }),
      async (c) => {
        const ctx = ctxOf(c, deps);
        const row = await approveReissue(ctx, { id: c.req.valid('param').id, ...c.req.valid('json') });
        return c.json((await listReissues(ctx, { id: row.id }))[0]!, 200);
      },
    )
    .openapi(
      createRoute({
        method: 'post',
        path: '/api/reissues/{id}/reject',
        tags,
        summary: 'Refuse a request to pay again, with a reason',
        middleware: [allow('program_manager')],
        request: { params: idParam, body: { content: { 'application/json': { schema: rejectReissueBody } }, required: true } },
        responses: { 200: json(reissueSchema, 'The decided request'), ...errorResponses, 409: conflictResponse, 413: tooLargeResponse },
      }),
      async (c) => {
        const ctx = ctxOf(c, deps);
        const row = await rejectReissue(ctx, { id: c.req.valid('param').id, reason: c.req.valid('json').reason });
        return c.json((await listReissues(ctx, { id: row.id }))[0]!, 200);
      },
    );
}
