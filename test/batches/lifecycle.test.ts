import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Role } from '../../server/access/roles.ts';
import { systemActor } from '../../server/access/principal.ts';
import { buildBatch } from '../../server/batches/build.ts';
import { stopBatches } from '../../server/batches/stop.ts';
import { systemCtx } from '../../server/context.ts';
import { queryRows } from '../../server/db/client.ts';
import type { Driver } from '../../server/db/client.ts';
import { evaluateEvent } from '../../server/rules/evaluation.ts';
import { testApp, testBatchDeps } from '../harness/app.ts';
import { createTestDatabase, drivers, type TestDatabase } from '../harness/databases.ts';
import { bearer, makeAlert, makeArea, makeEvent, makeHousehold, makeRule, type MadeAlert } from '../harness/factories.ts';
import { cnicOf, loadFloodRules, NOW, PUNJAB_DISTRICT, seedAreas, seedFloodRegistry, settle, SINDH_DISTRICT } from './setup.ts';

type Json = Record<string, any>;

/** Who acts in these tests: a role in a jurisdiction, each with its own token. */
const PEOPLE = {
  fedPm: ['program_manager', 'PK'],
  fedPm2: ['program_manager', 'PK'],
  fedFinance: ['finance_officer', 'PK'],
  sindhPm: ['program_manager', 'PK7'],
  sindhFinance: ['finance_officer', 'PK7'],
  punjabPm: ['program_manager', 'PK6'],
  punjabFinance: ['finance_officer', 'PK6'],
  auditor: ['auditor', 'PK'],
  responder: ['responder', 'PK7'],
} as const satisfies Record<string, readonly [Role, string]>;
type Who = keyof typeof PEOPLE;

interface World {
  db: TestDatabase;
  app: ReturnType<typeof testApp>;
  /** The clock every request sees; a test may move it. */
  clock: { now: Date };
  call(who: Who, method: string, path: string, body?: unknown): Promise<{ status: number; type: string | null; body: Json }>;
}

/**
 * A database of its own with the tests' two districts and the flood registry (ten Sindh households in
 * PK79901, PMT 10..100; four Punjab ones in PK69901, PMT 10..40), a token for each of PEOPLE, and the rules
 * `setup` loads. The app is the real one with the drainer's dedup key.
 */
function world(driver: Driver, setup: (w: World) => Promise<void>, options: { env?: NonNullable<Parameters<typeof testApp>[1]>['env'] } = {}): World {
  const tokens = {} as Record<Who, string>;
  const w = { clock: { now: NOW } } as World;
  w.call = async (who, method, path, body) => {
    const res = await w.app.request(path, {
      method,
      headers: { authorization: tokens[who], ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    return { status: res.status, type: res.headers.get('content-type'), body: (await res.json()) as Json };
  };
  beforeAll(async () => {
    w.db = await createTestDatabase(driver);
    w.app = testApp(w.db, { clock: () => w.clock.now, ...(options.env ? { env: options.env } : {}) });
    await seedAreas(w.db.db);
    await seedFloodRegistry(w.db);
    for (const [who, [role, jurisdiction]] of Object.entries(PEOPLE)) tokens[who as Who] = (await bearer(w.db.db, role, jurisdiction)).authorization;
    await setup(w);
  }, 120_000);
  afterAll(() => w.db?.drop());
  return w;
}

/** The batches of one subject (an alert or an event), as the federal programme manager lists them. */
async function batchesOf(w: World, subjectId: string): Promise<Json[]> {
  const list = await w.call('fedPm', 'GET', '/api/batches?pageSize=500');
  expect(list.status).toBe(200);
  return list.body.items.filter((b: Json) => b.subject.id === subjectId);
}
async function batchOf(w: World, subjectId: string, kind: 'payment' | 'prepared' = 'payment'): Promise<Json> {
  const found = (await batchesOf(w, subjectId)).filter((b) => b.kind === kind);
  expect(found, `one ${kind} batch of ${subjectId}`).toHaveLength(1);
  return (await w.call('fedPm', 'GET', `/api/batches/${found[0]!.id}`)).body;
}
/** Every line of a batch the reader may see (one page of up to 500). */
async function linesOf(w: World, who: Who, batchId: string, query = ''): Promise<Json[]> {
  const res = await w.call(who, 'GET', `/api/batches/${batchId}/lines?pageSize=500${query}`);
  expect(res.status).toBe(200);
  return res.body.items;
}
/** A batch as the federal programme manager sees it, to compare before and after a refusal. */
const snapshot = async (w: World, id: string) => (await w.call('fedPm', 'GET', `/api/batches/${id}`)).body;

/** Reservations held for an incident, read from the table that guards one top-up per household. */
async function reservationsOf(w: World, incident: string) {
  return queryRows<{ dedup_key: string; reserved_pkr: string; held_by: { batchId: string }[] }>(
    w.db.db,
    sql`select dedup_key, reserved_pkr::text, held_by from reservations where incident = ${incident} order by dedup_key`,
  );
}

const approve = (w: World, who: Who, b: Json, comment = 'checked against the list') => w.call(who, 'POST', `/api/batches/${b.id}/approve`, { comment, linesSha256: b.linesSha256 });
const steps = (b: Json) => b.steps.map((s: Json) => `${s.role}@${s.jurisdiction}`).sort();

describe.each(drivers)('batches of alert-driven rules: readiness, co-financing, stop (%s)', (driver) => {
  let quakeRule: string;
  /** PKR 25,001 so that a 50:50 split leaves a rupee for the largest remainder (the federal payer, listed first). */
  const FLAT = 25_001;
  const w = world(driver, async (w) => {
    quakeRule = (await makeRule(w.db.db, { from: 'earthquake', change: (y) => y.replace('flat_pkr: 25000', `flat_pkr: ${FLAT}`), now: NOW })).id;
    // An earthquake declared as an event that names the alert shares the alert's incident: its batch is
    // netted against what the alert's batches hold, which shows whether a stop freed them.
    await makeRule(w.db.db, {
      from: 'flood-relief-2022',
      change: (y) =>
        y
          .replace(/^valid_to: .*$/m, '')
          .replace('purpose: flood_relief', 'purpose: earthquake_relief')
          .replace('hazards: [flood, riverine_flood, flash_flood]', 'hazards: [earthquake]'),
      now: NOW,
    });
  });

  /** A Madad JSON earthquake alert over `areas`, delivered with everything that follows it. */
  const quake = async (areas: string[], metrics: { magnitude: number; pagerAlert: 'yellow' | 'orange' | 'red' }) => {
    const alert = await makeAlert(w.db.db, { hazard: 'earthquake', metrics, areaCodes: areas, now: w.clock.now });
    await settle(w.db.db, w.clock.now);
    return alert;
  };
  const cancel = async (original: MadeAlert, areas: string[]) => {
    const at = new Date(w.clock.now.getTime() + 600_000);
    await makeAlert(w.db.db, {
      hazard: 'earthquake',
      msgType: 'Cancel',
      references: [{ sender: original.sender, identifier: original.identifier, sent: original.sent }],
      areaCodes: areas,
      now: at,
    });
    await settle(w.db.db, at);
  };
  /** An earthquake event over the Sindh tehsil naming `alert`: its batch (poorest 60 %, S1..S6) shares the alert's incident. */
  const eventNaming = async (alert: MadeAlert) => {
    const event = await makeEvent(w.db.db, { hazard: 'earthquake', areas: [SINDH_DISTRICT.tehsil], alertIds: [alert.id], now: w.clock.now });
    await settle(w.db.db, w.clock.now);
    return batchOf(w, event.id);
  };
  const stopEntry = async (activationId: string) => {
    const res = await w.call('auditor', 'GET', `/api/audit?action=activation.batches_stopped&subject=activation:${activationId}`);
    expect(res.status).toBe(200);
    expect(res.body.items).toHaveLength(1);
    return res.body.items[0].summary as Json;
  };

  it('a readiness stage makes a prepared list: the caseload without money, nothing reserved, nothing to submit', async () => {
    const alert = await quake([SINDH_DISTRICT.code, PUNJAB_DISTRICT.code], { magnitude: 6.3, pagerAlert: 'yellow' });
    const activations = (await w.call('fedPm', 'GET', '/api/activations')).body.items.filter((a: Json) => a.subject.id === alert.id);
    expect(activations.map((a: Json) => [a.ruleId, a.stage, a.batches.length])).toEqual([[quakeRule, 'readiness', 1]]);

    const prepared = await batchOf(w, alert.id, 'prepared');
    expect(prepared).toMatchObject({ kind: 'prepared', status: 'prepared', stage: 'readiness', lineCount: 6, totalPkr: 0 });
    expect((await batchesOf(w, alert.id)).map((b) => b.kind)).toEqual(['prepared']);
    const lines = await linesOf(w, 'fedPm', prepared.id);
    expect(lines.map((l) => [l.householdId, l.requestedPkr, l.amountPkr, l.shares, l.state]).sort()).toEqual(
      ['P1', 'P2', 'P3', 'S1', 'S2', 'S3'].map((h) => [h, FLAT, 0, [], 'live']),
    );
    expect(await reservationsOf(w, prepared.incident)).toEqual([]);

    for (const [who, action] of [
      ['fedPm', 'submit'],
      ['fedPm2', 'approve'],
      ['fedFinance', 'release'],
      ['fedPm', 'rebuild'],
    ] as const) {
      const before = await snapshot(w, prepared.id);
      const res = await w.call(who, 'POST', `/api/batches/${prepared.id}/${action}`, action === 'approve' ? { comment: 'a prepared list' } : undefined);
      if (action === 'rebuild') {
        // A prepared list may be rebuilt from a refreshed registry; it stays a list without money.
        expect(res.status).toBe(200);
        expect(res.body).toMatchObject({ kind: 'prepared', status: 'prepared', build: 2, totalPkr: 0, linesSha256: before.linesSha256 });
        continue;
      }
      expect(res.status, action).toBe(409);
      expect(res.body.detail).toMatch(/is prepared/);
      expect(await snapshot(w, prepared.id)).toEqual(before);
    }
  });

  it('co-financing: each line split federal and household-province to the rupee, signed and released by each payer', async () => {
    const alert = await quake([SINDH_DISTRICT.code, PUNJAB_DISTRICT.code], { magnitude: 6.8, pagerAlert: 'red' });
    const batch = await batchOf(w, alert.id);
    expect(batch).toMatchObject({ kind: 'payment', status: 'draft', jurisdiction: 'PK', lineCount: 6, totalPkr: 6 * FLAT, whole: true });

    // Largest remainder: 25,001 × 50 % is 12,500.5 for each payer; the rupee left goes to the payer listed first.
    const lines = await linesOf(w, 'fedPm', batch.id);
    for (const l of lines) {
      expect(l.shares.reduce((s: number, x: Json) => s + x.amountPkr, 0), `line ${l.householdId}`).toBe(l.amountPkr);
      expect(l.shares).toEqual([
        { agency: 'BISP', jurisdiction: 'federal', amountPkr: 12_501 },
        { agency: 'provincial-government', jurisdiction: l.province, amountPkr: 12_500 },
      ]);
    }
    const payers = Object.fromEntries(batch.payers.map((p: Json) => [`${p.agency}|${p.jurisdiction}`, [p.households, p.amountPkr, p.signedFor]]));
    expect(payers).toEqual({
      'BISP|federal': [6, 75_006, 'PK'],
      'provincial-government|PK7': [3, 37_500, 'PK7'],
      'provincial-government|PK6': [3, 37_500, 'PK6'],
    });
    expect(batch.payers.reduce((s: number, p: Json) => s + p.amountPkr, 0)).toBe(batch.totalPkr);

    // Each province sees the federal batch, but only its own lines and their totals.
    for (const [who, district, province] of [
      ['sindhPm', SINDH_DISTRICT.code, 'PK7'],
      ['punjabPm', PUNJAB_DISTRICT.code, 'PK6'],
    ] as const) {
      const seen = await w.call(who, 'GET', `/api/batches/${batch.id}`);
      expect(seen.status).toBe(200);
      expect(seen.body).toMatchObject({ whole: false, lineCount: null, totalPkr: null });
      expect(seen.body.byDistrict).toEqual([{ district, households: 3, amountPkr: 3 * FLAT, netted: 0, dropped: 0, cancelled: 0 }]);
      const own = Object.fromEntries(seen.body.payers.map((p: Json) => [`${p.agency}|${p.jurisdiction}`, p.amountPkr]));
      expect(own).toMatchObject({ 'BISP|federal': 3 * 12_501, [`provincial-government|${province}`]: 37_500 });
      expect(own[`provincial-government|${province === 'PK7' ? 'PK6' : 'PK7'}`]).toBe(0);
      expect((await linesOf(w, who, batch.id)).map((l) => l.province)).toEqual([province, province, province]);
      const listed = (await w.call(who, 'GET', '/api/batches')).body.items.find((b: Json) => b.id === batch.id);
      expect(listed).toMatchObject({ whole: false, totalPkr: null });
    }

    // jurisdiction: payer asks a programme manager of each payer: the federation, Sindh and Punjab.
    const submitted = await w.call('fedPm', 'POST', `/api/batches/${batch.id}/submit`);
    expect(submitted.status).toBe(200);
    expect(steps(submitted.body)).toEqual(['program_manager@PK', 'program_manager@PK6', 'program_manager@PK7']);
    expect((await approve(w, 'sindhPm', batch)).body).toMatchObject({ status: 'submitted' });
    expect((await approve(w, 'sindhPm', batch)).status).toBe(409);
    expect((await approve(w, 'punjabPm', batch)).body).toMatchObject({ status: 'submitted' });
    const approved = await approve(w, 'fedPm2', batch);
    expect(approved.body.status).toBe('approved');
    expect(approved.body.steps.every((s: Json) => s.signedBy !== null)).toBe(true);

    // Each payer's finance officer releases its own share; the batch is released when the last one is.
    const fed = await w.call('fedFinance', 'POST', `/api/batches/${batch.id}/release`);
    expect(fed.status).toBe(200);
    expect(fed.body.status).toBe('partly_released');
    const released = (b: Json) => Object.fromEntries(b.payers.map((p: Json) => [p.jurisdiction, p.released?.amountPkr ?? null]));
    expect(released(fed.body)).toEqual({ federal: 75_006, PK7: null, PK6: null });
    const sindh = await w.call('sindhFinance', 'POST', `/api/batches/${batch.id}/release`);
    expect(sindh.body.status).toBe('partly_released');
    expect((await w.call('sindhFinance', 'POST', `/api/batches/${batch.id}/release`)).status).toBe(409);
    const punjab = await w.call('punjabFinance', 'POST', `/api/batches/${batch.id}/release`);
    expect(punjab.body.status).toBe('released');
    expect(released(punjab.body)).toEqual({ federal: 75_006, PK7: 37_500, PK6: 37_500 });

    const sindhBudgets = (await w.call('sindhFinance', 'GET', '/api/budgets')).body.items;
    expect(sindhBudgets.map((b: Json) => [b.ruleId, b.agency, b.jurisdiction, b.releasedPkr])).toEqual([[quakeRule, 'provincial-government', 'PK7', 37_500]]);
  });

  it('a stop cancels the unreleased batches of the activation: lines cancelled, reservations freed, the trail says so', async () => {
    const alert = await quake([SINDH_DISTRICT.code], { magnitude: 7.0, pagerAlert: 'red' });
    const draft = await batchOf(w, alert.id);
    const prepared = await batchOf(w, alert.id, 'prepared');
    expect(draft).toMatchObject({ status: 'draft', lineCount: 3, totalPkr: 3 * FLAT });
    expect((await reservationsOf(w, draft.incident)).map((r) => r.reserved_pkr)).toEqual([String(FLAT), String(FLAT), String(FLAT)]);

    await cancel(alert, [SINDH_DISTRICT.code]);

    for (const b of [draft, prepared]) {
      const after = await snapshot(w, b.id);
      expect(after).toMatchObject({ status: 'cancelled', statusReason: expect.stringMatching(/^activation stopped: /) });
      expect(after.byDistrict).toEqual([expect.objectContaining({ district: SINDH_DISTRICT.code, households: 0, cancelled: 3 })]);
      expect((await linesOf(w, 'fedPm', b.id)).map((l) => l.state)).toEqual(['cancelled', 'cancelled', 'cancelled']);
      const entry = await stopEntry(b.activationId);
      expect(entry).toMatchObject({ cancelledBatches: [b.id], leftForPayments: [] });
    }
    expect(await reservationsOf(w, draft.incident)).toEqual([]);
    const activation = (await w.call('fedPm', 'GET', `/api/activations/${draft.activationId}`)).body;
    expect(activation).toMatchObject({ status: 'stopped', stoppedReason: expect.stringMatching(/cancel/i) });
    // Nothing of a cancelled batch moves again.
    expect((await w.call('fedPm', 'POST', `/api/batches/${draft.id}/submit`)).status).toBe(409);

    // The households are free: a batch of the same incident reserves them again, at the full amount.
    const next = await eventNaming(alert);
    expect(next.incident).toBe(draft.incident);
    expect(next).toMatchObject({ status: 'draft', lineCount: 6, totalPkr: 6 * 25_000 });
    expect(next.figures).toMatchObject({ dropped: { lines: 0, pkr: 0 }, netted: { lines: 0, pkr: 0 }, heldByOthers: {} });
    expect((await reservationsOf(w, draft.incident)).every((r) => r.held_by.every((h) => h.batchId === next.id))).toBe(true);
  });

  it('a stop leaves a released batch to the payments work: the batch keeps its status and releases, the trail says so', async () => {
    const alert = await quake([SINDH_DISTRICT.code], { magnitude: 7.2, pagerAlert: 'red' });
    const batch = await batchOf(w, alert.id);
    expect((await w.call('fedPm', 'POST', `/api/batches/${batch.id}/submit`)).status).toBe(200);
    expect(steps(await snapshot(w, batch.id))).toEqual(['program_manager@PK', 'program_manager@PK7']);
    await approve(w, 'fedPm2', batch);
    expect((await approve(w, 'sindhPm', batch)).body.status).toBe('approved');
    expect((await w.call('fedFinance', 'POST', `/api/batches/${batch.id}/release`)).body.status).toBe('partly_released');
    const released = await w.call('sindhFinance', 'POST', `/api/batches/${batch.id}/release`);
    expect(released.body.status).toBe('released');
    const releases = (b: Json) => b.payers.map((p: Json) => [p.agency, p.jurisdiction, p.released]);

    await cancel(alert, [SINDH_DISTRICT.code]);

    // Released money is stopped through its payments (server/payments), never by cancelling the batch.
    const after = await snapshot(w, batch.id);
    expect(after).toMatchObject({ status: 'released', statusReason: null, linesSha256: batch.linesSha256 });
    expect(releases(after)).toEqual(releases(released.body));
    const entry = await stopEntry(batch.activationId);
    expect(entry).toMatchObject({ cancelledBatches: [], leftForPayments: [{ batchId: batch.id, status: 'released' }] });
    expect(entry.note).toMatch(/payments work/);
    expect((await w.call('fedPm', 'POST', `/api/batches/${batch.id}/cancel`, { reason: 'stop it all' })).status).toBe(409);
    // Its readiness list, never paid, is cancelled.
    expect((await batchOf(w, alert.id, 'prepared')).status).toBe('cancelled');
    const readiness = await stopEntry((await batchOf(w, alert.id, 'prepared')).activationId);
    expect(readiness).toMatchObject({ leftForPayments: [] });
  });

  it('after a stop, a partly released batch releases nothing more', async () => {
    const alert = await quake([SINDH_DISTRICT.code], { magnitude: 7.1, pagerAlert: 'red' });
    const batch = await batchOf(w, alert.id);
    await w.call('fedPm', 'POST', `/api/batches/${batch.id}/submit`);
    await approve(w, 'fedPm2', batch);
    await approve(w, 'sindhPm', batch);
    expect((await w.call('fedFinance', 'POST', `/api/batches/${batch.id}/release`)).body.status).toBe('partly_released');

    await cancel(alert, [SINDH_DISTRICT.code]);

    expect((await stopEntry(batch.activationId)).leftForPayments).toEqual([{ batchId: batch.id, status: 'partly_released' }]);
    const before = await snapshot(w, batch.id);
    const refused = await w.call('sindhFinance', 'POST', `/api/batches/${batch.id}/release`);
    expect(refused.status).toBe(409);
    expect(refused.body.detail).toMatch(/stopped \(.*cancelled.*\): nothing more of it is released/);
    expect(await snapshot(w, batch.id)).toEqual(before);
    expect(before.status).toBe('partly_released');
  });

  // Last: its rule fires on every later quake of this database.
  it('opens each payer\u2019s budget line with its exact share of a large ceiling', async () => {
    // PKR 7,125,104,599,209 × 86.22 %: as a double the product rounds up past a whole rupee.
    const big = await makeRule(w.db.db, {
      from: 'earthquake',
      change: (y) => y.replace('ceiling_pkr: 10000000000', 'ceiling_pkr: 7125104599209').replace('share_bp: 5000', 'share_bp: 8622').replace('share_bp: 5000', 'share_bp: 1378'),
      now: NOW,
    });
    await quake([SINDH_DISTRICT.code], { magnitude: 6.9, pagerAlert: 'red' });
    const lines = (await w.call('fedFinance', 'GET', '/api/budgets')).body.items.filter((b: Json) => b.ruleId === big.id);
    expect(lines.map((b: Json) => [b.agency, b.jurisdiction, b.ceilingPkr])).toEqual([
      ['BISP', 'federal', 6_143_265_185_437],
      ['provincial-government', 'PK7', 981_839_413_771],
    ]);
  });
});

/** The federal flood rule (BISP, PKR 25,000 to the poorest 60 % of each tehsil) in force now, changed by `change`. */
const floodRule = (w: World, change: (yaml: string) => string = (y) => y) =>
  makeRule(w.db.db, { from: 'flood-relief-2022', change: (y) => change(y.replace(/^valid_to: .*$/m, '')), now: NOW });
/** A flood declared over the Sindh tehsil, with its batches built; returns the federal batch. */
async function declared(w: World, tehsil = SINDH_DISTRICT.tehsil): Promise<Json> {
  const event = await makeEvent(w.db.db, { areas: [tehsil], now: w.clock.now });
  await settle(w.db.db, w.clock.now);
  return batchOf(w, event.id);
}

describe.each(drivers)('a budget ceiling cuts the build and holds the release (%s)', (driver) => {
  const w = world(driver, async (w) => void (await floodRule(w, (y) => y.replace('ceiling_pkr: 70000000000', 'ceiling_pkr: 100000'))));

  it('cuts the richest lines at build, refuses a release past the amended ceiling with the shortfall, and keeps every amendment', async () => {
    // Six households qualify (PMT 10..60); PKR 100,000 holds four of them, poorest first.
    const batch = await declared(w);
    expect(batch).toMatchObject({ status: 'draft', lineCount: 4, totalPkr: 100_000 });
    expect((await linesOf(w, 'fedPm', batch.id)).map((l) => l.householdId)).toEqual(['S1', 'S2', 'S3', 'S4']);
    expect(batch.figures.ceiling).toMatchObject({ cutLines: 2, cutPkr: 50_000 });
    expect(batch.figures.ceiling.text).toBe('2 lines (PKR 50,000) cut: the headroom of BISP federal PKR 100,000 was reached');
    expect(batch.payers[0].budget).toMatchObject({ ceilingPkr: 100_000, committedPkr: 100_000, releasedPkr: 0, headroomPkr: 0 });

    await w.call('fedPm', 'POST', `/api/batches/${batch.id}/submit`);
    expect((await approve(w, 'fedPm2', batch)).body.status).toBe('approved');

    // Finance lowers the ceiling below the approved batch: allowed (nothing is released yet), and it binds.
    const line = batch.payers[0].budget;
    const lowered = await w.call('fedFinance', 'POST', `/api/budgets/${line.id}/amend`, { ceilingPkr: 60_000, reason: 'second tranche withheld', reference: 'F.2(7)/2026' });
    expect(lowered.status).toBe(200);
    expect(lowered.body).toMatchObject({ ceilingPkr: 60_000, committedPkr: 100_000, releasedPkr: 0, headroomPkr: 0 });
    const before = await snapshot(w, batch.id);
    const refused = await w.call('fedFinance', 'POST', `/api/batches/${batch.id}/release`);
    expect(refused.status).toBe(409);
    expect(refused.body.detail).toMatch(/would pass its ceiling of PKR 60,000: PKR 0 is already released, so PKR 60,000 is left and PKR 40,000 is missing/);
    expect(await snapshot(w, batch.id)).toEqual(before);
    expect((await w.call('fedFinance', 'GET', '/api/budgets')).body.items[0]).toMatchObject({ ceilingPkr: 60_000, releasedPkr: 0 });

    const raised = await w.call('fedFinance', 'POST', `/api/budgets/${line.id}/amend`, { ceilingPkr: 150_000, reason: 'second tranche approved', reference: 'ECC-2026-21' });
    expect(raised.body).toMatchObject({ ceilingPkr: 150_000, headroomPkr: 50_000 });
    const released = await w.call('fedFinance', 'POST', `/api/batches/${batch.id}/release`);
    expect(released.body).toMatchObject({ status: 'released', payers: [{ released: { amountPkr: 100_000 }, budget: { ceilingPkr: 150_000, releasedPkr: 100_000, committedPkr: 0, headroomPkr: 50_000 } }] });

    const budget = (await w.call('fedFinance', 'GET', '/api/budgets')).body.items[0];
    expect(budget.amendments.map((a: Json) => [a.ceilingBeforePkr, a.ceilingAfterPkr, a.reason, a.reference])).toEqual([
      [100_000, 60_000, 'second tranche withheld', 'F.2(7)/2026'],
      [60_000, 150_000, 'second tranche approved', 'ECC-2026-21'],
    ]);
    // Amendments are history: the database refuses to change or remove one.
    await expect(w.db.db.execute(sql`update budget_amendments set ceiling_after_pkr = 1`)).rejects.toThrow();
    await expect(w.db.db.execute(sql`delete from budget_amendments`)).rejects.toThrow();
  });
});

describe.each(drivers)('a draft is rebuilt only when asked (%s)', (driver) => {
  const w = world(driver, async (w) => void (await floodRule(w)));

  it('keeps the draft as built while the registry changes, and rebuilds it on request', async () => {
    const batch = await declared(w);
    const lines = await linesOf(w, 'fedPm', batch.id);
    expect(lines.map((l) => l.householdId)).toEqual(['S1', 'S2', 'S3', 'S4', 'S5', 'S6']);

    // Four poorer households are imported into the declared tehsil after the build.
    await makeHousehold(
      w.db,
      [5, 15, 25, 35].map((pmt, i) => ({ id: `N${i + 1}`, lat: 25.03 + i * 0.04, lon: 68.17, pmt, columns: { cnic: cnicOf(200 + i) } })),
      { now: NOW },
    );
    expect(await snapshot(w, batch.id)).toEqual(batch);
    expect(await linesOf(w, 'fedPm', batch.id)).toEqual(lines);

    const rebuilt = await w.call('fedPm', 'POST', `/api/batches/${batch.id}/rebuild`);
    expect(rebuilt.status).toBe(200);
    expect(rebuilt.body).toMatchObject({ id: batch.id, status: 'draft', build: 2 });
    expect(rebuilt.body.linesSha256).not.toBe(batch.linesSha256);
    expect(rebuilt.body.registryVersion).not.toBe(batch.registryVersion);
    // Fourteen households now: the poorest 60 % are ceil(8.4) = nine, four of them new.
    const now = await linesOf(w, 'fedPm', batch.id);
    expect(now.map((l) => l.householdId)).toEqual(['N1', 'S1', 'N2', 'S2', 'N3', 'S3', 'N4', 'S4', 'S5']);
    expect(rebuilt.body).toMatchObject({ lineCount: 9, totalPkr: 225_000 });
    expect((await reservationsOf(w, batch.incident)).map((r) => r.held_by.map((h) => h.batchId))).toEqual(Array(9).fill([batch.id]));

    expect((await w.call('fedPm', 'POST', `/api/batches/${batch.id}/submit`)).status).toBe(200);
    const before = await snapshot(w, batch.id);
    const refused = await w.call('fedPm', 'POST', `/api/batches/${batch.id}/rebuild`);
    expect(refused.status).toBe(409);
    expect(refused.body.detail).toMatch(/is submitted: only a draft/);
    expect(await snapshot(w, batch.id)).toEqual(before);
  });
  it('an empty draft (nobody in the area) has nothing to submit, and a manager of its rule\u2019s payer cancels it', async () => {
    // A tehsil in the corner of the Sindh district where the registry lists nobody.
    const empty = await makeArea(w.db.db, { level: 3, parentCode: SINDH_DISTRICT.code, box: [68.19, 25.19, 68.2, 25.2] });
    const batch = await declared(w, empty.code);
    expect(batch).toMatchObject({ status: 'draft', lineCount: 0, totalPkr: 0, payers: [] });
    const submit = await w.call('fedPm', 'POST', `/api/batches/${batch.id}/submit`);
    expect(submit.status).toBe(409);
    expect(submit.body.detail).toMatch(/pays nothing/);
    const sindh = await w.call('sindhPm', 'POST', `/api/batches/${batch.id}/cancel`, { reason: 'nobody to pay' });
    expect(sindh.status).toBe(403);
    expect(sindh.body.detail).toMatch(/payers \(PK\)/);
    expect(await snapshot(w, batch.id)).toEqual(batch);
    const cancelled = await w.call('fedPm', 'POST', `/api/batches/${batch.id}/cancel`, { reason: 'nobody to pay' });
    expect(cancelled.status).toBe(200);
    expect(cancelled.body.status).toBe('cancelled');
  });
});

describe.each(drivers)('approvals: reject, resubmit, cancel, overdue, and refusals that change nothing (%s)', (driver) => {
  const w = world(driver, async (w) => void (await floodRule(w)), { env: { MADAD_APPROVAL_HOURS: 1 } });
  let first: Json;
  let second: Json;

  it('cancelling a draft cancels its lines and frees its households; a cancelled batch refuses every action', async () => {
    first = await declared(w);
    expect((await reservationsOf(w, first.incident)).length).toBe(6);
    const cancelled = await w.call('fedPm', 'POST', `/api/batches/${first.id}/cancel`, { reason: 'the tehsil list is being corrected' });
    expect(cancelled.status).toBe(200);
    expect(cancelled.body).toMatchObject({ status: 'cancelled', statusReason: 'the tehsil list is being corrected' });
    expect((await linesOf(w, 'fedPm', first.id)).map((l) => l.state)).toEqual(Array(6).fill('cancelled'));
    expect(await reservationsOf(w, first.incident)).toEqual([]);

    const before = await snapshot(w, first.id);
    for (const [who, action, body] of [
      ['fedPm', 'submit', undefined],
      ['fedPm', 'rebuild', undefined],
      ['fedPm', 'cancel', { reason: 'again' }],
      ['fedPm2', 'approve', { comment: 'looks right' }],
      ['fedPm2', 'reject', { reason: 'wrong list' }],
      ['fedFinance', 'release', undefined],
    ] as const) {
      const res = await w.call(who, 'POST', `/api/batches/${first.id}/${action}`, body);
      expect(res.status, action).toBe(409);
      expect(res.type).toMatch(/^application\/problem\+json/);
      expect(res.body.detail, action).toMatch(/cancelled/);
    }
    expect(await snapshot(w, first.id)).toEqual(before);

    // The activation is still in force: a programme manager builds it a new batch, which finds every household free.
    second = (await w.call('fedPm', 'POST', `/api/activations/${first.activationId}/batches`)).body;
    expect(second).toMatchObject({ activationId: first.activationId, status: 'draft', build: 1, lineCount: 6, totalPkr: 150_000 });
    expect(second.id).not.toBe(first.id);
    expect(second.linesSha256).toBe(first.linesSha256);
    expect(second.figures).toMatchObject({ netted: { lines: 0, pkr: 0 }, dropped: { lines: 0, pkr: 0 } });
    const again = await w.call('fedPm', 'POST', `/api/activations/${first.activationId}/batches`);
    expect(again.status).toBe(409);
    expect(again.body.detail).toMatch(new RegExp(`already has batch ${second.id}`));
    const activation = (await w.call('fedPm', 'GET', `/api/activations/${first.activationId}`)).body;
    expect(activation.batches.map((b: Json) => [b.id, b.status])).toEqual([
      [first.id, 'cancelled'],
      [second.id, 'draft'],
    ]);
  });

  it('a step waits its hours, then shows overdue; a rejection sends the batch back to draft and the next submission is round 2', async () => {
    const submitted = await w.call('fedPm', 'POST', `/api/batches/${second.id}/submit`);
    expect(submitted.body).toMatchObject({ status: 'submitted', round: 1 });
    expect(submitted.body.steps).toEqual([
      { step: 1, role: 'program_manager', jurisdiction: 'PK', dueAt: new Date(NOW.getTime() + 3600_000).toISOString(), signedBy: null, signedAt: null, comment: null, overdue: false },
    ]);
    w.clock.now = new Date(NOW.getTime() + 2 * 3600_000);
    expect((await snapshot(w, second.id)).steps[0].overdue).toBe(true);

    const rejected = await w.call('fedPm2', 'POST', `/api/batches/${second.id}/reject`, { reason: 'district totals do not match the PDMA notification' });
    expect(rejected.status).toBe(200);
    expect(rejected.body).toMatchObject({ status: 'draft', round: 1, steps: [], statusReason: expect.stringMatching(/^rejected by token:.*: district totals do not match/) });
    expect(rejected.body.approvals).toMatchObject([{ round: 1, step: null, decision: 'reject', comment: 'district totals do not match the PDMA notification' }]);

    const resubmitted = await w.call('fedPm', 'POST', `/api/batches/${second.id}/submit`);
    expect(resubmitted.body).toMatchObject({ status: 'submitted', round: 2, statusReason: null });
    expect(resubmitted.body.steps).toMatchObject([{ step: 1, dueAt: new Date(w.clock.now.getTime() + 3600_000).toISOString(), overdue: false }]);

    // An approval of other lines than the batch holds is refused; the one who rejected round 1 may sign round 2.
    const before = await snapshot(w, second.id);
    const stale = await w.call('fedPm2', 'POST', `/api/batches/${second.id}/approve`, { comment: 'checked', linesSha256: 'f'.repeat(64) });
    expect(stale.status).toBe(409);
    expect(stale.body.detail).toMatch(/lines changed since you read them/);
    expect(await snapshot(w, second.id)).toEqual(before);
    const approved = await approve(w, 'fedPm2', second);
    expect(approved.body).toMatchObject({ status: 'approved', round: 2, steps: [{ signedBy: expect.stringMatching(/^token:/), overdue: false }] });
    expect(approved.body.approvals.map((a: Json) => [a.round, a.decision])).toEqual([
      [1, 'reject'],
      [2, 'approve'],
    ]);

    const trail = await w.call('auditor', 'GET', `/api/audit?subject=batch:${second.id}`);
    expect(trail.body.items.map((e: Json) => e.action).sort()).toEqual(['batch.approved', 'batch.built', 'batch.rejected', 'batch.submitted', 'batch.submitted'].sort());
  });

  it('refuses bad input with a problem naming the field, an unknown id with 404, and changes nothing', async () => {
    const id = second.id;
    const before = await snapshot(w, id);
    const bad: [Who, string, unknown, string][] = [
      ['fedPm2', `/api/batches/${id}/approve`, {}, 'json.comment'],
      ['fedPm2', `/api/batches/${id}/approve`, { comment: '  ' }, 'json.comment'],
      ['fedPm2', `/api/batches/${id}/approve`, { comment: 'fine', linesSha256: 'not a hash' }, 'json.linesSha256'],
      ['fedPm2', `/api/batches/${id}/reject`, {}, 'json.reason'],
      ['fedPm', `/api/batches/${id}/cancel`, { reason: '' }, 'json.reason'],
      ['fedPm', `/api/batches/${id}/cancel`, { reason: 'a good reason', extra: 1 }, 'json'],
    ];
    const budget = before.payers[0].budget;
    for (const ceilingPkr of [-1, 1.5, '100', null])
      bad.push(['fedFinance', `/api/budgets/${budget.id}/amend`, { ceilingPkr, reason: 'a reason', reference: 'F.1/2026' }, 'json.ceilingPkr']);
    bad.push(['fedFinance', `/api/budgets/${budget.id}/amend`, { ceilingPkr: 1, reason: 'a reason', reference: '' }, 'json.reference']);
    bad.push(['fedFinance', `/api/budgets/${budget.id}/amend`, { ceilingPkr: 1, reference: 'F.1/2026' }, 'json.reason']);
    for (const [who, path, body, field] of bad) {
      const res = await w.call(who, 'POST', path, body);
      expect(res.status, `${path} ${JSON.stringify(body)}`).toBe(400);
      expect(res.type).toMatch(/^application\/problem\+json/);
      expect(res.body.code).toBe('invalid_request');
      expect(res.body.errors.map((e: Json) => e.field), JSON.stringify(body)).toContain(field);
    }

    const unknown = crypto.randomUUID();
    for (const [who, method, path, body] of [
      ['fedPm', 'GET', `/api/batches/${unknown}`, undefined],
      ['fedPm', 'GET', `/api/batches/${unknown}/lines`, undefined],
      ['fedPm', 'POST', `/api/batches/${unknown}/submit`, undefined],
      ['fedPm', 'POST', `/api/batches/${unknown}/rebuild`, undefined],
      ['fedPm2', 'POST', `/api/batches/${unknown}/approve`, { comment: 'checked' }],
      ['fedPm2', 'POST', `/api/batches/${unknown}/reject`, { reason: 'wrong list' }],
      ['fedPm', 'POST', `/api/batches/${unknown}/cancel`, { reason: 'wrong list' }],
      ['fedFinance', 'POST', `/api/batches/${unknown}/release`, undefined],
      ['fedFinance', 'POST', `/api/budgets/${unknown}/amend`, { ceilingPkr: 1, reason: 'a reason', reference: 'F.1/2026' }],
      ['fedPm', 'GET', `/api/activations/${unknown}`, undefined],
      ['fedPm', 'POST', `/api/activations/${unknown}/batches`, undefined],
    ] as const) {
      const res = await w.call(who, method, path, body);
      expect(res.status, `${method} ${path}`).toBe(404);
      expect(res.body.code).toBe('not_found');
    }
    expect((await w.call('fedPm', 'GET', '/api/batches/not-an-id')).status).toBe(400);

    expect(await snapshot(w, id)).toEqual(before);
    expect((await w.call('fedFinance', 'GET', '/api/budgets')).body.items[0].amendments).toEqual([]);
  });

  it('shows a reader without identity access the counts protected, in the batch, its figures and every list', async () => {
    const readBoth = async (id: string) => ({ pm: await snapshot(w, id), responder: (await w.call('responder', 'GET', `/api/batches/${id}`)).body });
    // Six lines: fewer than the smallest cell (10), so a responder sees no count and no rupees.
    const small = await readBoth(second.id);
    expect(small.pm).toMatchObject({ lineCount: 6, totalPkr: 150_000, figures: { eligible: 6, cutoffs: [{ pmtCutoff: 60 }] } });
    expect(small.responder).toMatchObject({ whole: true, lineCount: null, totalPkr: null });
    expect(small.responder.figures).toMatchObject({
      householdsInArea: 10,
      eligible: null,
      requestedPkr: null,
      excluded: { percentile: null, pmt: null },
      cutoffs: [{ households: 10, rank: null, atOrUnder: null, pmtCutoff: 60 }],
      disclosure: { minCell: 10, roundedTo: 10 },
    });
    // A budget line's committed rupees would give a lone batch's total back: budgets go to their readers only.
    expect(small.responder.payers).toMatchObject([{ agency: 'BISP', households: null, amountPkr: null, budget: null }]);
    expect(small.responder.figures.ceiling.headroomBefore).toBeNull();
    const audited = (await w.call('auditor', 'GET', `/api/batches/${second.id}`)).body;
    expect(audited).toMatchObject({ lineCount: null, payers: [{ budget: { committedPkr: 150_000 } }] });
    expect(audited.figures.ceiling.headroomBefore).toEqual(small.pm.figures.ceiling.headroomBefore);
    const listed = (await w.call('responder', 'GET', '/api/batches')).body.items.find((b: Json) => b.id === second.id);
    expect(listed).toMatchObject({ lineCount: null, totalPkr: null });
    const activation = (await w.call('responder', 'GET', `/api/activations/${second.activationId}`)).body;
    expect(activation.batches.find((b: Json) => b.id === second.id)).toMatchObject({ lineCount: null, totalPkr: null });

    // Ten more households: a new flood's batch has twelve lines, shown rounded to ten, and rupees in steps of ten lines.
    await makeHousehold(
      w.db,
      Array.from({ length: 10 }, (_, i) => ({ id: `M${i + 1}`, lat: 25.19, lon: 68.01 + i * 0.015, pmt: 5 + i * 10, columns: { cnic: cnicOf(300 + i) } })),
      { now: NOW },
    );
    const large = await readBoth((await declared(w)).id);
    expect(large.pm).toMatchObject({ lineCount: 12, totalPkr: 300_000, figures: { householdsInArea: 20, eligible: 12, excluded: { percentile: 8 } } });
    expect(large.responder).toMatchObject({ lineCount: 10, totalPkr: 250_000 });
    expect(large.responder.figures).toMatchObject({
      householdsInArea: 20,
      eligible: 10,
      requestedPkr: 250_000,
      excluded: { percentile: null },
      cutoffs: [{ households: 20, rank: 10, atOrUnder: 10, pmtCutoff: large.pm.figures.cutoffs[0].pmtCutoff }],
    });
    expect(large.responder.byDistrict).toEqual([{ district: SINDH_DISTRICT.code, households: 10, amountPkr: 250_000, netted: null, dropped: null, cancelled: null }]);
  });
});

/**
 * Two servers drain one outbox: one may still be building an activation's batch when another handles the
 * activation's stop. The stop must wait for that build and cancel what it built, or a stopped activation
 * keeps a live draft (and its reservations) that nothing will ever cancel.
 */
describe.skipIf(!drivers.includes('postgres'))('a stop handled while the batch is still being built (postgres, two connections)', () => {
  const w = world('postgres', async (w) => void (await floodRule(w)));

  it('waits for the build to commit, then cancels the batch it made', async () => {
    const event = await makeEvent(w.db.db, { areas: [SINDH_DISTRICT.tehsil], now: NOW });
    await evaluateEvent(systemCtx(w.db.db, 'triggers', NOW), { eventId: event.id, cause: 'test' });
    const [activation] = await queryRows<{ id: string }>(w.db.db, sql`select id::text from activations where subject_id = ${event.id}::uuid`);
    const waiting = async () => (await queryRows<{ n: number }>(w.db.db, sql`select count(*)::int as n from pg_locks where locktype = 'advisory' and not granted`))[0]!.n;

    let stop: Promise<Awaited<ReturnType<typeof stopBatches>>> | undefined;
    let stopDone = false;
    const built = await w.db.db.transaction(async (tx) => {
      const made = await buildBatch({ db: tx, tx, actor: systemActor('batches'), now: NOW }, { activationId: activation!.id }, testBatchDeps(w.db.db));
      // The activation stops (another server's evaluation) and its stop is handled before the build commits.
      await w.db.db.execute(sql`update activations set status = 'stopped', stopped_reason = 'the flood did not come', stopped_at = ${NOW.toISOString()}::timestamptz where id = ${activation!.id}::uuid`);
      stop = stopBatches(systemCtx(w.db.db, 'batches', NOW), { activationId: activation!.id, reason: 'the flood did not come' });
      void stop.finally(() => (stopDone = true));
      // Commit once the stop has either finished or is waiting for this build.
      for (let i = 0; i < 2000 && !stopDone && (await waiting()) === 0; i++) await new Promise((r) => setTimeout(r, 5));
      return made!.batch;
    });
    const result = await stop!;
    expect(result.cancelled).toEqual([built.id]);
    expect((await snapshot(w, built.id)).status).toBe('cancelled');
    expect(await reservationsOf(w, built.incident)).toEqual([]);
  });
});

describe.each(drivers)('households given back by one batch are paid by the batches netted against them (%s)', (driver) => {
  const w = world(driver, async (w) => void (await loadFloodRules(w.db.db)));
  const byProgramme = async (subjectId: string) => {
    const found = (await batchesOf(w, subjectId)).filter((b) => b.kind === 'payment' && b.status !== 'cancelled');
    return Object.fromEntries(await Promise.all(found.map(async (b) => [b.programme, (await w.call('fedPm', 'GET', `/api/batches/${b.id}`)).body]))) as Record<string, Json>;
  };
  const amounts = async (b: Json) => (await linesOf(w, 'fedPm', b.id)).map((l) => `${l.householdId}:${l.state}:${l.amountPkr}`);

  it('a draft netted against a cancelled batch is built again by itself; a submitted one keeps its signed lines and the trail says why', async () => {
    const event = await makeEvent(w.db.db, { areas: [SINDH_DISTRICT.tehsil], now: NOW });
    await settle(w.db.db);
    const first = await byProgramme(event.id);
    // BISP's draft came first: the Sindh top-up dropped S2 and S4, whom BISP pays PKR 25,000.
    expect(await amounts(first.SSPA!)).toEqual(['S2:dropped:0', 'S4:dropped:0', 'S7:live:10000', 'S9:live:10000']);

    expect((await w.call('fedPm', 'POST', `/api/batches/${first.BISP!.id}/cancel`, { reason: 'wrong tehsil list' })).status).toBe(200);
    await settle(w.db.db);
    const second = await byProgramme(event.id);
    expect(second.BISP).toBeUndefined();
    expect(second.SSPA).toMatchObject({ id: first.SSPA!.id, status: 'draft', build: 2, lineCount: 4, totalPkr: 40_000 });
    expect(await amounts(second.SSPA!)).toEqual(['S2:live:10000', 'S4:live:10000', 'S7:live:10000', 'S9:live:10000']);

    // BISP's activation builds again by hand: now Sindh holds S2 and S4 (PKR 10,000), so BISP tops them up to 25,000.
    const rebuilt = (await w.call('fedPm', 'POST', `/api/activations/${first.BISP!.activationId}/batches`)).body;
    expect((await amounts(rebuilt)).filter((a) => /^S[24]:/.test(a))).toEqual(['S2:live:15000', 'S4:live:15000']);
    expect((await w.call('fedPm', 'POST', `/api/batches/${rebuilt.id}/submit`)).status).toBe(200);

    // Sindh cancels: BISP's submitted batch keeps the lines its signers see, and the trail says why it may owe more.
    expect((await w.call('sindhPm', 'POST', `/api/batches/${second.SSPA!.id}/cancel`, { reason: 'paid by the province outside Madad' })).status).toBe(200);
    await settle(w.db.db);
    const after = (await w.call('fedPm', 'GET', `/api/batches/${rebuilt.id}`)).body;
    expect(after).toMatchObject({ status: 'submitted', build: rebuilt.build, linesSha256: rebuilt.linesSha256 });
    const trail = await queryRows<{ actor: string; summary: Json }>(w.db.db, sql`select actor, summary from audit_log where action = 'batch.netting_stale' and subject = ${`batch:${rebuilt.id}`}`);
    expect(trail).toEqual([{ actor: 'system:batches', summary: expect.objectContaining({ freedBy: second.SSPA!.id, status: 'submitted' }) }]);
  });
});
