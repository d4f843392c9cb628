import { createRoute, z } from '@hono/zod-openapi';
import { allow, signedIn } from '../http/guards.ts';
import { ctxOf, type RouteDeps } from '../http/deps.ts';
import { conflictResponse, errorResponses, json, tooLargeResponse } from '../http/openapi.ts';
import { newRouter } from '../http/router.ts';
import { idParam } from '../http/schemas.ts';
import { exportPlan } from './export.ts';
import { incidentOfEvent } from './incident.ts';
import {
  acceptBody,
  createActionBody,
  exportQuery,
  incidentParam,
  planActionSchema,
  planProgressSchema,
  planSchema,
  planSummarySchema,
  reassignBody,
  updateActionBody,
} from './schema.ts';
import { acceptAction, ACCEPTORS, createAction, getAction, getPlan, PLANNERS, reassignAction, UPDATERS, updateAction } from './service.ts';
import { planProgress, planSummary } from './summary.ts';

const tags = ['Plan'];
const withBody = { 409: conflictResponse, 413: tooLargeResponse };
const body = <T extends z.ZodType>(schema: T) => ({ body: { content: { 'application/json': { schema } }, required: true } });
const levelQuery = z.object({
  level: z.coerce
    .number()
    .int()
    .refine((n) => n === 1 || n === 2 || n === 3, 'level is 1 (province), 2 (district) or 3 (tehsil)')
    .optional()
    .openapi({ description: 'Count by province (1), district (2) or tehsil (3); by the codes as written when left out' }),
});

/**
 * The joint response plan of an incident: its actions (pre-agreed ones copied from the rules that fired,
 * ones officers added, and its batches as cash actions), their updates and acceptance, the coordination
 * summary across open incidents, per-area progress for the map, and exports (CSV with HXL, GeoJSON).
 */
export function planRoutes(deps: RouteDeps) {
  // The ledger's figures are protected for roles without identity access, as the batches show them.
  const figures = () => ({ minCell: deps.registry.policy.minCell });
  return newRouter()
    .openapi(
      createRoute({
        method: 'get',
        path: '/api/events/{id}/plan',
        tags,
        summary: 'The joint response plan of an event\u2019s incident (the event, or the alert chain it names): every action, whoever leads it',
        middleware: [signedIn],
        request: { params: idParam },
        responses: { 200: json(planSchema, 'The plan'), ...errorResponses },
      }),
      async (c) => {
        const ctx = ctxOf(c, deps);
        return c.json(planSchema.parse(await getPlan(ctx, await incidentOfEvent(ctx, c.req.valid('param').id), figures())), 200);
      },
    )
    .openapi(
      createRoute({
        method: 'get',
        path: '/api/incidents/{incident}/plan',
        tags,
        summary: 'The joint response plan of an incident: event:<id> or alert-chain:<id>',
        middleware: [signedIn],
        request: { params: incidentParam },
        responses: { 200: json(planSchema, 'The plan'), ...errorResponses },
      }),
      async (c) => c.json(planSchema.parse(await getPlan(ctxOf(c, deps), c.req.valid('param').incident, figures())), 200),
    )
    .openapi(
      createRoute({
        method: 'post',
        path: '/api/incidents/{incident}/plan/actions',
        tags,
        summary: 'Add an action to the plan, in areas within your jurisdiction, due no earlier than its trigger',
        middleware: [allow(...PLANNERS)],
        request: { params: incidentParam, ...body(createActionBody) },
        responses: { 201: json(planActionSchema, 'The new action'), ...errorResponses, ...withBody },
      }),
      async (c) => c.json(planActionSchema.parse(await createAction(ctxOf(c, deps), c.req.valid('param').incident, c.req.valid('json'))), 201),
    )
    .openapi(
      createRoute({
        method: 'get',
        path: '/api/incidents/{incident}/plan/progress',
        tags,
        summary: 'Plan progress per area, for the map: actions due, done, overdue and blocked, the share of due ones done, and action points',
        middleware: [signedIn],
        request: { params: incidentParam, query: levelQuery },
        responses: { 200: json(planProgressSchema, 'Progress by area'), ...errorResponses },
      }),
      async (c) => {
        const level = c.req.valid('query').level as 1 | 2 | 3 | undefined;
        return c.json(planProgressSchema.parse(await planProgress(ctxOf(c, deps), c.req.valid('param').incident, level)), 200);
      },
    )
    .openapi(
      createRoute({
        method: 'get',
        path: '/api/incidents/{incident}/plan/export',
        tags,
        summary: 'The plan as CSV with an HXL hashtag row (for HDX tools) or as GeoJSON of actions with their areas and points (audited)',
        middleware: [signedIn],
        request: { params: incidentParam, query: exportQuery },
        responses: {
          200: { description: 'CSV (text/csv) or GeoJSON (application/geo+json)', content: { 'text/csv': { schema: z.string() }, 'application/geo+json': { schema: z.object({}).passthrough() } } },
          ...errorResponses,
        },
      }),
      async (c) => {
        const { incident } = c.req.valid('param');
        const out = await exportPlan(ctxOf(c, deps), incident, c.req.valid('query').format, figures());
        const name = `madad-plan-${incident.replace(':', '-').slice(0, 24)}`;
        if (out.format === 'csv')
          return c.body(out.text, 200, { 'content-type': 'text/csv; charset=utf-8', 'content-disposition': `attachment; filename="${name}.csv"`, 'cache-control': 'no-store' }) as never;
        return c.body(JSON.stringify(out.geojson), 200, {
          'content-type': 'application/geo+json; charset=utf-8',
          'content-disposition': `attachment; filename="${name}.geojson"`,
          'cache-control': 'no-store',
        }) as never;
      },
    )
    .openapi(
      createRoute({
        method: 'get',
        path: '/api/plan-actions/{id}',
        tags,
        summary: 'One plan action with its history',
        middleware: [signedIn],
        request: { params: idParam },
        responses: { 200: json(planActionSchema, 'The action'), ...errorResponses },
      }),
      async (c) => c.json(planActionSchema.parse(await getAction(ctxOf(c, deps), c.req.valid('param').id)), 200),
    )
    .openapi(
      createRoute({
        method: 'post',
        path: '/api/plan-actions/{id}/updates',
        tags,
        summary: 'Report on your agency\u2019s action: a status move the machine allows (a reason to block or cancel), figures reached, a note and evidence',
        middleware: [allow(...UPDATERS)],
        request: { params: idParam, ...body(updateActionBody) },
        responses: { 200: json(planActionSchema, 'The action after the update'), ...errorResponses, ...withBody },
      }),
      async (c) => c.json(planActionSchema.parse(await updateAction(ctxOf(c, deps), c.req.valid('param').id, c.req.valid('json'))), 200),
    )
    .openapi(
      createRoute({
        method: 'post',
        path: '/api/plan-actions/{id}/accept',
        tags,
        summary: 'Accept an action assigned to your agency (accepted_by, accepted_at); once',
        middleware: [allow(...ACCEPTORS)],
        request: { params: idParam, body: { content: { 'application/json': { schema: acceptBody } }, required: false } },
        responses: { 200: json(planActionSchema, 'The accepted action'), ...errorResponses, ...withBody },
      }),
      async (c) => {
        const input = c.req.header('content-type')?.includes('json') ? c.req.valid('json') : {};
        return c.json(planActionSchema.parse(await acceptAction(ctxOf(c, deps), c.req.valid('param').id, input)), 200);
      },
    )
    .openapi(
      createRoute({
        method: 'post',
        path: '/api/plan-actions/{id}/reassign',
        tags,
        summary: 'Give an action to another lead agency (an admin); its acceptance is asked again',
        middleware: [allow('admin')],
        request: { params: idParam, ...body(reassignBody) },
        responses: { 200: json(planActionSchema, 'The reassigned action'), ...errorResponses, ...withBody },
      }),
      async (c) => c.json(planActionSchema.parse(await reassignAction(ctxOf(c, deps), c.req.valid('param').id, c.req.valid('json'))), 200),
    )
    .openapi(
      createRoute({
        method: 'get',
        path: '/api/plans/summary',
        tags,
        summary: 'The coordination view: across open incidents, actions due, overdue, blocked, done by incident, agency and area; money committed, released and paid by payer',
        middleware: [signedIn],
        request: { query: levelQuery },
        responses: { 200: json(planSummarySchema, 'The summary'), ...errorResponses },
      }),
      async (c) => c.json(planSummarySchema.parse(await planSummary(ctxOf(c, deps), (c.req.valid('query').level as 1 | 2 | 3 | undefined) ?? 2, figures())), 200),
    );
}
