import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Role } from '../../server/access/roles.ts';
import { queryRows } from '../../server/db/client.ts';
import type { Driver } from '../../server/db/client.ts';
import { testApp } from '../harness/app.ts';
import { createTestDatabase, drivers, type TestDatabase } from '../harness/databases.ts';
import { bearer, makeAlert, makeEvent, makeHousehold, makeRule, type MadeAlert } from '../harness/factories.ts';
import { cnicOf, NOW, PUNJAB_DISTRICT, seedAreas, seedFloodRegistry, settle, SINDH_DISTRICT } from './setup.ts';

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
function world(driver: Driver, setup: (w: World) => Promise<void>, options: { env?: Parameters<typeof testApp>[1]['env'] } = {}): World {
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
  const quake = async (areas: string[], metrics: { magnitude: number; pagerAlert: string }) => {
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

  it('a stop leaves a released batch to the payments work, and its households stay held', async () => {
    const alert = await quake([SINDH_DISTRICT.code], { magnitude: 7.2, pagerAlert: 'red' });
    const batch = await batchOf(w, alert.id);
    expect((await w.call('fedPm', 'POST', `/api/batches/${batch.id}/submit`)).status).toBe(200);
    expect(steps(await snapshot(w, batch.id))).toEqual(['program_manager@PK', 'program_manager@PK7']);
    await approve(w, 'fedPm2', batch);
    expect((await approve(w, 'sindhPm', batch)).body.status).toBe('approved');
    expect((await w.call('fedFinance', 'POST', `/api/batches/${batch.id}/release`)).body.status).toBe('partly_released');
    expect((await w.call('sindhFinance', 'POST', `/api/batches/${batch.id}/release`)).body.status).toBe('released');
    const before = await snapshot(w, batch.id);

    await cancel(alert, [SINDH_DISTRICT.code]);

    expect(await snapshot(w, batch.id)).toEqual(before);
    expect((await linesOf(w, 'fedPm', batch.id)).map((l) => l.state)).toEqual(['live', 'live', 'live']);
    const entry = await stopEntry(batch.activationId);
    expect(entry).toMatchObject({ cancelledBatches: [], leftForPayments: [{ batchId: batch.id, status: 'released' }] });
    expect(entry.note).toMatch(/payments work/);
    // Its readiness list, never paid, is cancelled.
    expect((await batchOf(w, alert.id, 'prepared')).status).toBe('cancelled');

    // The released households are still held for this incident: an event naming the alert drops them.
    const next = await eventNaming(alert);
    expect(next).toMatchObject({ lineCount: 6, totalPkr: 3 * 25_000 });
    const dropped = await linesOf(w, 'fedPm', next.id, '&state=dropped');
    expect(dropped.map((l) => [l.householdId, l.amountPkr, l.netText])).toEqual(
      ['S1', 'S2', 'S3'].map((h) => [h, 0, `already paid PKR 25,001 by BISP for this event and purpose`]),
    );
  });
});
