import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testApp } from '../harness/app.ts';
import { createTestDatabase, drivers, type TestDatabase } from '../harness/databases.ts';
import { bearer, makeHousehold, square, type Box } from '../harness/factories.ts';
import { loadShippedRules, PUNJAB_DISTRICT, seedAreas, SINDH_DISTRICT } from '../rules/setup.ts';

/** The household whose score the probe went after, alone in its corner of the Sindh district. */
const TARGET = { lat: 25.18, lon: 68.18, pmt: 23.45 };
/** A box of about 100 m around it, holding no other household. */
const AROUND_TARGET: Box = [TARGET.lon - 0.0005, TARGET.lat - 0.0005, TARGET.lon + 0.0005, TARGET.lat + 0.0005];

describe.each(drivers)('small cells hidden from roles without identity access, on %s', (driver) => {
  let db: TestDatabase;
  let app: ReturnType<typeof testApp>;
  let responder: string;
  let manager: string;
  let officer: string;

  beforeAll(async () => {
    db = await createTestDatabase(driver);
    await seedAreas(db.db);
    await loadShippedRules(db);
    // Sindh: the target and 23 more close together; Punjab: 4.
    await makeHousehold(db, [
      TARGET,
      ...Array.from({ length: 23 }, (_, i) => ({ lat: 25.05 + i * 0.0002, lon: 68.05, pmt: 10 + i })),
      ...Array.from({ length: 4 }, (_, i) => ({ lat: 31.05 + i * 0.0002, lon: 72.05, pmt: 12 + i })),
    ]);
    app = testApp(db);
    responder = (await bearer(db.db, 'responder', 'PK')).authorization;
    manager = (await bearer(db.db, 'program_manager', 'PK')).authorization;
    officer = (await bearer(db.db, 'dma_officer', 'PK')).authorization;
  });
  afterAll(() => db.drop());

  const post = async (path: string, body: unknown, authorization: string) => {
    const res = await app.request(path, { method: 'POST', headers: { authorization, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    expect(res.status).toBe(200);
    return res.json();
  };
  const exposure = (area: unknown, pmtCutoff: number, authorization: string) => post('/api/exposure', { area, pmtCutoff }, authorization);

  /** The probe of the finding: a tiny polygon around one household, and a binary search on the cut-off. */
  async function probeScore(authorization: string) {
    let lo = 0;
    let hi = 100;
    const answers: unknown[] = [];
    for (let call = 0; call < 12; call++) {
      const mid = (lo + hi) / 2;
      const e = await exposure({ geometry: square(AROUND_TARGET) }, mid, authorization);
      answers.push({ ...e, pmtCutoff: 0, milliseconds: 0 });
      if (e.atOrUnderCutoff === 1) hi = mid;
      else lo = mid;
    }
    return { estimate: (lo + hi) / 2, answers };
  }

  it("no longer gives a responder a household's PMT score in 12 calls: every answer is the same", async () => {
    const { estimate, answers } = await probeScore(responder);
    expect(new Set(answers.map((a) => JSON.stringify(a))).size).toBe(1);
    expect(answers[0]).toMatchObject({ households: null, members: null, atOrUnderCutoff: null, disclosure: { minCell: 10, roundedTo: 10 } });
    expect((answers[0] as { byPmtBand: { households: number | null }[] }).byPmtBand.every((b) => b.households === null)).toBe(true);
    expect(Math.abs(estimate - TARGET.pmt)).toBeGreaterThan(1);
  });

  it('gives a programme manager, who may read the household itself, the exact figures', async () => {
    const { estimate } = await probeScore(manager);
    expect(Math.abs(estimate - TARGET.pmt)).toBeLessThan(0.05);
    const e = await exposure({ codes: [SINDH_DISTRICT.code, PUNJAB_DISTRICT.code] }, 32, manager);
    expect(e).toMatchObject({ households: 28, members: 140, atOrUnderCutoff: 28, disclosure: null });
    expect(e.byDistrict).toEqual([
      { code: SINDH_DISTRICT.code, households: 24 },
      { code: PUNJAB_DISTRICT.code, households: 4 },
    ]);
  });

  it('rounds what it shows, so a total minus the parts shown does not give the hidden part', async () => {
    const e = await exposure({ codes: [SINDH_DISTRICT.code, PUNJAB_DISTRICT.code] }, 32, responder);
    // 28 households: 24 in Sindh, 4 in Punjab; shown as 30, 20 and "fewer than 10".
    expect(e).toMatchObject({ households: 30, members: 140, atOrUnderCutoff: 30 });
    expect(e.byDistrict).toEqual([
      { code: SINDH_DISTRICT.code, households: 20 },
      { code: PUNJAB_DISTRICT.code, households: null },
    ]);
    expect(e.byProvince).toEqual([
      { code: 'PK7', households: 20 },
      { code: 'PK6', households: null },
    ]);
  });

  it('hides small density cells from a responder, and shows them to a programme manager', async () => {
    const bbox = '67,24,73,32';
    const shown = await (await app.request(`/api/households/density?bbox=${bbox}&res=5`, { headers: { authorization: responder } })).json();
    const exact = await (await app.request(`/api/households/density?bbox=${bbox}&res=5`, { headers: { authorization: manager } })).json();
    const counts = (d: { cells: { households: number | null }[] }) => d.cells.map((c) => c.households).sort();
    expect(counts(exact)).toEqual([1, 23, 4].sort());
    expect(counts(shown)).toEqual([20, null, null].sort());
    expect(shown.disclosure).toEqual({ minCell: 10, roundedTo: 10 });
    expect(exact.disclosure).toBeNull();
  });

  it("hides a DMA officer's dry-run caseload for a tiny polygon, the percentile cut-off (one household's score) too", async () => {
    const body = { alert: { hazard: 'flood', severity: 'Extreme', certainty: 'Observed', geometry: square(AROUND_TARGET) } };
    const hidden = (await post('/api/rules/flood-relief-2022/dry-run', body, officer)).caseload;
    expect(hidden).toMatchObject({ householdsInArea: null, eligible: null, households: null, requestedPkr: null, totalPkr: null, disclosure: { minCell: 10 } });
    expect(hidden.cutoffs.length).toBeGreaterThan(0);
    expect(hidden.cutoffs.every((c: { pmtCutoff: number | null; households: number | null }) => c.pmtCutoff === null && c.households === null)).toBe(true);
    expect(JSON.stringify(hidden)).not.toContain('23.45');

    const exact = (await post('/api/rules/flood-relief-2022/dry-run', body, manager)).caseload;
    expect(exact).toMatchObject({ householdsInArea: 1, disclosure: null });
    expect(exact.cutoffs[0].households).toBe(1);
    expect(exact.cutoffs[0].pmtCutoff).toBeCloseTo(TARGET.pmt, 2);
  });
});
