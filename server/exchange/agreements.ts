import { randomBytes } from 'node:crypto';
import { and, desc, eq, or, sql, type SQL } from 'drizzle-orm';
import { hasRole, type Actor } from '../access/principal.ts';
import { touches } from '../access/scope.ts';
import { recordAudit } from '../audit/service.ts';
import { withTransaction, type Ctx } from '../context.ts';
import type { Db, Tx } from '../db/client.ts';
import { agreements } from '../db/schema/index.ts';
import { ConflictError, ForbiddenError, NotFoundError, ValidationError } from '../errors.ts';
import { EXPORT_FIELDS, IDENTITY_FIELDS, type ExportField } from './fields.ts';

export type AgreementRow = typeof agreements.$inferSelect;
/** An agreement as every reader may see it: everything but its key. */
export type Agreement = Omit<AgreementRow, 'linkKey'>;
export interface Share {
  source: string;
  from: string;
  to: string;
  fields: ExportField[];
}

export interface NewAgreement {
  title: string;
  partyA: string;
  partyB: string;
  purpose: 'dedup' | 'disaster_response' | 'targeting';
  jurisdiction: string;
  linkage: 'pseudonymous' | 'identified';
  shares: Share[];
  validFrom: Date;
  validTo: Date;
}

/** Every column but the key: what listings and reads select. */
export const agreementColumns = {
  id: agreements.id,
  title: agreements.title,
  partyA: agreements.partyA,
  partyB: agreements.partyB,
  purpose: agreements.purpose,
  jurisdiction: agreements.jurisdiction,
  linkage: agreements.linkage,
  shares: agreements.shares,
  validFrom: agreements.validFrom,
  validTo: agreements.validTo,
  madeBy: agreements.madeBy,
  madeAt: agreements.madeAt,
  signedABy: agreements.signedABy,
  signedAAt: agreements.signedAAt,
  signedBBy: agreements.signedBBy,
  signedBAt: agreements.signedBAt,
  revokedBy: agreements.revokedBy,
  revokedAt: agreements.revokedAt,
  revokeReason: agreements.revokeReason,
};

const who = (actor: Actor) => `${actor.kind}:${actor.name}`;

/** `draft` (signatures missing), `signed` (not yet valid), `in_force`, `expired` or `revoked`, at `now`. */
export function agreementState(a: Agreement, now: Date): 'draft' | 'signed' | 'in_force' | 'expired' | 'revoked' {
  if (a.revokedAt) return 'revoked';
  if (!a.signedABy || !a.signedBBy) return 'draft';
  if (now < a.validFrom) return 'signed';
  if (now >= a.validTo) return 'expired';
  return 'in_force';
}

/** The parties' agencies an actor speaks for (a system actor, the CLI at the database, for both). */
function partyOf(actor: Actor, a: Pick<Agreement, 'partyA' | 'partyB'>): 'A' | 'B' | 'both' | null {
  if (actor.kind === 'system') return 'both';
  if (actor.agency === a.partyA) return 'A';
  if (actor.agency === a.partyB) return 'B';
  return null;
}

/**
 * Who sees an agreement: the officers of its two parties, and federal auditors and administrators; others
 * read it as not found. In SQL, so a listing never loads what it may not show.
 */
function visible(actor: Actor): SQL {
  if (actor.kind === 'system' || (actor.jurisdiction === 'PK' && hasRole(actor, 'admin', 'auditor'))) return sql`true`;
  return or(eq(agreements.partyA, actor.agency), eq(agreements.partyB, actor.agency))!;
}

function requireOfficer(actor: Actor, a: Pick<Agreement, 'partyA' | 'partyB'>, what: string) {
  if (actor.kind === 'system') return;
  if (!hasRole(actor, 'program_manager') || !partyOf(actor, a)) throw new ForbiddenError(`Only a programme manager of ${a.partyA} or ${a.partyB} may ${what}.`);
}

/** Checks what zod cannot see alone: shares between the two parties, fields and linkage that agree. */
export function checkAgreement(input: NewAgreement): void {
  const problems: { field: string; message: string }[] = [];
  if (input.partyA === input.partyB) problems.push({ field: 'partyB', message: 'an agreement is between two different agencies' });
  if (input.validTo <= input.validFrom) problems.push({ field: 'validTo', message: 'must be after validFrom' });
  if (input.shares.length === 0) problems.push({ field: 'shares', message: 'at least one share: which registry of which party the other may receive' });
  const seen = new Set<string>();
  input.shares.forEach((s, i) => {
    const parties = [input.partyA, input.partyB];
    if (!parties.includes(s.from)) problems.push({ field: `shares.${i}.from`, message: `must be a party: ${parties.join(' or ')}` });
    if (!parties.includes(s.to) || s.to === s.from) problems.push({ field: `shares.${i}.to`, message: 'must be the other party' });
    if (seen.has(`${s.source}>${s.to}`)) problems.push({ field: `shares.${i}.source`, message: `${s.source} is shared with ${s.to} twice` });
    seen.add(`${s.source}>${s.to}`);
    s.fields.forEach((f, j) => {
      if (!(EXPORT_FIELDS as readonly string[]).includes(f)) problems.push({ field: `shares.${i}.fields.${j}`, message: `${f} is not a registry field (${EXPORT_FIELDS.join(', ')})` });
      else if (input.linkage === 'pseudonymous' && IDENTITY_FIELDS.includes(f))
        problems.push({ field: `shares.${i}.fields.${j}`, message: `${f} identifies a person: a pseudonymous agreement shares linkage keys, never ${IDENTITY_FIELDS.join(', ')}` });
    });
    if (new Set(s.fields).size !== s.fields.length) problems.push({ field: `shares.${i}.fields`, message: 'a field is listed twice' });
  });
  if (problems.length) throw new ValidationError(`The agreement is not valid: ${problems.map((p) => `${p.field}: ${p.message}`).join('; ')}.`, problems);
}

/**
 * Drafts an agreement. The drafter is an officer of one party (or the CLI at the database); it is in force
 * only once an officer of each party other than the drafter has signed. Its key is made now and kept.
 */
export async function createAgreement(ctx: Ctx, input: NewAgreement): Promise<Agreement> {
  checkAgreement(input);
  requireOfficer(ctx.actor, input, 'draft an agreement between them');
  return withTransaction(ctx, async (t) => {
    const [row] = await t.tx
      .insert(agreements)
      .values({ ...input, linkKey: randomBytes(32), madeBy: who(t.actor), madeAt: t.now })
      .returning(agreementColumns);
    await recordAudit(t.tx, t, {
      action: 'exchange.agreement_drafted',
      subject: `agreement:${row!.id}`,
      jurisdiction: row!.jurisdiction,
      summary: { after: { ...input, validFrom: input.validFrom.toISOString(), validTo: input.validTo.toISOString() } },
    });
    return row!;
  });
}

async function readAgreement(db: Db | Tx, actor: Actor, id: string, lock = false): Promise<Agreement> {
  const q = db.select(agreementColumns).from(agreements).where(and(eq(agreements.id, id), visible(actor)));
  const [row] = lock ? await (q as typeof q).for('update') : await q;
  if (!row) throw new NotFoundError(`No agreement ${id}.`);
  return row;
}

export async function getAgreement(ctx: Ctx, id: string): Promise<Agreement> {
  return readAgreement(ctx.db, ctx.actor, id);
}

export async function listAgreements(ctx: Ctx): Promise<Agreement[]> {
  return ctx.db.select(agreementColumns).from(agreements).where(visible(ctx.actor)).orderBy(desc(agreements.madeAt));
}

/**
 * Signs an agreement for the signer's party. The second signature puts it in force (from `valid_from`) and
 * returns the agreement's key, base64url, this once: the signer hands it to the other party's technical
 * team out of band (README: the exchange protocol). It is never returned again.
 */
export async function signAgreement(ctx: Ctx, id: string, input: { party?: 'A' | 'B' } = {}): Promise<{ agreement: Agreement; linkKey?: string }> {
  return withTransaction(ctx, async (t) => {
    const a = await readAgreement(t.tx, t.actor, id, true);
    requireOfficer(t.actor, a, 'sign it');
    if (a.revokedAt) throw new ConflictError(`Agreement ${id} was revoked; it cannot be signed.`);
    const mine = partyOf(t.actor, a);
    const party = mine === 'both' ? (input.party ?? (a.signedABy ? 'B' : 'A')) : mine!;
    const signer = who(t.actor);
    if (signer === a.madeBy) throw new ForbiddenError('You drafted this agreement: an officer of each party other than the drafter signs it (maker-checker).');
    if ((party === 'A' ? a.signedABy : a.signedBBy) !== null) throw new ConflictError(`${party === 'A' ? a.partyA : a.partyB} has already signed agreement ${id}.`);
    if (a.signedABy === signer || a.signedBBy === signer) throw new ConflictError('You have already signed this agreement for the other party.');
    const set = party === 'A' ? { signedABy: signer, signedAAt: t.now } : { signedBBy: signer, signedBAt: t.now };
    const [after] = await t.tx.update(agreements).set(set).where(eq(agreements.id, id)).returning({ ...agreementColumns, linkKey: agreements.linkKey });
    const complete = Boolean(after!.signedABy && after!.signedBBy);
    await recordAudit(t.tx, t, {
      action: 'exchange.agreement_signed',
      subject: `agreement:${id}`,
      jurisdiction: a.jurisdiction,
      summary: { party: party === 'A' ? a.partyA : a.partyB, complete, keyShownTo: complete ? signer : null },
    });
    const { linkKey, ...agreement } = after!;
    return complete ? { agreement, linkKey: linkKey.toString('base64url') } : { agreement };
  });
}

/** Revokes an agreement at once: every export, download and import under it is refused from now on. */
export async function revokeAgreement(ctx: Ctx, id: string, reason: string): Promise<Agreement> {
  return withTransaction(ctx, async (t) => {
    const a = await readAgreement(t.tx, t.actor, id, true);
    requireOfficer(t.actor, a, 'revoke it');
    if (a.revokedAt) return a;
    const [after] = await t.tx.update(agreements).set({ revokedBy: who(t.actor), revokedAt: t.now, revokeReason: reason }).where(eq(agreements.id, id)).returning(agreementColumns);
    // The bytes of its exports kept for download go with it.
    await t.tx.execute(sql`delete from exchange_export_chunks c using exchange_exports e where c.export_id = e.id and e.agreement_id = ${id}::uuid`);
    await t.tx.execute(sql`update exchange_exports set purged_at = ${t.now.toISOString()}::timestamptz where agreement_id = ${id}::uuid and kept = 'madad' and purged_at is null`);
    await recordAudit(t.tx, t, {
      action: 'exchange.agreement_revoked',
      subject: `agreement:${id}`,
      jurisdiction: a.jurisdiction,
      summary: { before: { revokedAt: null }, after: { revokedAt: t.now.toISOString(), reason } },
    });
    return after!;
  });
}

/**
 * The agreement an exchange runs under, with its key, if it is in force now and the actor speaks for one of
 * its parties; else refused (an expired or revoked agreement stops everything at once). Locks it shared, so
 * a revocation waits for an exchange under way and every later one sees it.
 */
export async function agreementInForce(tx: Tx | Db, ctx: Ctx, id: string, what: string): Promise<AgreementRow> {
  const [row] = await tx.select().from(agreements).where(and(eq(agreements.id, id), visible(ctx.actor)));
  if (!row) throw new NotFoundError(`No agreement ${id}.`);
  requireOfficer(ctx.actor, row, what);
  const state = agreementState(row, ctx.now);
  if (state !== 'in_force')
    throw new ConflictError(
      state === 'draft'
        ? `Agreement ${id} is not signed by both parties yet: nothing is exchanged under it.`
        : state === 'signed'
          ? `Agreement ${id} is in force from ${row.validFrom.toISOString()}: nothing is exchanged under it before.`
          : `Agreement ${id} is ${state}: nothing is exchanged under it.`,
    );
  return row;
}

/** The share of an agreement that a registry travels under: the one of `source` (the only one when not named). */
export function shareOf(a: Pick<AgreementRow, 'id' | 'shares'>, source: string | undefined, field = 'source'): Share {
  const shares = a.shares as Share[];
  const found = source ? shares.filter((s) => s.source === source) : shares;
  if (found.length !== 1)
    throw new ValidationError(
      source ? `Agreement ${a.id} shares no registry ${source} (it shares ${shares.map((s) => s.source).join(', ')}).` : `Agreement ${a.id} shares ${shares.map((s) => s.source).join(' and ')}: name the source.`,
      [{ field, message: source ? `not shared under this agreement` : 'required: the agreement shares more than one registry' }],
    );
  return found[0]!;
}

/** Whether an area lies within an agreement's jurisdiction, or the actor's reach touches it. */
export function withinReach(actor: Actor, jurisdiction: string): boolean {
  return actor.kind === 'system' || touches([jurisdiction], actor.jurisdiction);
}
