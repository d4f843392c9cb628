import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryRows } from '../../server/db/client.ts';
import { drain, testApp } from '../harness/app.ts';
import { createTestDatabase, drivers, type TestDatabase } from '../harness/databases.ts';
import { bearer, makeRule } from '../harness/factories.ts';
import { loadShippedRules, PUNJAB_DISTRICT, quake, seedAreas, seedRegistry, SINDH_DISTRICT } from './setup.ts';

describe.each(drivers)('dry run of a rule, on %s', (driver) => {
  let db: TestDatabase;
  let app: ReturnType<typeof testApp>;
  const now = new Date('2026-08-26T05:00:00Z');
  let officer: string;

  beforeAll(async () => {
    db = await createTestDatabase(driver);
    await seedAreas(db.db);
    await seedRegistry(db);
    await loadShippedRules(db);
    app = testApp(db, { clock: () => now });
    // A programme manager sees the caseload's exact figures; a DMA officer sees small counts hidden and the rest
    // rounded (test/registry/disclosure.test.ts).
    officer = (await bearer(db.db, 'program_manager', 'PK')).authorization;
  });
  afterAll(() => db.drop());

  const counts = async () =>
    (await queryRows<{ e: number; a: number; l: number }>(
      db.db,
      sql`select (select count(*)::int from evaluations) as e, (select count(*)::int from activations) as a, (select count(*)::int from audit_log) as l`,
    ))[0]!;
  const dryRun = async (ruleId: string, body: unknown) => {
    const res = await app.request(`/api/rules/${ruleId}/dry-run`, { method: 'POST', headers: { authorization: officer, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return { status: res.status, body: await res.json() };
  };

  it('previews an inline earthquake: the caseload, split by payer and district adding up exactly, and writes nothing', async () => {
    const before = await counts();
    const { status, body } = await dryRun('earthquake', {
      alert: { hazard: 'earthquake', severity: 'Severe', certainty: 'Observed', metrics: { magnitude: 6.9, pagerAlert: 'orange' }, areaCodes: [SINDH_DISTRICT.code, PUNJAB_DISTRICT.code] },
    });
    expect(status).toBe(200);
    expect(body.decision).toMatchObject({ fired: true, stage: 'activation' });
    const c = body.caseload;
    expect(c).toMatchObject({ stage: 'activation', whatIf: false, householdsInArea: 8, eligible: 6, households: 6, requestedPkr: 150_000, totalPkr: 150_000 });
    expect(c.excluded.pmt).toBe(2);
    const payers = Object.fromEntries(c.byPayer.map((p: { agency: string; jurisdiction: string; amountPkr: number }) => [`${p.agency} ${p.jurisdiction}`, p.amountPkr]));
    expect(payers).toEqual({ 'BISP federal': 75_000, 'provincial-government PK7': 50_000, 'provincial-government PK6': 25_000 });
    const sum = (xs: { amountPkr: number }[]) => xs.reduce((s, x) => s + x.amountPkr, 0);
    expect(sum(c.byPayer)).toBe(c.totalPkr);
    expect(sum(c.byArea)).toBe(c.totalPkr);
    expect(c.byArea).toEqual([
      { district: SINDH_DISTRICT.code, households: 4, amountPkr: 100_000 },
      { district: PUNJAB_DISTRICT.code, households: 2, amountPkr: 50_000 },
    ]);
    expect(c.ceiling).toMatchObject({ ceilingPkr: 10_000_000_000, cutHouseholds: 0 });
    expect(await counts()).toEqual(before);
  });

  it('previews a rule of its own: a ceiling of PKR 100,000 pays the four poorest and says what it cut', async () => {
    const rule = await makeRule(db.db, { from: 'earthquake', change: (y) => y.replace(/ceiling_pkr: [\d_]+/, 'ceiling_pkr: 100000') });
    const { status, body } = await dryRun(rule.id, {
      alert: { hazard: 'earthquake', severity: 'Severe', certainty: 'Observed', metrics: { magnitude: 6.9, pagerAlert: 'orange' }, areaCodes: [SINDH_DISTRICT.code, PUNJAB_DISTRICT.code] },
    });
    expect(status).toBe(200);
    expect(body.rule).toMatchObject({ id: rule.id, versionId: rule.versionId });
    // PMT 5, 10, 15 and 20 fit under the ceiling; 30 and 31 (both Sindh) are cut.
    expect(body.caseload).toMatchObject({ eligible: 6, households: 4, requestedPkr: 150_000, totalPkr: 100_000 });
    expect(body.caseload.ceiling).toMatchObject({ ceilingPkr: 100_000, cutHouseholds: 2, cutPkr: 50_000 });
    // Equal amounts: districts in code order.
    expect(body.caseload.byArea).toEqual([
      { district: PUNJAB_DISTRICT.code, households: 2, amountPkr: 50_000 },
      { district: SINDH_DISTRICT.code, households: 2, amountPkr: 50_000 },
    ]);
  });

  it('records the percentile cut-off per tehsil for a declared flood, as a what-if outside the rule window', async () => {
    const { body } = await dryRun('flood-relief-2022', { event: { hazard: 'flood', areaCodes: [SINDH_DISTRICT.tehsil], status: 'declared' } });
    // The rule was valid from 2022-08-01 to 2023-06-30: today it does not fire, and the caseload is a what-if.
    expect(body.decision.fired).toBe(false);
    expect(body.decision.reasons.map((r: { text: string }) => r.text).join('\n')).toMatch(/no longer valid/);
    expect(body.caseload).toMatchObject({ whatIf: true, percent: 60, eligible: 3, totalPkr: 75_000 });
    // 60 % of 5 Sindh households: rank ceil(3) = 3, the third-lowest PMT (30) is the cut-off.
    expect(body.caseload.cutoffs).toEqual([{ level: 3, areaCode: SINDH_DISTRICT.tehsil, percent: 60, households: 5, rank: 3, pmtCutoff: 30, atOrUnder: 3 }]);
  });

  it('dry-runs a stored alert by id, and a Test alert is shown as not firing', async () => {
    const res = await app.request('/api/alerts', {
      method: 'POST',
      headers: { authorization: (await bearer(db.db, 'feed', 'PK')).authorization, 'content-type': 'application/json' },
      body: JSON.stringify(quake({ status: 'Test', areaCodes: [SINDH_DISTRICT.code] })),
    });
    const alertId = (await res.json()).items[0].id;
    await drain(db.db);
    const before = await counts();
    const { status, body } = await dryRun('earthquake', { alertId });
    expect(status).toBe(200);
    expect(body.subject).toMatchObject({ kind: 'alert', id: alertId, areaCodes: [SINDH_DISTRICT.code] });
    expect(body.decision.fired).toBe(false);
    expect(body.decision.reasons.map((r: { text: string }) => r.text)).toContain('status Test is not Actual: no');
    expect(body.caseload).toMatchObject({ whatIf: true, eligible: 4, totalPkr: 100_000 });
    expect(await counts()).toEqual(before);
  });

  it('says what is wrong with a request, and 404 for an unknown rule or alert', async () => {
    expect((await dryRun('earthquake', { alert: { hazard: 'volcano' } })).status).toBe(400);
    expect((await dryRun('no-such-rule', { alert: { hazard: 'earthquake' } })).status).toBe(404);
    expect((await dryRun('earthquake', { alertId: crypto.randomUUID() })).status).toBe(404);
    expect((await dryRun('Not_Kebab', { alert: { hazard: 'earthquake' } })).status).toBe(400);
  });

  it('lists rules in force and shows one with its versions', async () => {
    const reader = (await bearer(db.db, 'responder', 'PK7')).authorization;
    const list = await (await app.request('/api/rules', { headers: { authorization: reader } })).json();
    const eq = list.items.find((r: { id: string }) => r.id === 'earthquake');
    expect(eq).toMatchObject({ programme: 'BISP', purpose: 'earthquake_relief', agreedBy: ['NDMA', 'BISP'], money: { ceilingPkr: 10_000_000_000 } });
    expect(eq.stages.map((s: { stage: string }) => s.stage)).toEqual(['readiness', 'activation']);
    const one = await (await app.request('/api/rules/earthquake', { headers: { authorization: reader } })).json();
    expect(one.versions).toHaveLength(1);
    expect(one.versions[0]).toMatchObject({ current: true, sourceFile: 'earthquake.yaml', version: '0.1' });
    expect(one.versions[0].yaml).toContain('id: earthquake');
  });
});
