import { readFileSync } from 'node:fs';
import path from 'node:path';
import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseRule, RuleError } from '../../triggers/index.ts';
import { ensureDefaultAreas } from '../../server/areas/service.ts';
import { queryRows } from '../../server/db/client.ts';
import { alerts } from '../../server/db/schema/index.ts';
import { SHIPPED_RULES_DIR } from '../../server/rules/loader.ts';
import { testApp } from '../harness/app.ts';
import { createTestDatabase, drivers, type TestDatabase } from '../harness/databases.ts';
import { makeAlert, makeRule, setupCtx } from '../harness/factories.ts';
import { NOW, PUNJAB_DISTRICT, seedAreas, settle, SINDH_DISTRICT } from '../batches/setup.ts';
import { seedRegistry } from '../rules/setup.ts';
import { agencyToken, type Json } from './setup.ts';

const floodText = readFileSync(path.join(SHIPPED_RULES_DIR, 'flood-relief-2022.yaml'), 'utf8');
const problemsOf = (text: string) => {
  try {
    parseRule(text);
    return [];
  } catch (err) {
    if (err instanceof RuleError) return err.issues;
    throw err;
  }
};

describe('the actions section of a rule file', () => {
  it('reads the shipped rules with their actions', () => {
    const flood = parseRule(floodText);
    expect(flood.actions?.map((a) => [a.key, a.per, a.due_hours])).toContainEqual(['payment-camps', 'district', 96]);
    expect(flood.actions?.find((a) => a.key === 'complaint-desk')?.stage).toBe('response');
  });

  it('names each bad field of an action', () => {
    const swap = (from: string, to: string) => floodText.replace(from, to);
    expect(problemsOf(swap('    sector: registration', '    sector: paperwork'))).toEqual([
      { path: 'actions.2.sector', message: expect.stringMatching(/^sector is one of: cash, shelter/) },
    ]);
    expect(problemsOf(swap('  - key: coordination-cell', '  - key: notify-tehsils'))).toEqual([{ path: 'actions.1.key', message: 'key notify-tehsils is used twice; each action has its own key' }]);
    expect(problemsOf(swap('    due_hours: 48', '    due_hours: -6'))).toEqual([
      { path: 'actions.2.due_hours', message: 'due_hours cannot be negative: an action is not due before its trigger' },
    ]);
    expect(problemsOf(swap('    sector: registration', '    sector: registration\n    stage: readiness'))).toEqual([
      { path: 'actions.2.stage', message: 'stage readiness needs a readiness stage under stages; use activation or response' },
    ]);
    expect(problemsOf(swap('    title: NDMA convenes', '    title: NDMA {area} convenes'))).toEqual([
      { path: 'actions.1.title', message: '{area} names the province or district of a copy: add per: province or per: district' },
    ]);
    expect(problemsOf(swap('    due_hours: 72', '    due_hours: 72\n    owner: BISP'))[0]!.message).toMatch(/^unknown field owner/);
  });
});

describe.each(drivers)('the plan of an alert chain: readiness, then activation (%s)', (driver) => {
  let db: TestDatabase;
  let app: ReturnType<typeof testApp>;
  let rule: string;
  let chain: string;
  const as = {} as Record<'sindhDma' | 'punjabDma' | 'kpDma' | 'bisp', string>;
  const call = async (who: keyof typeof as, path: string) => {
    const res = await app.request(path, { headers: { authorization: as[who] } });
    return { status: res.status, body: (await res.json()) as Json };
  };

  beforeAll(async () => {
    db = await createTestDatabase(driver);
    app = testApp(db, { clock: () => NOW });
    await ensureDefaultAreas(setupCtx(db.db, NOW));
    await seedAreas(db.db);
    await seedRegistry(db);
    rule = (await makeRule(db.db, { from: 'earthquake', now: NOW })).id;
    as.sindhDma = await agencyToken(db.db, 'dma_officer', 'PK7', 'PDMA Sindh');
    as.punjabDma = await agencyToken(db.db, 'dma_officer', 'PK6', 'PDMA Punjab');
    as.kpDma = await agencyToken(db.db, 'dma_officer', 'PK5', 'PDMA KP');
    as.bisp = await agencyToken(db.db, 'program_manager', 'PK', 'BISP');
  }, 180_000);
  afterAll(() => db?.drop());

  it('copies the readiness actions when a strong quake is reported, one per province where asked', async () => {
    const first = await makeAlert(db.db, { hazard: 'earthquake', metrics: { magnitude: 6.2 }, areaCodes: [SINDH_DISTRICT.code, PUNJAB_DISTRICT.code], now: NOW });
    await settle(db.db);
    const [row] = await db.db.select({ chainId: alerts.chainId }).from(alerts).where(eq(alerts.id, first.id));
    chain = `alert-chain:${row!.chainId}`;
    const plan = await call('sindhDma', `/api/incidents/${chain}/plan`);
    expect(plan.status).toBe(200);
    expect(plan.body).toMatchObject({ incident: chain, kind: 'alert-chain', hazard: 'earthquake', open: true });
    const stored = plan.body.actions.filter((a: Json) => a.kind === 'action');
    expect(stored.map((a: Json) => [a.leadAgency, a.stage, a.areaCodes.join(' ')]).sort()).toEqual([
      ['BISP', 'readiness', `${PUNJAB_DISTRICT.code} ${SINDH_DISTRICT.code}`],
      ['PDMA Punjab', 'readiness', PUNJAB_DISTRICT.code],
      ['PDMA Sindh', 'readiness', SINDH_DISTRICT.code],
    ]);
    expect(stored.every((a: Json) => a.rule.id === rule)).toBe(true);
    // The readiness batch is a prepared list: a cash-less action, done once the list exists.
    const prepared = plan.body.actions.filter((a: Json) => a.kind === 'cash');
    expect(prepared.map((a: Json) => [a.sector, a.stage, a.status, a.money])).toEqual([['registration', 'readiness', 'done', null]]);
  });

  it('adds the activation actions when the update says the damage is serious, and keeps the readiness ones', async () => {
    const [first] = await queryRows<{ sender: string; identifier: string; sent: string }>(
      db.db,
      sql`select sender, identifier, to_char(sent at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"+00:00"') as sent from alerts where chain_id = ${chain.slice('alert-chain:'.length)}`,
    );
    await makeAlert(db.db, {
      hazard: 'earthquake',
      msgType: 'Update',
      references: [first!],
      metrics: { magnitude: 6.6, pagerAlert: 'red' },
      areaCodes: [SINDH_DISTRICT.code, PUNJAB_DISTRICT.code],
      now: new Date(NOW.getTime() + 3_600_000),
    });
    await settle(db.db, new Date(NOW.getTime() + 3_600_000));
    const plan = await call('punjabDma', `/api/incidents/${chain}/plan`);
    expect(plan.status).toBe(200);
    const stages = plan.body.actions.filter((a: Json) => a.kind === 'action').map((a: Json) => `${a.stage} ${a.sector} ${a.areaCodes.join(' ')}`);
    expect(stages.sort()).toEqual(
      [
        `activation cash ${PUNJAB_DISTRICT.code}`,
        `activation cash ${SINDH_DISTRICT.code}`,
        `activation shelter ${PUNJAB_DISTRICT.code}`,
        `activation shelter ${SINDH_DISTRICT.code}`,
        `readiness coordination ${PUNJAB_DISTRICT.code}`,
        `readiness coordination ${SINDH_DISTRICT.code}`,
        `readiness registration ${PUNJAB_DISTRICT.code} ${SINDH_DISTRICT.code}`,
      ].sort(),
    );
    expect(plan.body.triggers.map((t: Json) => t.stage)).toEqual(['readiness', 'activation']);
    // Co-financed: the cash action names each payer's share from the ledger.
    const cash = (await call('bisp', `/api/incidents/${chain}/plan`)).body.actions.find((a: Json) => a.kind === 'cash' && a.sector === 'cash');
    expect(cash.money.byPayer.map((p: Json) => `${p.agency} ${p.jurisdiction} ${p.committedPkr}`).sort()).toEqual([
      'BISP federal 75000',
      'provincial-government PK6 25000',
      'provincial-government PK7 50000',
    ]);
    expect((await call('kpDma', `/api/incidents/${chain}/plan`)).status).toBe(404);
    const summary = await call('bisp', '/api/plans/summary?level=1');
    expect(summary.body.byArea.map((a: Json) => a.areaCode)).toEqual(['PK6', 'PK7']);
    expect(summary.body.money.map((m: Json) => `${m.agency} ${m.jurisdiction} ${m.committedPkr}`).sort()).toEqual([
      'BISP federal 75000',
      'provincial-government PK6 25000',
      'provincial-government PK7 50000',
    ]);
  });
});
