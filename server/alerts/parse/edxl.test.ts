import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testApp } from '../../../test/harness/app.ts';
import { capMessage } from '../../../test/harness/cap.ts';
import { createTestDatabase, drivers, type TestDatabase } from '../../../test/harness/databases.ts';
import { bearer, unique } from '../../../test/harness/factories.ts';
import { AlertParseError, parseAlerts } from './index.ts';
import { accepted } from './test-support.ts';

/** A CAP alert as it sits inside an envelope: no XML declaration. */
const inner = (identifier: string, fields: Parameters<typeof capMessage>[0] = { identifier }) => capMessage({ ...fields, identifier }).replace(/^<\?xml[^>]*>\s*/, '');

/**
 * An EDXL-DE 1.0 envelope built from the standard's element structure (EDXLDistribution: distributionID,
 * senderID, dateTimeSent, distributionStatus, distributionType, combinedConfidentiality, then
 * contentObjects), prefixed as the NSW RFS feed writes it; `objects` is the inner XML of each contentObject.
 */
function envelope(objects: string[], { id = 'PMD-DIST-0001', status = 'Actual', ns = 'urn:oasis:names:tc:emergency:EDXL:DE:1.0' } = {}): string {
  return `<?xml version="1.0" encoding="UTF-8"?>
<edxlde:EDXLDistribution xmlns:edxlde="${ns}">
  <edxlde:distributionID>${id}</edxlde:distributionID>
  <edxlde:senderID>cap@pmd.gov.pk</edxlde:senderID>
  <edxlde:dateTimeSent>2026-08-26T09:00:00+05:00</edxlde:dateTimeSent>
  <edxlde:distributionStatus>${status}</edxlde:distributionStatus>
  <edxlde:distributionType>Report</edxlde:distributionType>
  <edxlde:combinedConfidentiality>UNCLASSIFIED</edxlde:combinedConfidentiality>
  ${objects.map((o) => `<edxlde:contentObject>${o}</edxlde:contentObject>`).join('\n  ')}
</edxlde:EDXLDistribution>`;
}

const xmlObject = (...alerts: string[]) =>
  `<edxlde:contentDescription>Flood warning</edxlde:contentDescription><edxlde:xmlContent><edxlde:embeddedXMLContent>${alerts.join('')}</edxlde:embeddedXMLContent></edxlde:xmlContent>`;
const textObject = '<edxlde:contentDescription>Press note</edxlde:contentDescription><edxlde:nonXMLContent><edxlde:mimeType>text/plain</edxlde:mimeType><edxlde:uri>https://pmd.gov.pk/press.txt</edxlde:uri></edxlde:nonXMLContent>';

function refusal(body: string): AlertParseError {
  try {
    parseAlerts(body);
  } catch (e) {
    if (e instanceof AlertParseError) return e;
    throw e;
  }
  throw new Error('accepted');
}

describe('EDXL-DE 1.0 envelopes', () => {
  it('reads every CAP alert inside, in any content object, each noting the envelope it came in', () => {
    const outcome = parseAlerts(envelope([xmlObject(inner('EDXL-A')), xmlObject(inner('EDXL-B'), inner('EDXL-C'))]));
    expect(outcome).toMatchObject({ format: 'cap-1.2', container: 'edxl-de' });
    const alerts = outcome.messages.map(accepted);
    expect(alerts.map((a) => a.identifier)).toEqual(['EDXL-A', 'EDXL-B', 'EDXL-C']);
    // The envelope's sender delivers; each CAP message still names who issued it.
    expect(alerts.every((a) => a.sender === 'pmd.gov.pk' && a.hazard === 'riverine_flood')).toBe(true);
    expect(alerts[0]!.notes).toContain('Delivered in EDXL-DE distribution "PMD-DIST-0001" from "cap@pmd.gov.pk".');
    expect(outcome.messages[0]!.ok && outcome.messages[0]!.warnings).toEqual(alerts[0]!.notes);
  });

  it('skips a content object that holds no CAP, saying what it holds, and keeps the alerts', () => {
    const outcome = parseAlerts(envelope([textObject, xmlObject(inner('EDXL-D'))]));
    expect(outcome.messages[0]).toEqual({ ok: false, reason: 'EDXL-DE content object 1 carries no CAP alert (non-XML content of type text/plain); skipped.' });
    expect(accepted(outcome.messages[1]).identifier).toBe('EDXL-D');
  });

  it('refuses an envelope with no CAP alert in it, naming the distribution and what it holds', () => {
    const e = refusal(envelope([textObject, xmlObject('<report xmlns="urn:example:sitrep"><text>all calm</text></report>')], { id: 'PMD-DIST-EMPTY' }));
    expect(e.message).toBe(
      'The EDXL-DE distribution "PMD-DIST-EMPTY" from "cap@pmd.gov.pk" carries no CAP alert: its content objects hold 1: non-XML content of type text/plain; 2: <report> in namespace "urn:example:sitrep". Put each CAP <alert> in contentObject/xmlContent/embeddedXMLContent.',
    );
    expect(e.field).toBe('EDXLDistribution.contentObject');
    expect(refusal(envelope([])).message).toMatch(/carries no CAP alert: it has no <contentObject>/);
  });

  it('refuses an envelope of another EDXL-DE version, naming the one it reads', () => {
    expect(refusal(envelope([xmlObject(inner('EDXL-E'))], { ns: 'urn:oasis:names:tc:emergency:EDXL:DE:2.0' })).message).toMatch(
      /namespace "urn:oasis:names:tc:emergency:EDXL:DE:2.0"; the EDXL-DE envelope we read is version 1.0/,
    );
  });

  it('keeps the CAP status when the envelope says otherwise, with a warning', () => {
    const a = accepted(parseAlerts(envelope([xmlObject(inner('EDXL-F'))], { status: 'Exercise' })).messages[0]);
    expect(a.status).toBe('Actual');
    expect(a.notes).toContain('The envelope\'s distributionStatus is "Exercise" but the CAP status is "Actual"; the CAP status is used.');
  });

  it('names the envelope when a CAP message inside it is rejected', () => {
    const bad = inner('EDXL-G').replace(/<sent>.*<\/sent>/, '');
    expect(parseAlerts(envelope([xmlObject(bad)])).messages[0]).toMatchObject({
      ok: false,
      identifier: 'EDXL-G',
      reason: 'The message has no <sent>; it is required. (in EDXL-DE distribution "PMD-DIST-0001" from "cap@pmd.gov.pk")',
    });
  });
});

describe.each(drivers)('EDXL-DE at the door, on %s', (driver) => {
  let db: TestDatabase;
  let app: ReturnType<typeof testApp>;
  let feed: string;
  let reader: string;

  beforeAll(async () => {
    db = await createTestDatabase(driver);
    app = testApp(db);
    feed = (await bearer(db.db, 'feed', 'PK')).authorization;
    reader = (await bearer(db.db, 'responder', 'PK')).authorization;
  });
  afterAll(() => db.drop());

  const post = async (body: string) => {
    const res = await app.request('/api/alerts', { method: 'POST', headers: { authorization: feed, 'content-type': 'application/xml' }, body });
    return { status: res.status, body: await res.json() };
  };

  it('stores each CAP alert of an envelope, with the distribution in its notes', async () => {
    const [a, b] = [unique('EDXL'), unique('EDXL')];
    const dist = unique('DIST');
    const res = await post(envelope([xmlObject(inner(a)), xmlObject(inner(b))], { id: dist }));
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ format: 'cap-1.2', items: [{ result: 'created', identifier: a }, { result: 'created', identifier: b }] });
    const shown = await (await app.request(`/api/alerts/${res.body.items[1].id}`, { headers: { authorization: reader } })).json();
    expect(shown.notes).toContain(`Delivered in EDXL-DE distribution "${dist}" from "cap@pmd.gov.pk".`);
  });

  it('answers an envelope with no CAP alert with 400 saying so', async () => {
    const res = await post(envelope([textObject], { id: 'PMD-DIST-NONE' }));
    expect(res).toMatchObject({ status: 400, body: { code: 'invalid_request' } });
    expect(res.body.detail).toMatch(/^The EDXL-DE distribution "PMD-DIST-NONE" from "cap@pmd.gov.pk" carries no CAP alert/);
    expect(res.body.errors).toEqual([{ field: 'EDXLDistribution.contentObject', message: res.body.detail }]);
  });
});
