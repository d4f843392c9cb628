import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryRows } from '../../server/db/client.ts';
import { announced, drain, testApp } from '../harness/app.ts';
import { capMessage } from '../harness/cap.ts';
import { createTestDatabase, drivers, type TestDatabase } from '../harness/databases.ts';
import { loadRules, SHIPPED_RULES_DIR } from '../../server/rules/loader.ts';
import { bearer, setupCtx, unique } from '../harness/factories.ts';
import { loadTestDistricts } from '../harness/gazetteer.ts';

describe.each(drivers)('events declared from a notification list, on %s', (driver) => {
  let db: TestDatabase;
  let app: ReturnType<typeof testApp>;
  const now = new Date('2026-08-26T05:00:00Z');
  let sindhOfficer: string;
  let punjabOfficer: string;
  let punjabResponder: string;
  let sindhResponder: string;
  let federalOfficer: string;
  let auditor: string;

  beforeAll(async () => {
    db = await createTestDatabase(driver);
    await loadTestDistricts(db.db);
    await loadRules(setupCtx(db.db), SHIPPED_RULES_DIR);
    app = testApp(db, { clock: () => now });
    sindhOfficer = (await bearer(db.db, 'dma_officer', 'PK7')).authorization;
    punjabOfficer = (await bearer(db.db, 'dma_officer', 'PK6')).authorization;
    punjabResponder = (await bearer(db.db, 'responder', 'PK6')).authorization;
    sindhResponder = (await bearer(db.db, 'responder', 'PK7')).authorization;
    federalOfficer = (await bearer(db.db, 'dma_officer', 'PK')).authorization;
    auditor = (await bearer(db.db, 'auditor', 'PK')).authorization;
  });
  afterAll(() => db.drop());

  const post = (path: string, authorization: string, body?: unknown) =>
    app.request(path, { method: 'POST', headers: { authorization, ...(body ? { 'content-type': 'application/json' } : {}) }, body: body ? JSON.stringify(body) : undefined });
  const get = (path: string, authorization: string) => app.request(path, { headers: { authorization } });
  const countEvents = async () => (await queryRows<{ n: number }>(db.db, sql`select count(*)::int as n from events`))[0]!.n;
  const declare = async (authorization: string, areas: unknown[], extra: Record<string, unknown> = {}) => {
    const res = await post('/api/events', authorization, { name: unique('Floods'), hazard: 'flood', areas, ...extra });
    expect(res.status, await res.clone().text()).toBe(201);
    return res.json();
  };

  it('resolves codes and names as PDMAs write them, and keeps the notification', async () => {
    const event = await declare(federalOfficer, ['Dadu', 'D.G. Khan', 'PK709', 'kambar shahdadkot']);
    expect(event).toMatchObject({ status: 'declared', hazard: 'flood', areaCodes: ['PK607', 'PK703', 'PK709'], jurisdiction: 'PK', declaredAt: now.toISOString() });
    expect(event.notification.lines.map((l: { submitted: string; via: string; area: { code: string; name: string } }) => `${l.submitted} → ${l.area.code} ${l.area.name} (${l.via})`)).toEqual([
      'Dadu → PK703 Dadu (name)',
      'D.G. Khan → PK607 Dera Ghazi Khan (name)',
      'PK709 → PK709 Kambar Shahdad Kot (code)',
      'kambar shahdadkot → PK709 Kambar Shahdad Kot (name)',
    ]);
    expect(await (await get(`/api/events/${event.id}`, federalOfficer)).json()).toEqual(event);
  });

  it('belongs to the province when all its districts lie in one', async () => {
    const event = await declare(sindhOfficer, ['Dadu', { area: 'Larkana', level: 'district' }, 'PK709']);
    expect(event.jurisdiction).toBe('PK7');
  });

  it('refuses a list with one typo, naming the line with a suggestion, and stores nothing', async () => {
    const before = await countEvents();
    const res = await post('/api/events', sindhOfficer, { name: 'Floods with a typo', hazard: 'flood', areas: ['PK709', 'Dodu', 'Larkana', 'Nowhere Town'] });
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    const problem = await res.json();
    expect(problem.errors.map((e: { field: string }) => e.field)).toEqual(['json.areas.1', 'json.areas.3']);
    expect(problem.errors[0].message).toContain('Did you mean: Dadu (PK703, district, Sindh)');
    expect(problem.errors[1].message).toContain('"Nowhere Town" matches no area');
    expect(await countEvents()).toBe(before);
  });

  it('refuses a Sindh officer declaring a Punjab district, naming it', async () => {
    const before = await countEvents();
    const res = await post('/api/events', sindhOfficer, { name: 'Out of scope', hazard: 'flood', areas: ['Dadu', 'Muzaffargarh'] });
    expect(res.status).toBe(403);
    expect((await res.json()).detail).toBe('You can declare events only within your jurisdiction PK7; Muzaffargarh (PK623) lie(s) outside it.');
    expect(await countEvents()).toBe(before);
  });

  it('takes areas from alerts', async () => {
    const feed = (await bearer(db.db, 'feed', 'PK')).authorization;
    const alertRes = await app.request('/api/alerts', {
      method: 'POST',
      headers: { authorization: feed, 'content-type': 'application/cap+xml' },
      body: capMessage({ identifier: unique('flood'), geocode: { valueName: 'pcode', value: 'PK713' } }),
    });
    const alertId = (await alertRes.json()).items[0].id;
    const event = await declare(sindhOfficer, ['Dadu'], { alertIds: [alertId] });
    expect(event.areaCodes).toEqual(['PK703', 'PK713']);
    expect(event.notification.alerts).toEqual([{ id: alertId, areaCodes: ['PK713'] }]);
    const missing = await post('/api/events', sindhOfficer, { name: 'Missing alert', hazard: 'flood', alertIds: [crypto.randomUUID()] });
    expect(missing.status).toBe(400);
    expect((await missing.json()).errors[0].field).toBe('json.alertIds.0');
  });

  it('shows an event only to those whose jurisdiction it touches', async () => {
    const sindh = await declare(sindhOfficer, ['Dadu']);
    const federal = await declare(federalOfficer, ['Dadu', 'Muzaffargarh']);
    const punjab = await declare(punjabOfficer, ['Muzaffargarh']);
    expect((await get(`/api/events/${sindh.id}`, punjabResponder)).status).toBe(404);
    const punjabList = (await (await get('/api/events?pageSize=500', punjabResponder)).json()).items.map((e: { id: string }) => e.id);
    expect(punjabList).not.toContain(sindh.id);
    expect(punjabList).toEqual(expect.arrayContaining([federal.id, punjab.id]));
    const sindhList = (await (await get('/api/events?pageSize=500', sindhResponder)).json()).items.map((e: { id: string }) => e.id);
    expect(sindhList).toEqual(expect.arrayContaining([sindh.id, federal.id]));
    expect(sindhList).not.toContain(punjab.id);
    // A Sindh officer sees the federal event but it is not theirs to close.
    const close = await post(`/api/events/${federal.id}/close`, sindhOfficer);
    expect(close.status).toBe(403);
    expect((await close.json()).detail).toContain('belongs to PK');
  });

  it('declares a draft, announces it with the change, closes it, and audits each step', async () => {
    const changesOf = async (eventId: string) => (await announced(db.db, 'event.changed')).filter((e) => e.eventId === eventId);
    const draft = await declare(sindhOfficer, ['Dadu'], { status: 'draft', hazard: 'heatwave' });
    expect(draft).toMatchObject({ status: 'draft', declaredAt: null });
    expect(await changesOf(draft.id)).toEqual([]);

    const declared = await (await post(`/api/events/${draft.id}/declare`, sindhOfficer)).json();
    expect(declared).toMatchObject({ status: 'declared', declaredAt: now.toISOString() });
    expect((await post(`/api/events/${draft.id}/declare`, sindhOfficer)).status).toBe(409);

    const closed = await (await post(`/api/events/${draft.id}/close`, sindhOfficer)).json();
    expect(closed).toMatchObject({ status: 'closed', closedAt: now.toISOString() });
    expect((await post(`/api/events/${draft.id}/close`, sindhOfficer)).status).toBe(409);

    expect((await changesOf(draft.id)).map((e) => [e.change, e.delivered])).toEqual([
      ['declared', false],
      ['closed', false],
    ]);
    // Delivered by the drain: trigger evaluation ran once per change, with the change as its cause.
    await drain(db.db);
    expect((await changesOf(draft.id)).map((e) => e.delivered)).toEqual([true, true]);
    const [evaluated] = await queryRows<{ causes: string[] }>(db.db, sql`select coalesce(array_agg(distinct cause order by cause), '{}') as causes from evaluations where subject_id = ${draft.id}`);
    expect(evaluated!.causes).toEqual(['event.closed', 'event.declared']);

    const trail = await (await get(`/api/audit?subject=event:${draft.id}`, auditor)).json();
    expect(trail.items.map((e: { action: string }) => e.action).reverse()).toEqual(['event.draft', 'event.declare', 'event.close']);
    expect(trail.items.every((e: { jurisdiction: string; actor: string }) => e.jurisdiction === 'PK703' && e.actor.startsWith('token:'))).toBe(true);
  });

  it('audits and announces an event declared in one step', async () => {
    const event = await declare(sindhOfficer, ['PK709']);
    expect((await announced(db.db, 'event.changed')).filter((e) => e.eventId === event.id).map((e) => e.change)).toEqual(['declared']);
    const trail = await (await get(`/api/audit?action=event.declare&subject=event:${event.id}`, auditor)).json();
    expect(trail.items).toHaveLength(1);
    expect(trail.items[0].summary.after).toMatchObject({ areaCodes: ['PK709'], status: 'declared' });
  });

  it('names bad fields of the request', async () => {
    const res = await post('/api/events', sindhOfficer, { name: 'x', hazard: 'volcano', areas: [] });
    expect(res.status).toBe(400);
    expect((await res.json()).errors.map((e: { field: string }) => e.field).sort()).toEqual(['json.hazard', 'json.name']);
    const empty = await post('/api/events', sindhOfficer, { name: 'No areas at all', hazard: 'flood', areas: [] });
    expect((await empty.json()).errors).toEqual([{ field: 'json.areas', message: 'expected at least one area, or an alert id to take areas from' }]);
  });
});
