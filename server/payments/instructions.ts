import { eq, sql, type SQL } from 'drizzle-orm';
import { recordAudit } from '../audit/service.ts';
import { withTransaction, type Ctx } from '../context.ts';
import { queryRows, type Db } from '../db/client.ts';
import { batches } from '../db/schema/index.ts';
import { ConflictError, NotFoundError } from '../errors.ts';

/**
 * The reference a bank sees for attempt `attempt` of line `line` of a batch: `MDD` + the batch id's first 10
 * hex digits + the line + the attempt, e.g. `MDD3F2A9C01B7-00000123-1`. The same inputs always give the same
 * id, so an instruction made twice is one instruction (the primary key), and the bank's answer names it.
 */
export const instructionIdSql = (batchId: SQL | string, line: SQL, attempt: SQL) =>
  sql`'MDD' || upper(substr(replace(${batchId}::text, '-', ''), 1, 10)) || '-' || lpad(${line}::text, 8, '0') || '-' || ${attempt}::text`;

/**
 * The channel of a line, from its registry channel when it has the account that channel needs; otherwise
 * cash against the CNIC (everyone in the registry has one), never a transfer to nowhere.
 */
const CHANNEL_OF_LINE = sql`case
  when payment_channel = 'bank' and coalesce(payment_account, '') <> '' then 'bank_transfer'
  when payment_channel = 'mobile_wallet' and coalesce(payment_account, '') <> '' then 'mobile_wallet'
  else 'biometric_cash' end`;

/**
 * Makes the first attempt's instruction of every live line of a released batch (the reaction to its
 * release, and again before an export: both are no-ops once done). Set-based: one statement for the batch.
 */
export async function issueInstructions(ctx: Ctx, input: { batchId: string }): Promise<{ issued: number }> {
  return withTransaction(ctx, async (t) => {
    const [b] = await t.tx.select().from(batches).where(eq(batches.id, input.batchId)).for('update');
    if (!b) throw new NotFoundError(`No batch ${input.batchId}.`);
    if (b.status !== 'released') throw new ConflictError(`Batch ${b.id} is ${b.status.replace('_', ' ')}: instructions are made once every payer has released its share.`);
    // Asked again (every export asks), the batch has its instructions already. They are made by this one
    // statement for every live line at once, and no line becomes live later, so one first attempt of the
    // batch means all of them: a read that stops at the first says so, instead of each line's insert
    // meeting the key (millions of conflicts took seconds). Two at once still meet the key below.
    const [missing] = await queryRows<{ any: boolean }>(
      t.tx as unknown as Db,
      sql`select not exists (select 1 from payment_instructions where batch_id = ${b.id}::uuid and attempt = 1) as any`,
    );
    if (!missing!.any) return { issued: 0 };
    const [made] = await queryRows<{ issued: number; pkr: string }>(
      t.tx as unknown as Db,
      sql`with made as (
            insert into payment_instructions (id, batch_id, line_no, attempt, channel, account, amount_pkr, state, created_at, updated_at)
            select ${instructionIdSql(sql`batch_id`, sql`line_no`, sql`1`)}, batch_id, line_no, 1, ${CHANNEL_OF_LINE}, payment_account, amount_pkr,
              'released', ${t.now.toISOString()}::timestamptz, ${t.now.toISOString()}::timestamptz
            from batch_lines where batch_id = ${b.id}::uuid and state = 'live' and amount_pkr > 0
            on conflict do nothing
            returning amount_pkr
          ) select count(*)::int as issued, coalesce(sum(amount_pkr), 0)::text as pkr from made`,
    );
    if (made!.issued > 0)
      await recordAudit(t.tx, t, {
        action: 'payments.instructions_issued',
        subject: `batch:${b.id}`,
        jurisdiction: b.jurisdiction,
        summary: { batchId: b.id, instructions: made!.issued, totalPkr: Number(made!.pkr), attempt: 1 },
      });
    return { issued: made!.issued };
  });
}
