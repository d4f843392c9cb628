import { z } from '@hono/zod-openapi';
import { pageQuery } from '../http/schemas.ts';

const pkr = z.number().int().min(0);
const text = (max: number, what: string) =>
  z
    .string({ error: `${what} is required` })
    .trim()
    .min(3, `${what} needs at least 3 characters: say why, for the trail`)
    .max(max, `${what} is at most ${max} characters`);

export const BATCH_STATUSES = ['prepared', 'draft', 'submitted', 'approved', 'partly_released', 'released', 'cancelled'] as const;

export const batchListQuery = z.object({
  status: z.enum(BATCH_STATUSES).optional(),
  activationId: z.uuid().optional(),
  ...pageQuery,
});

export const lineQuery = z.object({
  q: z.string().max(100).optional().openapi({ description: 'A household id, a P-code prefix, or part of the head\u2019s name' }),
  state: z.enum(['live', 'dropped', 'cancelled']).optional(),
  ...pageQuery,
});

export const approveBody = z
  .object({
    comment: text(2000, 'comment'),
    linesSha256: z
      .string()
      .regex(/^[0-9a-f]{64}$/, 'linesSha256 is the 64 hex digits shown on the batch')
      .optional()
      .openapi({ description: 'The hash of the lines you checked: refused if the batch changed since' }),
  })
  .strict();
export const reasonBody = z.object({ reason: text(2000, 'reason') }).strict();
export const amendBody = z
  .object({
    ceilingPkr: z.number({ error: 'ceilingPkr is whole rupees' }).int('ceilingPkr is whole rupees').min(0, 'ceilingPkr cannot be negative').max(Number.MAX_SAFE_INTEGER),
    reason: text(2000, 'reason'),
    reference: z.string().trim().min(1, 'reference names the decision: a notification, a minute, a letter').max(500),
  })
  .strict();

export const batchSummarySchema = z
  .object({
    id: z.uuid(),
    activationId: z.uuid(),
    rule: z.object({ id: z.string(), version: z.string(), versionId: z.uuid() }),
    programme: z.string(),
    purpose: z.string(),
    incident: z.string(),
    subject: z.object({ kind: z.string(), id: z.uuid() }),
    stage: z.string(),
    kind: z.enum(['payment', 'prepared']),
    status: z.enum(BATCH_STATUSES),
    statusReason: z.string().nullable(),
    jurisdiction: z.string(),
    areaCodes: z.array(z.string()),
    linesSha256: z.string(),
    build: z.number().int(),
    round: z.number().int(),
    builtAt: z.string(),
    builtBy: z.string(),
    submittedBy: z.string().nullable(),
    submittedAt: z.string().nullable(),
    whole: z.boolean().openapi({ description: 'False when the reader sees only its own jurisdiction\u2019s lines of the batch' }),
    lineCount: z.number().int().nullable(),
    totalPkr: pkr.nullable(),
  })
  .openapi('BatchSummary');

const count = z.number().int().nullable();
export const batchSchema = batchSummarySchema
  .extend({
    figures: z.record(z.string(), z.unknown()),
    registryVersion: z.string(),
    byDistrict: z.array(z.object({ district: z.string(), households: count, amountPkr: pkr.nullable(), netted: count, dropped: count, cancelled: count })),
    payers: z.array(
      z.object({
        agency: z.string(),
        jurisdiction: z.string(),
        signedFor: z.string(),
        households: count,
        amountPkr: pkr.nullable(),
        released: z.object({ by: z.string().nullable(), at: z.string(), amountPkr: pkr.nullable() }).nullable(),
        budget: z.object({ id: z.uuid(), ceilingPkr: pkr, committedPkr: pkr, releasedPkr: pkr, headroomPkr: pkr }).nullable(),
      }),
    ),
    steps: z.array(
      z.object({
        step: z.number().int(),
        role: z.string(),
        jurisdiction: z.string(),
        dueAt: z.string(),
        signedBy: z.string().nullable(),
        signedAt: z.string().nullable(),
        comment: z.string().nullable(),
        overdue: z.boolean(),
      }),
    ),
    approvals: z.array(
      z.object({
        round: z.number().int(),
        step: z.number().int().nullable(),
        decision: z.enum(['approve', 'reject']),
        signedBy: z.string(),
        role: z.string(),
        jurisdiction: z.string(),
        comment: z.string(),
        linesSha256: z.string(),
        signedAt: z.string(),
      }),
    ),
  })
  .openapi('Batch');

export const lineSchema = z
  .object({
    lineNo: z.number().int(),
    source: z.string(),
    householdId: z.string(),
    cnic: z.string().openapi({ description: 'Masked: 35202-*****-3' }),
    headName: z.string(),
    province: z.string(),
    district: z.string(),
    tehsil: z.string(),
    pmt: z.number(),
    requestedPkr: pkr,
    amountPkr: pkr,
    shares: z.array(z.object({ agency: z.string(), jurisdiction: z.string(), amountPkr: pkr })),
    paymentChannel: z.string().nullable(),
    paymentAccount: z.string().nullable(),
    reasons: z.array(z.string()),
    netText: z.string().nullable(),
    state: z.enum(['live', 'dropped', 'cancelled']),
  })
  .openapi('BatchLine');
export const linesPageSchema = z.object({ total: z.number().int(), page: z.number().int(), items: z.array(lineSchema) });

export const activationSchema = z
  .object({
    id: z.uuid(),
    ruleId: z.string(),
    ruleVersionId: z.uuid(),
    subject: z.object({ kind: z.string(), id: z.uuid() }),
    stage: z.string(),
    status: z.string(),
    stoppedReason: z.string().nullable(),
    createdAt: z.string(),
    stoppedAt: z.string().nullable(),
    evaluationId: z.uuid(),
    areaCodes: z.array(z.string()),
    summary: z.string(),
    batches: z.array(batchSummarySchema),
  })
  .openapi('Activation');
export const activationListQuery = z.object({ status: z.enum(['active', 'stopped']).optional(), ...pageQuery });

export const budgetSchema = z
  .object({
    id: z.uuid(),
    ruleId: z.string(),
    programme: z.string(),
    agency: z.string(),
    jurisdiction: z.string(),
    ceilingPkr: pkr,
    committedPkr: pkr,
    releasedPkr: pkr,
    headroomPkr: pkr,
    openedAt: z.string(),
    amendments: z.array(
      z.object({ ceilingBeforePkr: pkr, ceilingAfterPkr: pkr, reason: z.string(), reference: z.string(), madeBy: z.string(), madeAt: z.string() }),
    ),
  })
  .openapi('BudgetLine');

export type BatchSummary = z.infer<typeof batchSummarySchema>;
export type Batch = z.infer<typeof batchSchema>;
export type BatchLine = z.infer<typeof lineSchema>;
export type Activation = z.infer<typeof activationSchema>;
export type BudgetLine = z.infer<typeof budgetSchema>;
