import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryRows } from '../../server/db/client.ts';
import { loadRules, SHIPPED_RULES_DIR } from '../../server/rules/loader.ts';
import { drain, testApp } from '../harness/app.ts';
import { createTestDatabase, drivers, type TestDatabase } from '../harness/databases.ts';
import { bearer, makeUser, setupCtx, TEST_PASSWORD, unique } from '../harness/factories.ts';
import { PUNJAB_DISTRICT, quake, seedAreas, SINDH_DISTRICT } from '../rules/setup.ts';

/**
 * Who may publish what (issue 13, finding 1): a token or user publishes only as the senders it is bound to,
 * only over areas within its jurisdiction, and an Update or Cancel acts only on its own sender's alerts
 * (CAP 1.2 §3.2.1: a reference is sender,identifier,sent). Public money rides on these alerts.
 */
describe.each(drivers)('who may publish which alerts, on %s', (driver) => {
  let db: TestDatabase;
  let app: ReturnType<typeof testApp>;
  const now = new Date('2026-08-26T05:00:00Z');
  const PMD = 'ffd@pmd.gov.pk';
  /** PMD's feed into Sindh: bound to one sender, scoped to Sindh. */
  let pmdSindh: { authorization: string; name: string };
  let reader: string;
  let auditor: string;

  beforeAll(async () => {
    db = await createTestDatabase(driver);
    await seedAreas(db.db);
    await loadRules(setupCtx(db.db), SHIPPED_RULES_DIR);
    app = testApp(db, { clock: () => now });
    pmdSindh = await bearer(db.db, 'feed', 'PK7', undefined, [PMD]);
    reader = (await bearer(db.db, 'responder', 'PK')).authorization;
    auditor = (await bearer(db.db, 'auditor', 'PK')).authorization;
  });
  afterAll(() => db.drop());

  const push = (authorization: string, message: unknown, extra: Record<string, string> = {}) =>
    app.request('/api/alerts', { method: 'POST', headers: { authorization, 'content-type': 'application/json', ...extra }, body: JSON.stringify(message) });
  const count = async (table: string) => (await queryRows<{ n: number }>(db.db, sql`select count(*)::int as n from ${sql.raw(table)}`))[0]!.n;
  const evaluations = async (alertId: string) => (await (await app.request(`/api/alerts/${alertId}/evaluations`, { headers: { authorization: reader } })).json()).items;
  const alert = async (alertId: string) => (await app.request(`/api/alerts/${alertId}`, { headers: { authorization: reader } })).json();
  const audit = async (query: string) => (await (await app.request(`/api/audit?${query}`, { headers: { authorization: auditor } })).json()).items;

  /** PMD's earthquake warning over Sindh, pushed by PMD's Sindh feed: it fires the earthquake rule. */
  const pmdWarning = async () => {
    const message = { ...quake({ areaCodes: [SINDH_DISTRICT.code] }), sender: PMD };
    const res = await push(pmdSindh.authorization, message);
    expect(res.status, await res.clone().text()).toBe(200);
    await drain(db.db);
    const [item] = (await res.json()).items;
    return { id: item.id as string, ref: { sender: PMD, identifier: message.identifier, sent: message.sent } };
  };
  const activeActivations = async (alertId: string) =>
    (await evaluations(alertId)).flatMap((e: { activations: { status: string }[] }) => e.activations).filter((a: { status: string }) => a.status === 'active').length;

  it('refuses whole a "USGS" M6.8 quake over Punjab from a Sindh feed bound to PMD, and fires nothing', async () => {
    const before = { alerts: await count('alerts'), evaluations: await count('evaluations'), activations: await count('activations') };
    const forged = { ...quake({ magnitude: 6.8, pagerAlert: 'red', areaCodes: [PUNJAB_DISTRICT.code] }), sender: 'earthquake.usgs.gov', headline: 'M 6.8 - Punjab, Pakistan' };
    const res = await push(pmdSindh.authorization, forged);
    expect(res.status).toBe(400);
    const problem = await res.json();
    expect(problem.detail).toContain(`sender earthquake.usgs.gov is not one token:${pmdSindh.name} may publish as (it may publish as ${PMD})`);
    expect(problem.detail).toContain(`${PUNJAB_DISTRICT.code}, outside token:${pmdSindh.name}'s jurisdiction PK7`);
    await drain(db.db);
    expect({ alerts: await count('alerts'), evaluations: await count('evaluations'), activations: await count('activations') }).toEqual(before);
    const listed = await (await app.request('/api/alerts?pageSize=500', { headers: { authorization: reader } })).json();
    expect(listed.items.map((a: { identifier: string }) => a.identifier)).not.toContain(forged.identifier);
  });

  it("refuses PMD's own sender over Punjab from the Sindh feed, and takes it over Sindh", async () => {
    const overPunjab = await push(pmdSindh.authorization, { ...quake({ areaCodes: [PUNJAB_DISTRICT.code] }), sender: PMD });
    expect(overPunjab.status).toBe(400);
    expect((await overPunjab.json()).detail).toContain(`outside token:${pmdSindh.name}'s jurisdiction PK7`);
    // Across the border is outside too: the area must lie within the jurisdiction, not merely touch it.
    const across = await push(pmdSindh.authorization, { ...quake({ areaCodes: [SINDH_DISTRICT.code, PUNJAB_DISTRICT.code] }), sender: PMD });
    expect(across.status).toBe(400);
    const nowhere = await push(pmdSindh.authorization, { ...quake({ areaCodes: [] }), sender: PMD });
    expect(nowhere.status).toBe(400);
    expect((await nowhere.json()).detail).toContain('resolves to no area within');
    const overSindh = await push(pmdSindh.authorization, { ...quake({ areaCodes: [SINDH_DISTRICT.code] }), sender: PMD });
    expect(overSindh.status).toBe(200);
    expect((await overSindh.json()).items).toMatchObject([{ result: 'created', sender: PMD }]);
  });

  it("refuses a Punjab officer's Cancel written under PMD's sender; PMD's Sindh warning stays active with its activations", async () => {
    const warning = await pmdWarning();
    expect(await activeActivations(warning.id)).toBe(2);
    const punjabOfficer = await bearer(db.db, 'dma_officer', 'PK6', undefined, ['pdma.punjab.gov.pk']);
    const cancel = { ...quake({ msgType: 'Cancel', references: [warning.ref], areaCodes: [SINDH_DISTRICT.code], sent: '2026-08-26T10:00:00+05:00' }), sender: PMD };
    const res = await push(punjabOfficer.authorization, cancel);
    expect(res.status).toBe(400);
    expect((await res.json()).detail).toContain(`sender ${PMD} is not one token:${punjabOfficer.name} may publish as (it may publish as pdma.punjab.gov.pk)`);
    await drain(db.db);
    expect(await alert(warning.id)).toMatchObject({ state: 'active', active: true });
    expect(await activeActivations(warning.id)).toBe(2);
  });

  it("refuses a Cancel under the pusher's own sender that references another sender's alert", async () => {
    const warning = await pmdWarning();
    const federal = await bearer(db.db, 'dma_officer', 'PK', undefined, ['ndma.gov.pk']);
    const res = await push(federal.authorization, { ...quake({ msgType: 'Cancel', references: [warning.ref], areaCodes: [SINDH_DISTRICT.code], sent: '2026-08-26T10:00:00+05:00' }), sender: 'ndma.gov.pk' });
    expect(res.status).toBe(400);
    expect((await res.json()).detail).toContain(`references ${PMD},${warning.ref.identifier}, an alert of another sender`);
    await drain(db.db);
    expect(await alert(warning.id)).toMatchObject({ state: 'active' });
    expect(await activeActivations(warning.id)).toBe(2);
  });

  it("refuses the Sindh feed changing PMD's Punjab alert, by re-sending its identifier or by a Cancel", async () => {
    const pmdFederal = await bearer(db.db, 'feed', 'PK', undefined, [PMD]);
    const punjab = { ...quake({ areaCodes: [PUNJAB_DISTRICT.code] }), sender: PMD };
    const res = await push(pmdFederal.authorization, punjab);
    expect(res.status).toBe(200);
    const [{ id }] = (await res.json()).items;
    await drain(db.db);
    const resent = await push(pmdSindh.authorization, { ...punjab, areaCodes: undefined, area: { areaCodes: [SINDH_DISTRICT.code] }, headline: 'moved' });
    expect(resent.status).toBe(400);
    expect((await resent.json()).detail).toContain(`it would change alert ${PMD},${punjab.identifier}, whose area reaches ${PUNJAB_DISTRICT.code}, outside token:${pmdSindh.name}'s jurisdiction PK7`);
    const ref = { sender: PMD, identifier: punjab.identifier, sent: punjab.sent };
    const cancel = await push(pmdSindh.authorization, { ...quake({ msgType: 'Cancel', references: [ref], areaCodes: [SINDH_DISTRICT.code], sent: '2026-08-26T10:00:00+05:00' }), sender: PMD });
    expect(cancel.status).toBe(400);
    expect((await cancel.json()).detail).toContain('outside');
    expect(await alert(id)).toMatchObject({ state: 'active', headline: punjab.headline, areaCodes: [PUNJAB_DISTRICT.code] });
    expect(await activeActivations(id)).toBe(2);
  });

  it('lets the same sender cancel its warning, which stops its activations', async () => {
    const warning = await pmdWarning();
    const res = await push(pmdSindh.authorization, { ...quake({ msgType: 'Cancel', references: [warning.ref], areaCodes: [SINDH_DISTRICT.code], sent: '2026-08-26T10:00:00+05:00' }), sender: PMD });
    expect(res.status).toBe(200);
    expect((await res.json()).items).toMatchObject([{ result: 'created', state: 'cancelled' }]);
    await drain(db.db);
    expect(await alert(warning.id)).toMatchObject({ state: 'cancelled', active: false });
    expect(await activeActivations(warning.id)).toBe(0);
  });

  it('names the pusher in the audit trail of every stored message and of every activation', async () => {
    const warning = await pmdWarning();
    const [ingest, ...more] = await audit(`action=alert.ingest&subject=alert:${warning.id}`);
    expect(more).toEqual([]);
    expect(ingest).toMatchObject({
      actor: `token:${pmdSindh.name}`,
      jurisdiction: SINDH_DISTRICT.code,
      summary: { sender: PMD, identifier: warning.ref.identifier, result: 'created', pushedBy: `token:${pmdSindh.name}` },
    });
    const activations = (await evaluations(warning.id)).flatMap((e: { activations: { id: string }[] }) => e.activations);
    expect(activations.length).toBe(2);
    for (const a of activations) {
      const [entry] = await audit(`action=rule.activated&subject=activation:${a.id}`);
      expect(entry).toMatchObject({
        actor: 'system:triggers',
        summary: { alert: { id: warning.id, sender: PMD, identifier: warning.ref.identifier }, pushedBy: `token:${pmdSindh.name}` },
      });
    }
  });

  it("binds a signed-in user to their senders too", async () => {
    const user = await makeUser(db.db, { roles: ['dma_officer'], jurisdiction: 'PK7', senders: ['pdma.sindh.gov.pk'] });
    const login = await app.request('/api/auth/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: user.username, password: TEST_PASSWORD }) });
    const { csrfToken } = await login.json();
    const session = { cookie: login.headers.get('set-cookie')!.split(';')[0]!, 'x-csrf-token': csrfToken };
    const asPmd = await app.request('/api/alerts', { method: 'POST', headers: { ...session, 'content-type': 'application/json' }, body: JSON.stringify({ ...quake({ areaCodes: [SINDH_DISTRICT.code] }), sender: PMD }) });
    expect(asPmd.status).toBe(400);
    expect((await asPmd.json()).detail).toContain(`sender ${PMD} is not one user:${user.username} may publish as (it may publish as pdma.sindh.gov.pk)`);
    const own = { ...quake({ areaCodes: [SINDH_DISTRICT.code] }), sender: 'pdma.sindh.gov.pk', identifier: unique('PDMA') };
    const res = await app.request('/api/alerts', { method: 'POST', headers: { ...session, 'content-type': 'application/json' }, body: JSON.stringify(own) });
    expect(res.status).toBe(200);
    const [item] = (await res.json()).items;
    expect((await audit(`action=alert.ingest&subject=alert:${item.id}`))[0]).toMatchObject({ actor: `user:${user.username}`, summary: { pushedBy: `user:${user.username}` } });
  });

  it('refuses every message from a token bound to no sender, saying how to bind one', async () => {
    const unbound = await bearer(db.db, 'feed', 'PK', undefined, []);
    const res = await push(unbound.authorization, quake({ areaCodes: [SINDH_DISTRICT.code] }));
    expect(res.status).toBe(400);
    expect((await res.json()).detail).toContain(`token:${unbound.name} may publish as no sender`);
  });
});
