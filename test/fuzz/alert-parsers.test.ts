/**
 * The alert parsers under random and mutated input: the real CAP, GDACS and USGS samples in
 * ../shared/fixtures edited at random places, random bytes, random JSON. Every body is either read
 * (each message accepted within the bounds, or rejected with a reason of its own) or refused whole with
 * AlertParseError (400) or AlertBodyTooLargeError (413); never another exception, never an accepted
 * alert outside the bounds, never a case over the time budget.
 */
import fc from 'fast-check';
import type { Geometry, Position } from 'geojson';
import { describe, expect, it } from 'vitest';
import { AlertBodyTooLargeError, AlertParseError, parseAlerts, type NormalizedAlert } from '../../server/alerts/parse/index.ts';
import { MAX_POLYGONS_PER_ALERT, MAX_TEXT_CHARS, MAX_VERTICES_PER_ALERT } from '../../server/alerts/parse/limits.ts';
import { geometrySize } from '../../server/alerts/parse/bounds.ts';
import { fixture } from '../harness/fixtures.ts';
import { fuzzParams, mutate, mutations, place, withinBudget } from './support.ts';

const NOW = new Date('2026-08-26T04:00:00Z');

const CAP_FIXTURES = [
  'cap/oasis-spec-a2-thunderstorm-polygon-cap12.xml',
  'cap/oasis-spec-a3-earthquake-update-circle-cap12.xml',
  'cap/oasis-spec-a4-amber-multilang-en-es-cap12.xml',
  'cap/oasis-spec-a2-thunderstorm-cap10.xml',
  'cap/ipaws-cancel-no-info-signed.xml',
  'cap/nws-update-multiple-polygons.xml',
  'cap/wra-taiwan-zh-reservoir-geocode-bom.cap',
  'cap/google-canada-update-multilang-polygons.cap',
  'cap/google-wcatwc-tsunami-update.cap',
  'cap/meteoalarm-france-atom-feed.xml',
  'cap/meteoalarm-meteofrance-update-allclear-nuts3.xml',
  'gdacs/gdacs-rss-fixture-small_2019-12-30.xml',
].map((name) => ({ name, text: fixture(name).toString('utf8') }));

/** A real CAP sample inside an EDXL-DE 1.0 envelope, as NSW RFS sends theirs. */
CAP_FIXTURES.push({
  name: 'EDXL-DE around cap/oasis-spec-a3-earthquake-update-circle-cap12.xml',
  text: `<EDXLDistribution xmlns="urn:oasis:names:tc:emergency:EDXL:DE:1.0"><distributionID>D-1</distributionID><senderID>s@example.org</senderID><distributionStatus>Actual</distributionStatus><contentObject><xmlContent><embeddedXMLContent>${fixture('cap/oasis-spec-a3-earthquake-update-circle-cap12.xml').toString('utf8').replace(/^<\?xml[^>]*>/, '')}</embeddedXMLContent></xmlContent></contentObject></EDXLDistribution>`,
});

const JSON_FIXTURES = [
  'usgs/usgs-summary_significant_month_2022-04-05_orange.geojson',
  'usgs/usgs-detail-geojson_us6000pi9w.geojson',
  'gdacs/gdacs-api-geteventdata_FL_1102983_ep1.json',
  'gdacs/gdacs-api-geteventdata_FL_1102983_ep2.json',
].map((name) => ({ name, text: fixture(name).toString('utf8') }));

/** XML and CAP syntax a mutation inserts, so edits reach past the first syntax error. */
const XML_TOKENS = [
  '<', '>', '/>', '</', '"', "'", '&', '&amp;', '&#0;', '&#xD800;', '&#x10FFFF;', '&unknown;', '<![CDATA[', ']]>', '<!--', '-->', '<?xml version="1.0"?>',
  '<!DOCTYPE x>', 'xmlns="urn:oasis:names:tc:emergency:cap:1.2"', 'xmlns:cap="urn:oasis:names:tc:emergency:cap:1.1"', '<alert>', '</alert>', '<info>', '</info>',
  '<area>', '</area>', '<polygon>', '</polygon>', '<circle>', '</circle>', '<polygon>24,67 25,67 25,68 24,67</polygon>', '<circle>24.8,67.0 99999</circle>',
  '<circle>91,181 -1</circle>', '<sent>9999-12-31T23:59:59+14:00</sent>', '<sent>2026-02-30T25:61:00</sent>', '<msgType>Update</msgType>', '<references>a,b,c d,e</references>',
  '<parameter><valueName>Magnitude</valueName><value>1e309</value></parameter>', ' ', '\n', '\u0000', '\uFEFF', '\uD800', 'NaN', '-0', '1e308', ',', '0,0',
];

const JSON_TOKENS = ['{', '}', '[', ']', ',', ':', '"', '\\', '\\u0000', '\\ud800', 'null', 'true', '-0', '1e999', 'NaN', '"type":"Polygon"', '"coordinates":[[[0,0],[1,1]]]', ' '];

/** Fails the case unless the accepted alert is within every bound and its values are well formed. */
function expectWithinBounds(alert: NormalizedAlert): void {
  expect(new Date(alert.sent).toISOString()).toBe(alert.sent);
  for (const t of [alert.effective, alert.onset, alert.expires]) if (t !== undefined) expect(new Date(t).toISOString()).toBe(t);
  const size = geometrySize(alert.area.geometry);
  expect(size.vertices).toBeLessThanOrEqual(MAX_VERTICES_PER_ALERT);
  expect(size.polygons).toBeLessThanOrEqual(MAX_POLYGONS_PER_ALERT);
  for (const [lon, lat] of positions(alert.area.geometry)) {
    expect(Number.isFinite(lon) && Number.isFinite(lat) && Math.abs(lon!) <= 180 && Math.abs(lat!) <= 90).toBe(true);
  }
  for (const info of alert.infos) {
    for (const key of ['event', 'headline', 'description', 'instruction', 'senderName'] as const) {
      if (info[key] !== undefined) expect([...info[key]!].length).toBeLessThanOrEqual(MAX_TEXT_CHARS[key] + 1);
    }
  }
  for (const value of Object.values(alert.metrics)) if (typeof value === 'number') expect(Number.isFinite(value)).toBe(true);
  // What the store hashes and writes: plain JSON, no cycles, nothing lost on the way.
  expect(JSON.parse(JSON.stringify(alert))).toEqual(alert);
}

function positions(g: Geometry | null): Position[] {
  if (!g) return [];
  switch (g.type) {
    case 'Point':
      return [g.coordinates];
    case 'MultiPoint':
    case 'LineString':
      return g.coordinates;
    case 'MultiLineString':
    case 'Polygon':
      return g.coordinates.flat();
    case 'MultiPolygon':
      return g.coordinates.flat(2);
    case 'GeometryCollection':
      return g.geometries.flatMap(positions);
  }
}

/** Reads a body as the server does and checks the outcome; rethrows anything but a refusal of the body. */
function check(body: string | Uint8Array, contentType?: string): void {
  const outcome = withinBudget('parsing one body', () => {
    try {
      return parseAlerts(body, contentType, { now: NOW });
    } catch (e) {
      if (e instanceof AlertParseError || e instanceof AlertBodyTooLargeError) {
        expect(e.message).not.toBe('');
        return undefined;
      }
      throw e;
    }
  });
  for (const m of outcome?.messages ?? []) {
    if (m.ok) expectWithinBounds(m.alert);
    // The catch-all of runMessage: a reason that says an exception escaped a parser is a bug.
    else expect(m.reason).not.toMatch(/^This message could not be read/);
  }
}

describe('alert parsers under fuzzing', () => {
  it('read or refuse every mutation of the real CAP, Atom and GDACS RSS samples', () => {
    fc.assert(
      fc.property(fc.constantFrom(...CAP_FIXTURES), mutations(XML_TOKENS), ({ text }, edits) => check(mutate(text, edits), 'application/cap+xml')),
      fuzzParams(400),
    );
  });

  it('read or refuse every text mutation of the real USGS and GDACS JSON samples', () => {
    fc.assert(
      fc.property(fc.constantFrom(...JSON_FIXTURES), mutations(JSON_TOKENS), ({ text }, edits) => check(mutate(text, edits), 'application/json')),
      fuzzParams(200),
    );
  });

  it('read or refuse the USGS and GDACS JSON samples with values replaced by any JSON', () => {
    fc.assert(
      fc.property(fc.constantFrom(...JSON_FIXTURES), fc.array(fc.tuple(place, fc.option(fc.jsonValue({ maxDepth: 3 }))), { minLength: 1, maxLength: 5 }), ({ text }, edits) => {
        const value = JSON.parse(text) as unknown;
        for (const [at, replacement] of edits) replaceAt(value, at, replacement);
        check(JSON.stringify(value), 'application/json');
      }),
      fuzzParams(300),
    );
  });

  it('read or refuse Madad alert JSON whose fields are any JSON', () => {
    const base = { source: 'madad', sender: 'ndma.gov.pk', identifier: 'F-1', sent: '2026-08-26T09:00:00+05:00', status: 'Actual', msgType: 'Alert', hazard: 'flood', severity: 'Severe', urgency: 'Immediate', certainty: 'Likely', headline: 'h', area: { areaCodes: ['PK7'] } };
    const key = fc.constantFrom(...Object.keys(base), 'metrics', 'translations', 'references', 'expires', 'web', 'area');
    fc.assert(
      fc.property(fc.dictionary(key, fc.jsonValue({ maxDepth: 4 }), { maxKeys: 4 }), fc.boolean(), (fields, asArray) => {
        const alert = { ...base, ...fields };
        check(JSON.stringify(asArray ? [alert, alert] : alert), 'application/json');
      }),
      fuzzParams(300),
    );
  });

  it('refuse random bytes and random JSON with a 4xx-style error, never another exception', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => check(bytes)), fuzzParams(300));
    fc.assert(fc.property(fc.json({ maxDepth: 6 }), (text) => check(text)), fuzzParams(300));
  });
});

/** Replaces the node found `at` (a fraction) along the value's nodes in document order; null deletes it. */
function replaceAt(root: unknown, at: number, replacement: unknown | null): void {
  const slots: [Record<string, unknown> | unknown[], string | number][] = [];
  const visit = (v: unknown) => {
    if (Array.isArray(v)) v.forEach((c, i) => (slots.push([v, i]), visit(c)));
    else if (v && typeof v === 'object') for (const [k, c] of Object.entries(v)) slots.push([v as Record<string, unknown>, k]), visit(c);
  };
  visit(root);
  const slot = slots[Math.floor(at * slots.length)];
  if (!slot) return;
  const [parent, key] = slot;
  if (replacement === null && !Array.isArray(parent)) delete parent[key as string];
  else (parent as Record<string | number, unknown>)[key] = replacement;
}
