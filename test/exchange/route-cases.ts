import { randomUUID } from 'node:crypto';
import { eq, sql } from 'drizzle-orm';
import { systemCtx } from '../../server/context.ts';
import { queryRows, type Database } from '../../server/db/client.ts';
import { agreements } from '../../server/db/schema/index.ts';
import { createAgreement, signAgreement, type NewAgreement } from '../../server/exchange/agreements.ts';
import { stageChangeSet } from '../../server/exchange/changes.ts';
import { makeExport } from '../../server/exchange/export.ts';
import { linkageKey } from '../../server/exchange/fields.ts';
import { makeHousehold } from '../harness/factories.ts';

/**
 * The registry exchange's rows of test/access/route-table.test.ts. The table's callers are officers of the
 * agency `TEST` in Sindh (PK7); their agreements are with `OTHER` over Sindh, and the out-of-scope records
 * are under an agreement between BISP and PSPA over Punjab, which `TEST` is no party to.
 */
type Db = Database;
interface Call {
  path: string;
  body?: unknown;
  raw?: string;
  contentType?: string;
}
interface Case {
  method: 'GET' | 'POST';
  path: string;
  access: 'program_manager'[] | ('program_manager' | 'auditor' | 'admin')[];
  call(s: { db: Db }): Promise<Call> | Call;
  outOfScope?(s: { db: Db }): Promise<Call>;
}

const ours = (shareTo: 'TEST' | 'OTHER' = 'OTHER'): NewAgreement => ({
  title: 'route table agreement',
  partyA: 'TEST',
  partyB: 'OTHER',
  purpose: 'dedup',
  jurisdiction: 'PK7',
  linkage: 'pseudonymous',
  shares: [{ source: 'NSER', from: shareTo === 'OTHER' ? 'TEST' : 'OTHER', to: shareTo, fields: ['district', 'pmt_score'] }],
  validFrom: new Date('2020-01-01T00:00:00Z'),
  validTo: new Date('2099-01-01T00:00:00Z'),
});
const theirs = (): NewAgreement => ({ ...ours(), partyA: 'BISP', partyB: 'PSPA', jurisdiction: 'PK6', shares: [{ source: 'NSER', from: 'BISP', to: 'PSPA', fields: ['district', 'pmt_score'] }] });

let n = 0;
async function drafted(db: Db, input: NewAgreement): Promise<string> {
  return (await createAgreement(systemCtx(db.db, `route-table-maker-${++n}`, new Date()), input)).id;
}
async function inForce(db: Db, input: NewAgreement): Promise<{ id: string; key: Buffer }> {
  const id = await drafted(db, input);
  await signAgreement(systemCtx(db.db, `route-table-a-${n}`, new Date()), id, { party: 'A' });
  await signAgreement(systemCtx(db.db, `route-table-b-${n}`, new Date()), id, { party: 'B' });
  const [row] = await db.db.select({ key: agreements.linkKey }).from(agreements).where(eq(agreements.id, id));
  return { id, key: row!.key };
}

/** A household of the agreement's area to key a change set by (one in Sindh and one in Punjab, made once per database). */
const made = new WeakMap<Db, Promise<void>>();
async function cnicIn(db: Db, province: 'PK7' | 'PK6'): Promise<string> {
  if (!made.has(db)) made.set(db, makeHousehold(db, [{ id: 'XCH-S', lat: 25.39, lon: 68.37, pmt: 30 }, { id: 'XCH-P', lat: 31.52, lon: 74.36, pmt: 30 }]).then(() => undefined));
  await made.get(db);
  const [h] = await queryRows<{ cnic: string }>(db.db, sql`select cnic from households where household_id = ${province === 'PK7' ? 'XCH-S' : 'XCH-P'}`);
  return h!.cnic;
}

const paymentList = (id: string) => ({
  raw: `agreement,linkage_key,incident,purpose,programme,amount_pkr,paid_at,reference\n${id},${'k'.repeat(43)},alert-chain:route-table,flood_relief,Other Relief,1000,2020-06-01T00:00:00Z,R-${randomUUID()}\n`,
  contentType: 'text/csv',
});
async function changeSet(db: Db, a: { id: string; key: Buffer }, province: 'PK7' | 'PK6') {
  return { raw: `agreement,linkage_key,pmt_score\n${a.id},${linkageKey(a.key, await cnicIn(db, province))},${(31 + Math.random() * 60).toFixed(1)}\n`, contentType: 'text/csv' };
}
async function staged(db: Db, input: NewAgreement, province: 'PK7' | 'PK6'): Promise<string> {
  const a = await inForce(db, input);
  const { raw } = await changeSet(db, a, province);
  return (await stageChangeSet(systemCtx(db.db, 'route-table-sender', new Date()), { agreementId: a.id, text: raw })).changeSetId;
}
async function exported(db: Db, input: NewAgreement): Promise<string> {
  const a = await inForce(db, input);
  return (await makeExport(systemCtx(db.db, 'route-table-exporter', new Date()), { agreementId: a.id, format: 'csv' })).id;
}

const readers: Case['access'] = ['program_manager', 'auditor', 'admin'];
const newBody = (input: NewAgreement) => ({ ...input, validFrom: input.validFrom.toISOString(), validTo: input.validTo.toISOString() });

export const EXCHANGE_ROUTES: Case[] = [
  { method: 'POST', path: '/api/agreements', access: ['program_manager'], call: () => ({ path: '/api/agreements', body: newBody(ours()) }) },
  { method: 'GET', path: '/api/agreements', access: readers, call: () => ({ path: '/api/agreements' }) },
  {
    method: 'GET',
    path: '/api/agreements/:id',
    access: readers,
    call: async ({ db }) => ({ path: `/api/agreements/${await drafted(db, ours())}` }),
    outOfScope: async ({ db }) => ({ path: `/api/agreements/${await drafted(db, theirs())}` }),
  },
  {
    method: 'POST',
    path: '/api/agreements/:id/sign',
    access: ['program_manager'],
    call: async ({ db }) => ({ path: `/api/agreements/${await drafted(db, ours())}/sign`, body: {} }),
    outOfScope: async ({ db }) => ({ path: `/api/agreements/${await drafted(db, theirs())}/sign`, body: {} }),
  },
  {
    method: 'POST',
    path: '/api/agreements/:id/revoke',
    access: ['program_manager'],
    call: async ({ db }) => ({ path: `/api/agreements/${(await inForce(db, ours())).id}/revoke`, body: { reason: 'route table' } }),
    outOfScope: async ({ db }) => ({ path: `/api/agreements/${(await inForce(db, theirs())).id}/revoke`, body: { reason: 'route table' } }),
  },
  {
    method: 'GET',
    path: '/api/agreements/:id/export',
    access: ['program_manager'],
    call: async ({ db }) => ({ path: `/api/agreements/${(await inForce(db, ours())).id}/export` }),
    outOfScope: async ({ db }) => ({ path: `/api/agreements/${(await inForce(db, theirs())).id}/export` }),
  },
  {
    method: 'GET',
    path: '/api/exchange/exports/:id',
    access: readers,
    call: async ({ db }) => ({ path: `/api/exchange/exports/${await exported(db, ours())}` }),
    outOfScope: async ({ db }) => ({ path: `/api/exchange/exports/${await exported(db, theirs())}` }),
  },
  {
    method: 'GET',
    path: '/api/exchange/exports/:id/file',
    access: ['program_manager'],
    call: async ({ db }) => ({ path: `/api/exchange/exports/${await exported(db, ours())}/file` }),
    outOfScope: async ({ db }) => ({ path: `/api/exchange/exports/${await exported(db, theirs())}/file` }),
  },
  {
    method: 'POST',
    path: '/api/agreements/:id/payments',
    access: ['program_manager'],
    call: async ({ db }) => {
      const { id } = await inForce(db, ours());
      return { path: `/api/agreements/${id}/payments`, ...paymentList(id) };
    },
    outOfScope: async ({ db }) => {
      const { id } = await inForce(db, theirs());
      return { path: `/api/agreements/${id}/payments`, ...paymentList(id) };
    },
  },
  {
    method: 'POST',
    path: '/api/agreements/:id/change-sets',
    access: ['program_manager'],
    call: async ({ db }) => {
      const a = await inForce(db, ours('TEST'));
      return { path: `/api/agreements/${a.id}/change-sets`, ...(await changeSet(db, a, 'PK7')) };
    },
    outOfScope: async ({ db }) => {
      const a = await inForce(db, theirs());
      return { path: `/api/agreements/${a.id}/change-sets`, ...(await changeSet(db, a, 'PK6')) };
    },
  },
  {
    method: 'GET',
    path: '/api/change-sets/:id',
    access: readers,
    call: async ({ db }) => ({ path: `/api/change-sets/${await staged(db, ours(), 'PK7')}` }),
    outOfScope: async ({ db }) => ({ path: `/api/change-sets/${await staged(db, theirs(), 'PK6')}` }),
  },
  {
    method: 'POST',
    path: '/api/change-sets/:id/decisions',
    access: ['program_manager'],
    call: async ({ db }) => ({ path: `/api/change-sets/${await staged(db, ours(), 'PK7')}/decisions`, body: { decisions: [{ row: 2, decision: 'refuse', reason: 'route table' }] } }),
    outOfScope: async ({ db }) => ({ path: `/api/change-sets/${await staged(db, theirs(), 'PK6')}/decisions`, body: { decisions: [{ row: 2, decision: 'refuse' }] } }),
  },
  { method: 'GET', path: '/api/registry/overlap', access: readers, call: () => ({ path: '/api/registry/overlap?sources=NSER,PSER&area=PK7' }) },
];
