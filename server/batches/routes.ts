import { createRoute, z } from '@hono/zod-openapi';
import { ConflictError } from '../errors.ts';
import { allow, signedIn } from '../http/guards.ts';
import { ctxOf, type RouteDeps } from '../http/deps.ts';
import { conflictResponse, errorResponses, json, tooLargeResponse } from '../http/openapi.ts';
import { newRouter } from '../http/router.ts';
import { idParam } from '../http/schemas.ts';
import { approveBatch, cancelBatch, rejectBatch, submitBatch } from './approvals.ts';
import { amendBudget, listBudgets } from './budgets.ts';
import { buildBatch, rebuildBatch } from './build.ts';
import type { BatchDeps } from './deps.ts';
import { releaseBatch } from './release.ts';
import {
  activationListQuery,
  activationSchema,
  amendBody,
  approveBody,
  batchListQuery,
  batchSchema,
  batchSummarySchema,
  budgetSchema,
  lineQuery,
  linesPageSchema,
  reasonBody,
} from './schema.ts';
import { BUDGET_READERS, getActivation, getBatch, listActivations, listBatches, listLines } from './service.ts';

const tags = ['Batches'];
const conflict = { 409: conflictResponse };
/** Routes with a body may meet the body limit. */
const withBody = { 409: conflictResponse, 413: tooLargeResponse };
const body = <T extends z.ZodType>(schema: T) => ({ body: { content: { 'application/json': { schema } }, required: true } });

type BudgetView = Awaited<ReturnType<typeof listBudgets>>[number];
const toBudget = (b: BudgetView) => ({
  id: b.id,
  ruleId: b.ruleId,
  programme: b.programme,
  agency: b.agency,
  jurisdiction: b.jurisdiction,
  ceilingPkr: b.ceilingPkr,
  committedPkr: b.committedPkr,
  releasedPkr: b.releasedPkr,
  headroomPkr: b.headroomPkr,
  openedAt: b.openedAt.toISOString(),
  amendments: b.amendments.map((a) => ({
    ceilingBeforePkr: a.ceilingBeforePkr,
    ceilingAfterPkr: a.ceilingAfterPkr,
    reason: a.reason,
    reference: a.reference,
    madeBy: a.madeBy,
    madeAt: a.madeAt.toISOString(),
  })),
});

/** Activations, batches and budget lines: the money decision, from a fired rule to a released batch. */
export function batchRoutes(deps: RouteDeps, batches: BatchDeps) {
  const show = async (c: Parameters<typeof ctxOf>[0], id: string) => getBatch(ctxOf(c, deps), id, deps.registry.policy);
  return newRouter()
    .openapi(
      createRoute({
        method: 'get',
        path: '/api/activations',
        tags,
        summary: 'Activations whose areas touch your jurisdiction, newest first, with their batches',
        middleware: [signedIn],
        request: { query: activationListQuery },
        responses: { 200: json(z.object({ total: z.number().int(), items: z.array(activationSchema) }), 'Activations'), ...errorResponses },
      }),
      async (c) => {
        const { total, items } = await listActivations(ctxOf(c, deps), c.req.valid('query'), deps.registry.policy);
        return c.json({ total, items: items.map(({ visible: _v, ...a }) => a) }, 200);
      },
    )
    .openapi(
      createRoute({
        method: 'get',
        path: '/api/activations/{id}',
        tags,
        summary: 'One activation, with its batches',
        middleware: [signedIn],
        request: { params: idParam },
        responses: { 200: json(activationSchema, 'The activation'), ...errorResponses },
      }),
      async (c) => {
        const { visible: _v, ...a } = await getActivation(ctxOf(c, deps), c.req.valid('param').id, deps.registry.policy);
        return c.json(a, 200);
      },
    )
    .openapi(
      createRoute({
        method: 'post',
        path: '/api/activations/{id}/batches',
        tags,
        summary: 'Build the batch of an activation by hand (a draft, or a prepared list for readiness); 409 if it has a live one',
        middleware: [allow('program_manager')],
        request: { params: idParam },
        responses: { 201: json(batchSchema, 'The new batch'), ...errorResponses, ...conflict },
      }),
      async (c) => {
        const ctx = ctxOf(c, deps);
        const id = c.req.valid('param').id;
        await getActivation(ctx, id);
        const built = await buildBatch(ctx, { activationId: id }, batches);
        if (!built!.created) throw new ConflictError(`Activation ${id} already has batch ${built!.batch.id} (${built!.batch.status}); rebuild that draft instead.`);
        return c.json(await show(c, built!.batch.id), 201);
      },
    )
    .openapi(
      createRoute({
        method: 'get',
        path: '/api/batches',
        tags,
        summary: 'Batches touching your jurisdiction, newest first',
        middleware: [signedIn],
        request: { query: batchListQuery },
        responses: { 200: json(z.object({ total: z.number().int(), items: z.array(batchSummarySchema) }), 'Batches'), ...errorResponses },
      }),
      async (c) => c.json(await listBatches(ctxOf(c, deps), c.req.valid('query'), deps.registry.policy), 200),
    )
    .openapi(
      createRoute({
        method: 'get',
        path: '/api/batches/{id}',
        tags,
        summary: 'One batch: rule, incident, hash, figures, totals by district and payer, budget headroom, approval steps',
        middleware: [signedIn],
        request: { params: idParam },
        responses: { 200: json(batchSchema, 'The batch, as far as your jurisdiction reaches'), ...errorResponses },
      }),
      async (c) => c.json(await show(c, c.req.valid('param').id), 200),
    )
    .openapi(
      createRoute({
        method: 'get',
        path: '/api/batches/{id}/lines',
        tags,
        summary: 'The lines of a batch in your jurisdiction, paged and searchable (CNIC masked; the read is audited)',
        middleware: [allow('program_manager', 'finance_officer')],
        request: { params: idParam, query: lineQuery },
        responses: { 200: json(linesPageSchema, 'Lines'), ...errorResponses },
      }),
      async (c) => c.json(await listLines(ctxOf(c, deps), c.req.valid('param').id, c.req.valid('query')), 200),
    )
    .openapi(
      createRoute({
        method: 'post',
        path: '/api/batches/{id}/rebuild',
        tags,
        summary: 'Build a draft again from the registry as it is now',
        middleware: [allow('program_manager')],
        request: { params: idParam },
        responses: { 200: json(batchSchema, 'The rebuilt batch'), ...errorResponses, ...conflict },
      }),
      async (c) => {
        const row = await rebuildBatch(ctxOf(c, deps), { batchId: c.req.valid('param').id }, batches);
        return c.json(await show(c, row.id), 200);
      },
    )
    .openapi(
      createRoute({
        method: 'post',
        path: '/api/batches/{id}/submit',
        tags,
        summary: 'Send a draft for approval; the rule\u2019s tier for its total fixes the steps',
        middleware: [allow('program_manager')],
        request: { params: idParam },
        responses: { 200: json(batchSchema, 'The submitted batch'), ...errorResponses, ...conflict },
      }),
      async (c) => {
        const row = await submitBatch(ctxOf(c, deps), { id: c.req.valid('param').id }, batches.approvals);
        return c.json(await show(c, row.id), 200);
      },
    )
    .openapi(
      createRoute({
        method: 'post',
        path: '/api/batches/{id}/approve',
        tags,
        summary: 'Sign the next step you may sign (never your own batch, once per round)',
        middleware: [allow('program_manager', 'finance_officer')],
        request: { params: idParam, ...body(approveBody) },
        responses: { 200: json(batchSchema, 'The batch after your signature'), ...errorResponses, ...withBody },
      }),
      async (c) => {
        const row = await approveBatch(ctxOf(c, deps), { id: c.req.valid('param').id, ...c.req.valid('json') });
        return c.json(await show(c, row.id), 200);
      },
    )
    .openapi(
      createRoute({
        method: 'post',
        path: '/api/batches/{id}/reject',
        tags,
        summary: 'Send a submitted batch back to draft, with a reason',
        middleware: [allow('program_manager', 'finance_officer')],
        request: { params: idParam, ...body(reasonBody) },
        responses: { 200: json(batchSchema, 'The batch, back in draft'), ...errorResponses, ...withBody },
      }),
      async (c) => {
        const row = await rejectBatch(ctxOf(c, deps), { id: c.req.valid('param').id, ...c.req.valid('json') });
        return c.json(await show(c, row.id), 200);
      },
    )
    .openapi(
      createRoute({
        method: 'post',
        path: '/api/batches/{id}/cancel',
        tags,
        summary: 'Cancel a batch before release: its lines are cancelled and their reservations freed',
        middleware: [allow('program_manager')],
        request: { params: idParam, ...body(reasonBody) },
        responses: { 200: json(batchSchema, 'The cancelled batch'), ...errorResponses, ...withBody },
      }),
      async (c) => {
        const row = await cancelBatch(ctxOf(c, deps), { id: c.req.valid('param').id, ...c.req.valid('json') });
        return c.json(await show(c, row.id), 200);
      },
    )
    .openapi(
      createRoute({
        method: 'post',
        path: '/api/batches/{id}/release',
        tags,
        summary: 'Release your jurisdiction\u2019s share of an approved batch against its budget line (409 with the shortfall when the ceiling cannot hold it)',
        middleware: [allow('finance_officer')],
        request: { params: idParam },
        responses: { 200: json(batchSchema, 'The batch after the release'), ...errorResponses, ...conflict },
      }),
      async (c) => {
        const row = await releaseBatch(ctxOf(c, deps), { id: c.req.valid('param').id });
        return c.json(await show(c, row.id), 200);
      },
    )
    .openapi(
      createRoute({
        method: 'get',
        path: '/api/budgets',
        tags,
        summary: 'Budget lines you may see: ceiling, committed, released, headroom and every amendment',
        middleware: [allow(...BUDGET_READERS)],
        responses: { 200: json(z.object({ items: z.array(budgetSchema) }), 'Budget lines'), ...errorResponses },
      }),
      async (c) => c.json({ items: (await listBudgets(ctxOf(c, deps))).map(toBudget) }, 200),
    )
    .openapi(
      createRoute({
        method: 'post',
        path: '/api/budgets/{id}/amend',
        tags,
        summary: 'Change a budget line\u2019s ceiling with a reason and a reference (never below what is released)',
        middleware: [allow('finance_officer')],
        request: { params: idParam, ...body(amendBody) },
        responses: { 200: json(budgetSchema, 'The budget line after the amendment'), ...errorResponses, ...withBody },
      }),
      async (c) => {
        const ctx = ctxOf(c, deps);
        const { id } = c.req.valid('param');
        await amendBudget(ctx, { id, ...c.req.valid('json') });
        return c.json(toBudget((await listBudgets(ctx)).find((b) => b.id === id)!), 200);
      },
    );
}
