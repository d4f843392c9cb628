import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryRows } from '../../db/client.ts';
import { testApp } from '../../../test/harness/app.ts';
import { capMessage, madadAlert } from '../../../test/harness/cap.ts';
import { createTestDatabase, drivers, type TestDatabase } from '../../../test/harness/databases.ts';
import { bearer, unique } from '../../../test/harness/factories.ts';
import { AlertBodyTooLargeError, AlertParseError, parseAlerts } from './index.ts';
import { MAX_JSON_DEPTH, MAX_MESSAGES_PER_BODY, MAX_XML_DEPTH, MAX_XML_ELEMENTS } from './limits.ts';

const CAP12 = 'urn:oasis:names:tc:emergency:cap:1.2';

/** A CAP alert whose <info> holds `depth` nested <parameter>-like elements. */
const deepXml = (depth: number) => `<alert xmlns="${CAP12}">\n<info>${'<x>'.repeat(depth)}${'</x>'.repeat(depth)}</info>\n</alert>`;

/** Madad alert JSON whose geometry is a GeometryCollection nested `depth` times. */
function deepGeoJson(depth: number): string {
  const geometry = '{"type":"GeometryCollection","geometries":['.repeat(depth) + '{"type":"Point","coordinates":[67.0,24.9]}' + ']}'.repeat(depth);
  return `{"source":"madad","sender":"ndma.gov.pk","identifier":"DEEP-1","sent":"2026-08-26T09:00:00+05:00","status":"Actual","msgType":"Alert","hazard":"flood","severity":"Severe","urgency":"Immediate","certainty":"Likely","headline":"h","area":{"geometry":${geometry}}}`;
}

const madad = (identifier: string) => madadAlert({ identifier });

function thrown(f: () => unknown): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  throw new Error('accepted');
}

describe('nesting and size of a body', () => {
  it(`reads XML ${MAX_XML_DEPTH} elements deep and refuses one deeper, naming the line`, () => {
    // alert and info are two of the levels.
    expect(parseAlerts(deepXml(MAX_XML_DEPTH - 2)).messages).toHaveLength(1);
    const e = thrown(() => parseAlerts(deepXml(MAX_XML_DEPTH - 1)));
    expect(e).toBeInstanceOf(AlertParseError);
    expect((e as AlertParseError).message).toMatch(/nested more than 32 elements deep \(line 2\)/);
    expect((e as AlertParseError).line).toBe(2);
  });

  it('refuses XML nested 100,000 deep as a bad body, not a stack overflow', () => {
    expect(thrown(() => parseAlerts(deepXml(100_000)))).toBeInstanceOf(AlertParseError);
  });

  it('does not count tags inside comments, CDATA or quoted attributes', () => {
    const noise = `<!-- ${'<x>'.repeat(50)} --><![CDATA[${'<y>'.repeat(50)}]]>`;
    const body = capMessage({ identifier: 'QUIET-1' }).replace('<identifier>', '<identifier a="> <z> <z>">').replace('</identifier>', `</identifier>${noise}`);
    expect(parseAlerts(body).messages[0]).toMatchObject({ ok: true, alert: { identifier: 'QUIET-1' } });
  });

  it(`refuses XML of more than ${MAX_XML_ELEMENTS.toLocaleString('en')} elements`, () => {
    const body = `<alert xmlns="${CAP12}">${'<x/>'.repeat(MAX_XML_ELEMENTS)}</alert>`;
    expect((thrown(() => parseAlerts(body)) as Error).message).toMatch(/more than 100,000 elements/);
  });

  it(`refuses JSON nested more than ${MAX_JSON_DEPTH} deep, well-formed or not, naming line and column`, () => {
    const e = thrown(() => parseAlerts(deepGeoJson(10_000))) as AlertParseError;
    expect(e).toBeInstanceOf(AlertParseError);
    expect(e.message).toMatch(/nested more than 64 arrays or objects deep \(line 1, column \d+\)/);
    // Broken JSON is located by a scanner that recurses: the depth is refused before it runs.
    expect(thrown(() => parseAlerts('['.repeat(200_000)))).toBeInstanceOf(AlertParseError);
    // Brackets inside strings are text.
    const quoted = { ...madad('QUOTED-1'), headline: '['.repeat(1000) };
    expect(parseAlerts(JSON.stringify(quoted)).messages[0]).toMatchObject({ ok: true });
  });

  it(`reads ${MAX_MESSAGES_PER_BODY} messages in one body and refuses ${MAX_MESSAGES_PER_BODY + 1}, saying the limit`, () => {
    const many = (n: number) => JSON.stringify(Array.from({ length: n }, (_, i) => madad(`MANY-${i}`)));
    expect(parseAlerts(many(MAX_MESSAGES_PER_BODY)).messages).toHaveLength(MAX_MESSAGES_PER_BODY);
    const e = thrown(() => parseAlerts(many(MAX_MESSAGES_PER_BODY + 1)));
    expect(e).toBeInstanceOf(AlertBodyTooLargeError);
    expect((e as Error).message).toBe('The body holds 501 Madad alerts; at most 500 are read from one body. Send them in several bodies of up to 500.');
    const wrapped = `<alerts xmlns="${CAP12}">${Array.from({ length: 501 }, () => '<alert/>').join('')}</alerts>`;
    expect((thrown(() => parseAlerts(wrapped)) as Error).message).toMatch(/^The body holds 501 elements in <alerts>/);
  });
});

describe.each(drivers)('bodies refused at the door, on %s', (driver) => {
  let db: TestDatabase;
  let app: ReturnType<typeof testApp>;
  let feed: string;

  beforeAll(async () => {
    db = await createTestDatabase(driver);
    app = testApp(db, { bodyLimit: 2 * 1024 * 1024 });
    feed = (await bearer(db.db, 'feed', 'PK')).authorization;
  });
  afterAll(() => db.drop());

  const post = async (body: string, contentType: string) => {
    const res = await app.request('/api/alerts', { method: 'POST', headers: { authorization: feed, 'content-type': contentType }, body });
    return { status: res.status, type: res.headers.get('content-type'), body: await res.json() };
  };
  const stored = async () => (await queryRows<{ n: number }>(db.db, sql`select count(*)::int as n from alerts`))[0]!.n;

  it('answers deep XML with 400 naming the line, not a 500', async () => {
    const res = await post(deepXml(5_000), 'application/cap+xml');
    expect(res).toMatchObject({ status: 400, type: 'application/problem+json', body: { code: 'invalid_request' } });
    expect(res.body.detail).toMatch(/nested more than 32 elements deep \(line 2\)/);
  });

  it('answers deep GeoJSON and deep broken JSON with 400, not a 500', async () => {
    const deep = await post(deepGeoJson(5_000), 'application/json');
    expect(deep).toMatchObject({ status: 400, body: { code: 'invalid_request' } });
    expect(deep.body.detail).toMatch(/nested more than 64 arrays or objects deep/);
    expect(await post('['.repeat(200_000), 'application/json')).toMatchObject({ status: 400, body: { code: 'invalid_request' } });
  });

  it('answers a body of 501 messages with 413 naming the limit, and stores none of them', async () => {
    const before = await stored();
    const body = JSON.stringify(Array.from({ length: 501 }, () => madad(unique('BULK'))));
    const res = await post(body, 'application/json');
    expect(res).toMatchObject({ status: 413, type: 'application/problem+json', body: { code: 'payload_too_large' } });
    expect(res.body.detail).toMatch(/holds 501 Madad alerts; at most 500/);
    expect(await stored()).toBe(before);
  });

  it('counts each refusal by limit in /metrics', async () => {
    await post(deepXml(100), 'application/cap+xml');
    const text = await (await app.request('/metrics')).text();
    expect(text).toMatch(/^madad_alert_limit_refusals_total\{limit="xml_depth"\} [1-9]\d*$/m);
    expect(text).toMatch(/^madad_alert_limit_refusals_total\{limit="messages_per_body"\} [1-9]\d*$/m);
  });
});
