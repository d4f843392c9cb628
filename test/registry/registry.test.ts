import { Readable } from 'node:stream';
import { booleanPointInPolygon } from '@turf/turf';
import type { MultiPolygon, Polygon } from 'geojson';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readBoundaries } from '../../geodata/boundaries.ts';
import { importAreas } from '../../server/areas/service.ts';
import { synthAreas, synthCsv } from '../../server/registry/synth.ts';
import { queryRows } from '../../server/db/client.ts';
import { importRegistry } from '../../server/registry/import.ts';
import { REGISTRY_COLUMNS } from '../../server/registry/row.ts';
import { testApp } from '../harness/app.ts';
import { createTestDatabase, drivers, type TestDatabase } from '../harness/databases.ts';
import { bearer, setupCtx } from '../harness/factories.ts';
import { fixtureJson } from '../harness/fixtures.ts';
import { loadTestDistricts, loadTestTehsils } from '../harness/gazetteer.ts';

const HOUSEHOLDS = 20_000;

describe.each(drivers)('gazetteer and registry on %s', (driver) => {
  let db: TestDatabase;
  let app: ReturnType<typeof testApp>;
  let tehsilWarnings: string[];

  beforeAll(async () => {
    db = await createTestDatabase(driver);
    app = testApp(db);
    await loadTestDistricts(db.db);
    tehsilWarnings = (await loadTestTehsils(db.db)).warnings;
    const areas = await synthAreas(db.db);
    await importRegistry(db, synthCsv({ households: HOUSEHOLDS, seed: 42, areas }));
  });
  afterAll(() => db.drop());

  const as = async (role: 'responder' | 'program_manager' | 'auditor', jurisdiction = 'PK') => (await bearer(db.db, role, jurisdiction)).authorization;
  const get = async (path: string, authorization: string) => (await app.request(path, { headers: { authorization } })).json();
  const postJson = async (path: string, body: unknown, authorization: string) =>
    app.request(path, { method: 'POST', headers: { authorization, 'content-type': 'application/json' }, body: JSON.stringify(body) });

  it('holds 7 provinces, 160 districts and 554 tehsils with derived codes under their districts', async () => {
    const reader = await as('responder');
    const counts = await Promise.all([1, 2, 3].map(async (level) => (await get(`/api/areas?level=${level}`, reader)).features.length));
    expect(counts).toEqual([7, 160, 554]);
    expect(tehsilWarnings).toHaveLength(2);
    expect(tehsilWarnings.join(' ')).toMatch(/LADAKH/);
    const dadu = await get('/api/areas?level=3&parent=PK703', reader);
    expect(dadu.features.length).toBeGreaterThan(0);
    expect(dadu.features.every((f: { properties: { code: string } }) => f.properties.code.startsWith('PK703'))).toBe(true);
  });

  it('finds areas by forgiving names', async () => {
    const reader = await as('responder');
    const dgk = await get('/api/areas?level=2&q=D.G.%20Khan', reader);
    expect(dgk.features.map((f: { properties: { name: string } }) => f.properties.name)).toContain('Dera Ghazi Khan');
    const one = await get('/api/areas/PK703?tolerance=0.01', reader);
    expect(one.properties).toMatchObject({ code: 'PK703', name: 'Dadu', level: 2 });
    expect((await app.request('/api/areas/PK999', { headers: { authorization: reader } })).status).toBe(404);
  });

  it('re-imports idempotently and keeps a changed geometry as a new version', async () => {
    const again = await loadTestDistricts(db.db);
    expect(again.districts).toBe(160);
    const [row] = await queryRows<{ n: number }>(db.db, sql`select count(*)::int as n from areas where code = 'PK703'`);
    expect(row!.n).toBe(1);
    const district = readBoundaries(fixtureJson('pakistan/pak_adm2_districts_cod_pcodes_simplified.geojson'), { codeField: 'pcode', nameField: 'name', parentField: () => 'PK7', level: 2, source: 'test' }).areas.find((a) => a.code === 'PK704')!;
    const moved = { ...district, geometry: { type: 'Polygon', coordinates: [[[67, 25], [67.5, 25], [67.5, 25.5], [67, 25.5], [67, 25]]] } as Polygon };
    const summary = await importAreas(setupCtx(db.db), { records: [moved], validFrom: '2026-07-01' });
    expect(summary).toMatchObject({ created: 0, newVersions: 1 });
    const area = await get('/api/areas/PK704', await as('responder'));
    expect(area.versions.map((v: { validTo: string | null }) => v.validTo)).toEqual(['2026-07-01', null]);
  });

  it('assigns every synthetic household a tehsil whose polygon holds it', async () => {
    const rows = await queryRows<{ lat: number; lon: number; tehsil: string | null }>(db.db, sql`select lat, lon, tehsil from households order by id limit 300`);
    const tehsils = new Map((await get('/api/areas?level=3', await as('responder'))).features.map((f: { properties: { code: string }; geometry: Polygon | MultiPolygon }) => [f.properties.code, f.geometry]));
    for (const r of rows) {
      expect(r.tehsil).not.toBeNull();
      expect(booleanPointInPolygon([r.lon, r.lat], tehsils.get(r.tehsil!) as Polygon)).toBe(true);
    }
  });

  it('reports refused rows by row and column, lands the good ones, and upserts by source and id', async () => {
    const csv = [
      REGISTRY_COLUMNS.join(','),
      'PSER,P-1,35202-1234567-3,Amina Bibi,0300-1234567,31.52,74.35,6,14.2,1,0,1,1,KAFAALAT;NASHONUMA,bank,PK00TEST1',
      'PSER,P-2,3520212345,Short Cnic,,31.52,74.35,6,14.2,0,0,0,0,,,',
      'PSER,P-3,3520212345675,Swapped,,74.35,31.52,4,20,0,0,0,0,,,',
    ].join('\n');
    const report = await importRegistry(db, Readable.from(csv));
    expect(report).toMatchObject({ rows: 3, imported: 1, refused: 2 });
    expect(report.problems).toEqual([
      { row: 3, column: 'cnic', reason: 'expected 13 digits (dashes allowed: 35202-1234567-3)' },
      { row: 4, column: 'lat', reason: 'lat 74.35, lon 31.52 is outside Pakistan; swapped, it would be inside: lat and lon seem exchanged' },
    ]);
    const updated = await importRegistry(db, Readable.from(csv.replace('Amina Bibi', 'Amina B.')));
    expect(updated.imported).toBe(1);
    const rows = await queryRows<{ head_name: string; province: string; phone: string }>(db.db, sql`select head_name, province, phone from households where source = 'PSER' and household_id = 'P-1'`);
    expect(rows).toEqual([{ head_name: 'Amina B.', province: 'PK6', phone: '03001234567' }]);
  });

  it('names the right line of a refused row deep in a file the worker threads read in pieces', async () => {
    const rows = [REGISTRY_COLUMNS.join(',')];
    for (let i = 0; i < 8000; i++) {
      // One head's name spans two lines (quoted), which shifts every later line number by one.
      const name = i === 100 ? '"Bibi\nAmina"' : `Head ${i}`;
      const cnic = i === 5000 ? '123' : `3520212345${String(i % 1000).padStart(3, '0')}`;
      rows.push(`WRK,W-${i},${cnic},${name},,${(24 + (i % 100) / 10).toFixed(4)},${(67 + (i % 90) / 10).toFixed(4)},5,30,0,0,0,0,,,PK00ACCOUNT${i}`);
    }
    const text = rows.join('\n');
    expect(text.length).toBeGreaterThan(2 * 256 * 1024);
    const report = await importRegistry(db, Readable.from([Buffer.from(text)]));
    // Row 5000 is record 5002 of the file (header, rows 0..4999), on line 5003 because of the two-line name.
    expect(report).toMatchObject({ rows: 8000, refused: 1, added: 7999 });
    expect(report.problems).toEqual([{ row: 5003, column: 'cnic', reason: 'expected 13 digits (dashes allowed: 35202-1234567-3)' }]);
    const [stored] = await queryRows<{ head_name: string }>(db.db, sql`select head_name from households where source = 'WRK' and household_id = 'W-100'`);
    expect(stored!.head_name).toBe('Bibi\nAmina');
  });

  it('mixes new, changed, unchanged and repeated households in one batch, keeping the later row', async () => {
    const line = (id: string, name: string) => `PSER,${id},35202-1234567-3,${name},,31.52,74.35,6,14.2,0,0,0,0,,,`;
    const file = (...lines: string[]) => Readable.from([REGISTRY_COLUMNS.join(','), ...lines].join('\n'));
    expect(await importRegistry(db, file(line('M-1', 'One'), line('M-2', 'Two')))).toMatchObject({ added: 2, updated: 0, unchanged: 0, repeated: 0 });
    const second = await importRegistry(db, file(line('M-1', 'One'), line('M-3', 'Three'), line('M-2', 'Two b'), line('M-3', 'Three b')));
    expect(second).toMatchObject({ rows: 4, imported: 4, added: 1, updated: 1, unchanged: 1, repeated: 1 });
    const names = await queryRows<{ household_id: string; head_name: string }>(db.db, sql`select household_id, head_name from households where household_id like 'M-%' order by household_id`);
    expect(names).toEqual([
      { household_id: 'M-1', head_name: 'One' },
      { household_id: 'M-2', head_name: 'Two b' },
      { household_id: 'M-3', head_name: 'Three b' },
    ]);
    // Small batches: new households are copied straight in, then a batch of known ones goes through the merge.
    const many = Array.from({ length: 30 }, (_, i) => line(`B-${i}`, `Name ${i}`));
    expect(await importRegistry(db, file(...many), { batchSize: 10 })).toMatchObject({ added: 30 });
    expect(await importRegistry(db, file(...many.slice(0, 20), line('B-99', 'New')), { batchSize: 10 })).toMatchObject({ added: 1, unchanged: 20 });
  });

  it('refuses a file without the expected header', async () => {
    const report = await importRegistry(db, Readable.from('id,name\n1,x\n'));
    expect(report.refused).toBe(-1);
    expect(report.problems[0]!.reason).toContain('missing columns: source, household_id');
  });

  it('counts exposure by area and PMT band, consistent with the registry (exact for a programme manager)', async () => {
    const reader = await as('program_manager');
    const res = await postJson('/api/exposure', { area: { codes: ['PK7'] }, pmtCutoff: 32 }, reader);
    const exposure = await res.json();
    const [sindh] = await queryRows<{ n: number; poor: number }>(db.db, sql`select count(*)::int as n, count(*) filter (where pmt <= 32)::int as poor from households where province = 'PK7'`);
    expect(exposure.households).toBe(sindh!.n);
    expect(exposure.atOrUnderCutoff).toBe(sindh!.poor);
    expect(exposure.byPmtBand.reduce((s: number, b: { households: number }) => s + b.households, 0)).toBe(sindh!.n);
    expect(exposure.byProvince).toEqual([{ code: 'PK7', households: sindh!.n }]);
    expect(exposure.atOrUnderCutoff / exposure.households).toBeGreaterThan(0.2);
  });

  it('answers a polygon exactly as Turf does on every household', async () => {
    const flood = fixtureJson<{ features: { geometry: Polygon | MultiPolygon }[] }>('flood/unosat_FL20220808PAK_VIIRS_flood_extent_SIMPLIFIED_10pct.geojson');
    const geometry = flood.features[0]!.geometry;
    const exposure = await (await postJson('/api/exposure', { area: { geometry } }, await as('program_manager'))).json();
    const rows = await queryRows<{ lat: number; lon: number }>(db.db, sql`select lat, lon from households`);
    const inside = rows.filter((r) => flood.features.some((f) => booleanPointInPolygon([r.lon, r.lat], f.geometry))).length;
    expect(exposure.households).toBe(inside);
    expect(exposure.households).toBeGreaterThan(0);
  });

  it('refuses an unusable geometry with a 400 naming it', async () => {
    const res = await postJson('/api/exposure', { area: { geometry: { type: 'Point', coordinates: [67, 25] } } }, await as('responder'));
    expect(res.status).toBe(400);
    expect((await res.json()).errors[0].field).toBe('json.area.geometry');
    const empty = await postJson('/api/exposure', { area: {} }, await as('responder'));
    expect(empty.status).toBe(400);
  });

  it('shows responders no identity, and programme managers a masked CNIC with the read audited', async () => {
    const responder = await get('/api/households?area=PK6&pageSize=50', await as('responder', 'PK6'));
    const text = JSON.stringify(responder);
    expect(responder.items.length).toBeGreaterThan(0);
    expect(responder.identity).toBe(false);
    expect(text).not.toMatch(/cnic|headName|phone|paymentAccount/i);
    expect(responder.items[0]).toMatchObject({ id: expect.stringMatching(/^hh-\d+$/), size: expect.any(Number), flags: expect.any(Object) });

    const manager = await get('/api/households?area=PK6&pageSize=50', await as('program_manager', 'PK6'));
    expect(manager.identity).toBe(true);
    expect(manager.items.every((h: { cnic: string }) => /^\d{5}-\*{5}-\d$/.test(h.cnic))).toBe(true);
    const auditor = await as('auditor');
    const trail = await get('/api/audit?action=identity.read', auditor);
    expect(trail.items[0]).toMatchObject({ action: 'identity.read', subject: 'households:PK6' });
    expect(trail.items[0].summary.households).toBe(manager.items.length);
  });

  it('keeps households outside the jurisdiction out of the list', async () => {
    const sindhManager = await as('program_manager', 'PK7');
    const punjab = await get('/api/households?area=PK6', sindhManager);
    expect(punjab.total).toBe(0);
    const own = await get('/api/households?pageSize=200', sindhManager);
    expect(own.items.every((h: { province: string }) => h.province === 'PK7')).toBe(true);
  });

  it('gives H3 density counts that add up to the households in the box (exact for a programme manager)', async () => {
    const box = '66.5,23.5,71,28.5';
    const density = await get(`/api/households/density?bbox=${box}&res=5`, await as('program_manager'));
    const [row] = await queryRows<{ n: number }>(db.db, sql`select count(*)::int as n from households where lon between 66.5 and 71 and lat between 23.5 and 28.5`);
    expect(density.cells.reduce((s: number, c: { households: number }) => s + c.households, 0)).toBe(row!.n);
    const bad = await app.request('/api/households/density?bbox=71,23,66,28', { headers: { authorization: await as('responder') } });
    expect(bad.status).toBe(400);
  });
});

describe.each(drivers)('first load into an empty registry on %s', (driver) => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase(driver);
  });
  afterAll(() => db.drop());

  const line = (id: string, name: string) => `NSER,${id},35202-1234567-3,${name},,31.52,74.35,6,14.2,0,0,0,0,,,`;
  const csv = (lines: string[]) => [REGISTRY_COLUMNS.join(','), ...lines].join('\n');
  const indexes = async () =>
    (await queryRows<{ indexdef: string }>(db.db, sql`select indexdef from pg_indexes where tablename = 'households' order by indexname`)).map((r) => r.indexdef);
  const households = async () => queryRows<{ household_id: string; head_name: string }>(db.db, sql`select household_id, head_name from households order by household_id`);

  it('leaves an empty registry, with its indexes, when the file fails half-way', async () => {
    const before = await indexes();
    // Twelve pieces of 4,000 rows for one converter working eight pieces ahead: batches are written before the failure.
    async function* failing() {
      yield Buffer.from(`${REGISTRY_COLUMNS.join(',')}\n`);
      for (let piece = 0; piece < 12; piece++) {
        yield Buffer.from(Array.from({ length: 4000 }, (_, i) => `${line(`F-${piece}-${i}`, `Name ${i}`)}\n`).join(''));
      }
      throw new Error('the disk went away');
    }
    const written: number[] = [];
    const importing = importRegistry(db, Readable.from(failing()), { batchSize: 1000, converters: 1, onProgress: (rows) => written.push(rows) });
    await expect(importing).rejects.toThrow('the disk went away');
    expect(written.length).toBeGreaterThan(0);
    expect(await households()).toEqual([]);
    expect(await indexes()).toEqual(before);
  });

  it('loads in one go, keeps the later row of a household given twice, and builds the same indexes', async () => {
    const before = await indexes();
    const file = csv([line('A-1', 'First'), line('A-2', 'Second'), line('A-1', 'First again'), line('A-3', 'x'.repeat(121)), line('A-4', 'Fourth')]);
    const report = await importRegistry(db, Readable.from(file), { batchSize: 2 });
    expect(report).toMatchObject({ firstLoad: true, rows: 5, added: 3, repeated: 1, refused: 1, imported: 4 });
    expect(report.problems).toEqual([{ row: 5, column: 'head_name', reason: 'expected a name of 1-120 characters' }]);
    expect(await households()).toEqual([
      { household_id: 'A-1', head_name: 'First again' },
      { household_id: 'A-2', head_name: 'Second' },
      { household_id: 'A-4', head_name: 'Fourth' },
    ]);
    expect(await indexes()).toEqual(before);
    // The registry now holds households: the same file again is merged (the unique index finds them all).
    const again = await importRegistry(db, Readable.from(file), { batchSize: 2 });
    expect(again).toMatchObject({ firstLoad: false, added: 0, updated: 0, unchanged: 3, repeated: 1, refused: 1 });
    expect(await households()).toHaveLength(3);
  });
});

describe.each(drivers)('re-import of a known registry on %s', (driver) => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase(driver);
  });
  afterAll(() => db.drop());

  const line = (id: string, name: string) => `NSER,${id},35202-1234567-3,${name},,31.52,74.35,6,14.2,0,0,0,0,,,`;
  const piece = (ids: (i: number) => string, name: string) => Buffer.from(Array.from({ length: 4000 }, (_, i) => `${line(ids(i), `${name} ${i}`)}\n`).join(''));
  const stored = async () => queryRows<Record<string, unknown>>(db.db, sql`select * from households order by source, household_id`);

  it('applies nothing when the file fails half-way, though batches of new and changed households were written', async () => {
    const known = (p: number) => (i: number) => `K-${p}-${i}`;
    async function* registry() {
      yield Buffer.from(`${REGISTRY_COLUMNS.join(',')}\n`);
      for (let p = 0; p < 6; p++) yield piece(known(p), 'Known');
    }
    expect(await importRegistry(db, Readable.from(registry()))).toMatchObject({ firstLoad: true, added: 24_000 });
    const before = await stored();

    // New households (copied straight in) and changed known ones (merged), in turn, a batch per piece. The disk
    // goes once three batches are written: the new households of piece 0, the changed ones of piece 1, more new.
    const written: number[] = [];
    let threeWritten!: () => void;
    const reached = new Promise<void>((resolve) => (threeWritten = resolve));
    async function* failing() {
      yield Buffer.from(`${REGISTRY_COLUMNS.join(',')}\n`);
      for (let p = 0; p < 12; p++) yield p % 2 ? piece(known(p >> 1), 'Changed') : piece((i) => `N-${p}-${i}`, 'New');
      await reached;
      throw new Error('the disk went away');
    }
    const onProgress = (rows: number) => written.push(rows) >= 3 && threeWritten();
    const importing = importRegistry(db, Readable.from(failing()), { batchSize: 1000, converters: 1, onProgress });
    await expect(importing).rejects.toThrow(/nothing was applied, the registry is as it was: the disk went away$/);
    expect(written.length).toBeGreaterThanOrEqual(3);
    expect(await stored()).toEqual(before);

    // The same registry still takes a whole re-import.
    const whole = await importRegistry(db, Readable.from([Buffer.from(`${REGISTRY_COLUMNS.join(',')}\n`), piece(known(0), 'Changed'), piece((i) => `N-${i}`, 'New')]));
    expect(whole).toMatchObject({ firstLoad: false, added: 4000, updated: 4000 });
  });
});

describe('synthetic registry', () => {
  it('is the same for the same seed and differs for another', async () => {
    const read = async (seed: number) => {
      let text = '';
      for await (const chunk of synthCsv({ households: 500, seed })) text += chunk;
      return text;
    };
    const [a, b, c] = await Promise.all([read(1), read(1), read(2)]);
    expect(a).toBe(b);
    expect(a).not.toBe(c);
    expect(a.split('\n')[0]).toBe(REGISTRY_COLUMNS.join(','));
  });
});
