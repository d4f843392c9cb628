import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryRows } from '../../server/db/client.ts';
import { createEvent } from '../../server/events/service.ts';
import { systemCtx } from '../../server/context.ts';
import { evaluateAlert } from '../../server/rules/evaluation.ts';
import { drain, testApp } from '../harness/app.ts';
import { createTestDatabase, drivers, type TestDatabase } from '../harness/databases.ts';
import { bearer, setupCtx } from '../harness/factories.ts';
import { fixture } from '../harness/fixtures.ts';
import { loadShippedRules, quake, seedAreas, SINDH_DISTRICT } from './setup.ts';

interface Evaluation {
  ruleId: string;
  stage: string | null;
  fired: boolean;
  cause: string;
  summary: string;
  reasons: { text: string; pass: boolean }[];
  activations: { id: string; stage: string; status: string; stoppedReason: string | null }[];
}

describe.each(drivers)('rules evaluated as alerts and events arrive, on %s', (driver) => {
  let db: TestDatabase;
  let app: ReturnType<typeof testApp>;
  const now = new Date('2026-08-26T05:00:00Z');
  let feed: string;
  let reader: string;

  beforeAll(async () => {
    db = await createTestDatabase(driver);
    await seedAreas(db.db);
    await loadShippedRules(db);
    app = testApp(db, { clock: () => now });
    feed = (await bearer(db.db, 'feed', 'PK')).authorization;
    reader = (await bearer(db.db, 'responder', 'PK7')).authorization;
  });
  afterAll(() => db.drop());

  const post = async (body: unknown, contentType = 'application/json') => {
    const res = await app.request('/api/alerts', { method: 'POST', headers: { authorization: feed, 'content-type': contentType }, body: typeof body === 'string' ? body : body instanceof Uint8Array ? new Uint8Array(body) : JSON.stringify(body) });
    expect(res.status).toBe(200);
    await drain(db.db);
    return (await res.json()).items as { id: string; result: string; state: string }[];
  };
  const history = async (alertId: string): Promise<Evaluation[]> => {
    const res = await app.request(`/api/alerts/${alertId}/evaluations`, { headers: { authorization: reader } });
    expect(res.status).toBe(200);
    return (await res.json()).items;
  };
  const count = async (table: string, where = sql`true`) => (await queryRows<{ n: number }>(db.db, sql`select count(*)::int as n from ${sql.raw(table)} where ${where}`))[0]!.n;
  const auditActions = async (subject: string) =>
    (await queryRows<{ action: string }>(db.db, sql`select action from audit_log where subject = ${subject} order by seq`)).map((r) => r.action);

  it('fires the earthquake rule once for a strong quake in Pakistan, and posting it again adds nothing', async () => {
    const message = quake({ magnitude: 6.8, pagerAlert: 'red' });
    const [item] = await post(message);
    expect(item).toMatchObject({ result: 'created', state: 'active' });
    const [evaluation, ...others] = await history(item!.id);
    expect(others).toEqual([]);
    expect(evaluation).toMatchObject({ ruleId: 'earthquake', fired: true, stage: 'activation', cause: 'alert.created' });
    expect(evaluation!.activations.map((a) => `${a.stage}:${a.status}`).sort()).toEqual(['activation:active', 'readiness:active']);
    expect(evaluation!.reasons.map((r) => r.text)).toContain('magnitude 6.8 ≥ 6.0: yes');

    expect((await post(message))[0]!.result).toBe('unchanged');
    // Evaluated again (as a restart or a repeated change would): a new evaluation, no new activation.
    await evaluateAlert(systemCtx(db.db, 'triggers', now), { alertId: item!.id, cause: 'test.again' });
    expect(await count('evaluations', sql`subject_id = ${item!.id}`)).toBe(2);
    expect(await count('activations', sql`subject_id = ${item!.id}`)).toBe(2);
    for (const a of evaluation!.activations) expect(await auditActions(`activation:${a.id}`)).toEqual(['rule.activated']);
  });

  it('stops the activations when the alert is cancelled, with the stop and the hook in the audit trail', async () => {
    const original = quake({ magnitude: 7.0 });
    const [item] = await post(original);
    const [cancel] = await post(
      quake({ msgType: 'Cancel', references: [{ sender: original.sender, identifier: original.identifier, sent: original.sent }], sent: '2026-08-26T10:00:00+05:00' }),
    );
    expect(cancel!.state).toBe('cancelled');
    const made = (await history(item!.id)).flatMap((e) => e.activations);
    expect(made).toHaveLength(2);
    for (const a of made) {
      expect(a.status).toBe('stopped');
      expect(a.stoppedReason).toMatch(/cancelled/);
      expect(await auditActions(`activation:${a.id}`)).toEqual(['rule.activated', 'rule.activation_stopped', 'activation.stop_handed_on', 'activation.batches_stopped']);
    }
    // The stop reached the batches: the draft built for the activation stage was cancelled.
    const [hook] = await queryRows<{ summary: { cancelledBatches: string[] } }>(
      db.db,
      sql`select summary from audit_log where subject = ${`activation:${made.find((a) => a.stage === 'activation')!.id}`} and action = 'activation.batches_stopped'`,
    );
    expect(hook!.summary.cancelledBatches).toHaveLength(1);
    // The Cancel itself is evaluated and fires nothing.
    const [onCancel] = await history(cancel!.id);
    expect(onCancel).toMatchObject({ fired: false });
    expect(onCancel!.reasons.map((r) => r.text)).toContain('alert was cancelled: no');
  });

  it('lets an Update carry the chain: it fires its own activation, the superseded one stays as history', async () => {
    const original = quake({ magnitude: 6.2, pagerAlert: 'yellow' });
    const [first] = await post(original);
    expect((await history(first!.id))[0]!.activations.map((a) => a.stage)).toEqual(['readiness']);
    const [update] = await post(
      quake({ msgType: 'Update', magnitude: 6.6, pagerAlert: 'orange', references: [{ sender: original.sender, identifier: original.identifier, sent: original.sent }], sent: '2026-08-26T09:30:00+05:00' }),
    );
    const onUpdate = (await history(update!.id))[0]!;
    expect(onUpdate).toMatchObject({ fired: true, stage: 'activation' });
    const old = (await history(first!.id)).flatMap((e) => e.activations);
    expect(old.map((a) => `${a.stage}:${a.status}`)).toEqual(['readiness:active']);
  });

  it('keeps an evaluation that did not fire, with the reason why', async () => {
    const [item] = await post(quake({ magnitude: 5.9, pagerAlert: 'orange' }));
    const [evaluation] = await history(item!.id);
    expect(evaluation).toMatchObject({ ruleId: 'earthquake', fired: false, stage: null, activations: [] });
    expect(evaluation!.reasons.map((r) => r.text)).toContain('magnitude 5.9 ≥ 6.0: no');
    expect(evaluation!.summary).toMatch(/nothing fired/);
  });

  it('never activates on a Test message', async () => {
    const [item] = await post(quake({ magnitude: 7.5, status: 'Test' }));
    const [evaluation] = await history(item!.id);
    expect(evaluation).toMatchObject({ fired: false, activations: [] });
    expect(evaluation!.reasons.map((r) => r.text)).toContain('status Test is not Actual: no');
    expect(await count('activations', sql`subject_id = ${item!.id}`)).toBe(0);
  });

  it('evaluates the real USGS Tibet M7.1 (PAGER red) and says it is outside Pakistan', async () => {
    const [item] = await post(fixture('usgs/usgs-detail-geojson_us6000pi9w.geojson'), 'application/geo+json');
    const [evaluation] = await history(item!.id);
    expect(evaluation).toMatchObject({ ruleId: 'earthquake', fired: false });
    expect(evaluation!.reasons.map((r) => r.text)).toEqual(expect.arrayContaining(['magnitude 7.1 ≥ 6.0: yes', 'area not resolved to codes: no']));
  });

  it('evaluates a declared event against the declaration rules', async () => {
    // Declared through the service, as a DMA officer would, at the time of the 2022 notification.
    const row = await createEvent(setupCtx(db.db, new Date('2022-08-26T04:00:00Z')), {
      name: 'Flood 2022 replay',
      hazard: 'flood',
      status: 'declared',
      areas: [SINDH_DISTRICT.tehsil],
      alertIds: [],
    });
    await drain(db.db);
    const res = await app.request(`/api/events/${row.id}/evaluations`, { headers: { authorization: reader } });
    expect(res.status).toBe(200);
    const items: Evaluation[] = (await res.json()).items;
    const flood = items.find((e) => e.ruleId === 'flood-relief-2022')!;
    expect(flood).toMatchObject({ fired: true, stage: 'activation', cause: 'event.declared' });
    expect(flood.activations.map((a) => a.status)).toEqual(['active']);
    const sindh = items.find((e) => e.ruleId === 'sindh-flood-kafaalat');
    expect(sindh).toBeDefined();
  });

  it('answers 404 for the evaluations of an alert that does not exist', async () => {
    const res = await app.request(`/api/alerts/${crypto.randomUUID()}/evaluations`, { headers: { authorization: reader } });
    expect(res.status).toBe(404);
  });
});
