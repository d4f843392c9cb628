import { describe, expect, it } from 'vitest';
import { AlertParseError, displayInfo, parseAlerts } from './index.ts';
import { accepted } from './test-support.ts';

const CAP12 = 'urn:oasis:names:tc:emergency:cap:1.2';

/** A small CAP 1.2 alert; `area` is the inner XML of its one <area>. */
function cap(opts: { id?: string; area?: string; sent?: string; prefix?: string } = {}): string {
  const p = opts.prefix ? `${opts.prefix}:` : '';
  const xmlns = opts.prefix ? `xmlns:${opts.prefix}="${CAP12}"` : `xmlns="${CAP12}"`;
  return `<?xml version="1.0" encoding="UTF-8"?>
<${p}alert ${xmlns}>
  <${p}identifier>${opts.id ?? 'NDMA-TEST-1'}</${p}identifier>
  <${p}sender>ndma.gov.pk</${p}sender>
  <${p}sent>${opts.sent ?? '2022-08-26T09:00:00+05:00'}</${p}sent>
  <${p}status>Actual</${p}status>
  <${p}msgType>Alert</${p}msgType>
  <${p}scope>Public</${p}scope>
  <${p}info>
    <${p}language>ur-PK</${p}language>
    <${p}category>Met</${p}category>
    <${p}event>سیلاب</${p}event>
    <${p}urgency>Immediate</${p}urgency>
    <${p}severity>Severe</${p}severity>
    <${p}certainty>Likely</${p}certainty>
    <${p}area>
      <${p}areaDesc>Jacobabad</${p}areaDesc>
      ${opts.area ?? `<${p}polygon>28.2,68.3 28.4,68.3 28.4,68.6 28.2,68.6 28.2,68.3</${p}polygon>`}
    </${p}area>
  </${p}info>
</${p}alert>`;
}

function refusal(body: string | Uint8Array, contentType?: string): AlertParseError {
  try {
    parseAlerts(body, contentType);
  } catch (e) {
    if (e instanceof AlertParseError) return e;
    throw e;
  }
  throw new Error('the body was accepted');
}

describe('format recognition', () => {
  it('reads a CAP alert preceded by a UTF-8 byte order mark', () => {
    const bytes = new Uint8Array([0xef, 0xbb, 0xbf, ...new TextEncoder().encode(cap())]);
    const a = accepted(parseAlerts(bytes, 'application/cap+xml').messages[0]);
    expect(a).toMatchObject({ identifier: 'NDMA-TEST-1', hazard: 'flood', sent: '2022-08-26T04:00:00.000Z' });
  });

  it('reads a CAP alert in a prefixed namespace (<cap:alert xmlns:cap=…>)', () => {
    const outcome = parseAlerts(cap({ prefix: 'cap' }));
    expect(outcome.format).toBe('cap-1.2');
    const a = accepted(outcome.messages[0]);
    // Given clockwise (north, east, south); GeoJSON exterior rings are counter-clockwise (RFC 7946 §3.1.6).
    expect(a.area.geometry).toEqual({ type: 'Polygon', coordinates: [[[68.3, 28.2], [68.6, 28.2], [68.6, 28.4], [68.3, 28.4], [68.3, 28.2]]] });
    expect(displayInfo(a)?.language).toBe('ur-PK');
  });

  it('refuses a body that is neither XML nor JSON, saying what it accepts', () => {
    expect(refusal('hello world').message).toMatch(/neither XML nor JSON.*CAP XML/);
  });

  it('refuses an XML root that is not an alert or feed, naming it', () => {
    expect(refusal('<html><body/></html>').message).toMatch(/XML root is <html>/);
  });

  it('refuses an <alert> in a namespace that is not CAP', () => {
    expect(refusal('<alert xmlns="urn:example:not-cap"><identifier>x</identifier></alert>').message).toMatch(/not a CAP version/);
  });
});

describe('security and malformed bodies', () => {
  it('refuses a DOCTYPE even after a BOM and whitespace, before any parsing', () => {
    const body = '\uFEFF\n  <!DOCTYPE alert [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n<alert xmlns="' + CAP12 + '"><identifier>&x;</identifier></alert>';
    const e = refusal(body);
    expect(e.message).toMatch(/^XML with a DOCTYPE or entity declarations is refused/);
    expect(e.line).toBe(2);
  });

  it('refuses a bare <!ENTITY declaration', () => {
    expect(refusal('<alert xmlns="' + CAP12 + '"><!ENTITY y "z"></alert>').message).toMatch(/DOCTYPE or entity declarations is refused/);
  });

  it('names the line of malformed XML', () => {
    const e = refusal(`<alert xmlns="${CAP12}">\n<identifier>x</identifier>\n<sender>y</sendr>\n</alert>`);
    expect(e.line).toBe(3);
    expect(e.message).toMatch(/malformed at line 3/);
  });

  it('names line and position of malformed JSON, even where V8 does not', () => {
    const e = refusal('{\n  "source": "madad",\n  "sender": tru\n}', 'application/json');
    // `  "sender": tru` stops being JSON at the line break after "tru" (column 16).
    expect(e.message).toMatch(/JSON is malformed at line 3, column 16/);
    expect(e.line).toBe(3);
  });

  it('decodes character references but leaves unknown entities as text', () => {
    const body = cap({ area: '<areaDesc>Dera &#x63A;azi Khan &amp; Rajanpur &nbsp;</areaDesc>' }).replace('<areaDesc>Jacobabad</areaDesc>', '');
    const a = accepted(parseAlerts(body).messages[0]);
    expect(a.area.descriptions).toEqual(['Dera غazi Khan & Rajanpur &nbsp;']);
  });
});

describe('areas', () => {
  it('rejects a polygon given as lon,lat, saying so', () => {
    const result = parseAlerts(cap({ area: '<polygon>120.9,14.6 121.1,14.6 121.1,14.8 120.9,14.6</polygon>' })).messages[0]!;
    expect(result.ok).toBe(false);
    expect(!result.ok && result.identifier).toBe('NDMA-TEST-1');
    expect(!result.ok && result.reason).toMatch(/seems to be given as lon,lat instead of CAP's lat,lon/);
  });

  it('rejects coordinates out of range', () => {
    const result = parseAlerts(cap({ area: '<polygon>95,200 96,200 96,201 95,200</polygon>' })).messages[0]!;
    expect(!result.ok && result.reason).toMatch(/out of range/);
  });

  it('skips degenerate rings and empty polygons with a warning, keeping the message', () => {
    const area = '<polygon>30,70 30,71 30,70</polygon><polygon>30,70 30,71 30,72 30,70</polygon><polygon> </polygon><geocode><valueName>pcode</valueName><value>PK604</value></geocode>';
    const result = parseAlerts(cap({ area })).messages[0]!;
    const a = accepted(result);
    expect(a.area.geometry).toBeNull();
    expect(a.area.geocodes).toEqual([{ valueName: 'pcode', value: 'PK604' }]);
    expect(result.ok && result.warnings).toEqual([
      expect.stringMatching(/has 3 position\(s\); a ring needs at least 4.*skipped/),
      expect.stringMatching(/has no area.*skipped/),
      expect.stringMatching(/empty <polygon>.*skipped/),
    ]);
  });

  it('closes an open ring and turns a circle into a 64-step polygon', () => {
    const area = '<polygon>28.2,68.3 28.4,68.3 28.4,68.6</polygon><circle>24.86,67.01 10</circle>';
    const a = accepted(parseAlerts(cap({ area })).messages[0]);
    expect(a.area.geometry?.type).toBe('MultiPolygon');
    const polygons = (a.area.geometry as { coordinates: number[][][][] }).coordinates;
    expect(polygons[0]![0]).toHaveLength(4);
    expect(polygons[1]![0]).toHaveLength(65);
  });
});

describe('feeds with a bad message', () => {
  it('one bad <alert> inside an <alerts> wrapper does not block the others', () => {
    const inner = (id: string, area?: string) => cap({ id, area }).replace(/^<\?xml[^>]*>\s*/, '').replace(` xmlns="${CAP12}"`, '');
    const body = `<alerts xmlns="${CAP12}">${inner('A-1')}${inner('A-2', '<polygon>120.9,14.6 121.1,14.6 121.1,14.8 120.9,14.6</polygon>')}${inner('A-3')}</alerts>`;
    const outcome = parseAlerts(body);
    expect(outcome.container).toBe('cap-alerts');
    expect(outcome.messages.map((m) => m.ok)).toEqual([true, false, true]);
    expect(outcome.messages[1]).toMatchObject({ ok: false, identifier: 'A-2' });
  });

  it('rejects a message without <sent> and one with an unknown msgType, each with the reason', () => {
    const noSent = cap({ id: 'B-1' }).replace(/<sent>.*<\/sent>/, '');
    expect(parseAlerts(noSent).messages[0]).toMatchObject({ ok: false, identifier: 'B-1', reason: expect.stringMatching(/no <sent>/) });
    const badType = cap({ id: 'B-2' }).replace('<msgType>Alert</msgType>', '<msgType>Warning</msgType>');
    expect(parseAlerts(badType).messages[0]).toMatchObject({ ok: false, reason: expect.stringMatching(/<msgType> "Warning"/) });
  });

  it('reads a sent time without a zone as UTC and says so', () => {
    const result = parseAlerts(cap({ sent: '2022-08-26T09:00:00' })).messages[0]!;
    expect(accepted(result).sent).toBe('2022-08-26T09:00:00.000Z');
    expect(result.ok && result.warnings.join(' ')).toMatch(/no time zone/);
  });
});

describe('Madad alert JSON', () => {
  const madad = {
    source: 'madad',
    sender: 'ndma.gov.pk',
    identifier: 'NDMA-2022-0826-01',
    sent: '2022-08-26T09:00:00+05:00',
    status: 'Actual',
    msgType: 'Alert',
    hazard: 'riverine_flood',
    severity: 'Extreme',
    urgency: 'Immediate',
    certainty: 'Observed',
    language: 'en',
    headline: 'Indus at Guddu: exceptionally high flood',
    translations: [{ language: 'ur', headline: 'گڈو پر دریائے سندھ میں غیر معمولی اونچے درجے کا سیلاب' }],
    metrics: { exposedPopulation: 120000 },
    expires: '2022-08-29T09:00:00+05:00',
    area: { areaCodes: ['PK604', 'PK605'], descriptions: ['Jacobabad', 'Kashmore'] },
  };

  it('reads an alert: P-codes become geocodes, times are UTC, Urdu is shown first', () => {
    const outcome = parseAlerts(JSON.stringify(madad), 'application/json');
    expect(outcome.format).toBe('madad-json');
    const a = accepted(outcome.messages[0]);
    expect(a).toMatchObject({
      source: 'madad',
      identifier: 'NDMA-2022-0826-01',
      sent: '2022-08-26T04:00:00.000Z',
      expires: '2022-08-29T04:00:00.000Z',
      scope: 'Public',
      hazard: 'riverine_flood',
      metrics: { exposedPopulation: 120000 },
    });
    expect(a.area.geocodes).toEqual([
      { valueName: 'pcode', value: 'PK604' },
      { valueName: 'pcode', value: 'PK605' },
    ]);
    expect(displayInfo(a)?.language).toBe('ur');
  });

  it('checks each alert of an array on its own, naming the bad fields', () => {
    const bad = { ...madad, identifier: 'NDMA-BAD', hazard: 'meteor', sent: 'yesterday' };
    const outOfRange = { ...madad, identifier: 'NDMA-FAR', area: { geometry: { type: 'Point', coordinates: [200, 10] } } };
    const outcome = parseAlerts(JSON.stringify([madad, bad, outOfRange]));
    expect(outcome.messages.map((m) => m.ok)).toEqual([true, false, false]);
    expect(outcome.messages[1]).toMatchObject({ ok: false, identifier: 'NDMA-BAD' });
    const reason = !outcome.messages[1]!.ok ? outcome.messages[1]!.reason : '';
    expect(reason).toMatch(/sent:/);
    expect(reason).toMatch(/hazard:/);
    expect(outcome.messages[2]).toMatchObject({ ok: false, reason: expect.stringMatching(/out of range/) });
  });
});

describe('found by fuzzing (test/fuzz/alert-parsers.test.ts)', () => {
  const usgs = (geometry: unknown, time: number = Date.parse('2022-03-16T14:36:33Z')) =>
    JSON.stringify({ type: 'Feature', id: 'us-fuzz', properties: { mag: 7.3, time, updated: time, sig: 1368 }, geometry });

  it('rejects a USGS feature whose Point has no coordinate array, saying so', () => {
    expect(parseAlerts(usgs({ type: 'Point', coordinates: 'here' })).messages[0]).toEqual({
      ok: false,
      identifier: 'us-fuzz',
      reason: 'The epicentre is a Point whose coordinates are not [longitude, latitude] positions (RFC 7946 §3.1).',
    });
  });

  it('rejects a GDACS feature with a Polygon of the wrong nesting, saying so', () => {
    const gdacs = JSON.stringify({ type: 'Feature', geometry: { type: 'Polygon', coordinates: [[true, null]] }, properties: { eventtype: 'FL', eventid: 1, episodeid: 1, alertlevel: 'Red', datemodified: '2024-11-08T11:10:45' } });
    expect(parseAlerts(gdacs).messages[0]).toMatchObject({ ok: false, reason: expect.stringMatching(/^GDACS feature geometry is a Polygon whose coordinates are not arrays of arrays of \[longitude, latitude\] positions/) });
  });

  it('reads a USGS time past the range of dates as no time', () => {
    expect(parseAlerts(usgs({ type: 'Point', coordinates: [141.6, 37.7, 63] }, 1e20)).messages[0]).toEqual({ ok: false, identifier: 'us-fuzz', reason: 'The USGS feature has no readable `updated` or `time`.' });
  });

  it('refuses XML that ends inside a processing instruction or comment, naming the line (the parser threw a bare Error)', () => {
    const e = refusal(`${cap()}\n<?x`);
    expect(e.message).toBe('The XML is malformed at line 22: "<?x" is never closed with "?>".');
    expect(refusal(`${cap()}\n\n<!-- note`).line).toBe(23);
  });
});
