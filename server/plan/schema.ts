import { z } from '@hono/zod-openapi';
import { PLAN_SECTORS, PLAN_STAGES } from '../../triggers/index.ts';
import { isoInstant, pcodeSchema } from '../http/schemas.ts';

/** The status machine of a plan action (server/plan/machine.ts holds its moves). */
export const PLAN_STATUSES = ['planned', 'ready', 'in_progress', 'done', 'blocked', 'cancelled'] as const;
export type PlanStatus = (typeof PLAN_STATUSES)[number];

/** How an incident is named: `event:<uuid>` or `alert-chain:<uuid>`, as batches name theirs. */
export const INCIDENT_PATTERN = /^(event|alert-chain):[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
export const incidentParam = z.object({
  incident: z
    .string()
    .regex(INCIDENT_PATTERN, 'an incident is event:<id> or alert-chain:<id>')
    .openapi({ param: { name: 'incident', in: 'path' }, example: 'event:3f2a9c01-0000-4000-8000-000000000000' }),
});

const text = (field: string, max: number, min = 3) =>
  z
    .string({ error: `${field} is required` })
    .trim()
    .min(min, `${field} needs at least ${min} characters`)
    .max(max, `${field} is at most ${max} characters`);
const agency = (field: string) => text(field, 120, 2);
const count = (field: string) =>
  z
    .number({ error: `${field} is a whole number` })
    .int(`${field} is a whole number`)
    .min(0, `${field} cannot be negative`)
    .max(100_000_000, `${field} is at most 100,000,000`);

export const locationSchema = z
  .object({
    name: text('name', 200, 2),
    lat: z.number({ error: 'lat is a latitude in degrees' }).min(23, 'lat lies within Pakistan (23 to 37.5)').max(37.5, 'lat lies within Pakistan (23 to 37.5)'),
    lon: z.number({ error: 'lon is a longitude in degrees' }).min(60, 'lon lies within Pakistan (60 to 78)').max(78, 'lon lies within Pakistan (60 to 78)'),
    capacity: count('capacity').optional().openapi({ description: 'Households a day it can serve' }),
    openingDays: z.array(z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'an opening day is a date written YYYY-MM-DD')).max(366).optional(),
  })
  .strict()
  .openapi('PlanLocation');

const budgetLine = z
  .object({
    funder: agency('funder'),
    pkr: z.number({ error: 'pkr is whole rupees' }).int('pkr is whole rupees').min(0, 'pkr cannot be negative').max(Number.MAX_SAFE_INTEGER),
  })
  .strict();

export const createActionBody = z
  .object({
    title: text('title', 300),
    sector: z.enum(PLAN_SECTORS, { error: `sector is one of: ${PLAN_SECTORS.join(', ')}` }),
    leadAgency: agency('leadAgency').optional().openapi({ description: 'Who does it; your agency when left out' }),
    supportingAgencies: z.array(agency('supportingAgencies')).max(30).default([]),
    areaCodes: z.array(pcodeSchema).min(1, 'name at least one area (a P-code within your jurisdiction)').max(500),
    locations: z.array(locationSchema).max(500).default([]),
    stage: z.enum(PLAN_STAGES, { error: `stage is one of: ${PLAN_STAGES.join(', ')}` }).default('response'),
    dueAt: isoInstant.optional().openapi({ description: 'When it is due; or give dueHours after the stage fired' }),
    dueHours: z.number().int('dueHours is whole hours').min(0, 'dueHours cannot be negative: an action is not due before its trigger').max(8760).optional(),
    targets: z.object({ households: count('targets.households').optional(), people: count('targets.people').optional() }).strict().default({}),
    budget: z.array(budgetLine).max(30).default([]),
    note: z.string().trim().max(2000).optional(),
  })
  .strict()
  .refine((b) => (b.dueAt === undefined) !== (b.dueHours === undefined), { message: 'give dueAt (a moment) or dueHours (hours after the trigger), one of them', path: ['dueAt'] });

export const updateActionBody = z
  .object({
    status: z.enum(PLAN_STATUSES, { error: `status is one of: ${PLAN_STATUSES.join(', ')}` }).optional(),
    reason: z.string().trim().max(2000).optional().openapi({ description: 'Why it is blocked or cancelled (required then)' }),
    note: text('note', 2000),
    evidence: z.string().trim().max(2000).optional().openapi({ description: 'Where it shows: a notification number, a photo reference, a list' }),
    reached: z.object({ households: count('reached.households').optional(), people: count('reached.people').optional() }).strict().optional(),
  })
  .strict();

export const acceptBody = z.object({ note: z.string().trim().max(2000).optional() }).strict();
export const reassignBody = z.object({ leadAgency: agency('leadAgency'), note: text('note', 2000) }).strict();

export const exportQuery = z.object({ format: z.enum(['csv', 'geojson'], { error: 'format is csv or geojson' }).default('csv') });

const figures = z.object({ households: z.number().int().nullable(), people: z.number().int().nullable() });
/** Rupees from the ledger: null where the reader's role sees the figure hidden (too few households behind it). */
const ledgerPkr = z.number().int().nullable();
const payerMoney = z.object({ agency: z.string(), jurisdiction: z.string(), committedPkr: ledgerPkr, releasedPkr: ledgerPkr, paidPkr: ledgerPkr });

export const planUpdateSchema = z
  .object({
    kind: z.enum(['created', 'status', 'progress', 'accepted', 'reassigned']),
    fromStatus: z.enum(PLAN_STATUSES).nullable(),
    toStatus: z.enum(PLAN_STATUSES),
    note: z.string(),
    evidence: z.string().nullable(),
    changes: z.record(z.string(), z.unknown()),
    by: z.string().openapi({ example: 'user:amina' }),
    agency: z.string(),
    at: z.string(),
  })
  .openapi('PlanUpdate');

export const planActionSchema = z
  .object({
    id: z.string().openapi({ description: 'A UUID, or `batch:<id>` for a cash action read from a batch' }),
    kind: z.enum(['action', 'cash']).openapi({ description: 'cash: a batch of the incident, its figures live from the ledger' }),
    incident: z.string(),
    title: z.string(),
    sector: z.string(),
    leadAgency: z.string(),
    supportingAgencies: z.array(z.string()),
    areaCodes: z.array(z.string()),
    locations: z.array(locationSchema),
    stage: z.enum(PLAN_STAGES),
    triggerAt: z.string(),
    dueAt: z.string().nullable(),
    dueHours: z.number().int().nullable().openapi({ description: 'Hours after the trigger: T+48 h' }),
    dueRelative: z.string().nullable().openapi({ example: 'T+48 h' }),
    targets: figures,
    reached: figures,
    budget: z.array(z.object({ funder: z.string(), pkr: z.number().int() })),
    money: z
      .object({ committedPkr: ledgerPkr, releasedPkr: ledgerPkr, paidPkr: ledgerPkr, byPayer: z.array(payerMoney) })
      .nullable()
      .openapi({ description: 'For a cash action: committed, released and paid, per payer, from the ledger (protected as batches are for roles without identity access)' }),
    status: z.enum(PLAN_STATUSES),
    statusReason: z.string().nullable(),
    overdue: z.boolean().openapi({ description: 'Due before now and neither done nor cancelled: derived, never stored' }),
    acceptedBy: z.string().nullable(),
    acceptedAt: z.string().nullable(),
    origin: z.enum(['rule', 'officer', 'batch']),
    rule: z.object({ id: z.string(), version: z.string(), versionId: z.string() }).nullable(),
    activationId: z.string().nullable(),
    batchId: z.string().nullable(),
    mine: z.boolean().openapi({ description: 'Your agency leads it: you may update (and accept) it' }),
    history: z.array(planUpdateSchema),
  })
  .openapi('PlanAction');

export const planCountsSchema = z.object({
  total: z.number().int(),
  byStatus: z.record(z.string(), z.number().int()),
  overdue: z.number().int(),
  blocked: z.number().int(),
  unaccepted: z.number().int(),
});

export const planSchema = z
  .object({
    incident: z.string(),
    kind: z.enum(['event', 'alert-chain']),
    title: z.string(),
    hazard: z.string(),
    open: z.boolean(),
    areaCodes: z.array(z.string()),
    startedAt: z.string(),
    triggers: z.array(z.object({ stage: z.string(), at: z.string() })),
    generatedAt: z.string(),
    counts: planCountsSchema,
    actions: z.array(planActionSchema),
  })
  .openapi('Plan');

export const areaProgressSchema = z
  .object({
    areaCode: z.string(),
    name: z.string().nullable(),
    total: z.number().int(),
    due: z.number().int().openapi({ description: 'Actions due by now (neither cancelled)' }),
    done: z.number().int(),
    overdue: z.number().int(),
    blocked: z.number().int(),
    shareDone: z.number().nullable().openapi({ description: 'Done among those due by now, 0 to 1; null when none is due' }),
    points: z.number().int().openapi({ description: 'Action points (camps) in the area' }),
  })
  .openapi('PlanAreaProgress');

export const planProgressSchema = z
  .object({
    incident: z.string(),
    generatedAt: z.string(),
    areas: z.array(areaProgressSchema),
    points: z.array(
      z.object({ actionId: z.string(), title: z.string(), status: z.enum(PLAN_STATUSES), overdue: z.boolean(), leadAgency: z.string(), location: locationSchema }),
    ),
  })
  .openapi('PlanProgress');

const tally = z.object({ actions: z.number().int(), due: z.number().int(), overdue: z.number().int(), blocked: z.number().int(), done: z.number().int(), unaccepted: z.number().int() });

export const planSummarySchema = z
  .object({
    generatedAt: z.string(),
    incidents: z.array(z.object({ incident: z.string(), title: z.string(), hazard: z.string(), startedAt: z.string() }).extend(tally.shape)),
    byAgency: z.array(z.object({ agency: z.string() }).extend(tally.shape)),
    byArea: z.array(z.object({ areaCode: z.string(), name: z.string().nullable() }).extend(tally.shape)),
    money: z.array(payerMoney.extend({ incidents: z.number().int() })),
    totals: tally.extend({ committedPkr: ledgerPkr, releasedPkr: ledgerPkr, paidPkr: ledgerPkr }),
  })
  .openapi('PlanSummary');

export type PlanAction = z.infer<typeof planActionSchema>;
export type PlanUpdate = z.infer<typeof planUpdateSchema>;
export type Plan = z.infer<typeof planSchema>;
export type PlanProgress = z.infer<typeof planProgressSchema>;
export type PlanSummary = z.infer<typeof planSummarySchema>;
export type CreateActionInput = z.input<typeof createActionBody>;
export type UpdateActionInput = z.infer<typeof updateActionBody>;
