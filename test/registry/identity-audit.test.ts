import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testApp } from '../harness/app.ts';
import { createTestDatabase, drivers, type TestDatabase } from '../harness/databases.ts';
import { bearer, makeArea, makeHousehold, unique, type Box } from '../harness/factories.ts';

/** Households spread over a box, `n` of them, on a grid inside it. */
const spread = ([w, s, e, n]: Box, count: number) =>
  Array.from({ length: count }, (_, i) => ({ lat: s + ((n - s) * ((i % 10) + 0.5)) / 10, lon: w + ((e - w) * (Math.floor(i / 10) + 0.5)) / Math.ceil(count / 10) }));

describe.each(drivers)('identity reads in the audit trail, on %s', (driver) => {
  let db: TestDatabase;
  let app: ReturnType<typeof testApp>;
  let sindhAuditor: string;
  beforeAll(async () => {
    db = await createTestDatabase(driver);
    app = testApp(db);
    sindhAuditor = (await bearer(db.db, 'auditor', 'PK7')).authorization;
  });
  afterAll(() => db.drop());

  /** Reads households as `authorization` under a request id of its own, and returns them with the entry it left. */
  const readAndEntry = async (query: string, authorization: string) => {
    const requestId = unique('read');
    const res = await app.request(`/api/households?${query}`, { headers: { authorization, 'x-request-id': requestId } });
    expect(res.status).toBe(200);
    const list = await res.json();
    const trail = await (await app.request('/api/audit?action=identity.read&pageSize=500', { headers: { authorization: sindhAuditor } })).json();
    return { list, entry: trail.items.find((e: { requestId: string }) => e.requestId === requestId) };
  };
  const idsOf = (list: { items: { id: string }[] }) => list.items.map((h) => Number(h.id.slice('hh-'.length))).sort((a, b) => a - b);

  it('a read of 150 households logs their count and the sha256 of every id, not the first 100', async () => {
    const district = await makeArea(db.db, { level: 2, parentCode: 'PK7', box: [68.0, 25.0, 68.2, 25.2] });
    await makeHousehold(db, spread(district.box, 150));
    const manager = (await bearer(db.db, 'program_manager', 'PK7')).authorization;
    const { list, entry } = await readAndEntry(`area=${district.code}&pageSize=2000`, manager);
    expect(list.items).toHaveLength(150);
    const ids = idsOf(list);
    expect(entry).toMatchObject({
      action: 'identity.read',
      jurisdiction: district.code,
      summary: { households: 150, area: district.code, idsSha256: createHash('sha256').update(ids.join('\n')).digest('hex') },
    });
    expect(entry.summary.ids).toBeUndefined();
  });

  it('a federal read by bounding box is filed under the area it fell in, where that area’s auditors see it, with its ids', async () => {
    const district = await makeArea(db.db, { level: 2, parentCode: 'PK7', box: [68.4, 25.4, 68.6, 25.6] });
    await makeHousehold(db, spread(district.box, 3));
    const federal = (await bearer(db.db, 'program_manager', 'PK')).authorization;
    const { list, entry } = await readAndEntry(`bbox=${district.box.join(',')}`, federal);
    expect(list.items).toHaveLength(3);
    expect(entry, 'a Sindh auditor sees the read of Sindh households').toBeDefined();
    expect(entry).toMatchObject({ jurisdiction: district.code, summary: { households: 3, bbox: [...district.box], ids: idsOf(list) } });
  });
});
