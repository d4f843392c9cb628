import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureDefaultAreas } from '../../server/areas/service.ts';
import { queryRows } from '../../server/db/client.ts';
import { exportPaymentFiles } from '../../server/payments/files.ts';
import { reconcile, RECONCILIATION_COLUMNS } from '../../server/payments/reconcile.ts';
import { testApp } from '../harness/app.ts';
import { createTestDatabase, drivers, type TestDatabase } from '../harness/databases.ts';
import { makeRule, setupCtx } from '../harness/factories.ts';
import { cnicOf, declareFlood, loadFloodRules, NOW, seedAreas, seedFloodRegistry, settle, SINDH_DISTRICT } from '../batches/setup.ts';
import { agencyToken, type Json } from './setup.ts';

const HOUR = 3_600_000;

describe.each(drivers)('the joint response plan of a declared flood (%s)', (driver) => {
  let db: TestDatabase;
  let app: ReturnType<typeof testApp>;
  let later: ReturnType<typeof testApp>;
  let ids: { federal: string; sindh: string };
  let eventId: string;
  let incident: string;
  const as = {} as Record<'bisp' | 'bisp2' | 'bispFinance' | 'sindhDma' | 'sindhPm' | 'punjabDma' | 'responder' | 'sindhAdmin' | 'districtResponder', string>;

  const request = async (target: ReturnType<typeof testApp>, who: keyof typeof as, method: string, path: string, body?: unknown) => {
    const res = await target.request(path, {
      method,
      headers: { authorization: as[who], ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    let json: Json = {};
    try {
      json = JSON.parse(text) as Json;
    } catch {
      /* CSV */
    }
    return { status: res.status, body: json, text, type: res.headers.get('content-type') ?? '' };
  };
  const call = (who: keyof typeof as, method: string, path: string, body?: unknown) => request(app, who, method, path, body);
  const plan = async (who: keyof typeof as = 'bisp') => (await call(who, 'GET', `/api/events/${eventId}/plan`)).body;
  const actionByKey = async (key: string) => {
    const [row] = await queryRows<{ id: string }>(db.db, sql`select id::text from plan_actions where rule_action_key = ${key} and rule_id = ${ids.federal}`);
    return row!.id;
  };
  const count = async (table: 'plan_actions' | 'plan_updates') => (await queryRows<{ n: number }>(db.db, sql`select count(*)::int as n from ${sql.raw(table)}`))[0]!.n;

  beforeAll(async () => {
    db = await createTestDatabase(driver);
    app = testApp(db, { clock: () => NOW });
    later = testApp(db, { clock: () => new Date(NOW.getTime() + 30 * HOUR) });
    await ensureDefaultAreas(setupCtx(db.db, NOW));
    await seedAreas(db.db);
    await seedFloodRegistry(db);
    ids = await loadFloodRules(db.db);
    as.bisp = await agencyToken(db.db, 'program_manager', 'PK', 'BISP');
    as.bisp2 = await agencyToken(db.db, 'program_manager', 'PK', 'BISP');
    as.bispFinance = await agencyToken(db.db, 'finance_officer', 'PK', 'BISP');
    as.sindhDma = await agencyToken(db.db, 'dma_officer', 'PK7', 'PDMA Sindh');
    as.sindhPm = await agencyToken(db.db, 'program_manager', 'PK7', 'SSPA');
    as.punjabDma = await agencyToken(db.db, 'dma_officer', 'PK6', 'PDMA Punjab');
    as.responder = await agencyToken(db.db, 'responder', 'PK7', 'PDMA Sindh');
    as.sindhAdmin = await agencyToken(db.db, 'admin', 'PK7', 'PDMA Sindh');
    as.districtResponder = await agencyToken(db.db, 'responder', 'PK799', 'BISP');
    const event = await declareFlood(db.db);
    eventId = event.id;
    incident = `event:${event.id}`;
  }, 180_000);
  afterAll(() => db?.drop());

  it('copies the pre-agreed actions of the rules that fired into the plan, once, frozen with the rule version', async () => {
    const p = await plan('responder');
    expect(p).toMatchObject({ incident, kind: 'event', open: true, areaCodes: [SINDH_DISTRICT.tehsil] });
    const fromRules = p.actions.filter((a: Json) => a.origin === 'rule');
    const federal = fromRules.filter((a: Json) => a.rule.id === ids.federal);
    const district = (name: string) => name.replace(/^District administration .+$/, 'District administration (the district)');
    expect(federal.map((a: Json) => [district(a.leadAgency), a.sector, a.stage, a.dueRelative, a.status].join(' ')).sort()).toEqual([
      'BISP communication activation T+72 h planned',
      'BISP registration activation T+48 h planned',
      'District administration (the district) cash activation T+96 h planned',
      'District administration (the district) protection response T+120 h planned',
      'NDMA coordination activation T+24 h planned',
      'PDMA Sindh coordination activation T+24 h planned',
    ]);
    const notify = federal.find((a: Json) => a.leadAgency === 'PDMA Sindh');
    expect(notify.title).toBe('PDMA Sindh confirms the notified calamity-hit tehsils and union councils to NDMA and the districts');
    expect(notify.areaCodes).toEqual([SINDH_DISTRICT.tehsil]);
    expect(notify.acceptedAt).toBeNull();
    expect(new Date(notify.dueAt).getTime() - new Date(notify.triggerAt).getTime()).toBe(24 * HOUR);
    expect(notify.history).toMatchObject([{ kind: 'created', toStatus: 'planned', by: 'system:plan' }]);
    expect(fromRules.filter((a: Json) => a.rule.id === ids.sindh).map((a: Json) => district(a.leadAgency)).sort()).toEqual([
      'District administration (the district)',
      'SSPA',
      'SSPA',
    ]);
    // Delivered again, a new version of the rule loaded: the live plan neither grows nor changes.
    const before = await count('plan_actions');
    await makeRule(db.db, { from: 'flood-relief-2022', id: ids.federal, change: (y) => y.replace(/^valid_to: .*$/m, '').replace('BISP prepares the beneficiary lists', 'BISP drafts the lists'), now: NOW });
    await settle(db.db);
    expect(await count('plan_actions')).toBe(before);
    const again = await plan();
    expect(again.actions.some((a: Json) => a.title.startsWith('BISP drafts'))).toBe(false);
    expect(again.actions.find((a: Json) => a.id === notify.id).rule).toEqual(notify.rule);
  });

  it('shows each batch of the incident as a cash action whose figures come from the ledger', async () => {
    const p = await plan();
    const cash = p.actions.filter((a: Json) => a.kind === 'cash');
    expect(cash.map((a: Json) => [a.leadAgency, a.status, a.targets.households, a.money.committedPkr, a.money.releasedPkr, a.money.paidPkr]).sort()).toEqual([
      ['BISP', 'planned', 6, 150_000, 0, 0],
      // Four Kafaalat lines, two of them dropped (BISP pays those households): two to pay.
      ['SSPA', 'planned', 2, 20_000, 0, 0],
    ]);
    const bisp = cash.find((a: Json) => a.leadAgency === 'BISP');
    expect(bisp.money.byPayer).toEqual([{ agency: 'BISP', jurisdiction: 'federal', committedPkr: 150_000, releasedPkr: 0, paidPkr: 0 }]);
    expect(bisp.id).toBe(`batch:${bisp.batchId}`);
    // Submitted, approved and released: the plan shows the release without anyone typing it in.
    const batchId = bisp.batchId;
    expect((await call('bisp', 'POST', `/api/batches/${batchId}/submit`)).status).toBe(200);
    expect((await call('bisp2', 'POST', `/api/batches/${batchId}/approve`, { comment: 'checked against the list' })).status).toBe(200);
    expect((await call('bispFinance', 'POST', `/api/batches/${batchId}/release`)).status).toBe(200);
    await settle(db.db);
    const after = (await plan()).actions.find((a: Json) => a.id === bisp.id);
    expect(after).toMatchObject({ status: 'in_progress', acceptedBy: expect.stringMatching(/^token:/), reached: { households: 0 } });
    expect(after.money).toMatchObject({ committedPkr: 150_000, releasedPkr: 150_000, paidPkr: 0 });
    // The bank says two households were paid: reached and paid follow.
    const finance = { db: db.db, actor: { kind: 'user' as const, id: crypto.randomUUID(), name: 'bisp-finance', roles: ['finance_officer' as const], agency: 'BISP', jurisdiction: 'PK' }, now: NOW };
    const { made } = await exportPaymentFiles(finance, { batchId });
    const inFile = await queryRows<{ id: string; amount_pkr: number }>(db.db, sql`select id, amount_pkr from payment_instructions where file_id = ${made[0]!.id} order by id limit 2`);
    expect(inFile).toHaveLength(2);
    const answer = `${RECONCILIATION_COLUMNS.join(',')}\r\n${inFile.map((i, n) => `${i.id},paid,${i.amount_pkr},2026-08-27T10:00:00Z,REF${n},`).join('\r\n')}\r\n`;
    await reconcile(finance, { fileId: made[0]!.id, text: answer });
    const paidView = (await plan()).actions.find((a: Json) => a.id === bisp.id);
    expect(paidView.reached.households).toBe(2);
    expect(paidView.money.paidPkr).toBe(50_000);
  });

  it('lets the lead agency accept its action once; another agency may not', async () => {
    const id = await actionByKey('beneficiary-lists');
    const inbox = await call('bisp', 'GET', '/api/inbox');
    expect(inbox.status).toBe(200);
    expect(inbox.body.items.filter((i: Json) => i.kind === 'plan').map((i: Json) => i.actionId)).toContain(id);
    expect(inbox.body.counts.plan).toBe(2);
    expect((await call('sindhDma', 'POST', `/api/plan-actions/${id}/accept`)).status).toBe(403);
    const accepted = await call('bisp', 'POST', `/api/plan-actions/${id}/accept`, { note: 'NSER team on it' });
    expect(accepted.status).toBe(200);
    expect(accepted.body).toMatchObject({ acceptedBy: expect.stringMatching(/^token:/), acceptedAt: NOW.toISOString(), mine: true });
    expect((await call('bisp2', 'POST', `/api/plan-actions/${id}/accept`)).status).toBe(409);
    const inboxAfter = await call('bisp', 'GET', '/api/inbox');
    expect(inboxAfter.body.items.map((i: Json) => i.actionId)).not.toContain(id);
  });

  it('moves the status only along the machine, by the lead agency, with a reason to block; the history grows and is never rewritten', async () => {
    const id = await actionByKey('beneficiary-lists');
    const updates = await count('plan_updates');
    const jump = await call('bisp', 'POST', `/api/plan-actions/${id}/updates`, { status: 'done', note: 'all done' });
    expect(jump.status).toBe(400);
    expect(jump.body.errors).toEqual([{ field: 'json.status', message: 'an action that is planned can go to ready, blocked, cancelled, not done' }]);
    const other = await call('sindhDma', 'POST', `/api/plan-actions/${id}/updates`, { status: 'ready', note: 'ready' });
    expect(other.status).toBe(403);
    const noReason = await call('bisp', 'POST', `/api/plan-actions/${id}/updates`, { status: 'blocked', note: 'stuck' });
    expect(noReason.status).toBe(400);
    expect(noReason.body.errors.map((e: Json) => e.field)).toEqual(['json.reason']);
    expect(await count('plan_updates')).toBe(updates);

    for (const status of ['ready', 'in_progress'] as const)
      expect((await call('bisp', 'POST', `/api/plan-actions/${id}/updates`, { status, note: `now ${status}` })).status).toBe(200);
    const blocked = await call('bisp', 'POST', `/api/plan-actions/${id}/updates`, { status: 'blocked', reason: 'NADRA verification is down', note: 'waiting', evidence: 'ticket NADRA-4411' });
    expect(blocked.body).toMatchObject({ status: 'blocked', statusReason: 'NADRA verification is down' });
    await call('bisp', 'POST', `/api/plan-actions/${id}/updates`, { status: 'in_progress', note: 'NADRA is back' });
    const done = await call('bisp', 'POST', `/api/plan-actions/${id}/updates`, { status: 'done', note: 'lists sent', evidence: 'list v3, 6 households', reached: { households: 6 } });
    expect(done.status).toBe(200);
    expect(done.body).toMatchObject({ status: 'done', statusReason: null, reached: { households: 6 }, overdue: false });
    expect(done.body.history.map((h: Json) => [h.kind, h.fromStatus, h.toStatus])).toEqual([
      ['created', null, 'planned'],
      ['accepted', 'planned', 'planned'],
      ['status', 'planned', 'ready'],
      ['status', 'ready', 'in_progress'],
      ['status', 'in_progress', 'blocked'],
      ['status', 'blocked', 'in_progress'],
      ['status', 'in_progress', 'done'],
    ]);
    expect(done.body.history[4]).toMatchObject({ evidence: 'ticket NADRA-4411', note: 'waiting', agency: 'BISP' });
    const final = await call('bisp', 'POST', `/api/plan-actions/${id}/updates`, { status: 'in_progress', note: 'reopen' });
    expect(final.status).toBe(400);
    expect(final.body.errors[0]).toMatchObject({ field: 'json.status', message: 'an action that is done is final' });

    // The database holds the same rules: no jump, no rewriting of the history.
    const other2 = await actionByKey('sms-beneficiaries');
    await expect(db.db.execute(sql`update plan_actions set status = 'done' where id = ${other2}`)).rejects.toThrow();
    await expect(db.db.execute(sql`update plan_updates set note = 'rewritten' where action_id = ${id}`)).rejects.toThrow();
    await expect(db.db.execute(sql`delete from plan_updates where action_id = ${id}`)).rejects.toThrow();
    const [audit] = await queryRows<{ n: number }>(db.db, sql`select count(*)::int as n from audit_log where subject = ${`plan-action:${id}`}`);
    expect(audit!.n).toBe(6);
  });

  it('derives overdue from the due time and the status, never storing it', async () => {
    const p = (await request(later, 'bisp', 'GET', `/api/events/${eventId}/plan`)).body;
    const overdue = p.actions.filter((a: Json) => a.overdue).map((a: Json) => a.leadAgency).sort();
    // T+30 h: the two T+24 h coordination actions are late; the BISP list is done, so not late.
    expect(overdue).toEqual(['NDMA', 'PDMA Sindh']);
    expect(p.counts.overdue).toBe(2);
    expect((await plan()).counts.overdue).toBe(0);
  });

  it('lets officers add actions in their jurisdiction only, due no earlier than the trigger, and writes nothing half', async () => {
    const before = [await count('plan_actions'), await count('plan_updates')];
    const base = { title: 'Open a payment camp at Government High School', sector: 'cash', areaCodes: [SINDH_DISTRICT.tehsil], dueHours: 72 };
    const outside = await call('sindhDma', 'POST', `/api/incidents/${incident}/plan/actions`, { ...base, areaCodes: [SINDH_DISTRICT.tehsil, 'PK699'] });
    expect(outside.status).toBe(400);
    expect(outside.body.errors).toEqual([{ field: 'json.areaCodes.1', message: 'PK699 lies outside your jurisdiction (PK7)' }]);
    const early = await call('sindhDma', 'POST', `/api/incidents/${incident}/plan/actions`, { ...base, dueHours: undefined, dueAt: '2026-08-01T00:00:00Z' });
    expect(early.status).toBe(400);
    expect(early.body.errors.map((e: Json) => e.field)).toEqual(['json.dueAt']);
    const badSector = await call('sindhDma', 'POST', `/api/incidents/${incident}/plan/actions`, { ...base, sector: 'parties' });
    expect(badSector.status).toBe(400);
    expect(badSector.body.errors.map((e: Json) => e.field)).toEqual(['json.sector']);
    expect((await call('responder', 'POST', `/api/incidents/${incident}/plan/actions`, base)).status).toBe(403);
    expect([await count('plan_actions'), await count('plan_updates')]).toEqual(before);

    const made = await call('sindhDma', 'POST', `/api/incidents/${incident}/plan/actions`, {
      ...base,
      leadAgency: 'BISP',
      supportingAgencies: ['PDMA Sindh'],
      locations: [{ name: 'GHS Testabad camp', lat: 25.1, lon: 68.1, capacity: 800, openingDays: ['2026-08-29', '2026-08-30'] }],
      targets: { households: 6, people: 30 },
      budget: [{ funder: 'PDMA Sindh', pkr: 250_000 }],
    });
    expect(made.status).toBe(201);
    expect(made.body).toMatchObject({ origin: 'officer', leadAgency: 'BISP', status: 'planned', acceptedAt: null, dueRelative: 'T+72 h', mine: false });
    // Proposed to BISP: it waits in BISP's inbox until BISP accepts.
    const inbox = await call('bisp', 'GET', '/api/inbox');
    expect(inbox.body.items.find((i: Json) => i.actionId === made.body.id)).toMatchObject({ kind: 'plan', totalPkr: 250_000, programme: 'BISP' });
    const own = await call('sindhDma', 'POST', `/api/incidents/${incident}/plan/actions`, { ...base, title: 'Tehsil relief committee meets daily', sector: 'coordination' });
    expect(own.body).toMatchObject({ leadAgency: 'PDMA Sindh', acceptedBy: expect.stringMatching(/^token:/) });
    // An admin gives it to another agency; its acceptance is asked again.
    const moved = await call('sindhAdmin', 'POST', `/api/plan-actions/${own.body.id}/reassign`, { leadAgency: 'District administration', note: 'the DC chairs it' });
    expect(moved.status).toBe(200);
    expect(moved.body).toMatchObject({ leadAgency: 'District administration', acceptedBy: null });
  });

  it('shows the whole plan to every jurisdiction the incident touches, without identity data, and nothing to others', async () => {
    expect((await call('punjabDma', 'GET', `/api/events/${eventId}/plan`)).status).toBe(404);
    expect((await call('punjabDma', 'GET', `/api/incidents/${incident}/plan`)).status).toBe(404);
    expect((await call('punjabDma', 'GET', `/api/plan-actions/${await actionByKey('sms-beneficiaries')}`)).status).toBe(404);
    const sindh = await plan('responder');
    const federal = await plan('bisp');
    const district = await plan('districtResponder');
    expect(sindh.actions.map((a: Json) => a.id)).toEqual(federal.actions.map((a: Json) => a.id));
    expect(district.actions.length).toBe(federal.actions.length);
    const texts = [
      JSON.stringify(sindh),
      (await call('responder', 'GET', `/api/incidents/${incident}/plan/export?format=csv`)).text,
      (await call('responder', 'GET', `/api/incidents/${incident}/plan/export?format=geojson`)).text,
      (await call('responder', 'GET', `/api/incidents/${incident}/plan/progress`)).text,
      (await call('responder', 'GET', '/api/plans/summary')).text,
    ];
    for (const t of texts) {
      expect(t).not.toContain(cnicOf(1));
      expect(t).not.toContain('42101');
      expect(t).not.toMatch(/Head S\d/);
      expect(t).not.toMatch(/0300\d{7}/);
    }
  });

  it('exports CSV with an HXL hashtag row under the header, and GeoJSON of areas and points', async () => {
    const csv = await call('responder', 'GET', `/api/incidents/${incident}/plan/export?format=csv`);
    expect(csv.status).toBe(200);
    expect(csv.type).toMatch(/^text\/csv/);
    const [header, hxl, ...rows] = csv.text.trimEnd().split('\r\n');
    expect(header!.split(',').slice(0, 6)).toEqual(['Incident', 'Action', 'Title', 'Sector', 'Lead agency', 'Supporting agencies']);
    const tags = hxl!.split(',');
    for (const tag of ['#org+lead', '#org+impl', '#sector', '#activity+name', '#adm1+code', '#adm2+code', '#adm3+code', '#status', '#date+start', '#date+end', '#targeted+hh', '#reached+hh'])
      expect(tags).toContain(tag);
    expect(tags.some((t) => t.startsWith('#value+pkr'))).toBe(true);
    const camp = rows.find((r) => r.includes('Open a payment camp'))!;
    const cells = camp.split(',');
    expect(cells[tags.indexOf('#adm1+code')]).toBe('PK7');
    expect(cells[tags.indexOf('#adm2+code')]).toBe(SINDH_DISTRICT.code);
    expect(cells[tags.indexOf('#adm3+code')]).toBe(SINDH_DISTRICT.tehsil);
    expect(cells[tags.indexOf('#targeted+hh')]).toBe('6');
    expect(cells[tags.indexOf('#value+pkr+budget')]).toBe('250000');
    // The ledger's rupees: exact for a programme manager, left empty (hidden) for a responder.
    expect(rows.find((r) => r.includes('BISP pays'))!.split(',')[tags.indexOf('#value+pkr+committed')]).toBe('');
    const exact = (await call('bisp', 'GET', `/api/incidents/${incident}/plan/export?format=csv`)).text.split('\r\n');
    expect(exact.find((r) => r.includes('BISP pays'))!.split(',')[tags.indexOf('#value+pkr+committed')]).toBe('150000');

    const geo = await call('responder', 'GET', `/api/incidents/${incident}/plan/export?format=geojson`);
    expect(geo.status).toBe(200);
    expect(geo.type).toMatch(/^application\/geo\+json/);
    expect(geo.body.type).toBe('FeatureCollection');
    const point = geo.body.features.find((f: Json) => f.properties.feature === 'point');
    expect(point).toMatchObject({ geometry: { type: 'Point', coordinates: [68.1, 25.1] }, properties: { name: 'GHS Testabad camp', capacity: 800, leadAgency: 'BISP' } });
    const area = geo.body.features.find((f: Json) => f.properties.feature === 'action' && f.properties.title.startsWith('Open a payment camp'));
    expect(area.geometry.type).toBe('MultiPolygon');
    expect(area.geometry.coordinates[0][0][0]).toEqual([68.0, 25.0]);
    const [exported] = await queryRows<{ n: number }>(db.db, sql`select count(*)::int as n from audit_log where action = 'plan.exported'`);
    expect(exported!.n).toBeGreaterThanOrEqual(3);
  });

  it('gives the map its progress per area and the committee its summary', async () => {
    const progress = await request(later, 'bisp', 'GET', `/api/incidents/${incident}/plan/progress?level=2`);
    expect(progress.status).toBe(200);
    const district = progress.body.areas.find((a: Json) => a.areaCode === SINDH_DISTRICT.code);
    expect(district).toMatchObject({ overdue: 2, blocked: 0, points: 1 });
    expect(district.done).toBeGreaterThanOrEqual(1);
    expect(district.shareDone).toBeCloseTo(district.done / district.due, 3);
    expect(progress.body.points).toMatchObject([{ location: { name: 'GHS Testabad camp' }, status: 'planned' }]);

    const summary = await request(later, 'bisp', 'GET', '/api/plans/summary');
    expect(summary.status).toBe(200);
    expect(summary.body.incidents.map((i: Json) => i.incident)).toContain(incident);
    const bisp = summary.body.byAgency.find((a: Json) => a.agency === 'BISP');
    expect(bisp.done).toBeGreaterThanOrEqual(1);
    expect(summary.body.byAgency.find((a: Json) => a.agency === 'NDMA')).toMatchObject({ overdue: 1 });
    expect(summary.body.money.find((m: Json) => m.agency === 'BISP')).toMatchObject({ jurisdiction: 'federal', committedPkr: 150_000, releasedPkr: 150_000, paidPkr: 50_000 });
    expect(summary.body.byArea.map((a: Json) => a.areaCode)).toContain(SINDH_DISTRICT.code);
    // A DMA officer sees the same actions, and the money as the batches show it to roles without identity
    // access: six households are fewer than the smallest cell (10), so the rupees are hidden, not exact.
    const dma = await request(later, 'sindhDma', 'GET', '/api/plans/summary');
    expect(dma.body.byAgency).toEqual(summary.body.byAgency);
    expect(dma.body.money.find((m: Json) => m.agency === 'BISP')).toMatchObject({ committedPkr: null, releasedPkr: null, paidPkr: null });
    const seen = (await plan('responder')).actions.find((a: Json) => a.kind === 'cash' && a.leadAgency === 'BISP');
    expect(seen).toMatchObject({ targets: { households: null }, reached: { households: null }, money: { committedPkr: null, paidPkr: null }, budget: [] });
    // Punjab has no open incident here.
    expect((await call('punjabDma', 'GET', '/api/plans/summary')).body.incidents).toEqual([]);
  });
});
