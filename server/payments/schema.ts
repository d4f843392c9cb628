import { z } from '@hono/zod-openapi';
import { CHANNELS } from './layouts.ts';
import { MONEY_STATES } from './ledger.ts';

export const paymentFileSchema = z
  .object({
    id: z.uuid(),
    batchId: z.uuid(),
    kind: z.enum(['payment', 'cancellation']),
    channel: z.enum(CHANNELS),
    seq: z.number().int(),
    payers: z.array(z.object({ agency: z.string(), jurisdiction: z.string(), signedFor: z.string() })),
    sha256: z.string(),
    count: z.number().int(),
    totalPkr: z.number().int(),
    madeBy: z.string(),
    madeAt: z.string(),
    download: z.string(),
  })
  .openapi('PaymentFile');
export const paymentFilesSchema = z.object({ made: z.array(paymentFileSchema), files: z.array(paymentFileSchema) });

export const reconciliationReportSchema = z
  .object({
    fileId: z.uuid(),
    sha256: z.string(),
    repeated: z.boolean(),
    rows: z.number().int(),
    moved: z.record(z.string(), z.number().int()),
    unchanged: z.number().int(),
    paidPkr: z.number().int(),
    partial: z.object({ instructions: z.number().int(), outstandingPkr: z.number().int() }),
    outstanding: z.object({ instructions: z.number().int(), pkr: z.number().int() }),
    otherAttempts: z.object({ cancelled: z.number().int(), cancelRequested: z.number().int(), overpayments: z.number().int() }),
  })
  .openapi('ReconciliationReport');

export const instructionParam = z.object({
  id: z.string().regex(/^MDD[0-9A-F]{10}-\d{8}-\d+$/, 'expected an instruction id such as MDD3F2A9C01B7-00000123-1'),
});
const reason = (what: string) => z.string({ error: `${what} is required` }).trim().min(3, `${what} needs at least 3 characters`).max(2000);
export const reissueBody = z
  .object({
    channel: z.enum(CHANNELS).optional().openapi({ description: 'The channel of the new attempt; the same as before when left out' }),
    account: z.string().trim().max(64).optional().openapi({ description: 'IBAN for a bank transfer, MSISDN for a wallet' }),
    reason: reason('reason'),
  })
  .strict();
export const decideBody = z.object({ comment: reason('comment') }).strict();
export const rejectReissueBody = z.object({ reason: reason('reason') }).strict();

const side = z.object({ channel: z.string(), account: z.string().nullable() });
export const reissueSchema = z
  .object({
    id: z.uuid(),
    batchId: z.uuid(),
    lineNo: z.number().int(),
    instructionId: z.string(),
    from: side,
    to: side,
    accountChanged: z.boolean(),
    reason: z.string(),
    requestedBy: z.string(),
    requestedAt: z.string(),
    decision: z.enum(['approved', 'rejected']).nullable(),
    decidedBy: z.string().nullable(),
    decidedAt: z.string().nullable(),
    comment: z.string().nullable(),
    newInstructionId: z.string().nullable(),
  })
  .openapi('Reissue');

const cell = z.object({ households: z.number().int().nullable(), pkr: z.number().int().nullable() });
const byState = z.object(Object.fromEntries(MONEY_STATES.map((s) => [s, cell])) as Record<(typeof MONEY_STATES)[number], typeof cell>);
export const eventPaymentsSchema = z
  .object({
    eventId: z.uuid(),
    incident: z.string(),
    jurisdiction: z.string(),
    totals: byState,
    byProgramme: z.array(byState.extend({ key: z.string() })),
    byDistrict: z.array(byState.extend({ key: z.string() })),
    byChannel: z.array(byState.extend({ key: z.string() })),
  })
  .openapi('EventPayments');

export type PaymentFile = z.infer<typeof paymentFileSchema>;
export type ReconciliationReport = z.infer<typeof reconciliationReportSchema>;
export type EventPayments = z.infer<typeof eventPaymentsSchema>;
