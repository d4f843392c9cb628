import { createHash } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyAudit } from '../../server/audit/service.ts';
import { queryRows } from '../../server/db/client.ts';
import { announced, testApp } from '../harness/app.ts';
import { capMessage, LOWER_SINDH_POLYGON } from '../harness/cap.ts';
import { createTestDatabase, drivers, type TestDatabase } from '../harness/databases.ts';
import { bearer, unique } from '../harness/factories.ts';
import { fixture } from '../harness/fixtures.ts';

/** What a feed sends: several CAP messages in one body, in the order given. */
const feedOf = (...messages: string[]) => `<alerts>${messages.map((m) => m.replace(/<\?xml[^>]*>/, '')).join('')}</alerts>`;

describe.each(drivers)('a body of many messages, on %s', (driver) => {
  let db: TestDatabase;
  let app: ReturnType<typeof testApp>;
  let feed: string;
  let reader: string;
  const now = new Date('2026-08-26T05:00:00Z');

  beforeAll(async () => {
    db = await createTestDatabase(driver);
    app = testApp(db, { clock: () => now, bodyLimit: 10 * 1024 * 1024 });
    feed = (await bearer(db.db, 'feed', 'PK')).authorization;
    reader = (await bearer(db.db, 'responder', 'PK')).authorization;
  });
  afterAll(() => db.drop());

  const post = async (body: string | Uint8Array, contentType = 'application/xml') => {
    const res = await app.request('/api/alerts', { method: 'POST', headers: { authorization: feed, 'content-type': contentType }, body: typeof body === 'string' ? body : new Uint8Array(body) });
    expect(res.status).toBe(200);
    return (await res.json()).items as { result: string; id?: string; identifier?: string; state?: string; reason?: string }[];
  };
  const get = async (path: string) => (await app.request(path, { headers: { authorization: reader } })).json();
  const storedBody = async (alertId: string) =>
    (await queryRows<{ b64: string }>(db.db, sql`select encode(b.bytes, 'base64') as b64 from alerts a join alert_bodies b on b.id = a.body_id where a.id = ${alertId}`))[0]!.b64;
  const ingestEntries = async (ids: string[]) =>
    (await queryRows<{ n: number }>(db.db, sql`select count(*)::int as n from audit_log where action = 'alert.ingest' and subject in (${sql.join(ids.map((id) => sql`${`alert:${id}`}`), sql`, `)})`))[0]!.n;

  it('keeps the body byte for byte: the GDACS flood footprint of 637 KB', async () => {
    const bytes = new Uint8Array(fixture('gdacs/gdacs-api-getgeometry_FL_1102983_ep1.min.json'));
    const [item] = await post(bytes, 'application/json');
    expect(item).toMatchObject({ result: 'created' });
    const kept = Buffer.from(await storedBody(item!.id!), 'base64');
    expect(createHash('sha256').update(kept).digest('hex')).toBe(createHash('sha256').update(bytes).digest('hex'));
  });

  it('stores 500 messages of one feed, each with the body, an audit entry and its change for evaluation', async () => {
    const ids = Array.from({ length: 500 }, (_, i) => unique(`feed500-${i}`));
    const items = await post(feedOf(...ids.map((identifier) => capMessage({ identifier, polygon: LOWER_SINDH_POLYGON }))));
    expect(items.map((i) => i.result)).toEqual(ids.map(() => 'created'));
    expect(items.map((i) => i.identifier)).toEqual(ids);
    const alertIds = items.map((i) => i.id!);
    expect(new Set(alertIds).size).toBe(500);
    expect(await ingestEntries(alertIds)).toBe(500);
    const changes = (await announced(db.db, 'alert.changed')).filter((c) => alertIds.includes(c.alertId!));
    expect(changes.map((c) => c.alertId)).toEqual(alertIds);
    const bodies = await queryRows<{ n: number }>(db.db, sql`select count(distinct body_id)::int as n from alerts where id in (${sql.join(alertIds.map((id) => sql`${id}`), sql`, `)})`);
    expect(bodies[0]!.n).toBe(1);
    expect(await verifyAudit(db.db)).toMatchObject({ ok: true });
  });

  it('decides an Alert, its Update and the Cancel in one body as if each came alone', async () => {
    const id = unique('chain');
    const items = await post(
      feedOf(
        capMessage({ identifier: id, event: 'Earthquake', sent: '2026-08-26T09:00:00+05:00' }),
        capMessage({ identifier: `${id}-u`, msgType: 'Update', references: `pmd.gov.pk,${id},2026-08-26T09:00:00+05:00`, event: 'Earthquake', sent: '2026-08-26T10:00:00+05:00' }),
        capMessage({ identifier: `${id}-c`, msgType: 'Cancel', references: `pmd.gov.pk,${id}-u,2026-08-26T10:00:00+05:00`, event: 'Earthquake', sent: '2026-08-26T11:00:00+05:00' }),
      ),
    );
    expect(items.map((i) => i.result)).toEqual(['created', 'created', 'created']);
    const detail = await get(`/api/alerts/${items[1]!.id}`);
    expect(detail.chain.map((c: { msgType: string; state: string }) => `${c.msgType}:${c.state}`)).toEqual(['Alert:superseded', 'Update:cancelled', 'Cancel:cancelled']);
    const changes = (await announced(db.db, 'alert.changed')).filter((c) => items.some((i) => i.id === c.alertId));
    expect(changes.map((c) => `${items.findIndex((i) => i.id === c.alertId)}:${c.change}`)).toEqual(['0:created', '1:created', '0:superseded', '2:created', '1:cancelled']);
  });

  it('finds an original already superseded by the Update sent before it in the same body', async () => {
    const id = unique('late');
    const items = await post(
      feedOf(
        capMessage({ identifier: `${id}-u`, msgType: 'Update', references: `pmd.gov.pk,${id},2026-08-26T09:00:00+05:00`, sent: '2026-08-26T10:00:00+05:00' }),
        capMessage({ identifier: id, sent: '2026-08-26T09:00:00+05:00' }),
      ),
    );
    expect(items.map((i) => `${i.result}:${i.state}`)).toEqual(['created:active', 'created:superseded']);
    expect((await get(`/api/alerts/${items[0]!.id}`)).chain).toHaveLength(2);
  });

  it('keeps the good messages when the database refuses one, with the reason on the refused one only', async () => {
    const good = [unique('good-a'), unique('good-b')];
    // A NUL in the headline passes the XML parser and reaches an insert, which text columns refuse.
    const items = await post(
      feedOf(
        capMessage({ identifier: good[0]!, polygon: LOWER_SINDH_POLYGON }),
        capMessage({ identifier: unique('nul'), headline: 'Flood\u0000 warning', polygon: LOWER_SINDH_POLYGON }),
        capMessage({ identifier: good[1]!, polygon: LOWER_SINDH_POLYGON }),
      ),
    );
    expect(items.map((i) => i.result)).toEqual(['created', 'rejected', 'created']);
    expect(items[1]!.reason).toMatch(/could not be stored/);
    expect(await ingestEntries([items[0]!.id!, items[2]!.id!])).toBe(2);
    expect(await verifyAudit(db.db)).toMatchObject({ ok: true });
  });
});
