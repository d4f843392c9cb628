import { createRoute, z } from '@hono/zod-openapi';
import type { BatchDeps } from '../batches/deps.ts';
import { ValidationError } from '../errors.ts';
import { allow } from '../http/guards.ts';
import { ctxOf, type RouteDeps } from '../http/deps.ts';
import { conflictResponse, errorResponses, json, tooLargeResponse } from '../http/openapi.ts';
import { newRouter } from '../http/router.ts';
import { idParam } from '../http/schemas.ts';
import { agreementState, createAgreement, getAgreement, listAgreements, revokeAgreement, signAgreement, type Agreement, type Share } from './agreements.ts';
import { decideChangeSet, getChangeSet, stageChangeSet } from './changes.ts';
import { downloadExport, getExport, makeExport, manifestOf, type ExportRow } from './export.ts';
import { registryOverlap } from './overlap.ts';
import { importExternalPayments } from './payments.ts';
import {
  agreementBody,
  agreementSchema,
  changeQuery,
  changeReportSchema,
  changeSetSchema,
  decidedSchema,
  decisionsBody,
  exportQuery,
  manifestSchema,
  overlapQuery,
  overlapSchema,
  paymentImportSchema,
  revokeBody,
  signBody,
  signedSchema,
} from './schema.ts';

const tags = ['Registry exchange'];
const body = <T extends z.ZodType>(schema: T) => ({ body: { content: { 'application/json': { schema } }, required: true } });
const csvBody = { body: { content: { 'text/csv': { schema: z.string() } }, required: true } };
const readers = ['program_manager', 'auditor', 'admin'] as const;

export function toAgreement(a: Agreement, now: Date) {
  return {
    id: a.id,
    title: a.title,
    partyA: a.partyA,
    partyB: a.partyB,
    purpose: a.purpose as 'dedup',
    jurisdiction: a.jurisdiction,
    linkage: a.linkage as 'pseudonymous',
    shares: a.shares as Share[],
    validFrom: a.validFrom.toISOString(),
    validTo: a.validTo.toISOString(),
    state: agreementState(a, now),
    madeBy: a.madeBy,
    madeAt: a.madeAt.toISOString(),
    signatures: [
      ...(a.signedABy ? [{ party: a.partyA, by: a.signedABy, at: a.signedAAt!.toISOString() }] : []),
      ...(a.signedBBy ? [{ party: a.partyB, by: a.signedBBy, at: a.signedBAt!.toISOString() }] : []),
    ],
    revoked: a.revokedAt ? { by: a.revokedBy!, at: a.revokedAt.toISOString(), reason: a.revokeReason ?? '' } : null,
  };
}

/** Bytes as a web stream, pulled as the client reads. */
function streamOf(bytes: AsyncIterable<Buffer>): ReadableStream<Uint8Array> {
  const it = bytes[Symbol.asyncIterator]();
  return new ReadableStream({
    async pull(controller) {
      const next = await it.next();
      if (next.done) controller.close();
      else controller.enqueue(new Uint8Array(next.value));
    },
    async cancel() {
      await it.return?.();
    },
  });
}

const fileHeaders = (e: ExportRow) => ({
  'content-type': e.format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8',
  'content-disposition': `attachment; filename="madad-${e.source.toLowerCase()}-${e.id.slice(0, 8)}.${e.format}"`,
  'x-madad-export-id': e.id,
  'x-madad-sha256': e.sha256,
  'x-madad-rows': String(e.rows),
  'x-madad-expires-at': e.expiresAt.toISOString(),
  'cache-control': 'no-store',
});

async function csvText(c: { req: { text(): Promise<string> } }, what: string) {
  const text = await c.req.text();
  if (!text.trim()) throw new ValidationError(`The body is empty: send the ${what} as CSV.`, [{ field: 'body', message: 'empty' }]);
  return text;
}

/** Data-sharing agreements, exports and imports under them, joint updates, and the registries' overlap. */
export function exchangeRoutes(deps: RouteDeps, batches: Pick<BatchDeps, 'dedupKey'>) {
  return newRouter()
    .openapi(
      createRoute({
        method: 'post',
        path: '/api/agreements',
        tags,
        summary: 'Draft a data-sharing agreement between two agencies (you are an officer of one); in force once an officer of each other than you has signed',
        middleware: [allow('program_manager')],
        request: body(agreementBody),
        responses: { 201: json(agreementSchema, 'Drafted'), ...errorResponses, 413: tooLargeResponse },
      }),
      async (c) => {
        const b = c.req.valid('json');
        const a = await createAgreement(ctxOf(c, deps), { ...b, validFrom: new Date(b.validFrom), validTo: new Date(b.validTo) });
        return c.json(toAgreement(a, deps.clock()), 201);
      },
    )
    .openapi(
      createRoute({
        method: 'get',
        path: '/api/agreements',
        tags,
        summary: 'The agreements your agency is party to (federal auditors and administrators: all)',
        middleware: [allow(...readers)],
        responses: { 200: json(z.object({ items: z.array(agreementSchema) }), 'Agreements, newest first'), ...errorResponses },
      }),
      async (c) => c.json({ items: (await listAgreements(ctxOf(c, deps))).map((a) => toAgreement(a, deps.clock())) }, 200),
    )
    .openapi(
      createRoute({
        method: 'get',
        path: '/api/agreements/{id}',
        tags,
        summary: 'One agreement: parties, purpose, shares and their fields, jurisdiction, linkage, validity, signatures, state',
        middleware: [allow(...readers)],
        request: { params: idParam },
        responses: { 200: json(agreementSchema, 'The agreement'), ...errorResponses },
      }),
      async (c) => c.json(toAgreement(await getAgreement(ctxOf(c, deps), c.req.valid('param').id), deps.clock()), 200),
    )
    .openapi(
      createRoute({
        method: 'post',
        path: '/api/agreements/{id}/sign',
        tags,
        summary: 'Sign for your agency; the second signature returns the agreement\u2019s key, this once',
        middleware: [allow('program_manager')],
        request: { params: idParam, ...body(signBody) },
        responses: { 200: json(signedSchema, 'Signed'), ...errorResponses, 409: conflictResponse, 413: tooLargeResponse },
      }),
      async (c) => {
        const { agreement, linkKey } = await signAgreement(ctxOf(c, deps), c.req.valid('param').id, c.req.valid('json'));
        return c.json({ agreement: toAgreement(agreement, deps.clock()), ...(linkKey ? { linkKey } : {}) }, 200);
      },
    )
    .openapi(
      createRoute({
        method: 'post',
        path: '/api/agreements/{id}/revoke',
        tags,
        summary: 'Revoke an agreement: every exchange under it stops at once, and its kept exports are deleted',
        middleware: [allow('program_manager')],
        request: { params: idParam, ...body(revokeBody) },
        responses: { 200: json(agreementSchema, 'Revoked'), ...errorResponses, 413: tooLargeResponse },
      }),
      async (c) => c.json(toAgreement(await revokeAgreement(ctxOf(c, deps), c.req.valid('param').id, c.req.valid('json').reason), deps.clock()), 200),
    )
    .openapi(
      createRoute({
        method: 'get',
        path: '/api/agreements/{id}/export',
        tags,
        summary: 'Export the agreed slice of a registry (CSV or NDJSON: the linkage key and only the agreed fields), kept 72 hours for download; headers carry the manifest (audited)',
        middleware: [allow('program_manager')],
        request: { params: idParam, query: exportQuery },
        responses: { 200: { description: 'The file; x-madad-sha256 and x-madad-rows are its manifest', content: { 'text/csv': { schema: z.string() }, 'application/x-ndjson': { schema: z.string() } } }, ...errorResponses, 409: conflictResponse },
      }),
      async (c) => {
        const ctx = ctxOf(c, deps);
        const q = c.req.valid('query');
        const made = await makeExport(ctx, { agreementId: c.req.valid('param').id, ...(q.source ? { source: q.source } : {}), format: q.format });
        const { file, bytes } = await downloadExport(ctx, made.id);
        return c.body(streamOf(bytes), 200, fileHeaders(file)) as never;
      },
    )
    .openapi(
      createRoute({
        method: 'get',
        path: '/api/exchange/exports/{id}',
        tags,
        summary: 'An export\u2019s manifest: sha256, rows, bytes, columns, agreement, made by and at, expiry',
        middleware: [allow(...readers)],
        request: { params: idParam },
        responses: { 200: json(manifestSchema, 'The manifest'), ...errorResponses },
      }),
      async (c) => c.json(manifestOf(await getExport(ctxOf(c, deps), c.req.valid('param').id)), 200),
    )
    .openapi(
      createRoute({
        method: 'get',
        path: '/api/exchange/exports/{id}/file',
        tags,
        summary: 'Download a kept export again, until it expires and while its agreement is in force (audited)',
        middleware: [allow('program_manager')],
        request: { params: idParam },
        responses: { 200: { description: 'The file', content: { 'text/csv': { schema: z.string() }, 'application/x-ndjson': { schema: z.string() } } }, ...errorResponses, 409: conflictResponse },
      }),
      async (c) => {
        const { file, bytes } = await downloadExport(ctxOf(c, deps), c.req.valid('param').id);
        return c.body(streamOf(bytes), 200, fileHeaders(file)) as never;
      },
    )
    .openapi(
      createRoute({
        method: 'post',
        path: '/api/agreements/{id}/payments',
        tags,
        summary: 'Load a payment list of a programme that pays outside Madad (CSV by linkage key); checked whole, applied once; dedup and net-off see it',
        middleware: [allow('program_manager')],
        request: { params: idParam, ...csvBody },
        responses: { 200: json(paymentImportSchema, 'What was matched and held'), ...errorResponses, 409: conflictResponse, 413: tooLargeResponse },
      }),
      async (c) => c.json(await importExternalPayments(ctxOf(c, deps), { agreementId: c.req.valid('param').id, text: await csvText(c, 'payment list') }, batches), 200),
    )
    .openapi(
      createRoute({
        method: 'post',
        path: '/api/agreements/{id}/change-sets',
        tags,
        summary: 'Send a survey\u2019s changes to households of a registry received under the agreement (CSV by linkage key); staged for the registry\u2019s owner to decide',
        middleware: [allow('program_manager')],
        request: { params: idParam, query: changeQuery, ...csvBody },
        responses: { 200: json(changeReportSchema, 'Staged'), ...errorResponses, 409: conflictResponse, 413: tooLargeResponse },
      }),
      async (c) => {
        const q = c.req.valid('query');
        return c.json(await stageChangeSet(ctxOf(c, deps), { agreementId: c.req.valid('param').id, ...(q.source ? { source: q.source } : {}), text: await csvText(c, 'change set') }), 200);
      },
    )
    .openapi(
      createRoute({
        method: 'get',
        path: '/api/change-sets/{id}',
        tags,
        summary: 'A change set, field by field per household (before, after) with each decision',
        middleware: [allow(...readers)],
        request: { params: idParam },
        responses: { 200: json(changeSetSchema, 'The change set'), ...errorResponses },
      }),
      async (c) => {
        const { changeSet: cs, rows } = await getChangeSet(ctxOf(c, deps), c.req.valid('param').id);
        return c.json(
          {
            id: cs.id,
            agreement: cs.agreementId,
            target: cs.target,
            sender: cs.sender,
            jurisdiction: cs.jurisdiction,
            madeBy: cs.madeBy,
            madeAt: cs.madeAt.toISOString(),
            rows: rows.map((r) => ({
              row: r.rowNo,
              householdId: r.householdId,
              area: r.area,
              changes: r.changes as Record<string, { before: number | boolean; after: number | boolean }>,
              decision: r.decision as 'merged' | 'refused' | null,
              decidedBy: r.decidedBy,
              decidedAt: r.decidedAt?.toISOString() ?? null,
              reason: r.reason,
            })),
          },
          200,
        );
      },
    )
    .openapi(
      createRoute({
        method: 'post',
        path: '/api/change-sets/{id}/decisions',
        tags,
        summary: 'Merge or refuse households of a change set (a federal programme manager of the registry\u2019s owner); merged fields record their source',
        middleware: [allow('program_manager')],
        request: { params: idParam, ...body(decisionsBody) },
        responses: { 200: json(decidedSchema, 'Decided'), ...errorResponses, 409: conflictResponse, 413: tooLargeResponse },
      }),
      async (c) => c.json(await decideChangeSet(ctxOf(c, deps), c.req.valid('param').id, c.req.valid('json').decisions), 200),
    )
    .openapi(
      createRoute({
        method: 'get',
        path: '/api/registry/overlap',
        tags,
        summary: 'Households in both of two registries and in one only, by district and tehsil; PMT and place differences; pairs more than 5 km apart (audited)',
        middleware: [allow(...readers)],
        request: { query: overlapQuery },
        responses: { 200: json(overlapSchema, 'The overlap'), ...errorResponses },
      }),
      async (c) => {
        const q = c.req.valid('query');
        const [a, b] = q.sources.split(',') as [string, string];
        return c.json(await registryOverlap(ctxOf(c, deps), { sources: [a, b], area: q.area }), 200);
      },
    );
}
