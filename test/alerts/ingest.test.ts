import { readdirSync } from 'node:fs';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expireAlerts } from '../../server/alerts/store.ts';
import { queryRows } from '../../server/db/client.ts';
import { announced, drain, testApp } from '../harness/app.ts';
import { capMessage, LOWER_SINDH_POLYGON } from '../harness/cap.ts';
import { createTestDatabase, drivers, type TestDatabase } from '../harness/databases.ts';
import { bearer, setupCtx, unique } from '../harness/factories.ts';
import { fixture, fixturesDir } from '../harness/fixtures.ts';

describe.each(drivers)('alerts in, on %s', (driver) => {
  let db: TestDatabase;
  let app: ReturnType<typeof testApp>;
  let feed: string;
  let reader: string;
  const now = new Date('2026-08-26T05:00:00Z');

  beforeAll(async () => {
    db = await createTestDatabase(driver);
    app = testApp(db, { clock: () => now, bodyLimit: 256 * 1024 });
    feed = (await bearer(db.db, 'feed', 'PK')).authorization;
    reader = (await bearer(db.db, 'responder', 'PK7')).authorization;
  });
  afterAll(() => db.drop());

  const post = (body: string | Uint8Array, contentType = 'application/cap+xml') =>
    app.request('/api/alerts', { method: 'POST', headers: { authorization: feed, 'content-type': contentType }, body: typeof body === 'string' ? body : new Uint8Array(body) });
  const get = async (path: string) => (await app.request(path, { headers: { authorization: reader } })).json();
  const countAlerts = async () => (await queryRows<{ n: number }>(db.db, sql`select count(*)::int as n from alerts`))[0]!.n;

  it('stores a CAP warning once, and says unchanged when it comes again', async () => {
    const id = unique('flood');
    const message = capMessage({ identifier: id, polygon: LOWER_SINDH_POLYGON });
    const first = await (await post(message)).json();
    expect(first.items).toMatchObject([{ result: 'created', identifier: id, state: 'active' }]);
    const again = await (await post(message)).json();
    expect(again.items).toMatchObject([{ result: 'unchanged', id: first.items[0].id }]);
    const shown = await get(`/api/alerts/${first.items[0].id}`);
    expect(shown).toMatchObject({ hazard: 'riverine_flood', severity: 'Severe', active: true, actual: true, headline: 'Flood warning for lower Sindh' });
    expect(shown.geometry.type).toBe('Polygon');
    expect(shown.geometry.coordinates[0][0]).toEqual([67.4, 24.2]);
    expect((await announced(db.db, 'alert.changed')).filter((e) => e.alertId === first.items[0].id).map((e) => e.change)).toEqual(['created']);
  });

  it('supersedes with an Update and ends with a Cancel, keeping one chain', async () => {
    const id = unique('eq');
    const original = await (await post(capMessage({ identifier: id, event: 'Earthquake', sent: '2026-08-26T09:00:00+05:00' }))).json();
    const update = await (
      await post(capMessage({ identifier: `${id}-u`, msgType: 'Update', references: `pmd.gov.pk,${id},2026-08-26T09:00:00+05:00`, event: 'Earthquake', sent: '2026-08-26T10:00:00+05:00' }))
    ).json();
    expect((await get(`/api/alerts/${original.items[0].id}`)).state).toBe('superseded');
    const cancel = await (
      await post(capMessage({ identifier: `${id}-c`, msgType: 'Cancel', references: `pmd.gov.pk,${id}-u,2026-08-26T10:00:00+05:00`, event: 'Earthquake', sent: '2026-08-26T11:00:00+05:00' }))
    ).json();
    const detail = await get(`/api/alerts/${update.items[0].id}`);
    expect(detail.state).toBe('cancelled');
    expect(detail.chain.map((c: { msgType: string; state: string }) => `${c.msgType}:${c.state}`)).toEqual(['Alert:superseded', 'Update:cancelled', 'Cancel:cancelled']);
    expect(cancel.items[0].state).toBe('cancelled');
  });

  it('links an Update that arrived before its original', async () => {
    const id = unique('late');
    const update = await (await post(capMessage({ identifier: `${id}-u`, msgType: 'Update', references: `pmd.gov.pk,${id},2026-08-26T09:00:00+05:00`, sent: '2026-08-26T10:00:00+05:00' }))).json();
    expect(update.items[0].state).toBe('active');
    const original = await (await post(capMessage({ identifier: id }))).json();
    expect(original.items[0].state).toBe('superseded');
    const detail = await get(`/api/alerts/${update.items[0].id}`);
    expect(detail.chain.map((c: { identifier: string }) => c.identifier)).toEqual([id, `${id}-u`]);
  });

  it('treats AllClear and Past+Unlikely updates as soft cancels', async () => {
    const id = unique('soft');
    const original = await (await post(capMessage({ identifier: id }))).json();
    const clear = await (await post(capMessage({ identifier: `${id}-ac`, msgType: 'Update', responseType: 'AllClear', references: `pmd.gov.pk,${id},2026-08-26T09:00:00+05:00`, sent: '2026-08-26T12:00:00+05:00' }))).json();
    expect(clear.items[0].state).toBe('ended');
    expect((await get(`/api/alerts/${original.items[0].id}`)).state).toBe('ended');
    const past = await (await post(capMessage({ identifier: unique('past'), msgType: 'Update', urgency: 'Past', certainty: 'Unlikely' }))).json();
    expect(past.items[0].state).toBe('ended');
  });

  it('shows Test and Exercise alerts but marks them as not actual', async () => {
    const res = await (await post(capMessage({ identifier: unique('drill'), status: 'Exercise' }))).json();
    expect(await get(`/api/alerts/${res.items[0].id}`)).toMatchObject({ status: 'Exercise', actual: false });
  });

  it('expires alerts whose expires time passed, and announces it to trigger evaluation', async () => {
    const res = await (await post(capMessage({ identifier: unique('exp'), expires: '2026-08-26T12:00:00+05:00' }))).json();
    expect(res.items[0].state).toBe('active');
    const later = new Date('2026-08-26T08:00:00Z');
    expect(await expireAlerts(setupCtx(db.db, later))).toBeGreaterThanOrEqual(1);
    expect((await get(`/api/alerts/${res.items[0].id}`)).state).toBe('expired');
    await drain(db.db);
    expect((await announced(db.db, 'alert.changed')).filter((e) => e.alertId === res.items[0].id && e.change === 'expired')).toMatchObject([{ delivered: true }]);
  });

  it('refuses XML with a DOCTYPE and stores nothing', async () => {
    const before = await countAlerts();
    const res = await post(fixture('cap/google-xxe-attack.cap'));
    expect(res.status).toBe(400);
    expect((await res.json()).detail).toMatch(/DOCTYPE/);
    expect(await countAlerts()).toBe(before);
  });

  it('refuses a polygon given as lon,lat with a message that says so', async () => {
    const before = await countAlerts();
    const res = await post(capMessage({ identifier: unique('swap'), polygon: '67.4,24.2 69.2,24.2 69.2,25.3 67.4,25.3 67.4,24.2' }));
    // Longitudes 67-69 are valid latitudes too: as given, the shape lies in Central Asia.
    expect(res.status).toBe(400);
    expect((await res.json()).detail).toContain("seems to be given as lon,lat instead of CAP's lat,lon");
    expect(await countAlerts()).toBe(before);
  });

  it('refuses coordinates out of range', async () => {
    const res = await post(capMessage({ identifier: unique('range'), polygon: '95,67 96,68 97,67 95,67' }));
    expect(res.status).toBe(400);
    expect((await res.json()).detail).toMatch(/range|latitude/i);
  });

  it('names the line of malformed XML and the position of malformed JSON', async () => {
    const xml = await post('<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">\n<identifier>x</identifier>\n<sender>a</send>\n</alert>');
    expect(xml.status).toBe(400);
    expect((await xml.json()).detail).toMatch(/line 3/i);
    const json = await post('{"source": "madad", "identifier": ', 'application/json');
    expect(json.status).toBe(400);
    expect((await json.json()).detail).toMatch(/JSON/);
  });

  it('answers 413 for a body over the limit', async () => {
    const res = await post(capMessage({ identifier: unique('big'), headline: 'x'.repeat(300 * 1024) }));
    expect(res.status).toBe(413);
  });

  it('keeps the good messages of a feed when one is bad', async () => {
    const good = capMessage({ identifier: unique('good') }).replace(/<\?xml[^>]*>/, '');
    const bad = capMessage({ identifier: unique('bad'), polygon: '95,67 96,68 97,67 95,67' }).replace(/<\?xml[^>]*>/, '');
    const res = await post(`<alerts>${good}${bad}</alerts>`, 'application/xml');
    expect(res.status).toBe(200);
    const results = (await res.json()).items.map((i: { result: string }) => i.result);
    expect(results).toEqual(['created', 'rejected']);
  });

  it('ingests every real CAP, GDACS and USGS sample, and refuses the three that are not alerts', async () => {
    const notAlerts = ['google-xxe-attack.cap', 'usgs-pager-losses_us6000pi9w.json', 'usgs-shakemap-cont_mmi_sample.json'];
    // The server's default body limit (10 MiB), not the small one this suite sets to see a 413.
    const roomy = testApp(db, { clock: () => now, bodyLimit: 10 * 1024 * 1024 });
    for (const folder of ['cap', 'gdacs', 'usgs']) {
      for (const file of readdirSync(`${fixturesDir}${folder}`)) {
        const contentType = file.endsWith('.json') || file.endsWith('.geojson') ? 'application/json' : 'application/xml';
        const body = new Uint8Array(fixture(`${folder}/${file}`));
        const res = await roomy.request('/api/alerts', { method: 'POST', headers: { authorization: feed, 'content-type': contentType }, body });
        if (notAlerts.includes(file)) {
          expect(res.status, file).toBe(400);
          continue;
        }
        expect(res.status, file).toBe(200);
        const items = (await res.json()).items as { result: string }[];
        expect(items.length, file).toBeGreaterThan(0);
        expect(items.filter((i) => i.result === 'rejected'), file).toEqual([]);
      }
    }
    const smhi = await get('/api/alerts?pageSize=500');
    expect(smhi.items.filter((a: { sender: string }) => /smhi/i.test(a.sender)).length).toBe(17);
  });

  it('filters the list by hazard, activity and area', async () => {
    const quakes = await get('/api/alerts?hazard=earthquake&pageSize=500');
    expect(quakes.items.length).toBeGreaterThan(0);
    expect(quakes.items.every((a: { hazard: string }) => a.hazard === 'earthquake')).toBe(true);
    const active = await get('/api/alerts?active=true&pageSize=500');
    expect(active.items.every((a: { active: boolean }) => a.active)).toBe(true);
    const bad = await app.request('/api/alerts?hazard=volcano&area=Sindh', { headers: { authorization: reader } });
    expect((await bad.json()).errors.map((e: { field: string }) => e.field).sort()).toEqual(['query.area', 'query.hazard']);
  });
});
