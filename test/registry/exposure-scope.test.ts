import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testApp } from '../harness/app.ts';
import { createTestDatabase, drivers, type TestDatabase } from '../harness/databases.ts';
import { bearer, makeHousehold } from '../harness/factories.ts';
import { PUNJAB_DISTRICT, seedAreas, SINDH_DISTRICT } from '../rules/setup.ts';

/** Exposure and density count only the caller's households, as the household list does (issue 13, finding 12). */
describe.each(drivers)('area questions scoped by jurisdiction, on %s', (driver) => {
  let db: TestDatabase;
  let app: ReturnType<typeof testApp>;
  let sindh: string;
  let federal: string;

  beforeAll(async () => {
    db = await createTestDatabase(driver);
    await seedAreas(db.db);
    // 30 households in the Sindh district, 20 in the Punjab one: counts a programme manager sees exactly.
    await makeHousehold(db, [
      ...Array.from({ length: 30 }, (_, i) => ({ lat: 25.05 + i * 0.001, lon: 68.05, pmt: 20 })),
      ...Array.from({ length: 20 }, (_, i) => ({ lat: 31.05 + i * 0.001, lon: 72.05, pmt: 20 })),
    ]);
    app = testApp(db);
    sindh = (await bearer(db.db, 'program_manager', 'PK7')).authorization;
    federal = (await bearer(db.db, 'program_manager', 'PK')).authorization;
  });
  afterAll(() => db.drop());

  const exposure = async (authorization: string, area: unknown) => {
    const res = await app.request('/api/exposure', { method: 'POST', headers: { authorization, 'content-type': 'application/json' }, body: JSON.stringify({ area }) });
    expect(res.status).toBe(200);
    return res.json();
  };
  const density = async (authorization: string) => {
    const res = await app.request('/api/households/density?bbox=60,23,78,37&res=5', { headers: { authorization } });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { cells: { households: number }[] };
    return body.cells.reduce((n, c) => n + c.households, 0);
  };

  it('counts a Sindh manager only the Sindh households of an area that spans two provinces', async () => {
    const both = { codes: [SINDH_DISTRICT.code, PUNJAB_DISTRICT.code] };
    expect(await exposure(federal, both)).toMatchObject({ households: 50 });
    const seen = await exposure(sindh, both);
    expect(seen).toMatchObject({ households: 30 });
    expect(seen.byDistrict.map((d: { code: string }) => d.code)).toEqual([SINDH_DISTRICT.code]);
    // The whole country, asked by Sindh, is Sindh.
    expect(await exposure(sindh, { codes: ['PK'] })).toMatchObject({ households: 30 });
    expect(await exposure(sindh, { codes: [PUNJAB_DISTRICT.code] })).toMatchObject({ households: 0 });
  });

  it('draws a Sindh manager the density of Sindh households only', async () => {
    expect(await density(federal)).toBe(50);
    expect(await density(sindh)).toBe(30);
  });
});
