import { createRoute, z } from '@hono/zod-openapi';
import { allow, signedIn } from '../http/guards.ts';
import { ctxOf, type RouteDeps } from '../http/deps.ts';
import { errorResponses, json, problemSchema, tooLargeResponse } from '../http/openapi.ts';
import { newRouter } from '../http/router.ts';
import { idParam } from '../http/schemas.ts';
import { dryRun, dryRunBody } from './dry-run.ts';
import { evaluationHistory, getRule, ruleSummary, rulesInForce } from './service.ts';

const tags = ['Rules'];

const problem = (description: string) => ({ description, content: { 'application/problem+json': { schema: problemSchema } } });
/** 503: the inline alert's or stored alert's area could not be answered within MADAD_SPATIAL_BUDGET_MS. */
const areaTooComplexResponse = problem('The area is too complex to answer within MADAD_SPATIAL_BUDGET_MS, or too many area questions are waiting');

/** Rule ids are the kebab-case names of the rule files, not UUIDs. */
const ruleIdParam = z.object({ id: z.string().regex(/^[a-z0-9]+(-[a-z0-9]+)*$/, 'expected a rule id such as flood-relief-2022') });

export const reasonSchema = z.object({
  condition: z.string(),
  observed: z.unknown(),
  threshold: z.unknown(),
  pass: z.boolean(),
  text: z.string(),
  depth: z.number(),
});

export const ruleSummarySchema = z
  .object({
    id: z.string(),
    title: z.string(),
    version: z.string(),
    versionId: z.string(),
    status: z.string(),
    programme: z.string(),
    purpose: z.string(),
    hazards: z.array(z.string()),
    subject: z.string(),
    requiresDeclaration: z.boolean(),
    scope: z.union([z.literal('anywhere'), z.array(z.string())]),
    agreedBy: z.array(z.string()),
    agreedOn: z.string(),
    validFrom: z.string(),
    validTo: z.string().nullable(),
    stages: z.array(z.object({ stage: z.string(), note: z.string().nullable(), when: z.unknown() })),
    money: z.object({ benefit: z.record(z.string(), z.unknown()), ceilingPkr: z.number().int(), payers: z.array(z.object({ agency: z.string(), jurisdiction: z.string(), share_bp: z.number().int() })) }),
  })
  .openapi('RuleSummary');

export const ruleDetailSchema = ruleSummarySchema
  .extend({
    rule: z.record(z.string(), z.unknown()),
    versions: z.array(
      z.object({ id: z.string(), version: z.string(), contentHash: z.string(), sourceFile: z.string().nullable(), loadedAt: z.string(), current: z.boolean(), yaml: z.string() }),
    ),
  })
  .openapi('Rule');

const activationSchema = z.object({
  id: z.string(),
  ruleId: z.string(),
  ruleVersionId: z.string(),
  stage: z.string(),
  status: z.enum(['active', 'stopped']),
  stoppedReason: z.string().nullable(),
  createdAt: z.string(),
  stoppedAt: z.string().nullable(),
});

export const historySchema = z
  .object({
    items: z.array(
      z.object({
        id: z.string(),
        ruleId: z.string(),
        ruleVersionId: z.string(),
        version: z.string(),
        stage: z.string().nullable(),
        fired: z.boolean(),
        cause: z.string(),
        evaluatedAt: z.string(),
        summary: z.string(),
        areaCodes: z.array(z.string()),
        reasons: z.array(reasonSchema),
        activations: z.array(activationSchema),
      }),
    ),
  })
  .openapi('EvaluationHistory');

const pkr = z.number().int();
/** For a role without identity access (server/registry/disclosure.ts) counts under disclosure.minCell are null and the rest rounded, and so are the rupees that go with them. */
const shownCount = z.number().int().nullable();
const shownPkr = z.number().int().nullable();
export const dryRunSchema = z
  .object({
    rule: z.object({ id: z.string(), version: z.string(), versionId: z.string() }),
    subject: z.object({ kind: z.string(), id: z.string(), hazard: z.string(), areaCodes: z.array(z.string()) }),
    decision: z.object({ stage: z.string().nullable(), fired: z.boolean(), summary: z.string(), areaCodes: z.array(z.string()), reasons: z.array(reasonSchema) }).passthrough(),
    caseload: z.object({
      stage: z.string(),
      whatIf: z.boolean(),
      registryVersion: z.string(),
      householdsInArea: shownCount,
      eligible: shownCount,
      percent: z.number().nullable(),
      cutoffs: z.array(
        z.object({ level: z.number(), areaCode: z.string(), percent: z.number(), households: shownCount, rank: shownCount, pmtCutoff: z.number().nullable(), atOrUnder: shownCount }),
      ),
      excluded: z.record(z.string(), shownCount),
      note: z.string(),
      requestedPkr: shownPkr,
      totalPkr: shownPkr,
      households: shownCount,
      ceiling: z.object({ ceilingPkr: pkr, committedPkr: pkr, cutHouseholds: shownCount, cutPkr: shownPkr, text: z.string() }),
      byPayer: z.array(z.object({ agency: z.string(), jurisdiction: z.string(), households: shownCount, amountPkr: shownPkr })),
      byArea: z.array(z.object({ district: z.string(), households: shownCount, amountPkr: shownPkr })),
      disclosure: z
        .object({ minCell: z.number().int(), roundedTo: z.number().int() })
        .nullable()
        .openapi({ description: 'How the figures were protected; null when they are exact (programme managers, finance officers)' }),
    }),
  })
  .openapi('DryRun');

export type Reason = z.infer<typeof reasonSchema>;
export type RuleSummary = z.infer<typeof ruleSummarySchema>;
export type RuleDetail = z.infer<typeof ruleDetailSchema>;
export type EvaluationHistory = z.infer<typeof historySchema>;
export type Evaluation = EvaluationHistory['items'][number];
export type Activation = Evaluation['activations'][number];
export type DryRun = z.infer<typeof dryRunSchema>;
export type { DryRunBody } from './dry-run.ts';

export function ruleRoutes(deps: RouteDeps) {
  return newRouter()
    .openapi(
      createRoute({
        method: 'get',
        path: '/api/rules',
        tags,
        summary: 'Pre-agreed rules in force: what each does, for whom, with how much, agreed by whom',
        middleware: [signedIn],
        responses: { 200: json(z.object({ items: z.array(ruleSummarySchema) }), 'Rules in force'), ...errorResponses },
      }),
      async (c) => c.json(z.object({ items: z.array(ruleSummarySchema) }).parse({ items: (await rulesInForce(deps.database.db)).map(ruleSummary) }), 200),
    )
    .openapi(
      createRoute({
        method: 'get',
        path: '/api/rules/{id}',
        tags,
        summary: 'One rule in force, with every version loaded (the signed YAML of each)',
        middleware: [signedIn],
        request: { params: ruleIdParam },
        responses: { 200: json(ruleDetailSchema, 'The rule'), ...errorResponses },
      }),
      async (c) => c.json(ruleDetailSchema.parse(await getRule(deps.database.db, c.req.valid('param').id)), 200),
    )
    .openapi(
      createRoute({
        method: 'post',
        path: '/api/rules/{id}/dry-run',
        tags,
        summary: 'What the rule would decide now about an alert or event, and the caseload it would reach; stores nothing',
        middleware: [allow('dma_officer', 'program_manager', 'admin')],
        request: { params: ruleIdParam, body: { content: { 'application/json': { schema: dryRunBody } }, required: true } },
        responses: { 200: json(dryRunSchema, 'The decision and the caseload'), ...errorResponses, 413: tooLargeResponse, 503: areaTooComplexResponse },
      }),
      async (c) => {
        const result = await dryRun(ctxOf(c, deps), { ruleId: c.req.valid('param').id, body: c.req.valid('json') }, deps.registry);
        return c.json(dryRunSchema.parse(result), 200);
      },
    )
    .openapi(
      createRoute({
        method: 'get',
        path: '/api/alerts/{id}/evaluations',
        tags,
        summary: "Every evaluation of the rules against this alert, newest first, with reasons and the activations made",
        middleware: [signedIn],
        request: { params: idParam },
        responses: { 200: json(historySchema, 'Evaluation history'), ...errorResponses },
      }),
      async (c) =>
        c.json(historySchema.parse(await evaluationHistory(ctxOf(c, deps), { kind: 'alert', id: c.req.valid('param').id })), 200),
    )
    .openapi(
      createRoute({
        method: 'get',
        path: '/api/events/{id}/evaluations',
        tags,
        summary: 'Every evaluation of the rules against this declared event, newest first, with reasons and activations',
        middleware: [signedIn],
        request: { params: idParam },
        responses: { 200: json(historySchema, 'Evaluation history'), ...errorResponses },
      }),
      async (c) =>
        c.json(historySchema.parse(await evaluationHistory(ctxOf(c, deps), { kind: 'event', id: c.req.valid('param').id })), 200),
    );
}
