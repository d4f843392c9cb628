import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testApp } from '../../../test/harness/app.ts';
import { capMessage, madadAlert } from '../../../test/harness/cap.ts';
import { createTestDatabase, drivers, type TestDatabase } from '../../../test/harness/databases.ts';
import { bearer, unique } from '../../../test/harness/factories.ts';
import { parseAlerts, type MessageResult } from './index.ts';
import { MAX_CIRCLE_RADIUS_KM, MAX_POLYGONS_PER_ALERT, MAX_TEXT_CHARS, MAX_VERTICES_PER_ALERT } from './limits.ts';
import { accepted } from './test-support.ts';

const CAP12 = 'urn:oasis:names:tc:emergency:cap:1.2';

/** A CAP ring of `n` distinct points on a circle around Karachi, closed, in CAP's lat,lon order. */
function capRing(n: number): string {
  const points = Array.from({ length: n }, (_, i) => {
    const a = (2 * Math.PI * i) / n;
    return `${(24.9 + 0.5 * Math.sin(a)).toFixed(6)},${(67.0 + 0.5 * Math.cos(a)).toFixed(6)}`;
  });
  return [...points, points[0]].join(' ');
}

/** A Madad alert JSON message with the given geometry and fields. */
const madad = (fields: Record<string, unknown>) => JSON.stringify(madadAlert({ identifier: 'NDMA-BOUND-1', ...fields }));

const reason = (m: MessageResult | undefined) => (m && !m.ok ? m.reason : `accepted: ${JSON.stringify(m).slice(0, 200)}`);

describe('area size', () => {
  it(`reads a CAP polygon of ${MAX_VERTICES_PER_ALERT.toLocaleString('en')} vertices and rejects one of more, saying how to send it`, () => {
    const fits = parseAlerts(capMessage({ identifier: 'BIG-1', polygon: capRing(MAX_VERTICES_PER_ALERT - 1) })).messages[0];
    expect(fits?.ok).toBe(true);
    const over = parseAlerts(capMessage({ identifier: 'BIG-2', polygon: capRing(MAX_VERTICES_PER_ALERT) })).messages[0];
    expect(over).toMatchObject({ ok: false, identifier: 'BIG-2' });
    expect(reason(over)).toBe('The area has 50,001 vertices; at most 50,000 are read for one alert. Simplify the polygons or send the area as geocodes (P-codes).');
  });

  it('counts vertices over all polygons of the alert, in every format', () => {
    const ring = (dx: number, n: number) => Array.from({ length: n }, (_, i) => [60.9 + dx + 0.001 * Math.cos((2 * Math.PI * i) / n), 25 + 0.001 * Math.sin((2 * Math.PI * i) / n)]);
    const polygon = (dx: number, n: number) => {
      const r = ring(dx, n);
      return [[...r, r[0]!]];
    };
    const geometry = { type: 'MultiPolygon', coordinates: [polygon(0, 30_000), polygon(0.01, 30_000)] };
    expect(reason(parseAlerts(madad({ area: { geometry } })).messages[0])).toMatch(/^The area has 60,002 vertices/);
  });

  it(`rejects an alert of more than ${MAX_POLYGONS_PER_ALERT.toLocaleString('en')} polygons`, () => {
    const square = (i: number) => {
      const x = 61 + (i % 100) * 0.1;
      const y = 24 + Math.floor(i / 100) * 0.1;
      return [[[x, y], [x + 0.05, y], [x + 0.05, y + 0.05], [x, y + 0.05], [x, y]]];
    };
    const geometry = (n: number) => ({ type: 'MultiPolygon', coordinates: Array.from({ length: n }, (_, i) => square(i)) });
    expect(parseAlerts(madad({ area: { geometry: geometry(MAX_POLYGONS_PER_ALERT) } })).messages[0]?.ok).toBe(true);
    expect(reason(parseAlerts(madad({ area: { geometry: geometry(MAX_POLYGONS_PER_ALERT + 1) } })).messages[0])).toMatch(/^The area has 1,001 polygons; at most 1,000/);
  });

  it(`reads a CAP circle of ${MAX_CIRCLE_RADIUS_KM} km and rejects a wider one, asking whether it was metres`, () => {
    const circle = (r: string) => capMessage({ identifier: `C-${r}`, polygon: undefined }).replace('<areaDesc>Lower Sindh</areaDesc>', `<areaDesc>Lower Sindh</areaDesc><circle>24.86,67.01 ${r}</circle>`);
    expect(parseAlerts(circle('1000')).messages[0]?.ok).toBe(true);
    const wide = parseAlerts(circle('5000')).messages[0];
    expect(wide).toMatchObject({ ok: false, identifier: 'C-5000' });
    expect(reason(wide)).toMatch(/circle in area "Lower Sindh" has a radius of 5000 km; at most 1,000 km is read \(CAP radii are in kilometres: was it given in metres\?\)/);
    // Radius 0 stays the point it was (CAP 1.2 Appendix A.3 sends one).
    expect(accepted(parseAlerts(circle('0')).messages[0]).area.geometry).toEqual({ type: 'Point', coordinates: [67.01, 24.86] });
  });
});

describe('sent in the future', () => {
  const received = new Date('2026-08-26T04:00:00Z');
  const at = (sent: string) => parseAlerts(capMessage({ identifier: `S-${sent}`, sent }), undefined, { now: received }).messages[0];

  it('reads a message sent up to a day after it was received (clock skew), and rejects one sent later', () => {
    expect(at('2026-08-27T08:59:00+05:00')?.ok).toBe(true);
    const ahead = at('2027-08-26T09:00:00+05:00');
    expect(ahead).toMatchObject({ ok: false, identifier: 'S-2027-08-26T09:00:00+05:00' });
    expect(reason(ahead)).toBe(
      'sent 2027-08-26T04:00:00.000Z is more than 24 hours after the time it was received (2026-08-26T04:00:00.000Z); sent is when the message was made (CAP 1.2 §3.2.1). Check the sender\'s clock and time zone.',
    );
  });

  it('holds every format to it: Madad JSON and USGS too', () => {
    expect(reason(parseAlerts(madad({ sent: '2030-01-01T00:00:00+05:00' }), undefined, { now: received }).messages[0])).toMatch(/^sent 2029-12-31T19:00:00.000Z is more than 24 hours/);
    const usgs = JSON.stringify({ type: 'Feature', id: 'us-future', properties: { mag: 7, time: Date.parse('2031-01-01'), updated: Date.parse('2031-01-01'), sig: 900 }, geometry: { type: 'Point', coordinates: [67, 25, 10] } });
    expect(reason(parseAlerts(usgs, undefined, { now: received }).messages[0])).toMatch(/^sent 2031-01-01T00:00:00.000Z is more than 24 hours/);
  });
});

describe('texts', () => {
  it(`cuts a description past ${MAX_TEXT_CHARS.description.toLocaleString('en')} characters, with a note, and keeps the message`, () => {
    // 23,000 characters; the XML reader trims the last space.
    const long = 'Flood water is rising. '.repeat(1000);
    const body = capMessage({ identifier: 'TEXT-1' }).replace('<headline>', `<description>${long}</description><headline>`);
    const result = parseAlerts(body).messages[0]!;
    const a = accepted(result);
    expect(a.infos[0]!.description).toBe(`${long.slice(0, 16_000)}…`);
    expect(result.ok && result.warnings).toContain('The description (en-PK) has 22,999 characters; it was cut to the first 16,000 (the stored body keeps the whole text).');
    expect(a.notes).toEqual(result.ok && result.warnings);
  });

  it('never splits a character written as a surrogate pair', () => {
    const headline = `${'a'.repeat(MAX_TEXT_CHARS.headline - 1)}🌊🌊`;
    const a = accepted(parseAlerts(madad({ headline })).messages[0]);
    expect(a.infos[0]!.headline).toBe(`${'a'.repeat(MAX_TEXT_CHARS.headline - 1)}🌊…`);
    expect(a.notes).toContain('The headline (en) has 1,001 characters; it was cut to the first 1,000 (the stored body keeps the whole text).');
  });

  it('cuts area descriptions and drops an overlong web link, in every format', () => {
    const body = `<alert xmlns="${CAP12}"><identifier>TEXT-2</identifier><sender>pmd.gov.pk</sender><sent>2026-08-26T09:00:00+05:00</sent><status>Actual</status><msgType>Alert</msgType><scope>Public</scope>
      <info><event>Flood</event><urgency>Immediate</urgency><severity>Severe</severity><certainty>Likely</certainty><web>https://pmd.gov.pk/${'x'.repeat(3000)}</web>
      <area><areaDesc>${'Sindh '.repeat(400)}</areaDesc></area></info></alert>`;
    const a = accepted(parseAlerts(body).messages[0]);
    expect(a.infos[0]!.web).toBeUndefined();
    expect(a.area.descriptions[0]).toHaveLength(1001);
    expect(a.notes).toEqual(expect.arrayContaining([expect.stringMatching(/^The web link \(en-US\) has 3,019 characters, more than 2,000; it was dropped/), expect.stringMatching(/^An areaDesc has 2,399 characters; it was cut/)]));
    const gdacs = JSON.stringify({ type: 'Feature', geometry: { type: 'Point', coordinates: [67, 25] }, properties: { eventtype: 'FL', eventid: 1, episodeid: 1, alertlevel: 'Red', datemodified: '2026-08-26T00:00:00', name: 'n'.repeat(5000) } });
    expect(accepted(parseAlerts(gdacs).messages[0]).infos[0]!.headline).toHaveLength(1001);
  });
});

describe.each(drivers)('bounds at the door, on %s', (driver) => {
  let db: TestDatabase;
  let app: ReturnType<typeof testApp>;
  let feed: string;
  let reader: string;

  beforeAll(async () => {
    db = await createTestDatabase(driver);
    app = testApp(db, { bodyLimit: 4 * 1024 * 1024 });
    feed = (await bearer(db.db, 'feed', 'PK')).authorization;
    reader = (await bearer(db.db, 'responder', 'PK')).authorization;
  });
  afterAll(() => db.drop());

  const post = async (body: string) => {
    const res = await app.request('/api/alerts', { method: 'POST', headers: { authorization: feed, 'content-type': 'application/cap+xml' }, body });
    return { status: res.status, body: await res.json() };
  };

  it('refuses an alert with too many vertices with 400 saying so, and stores nothing', async () => {
    const id = unique('HUGE');
    const res = await post(capMessage({ identifier: id, polygon: capRing(60_000) }));
    expect(res).toMatchObject({ status: 400, body: { code: 'invalid_request' } });
    expect(res.body.errors).toEqual([{ field: `messages.0 (${id})`, message: expect.stringMatching(/^The area has 60,001 vertices; at most 50,000/) }]);
    const list = await (await app.request(`/api/alerts?pageSize=500`, { headers: { authorization: reader } })).json();
    expect(list.items.map((a: { identifier: string }) => a.identifier)).not.toContain(id);
  });

  it('stores an alert with a long description cut, and shows the note that says so', async () => {
    const id = unique('LONG');
    const body = capMessage({ identifier: id }).replace('<headline>', `<description>${'Leave now. '.repeat(2000)}</description><headline>`);
    const res = await post(body);
    expect(res.status).toBe(200);
    const shown = await (await app.request(`/api/alerts/${res.body.items[0].id}`, { headers: { authorization: reader } })).json();
    expect(shown.infos[0].description).toHaveLength(16_001);
    expect(shown.notes).toContain('The description (en-PK) has 21,999 characters; it was cut to the first 16,000 (the stored body keeps the whole text).');
  });
});
