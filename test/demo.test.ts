import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoBanner, demoPassword, DEMO_HOUSEHOLDS, DEMO_STEPS, DEMO_USERS } from '../server/demo/prepare.ts';
import { parseEnv } from '../server/env.ts';
import { startServer, type Running } from '../server/serve.ts';
import { silentLog } from './harness/app.ts';

describe('the demo a new user meets', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'madad-demo-'));
  let running: Running;
  let cookie = '';
  let csrf = '';

  // The first start walks the whole path over the demo's 100,000 households: about 20 CPU seconds, so a
  // machine busy with other work takes a minute or more of wall time (the demo's log prints both for each step).
  beforeAll(async () => {
    running = await startServer(parseEnv({ MADAD_DATA_DIR: dir, PORT: '0', MADAD_JOBS: '0', MADAD_DEMO: '1' }), silentLog);
  }, 600_000);
  afterAll(async () => {
    await running.shutdown('test over');
    rmSync(dir, { recursive: true, force: true });
  });

  const api = async (p: string, init: RequestInit = {}) => {
    const res = await fetch(`${running.url}${p}`, { ...init, headers: { cookie, 'x-csrf-token': csrf, 'content-type': 'application/json', ...(init.headers ?? {}) } });
    return res.json();
  };
  /** A GET as another demo account (signed in once, then kept). */
  const sessions = new Map<string, string>();
  const as = async (username: string, p: string) => {
    if (!sessions.has(username)) {
      const res = await fetch(`${running.url}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username, password: demoPassword(username) }) });
      expect(res.status, `${username} signs in`).toBe(200);
      sessions.set(username, res.headers.get('set-cookie')!.split(';')[0]!);
    }
    const res = await fetch(`${running.url}${p}`, { headers: { cookie: sessions.get(username)! } });
    expect(res.status, `${username} GET ${p}`).toBe(200);
    return res.json();
  };
  const demoEvent = async () => (await api('/api/events')).items.find((e: { name: string }) => e.name.includes('lower Sindh'));

  it('prepares itself on an empty data folder and lets the PDMA officer sign in', async () => {
    expect(running.demoPrepared).toBe(true);
    const res = await fetch(`${running.url}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'pdma.sindh', password: demoPassword('pdma.sindh') }),
    });
    expect(res.status).toBe(200);
    cookie = res.headers.get('set-cookie')!.split(';')[0]!;
    csrf = (await res.json()).csrfToken;
  });

  it('shows the flood warning over lower Sindh, its evaluations and the households it touches', async () => {
    const alerts = await api('/api/alerts?active=true');
    const flood = alerts.items.find((a: { identifier: string }) => a.identifier === 'PMD-FFD-DEMO-2026-0826-01');
    expect(flood).toMatchObject({ severity: 'Extreme', active: true });
    // With the demo's districts in the gazetteer, the warned polygon resolves to the districts it covers.
    expect(flood.areaCodes).toEqual(expect.arrayContaining(['PK701', 'PK722', 'PK727']));
    expect(flood.areaCodes.every((c: string) => c.startsWith('PK7'))).toBe(true);
    const evaluations = await api(`/api/alerts/${flood.id}/evaluations`);
    expect(evaluations.items.length).toBeGreaterThan(0);
    const exposure = await api('/api/exposure', { method: 'POST', body: JSON.stringify({ area: { geometry: flood.geometry } }) });
    expect(exposure.registrySize).toBe(DEMO_HOUSEHOLDS);
    expect(exposure.households).toBeGreaterThan(1000);
    expect(exposure.byProvince.map((p: { code: string }) => p.code)).toEqual(['PK7']);
    // The map's choropleth by district: each district the warning covers is shaded with its households.
    const shaded = new Map(exposure.byDistrict.map((c: { code: string; households: number | null }) => [c.code, c.households]));
    for (const code of ['PK701', 'PK722', 'PK727']) expect(shaded.get(code), code).toBeGreaterThan(0);
  });

  it("declares the districts PDMA Sindh's letter names, by name, and both flood rules fire", async () => {
    const event = await demoEvent();
    expect(event).toMatchObject({ status: 'declared', jurisdiction: 'PK7' });
    expect(event.areaCodes).toEqual(['PK701', 'PK716', 'PK718', 'PK722', 'PK724', 'PK725', 'PK727', 'PK728']);
    const evaluations = await api(`/api/events/${event.id}/evaluations`);
    const fired = evaluations.items.filter((e: { fired: boolean }) => e.fired).map((e: { ruleId: string }) => e.ruleId);
    expect(fired).toEqual(expect.arrayContaining(['bisp-flood-relief-demo', 'sindh-flood-kafaalat']));
    // Every district the letter names has households on the event's choropleth, as the officer sees it.
    const exposure = await api('/api/exposure', { method: 'POST', body: JSON.stringify({ area: { codes: event.areaCodes } }) });
    const shaded = new Map(exposure.byDistrict.map((c: { code: string; households: number | null }) => [c.code, c.households]));
    for (const code of event.areaCodes) expect(shaded.get(code), code).toBeGreaterThan(0);
    // The demo's boundaries are by district and tehsil.
    const districts = await api('/api/areas?level=2&parent=PK7');
    expect(districts.features.map((f: { properties: { name: string } }) => f.properties.name)).toContain('Sujawal');
  });

  it('walks the money: the Sindh batch nets off what BISP holds, is approved by two people, released, exported and reconciled', async () => {
    const event = await demoEvent();
    const list = await as('sindh.finance', '/api/batches');
    const sindh = list.items.find((b: { rule: { id: string } }) => b.rule.id === 'sindh-flood-kafaalat');
    expect(sindh).toMatchObject({ status: 'released', subject: { id: event.id } });
    const batch = await as('sindh.finance', `/api/batches/${sindh.id}`);
    expect(batch.figures.heldByOthers.BISP.households).toBeGreaterThan(0);
    expect(batch.approvals.map((a: { signedBy: string; decision: string }) => [a.signedBy, a.decision])).toEqual([
      ['user:sspa.manager2', 'approve'],
      ['user:sindh.finance', 'approve'],
    ]);
    const files = await as('sindh.finance', `/api/batches/${sindh.id}/payment-files`);
    expect(files.files.length).toBeGreaterThan(0);
    expect(files.files.reduce((n: number, f: { count: number }) => n + f.count, 0)).toBe(batch.lineCount - (batch.figures.dropped?.lines ?? 0));
    const money = await as('sindh.finance', `/api/events/${event.id}/payments`);
    expect(money.totals.paid.households).toBeGreaterThan(0);
    expect(money.totals.failed.households).toBeGreaterThan(0);
    expect(money.totals.exported.households).toBeGreaterThan(0); // the lines the bank has not answered yet

    // The federal batch waits for a second BISP manager: it is in his inbox.
    const inbox = await as('bisp.manager2', '/api/inbox');
    expect(inbox.items.some((i: { kind: string; rule: { id: string } | null }) => i.kind === 'approve' && i.rule?.id === 'bisp-flood-relief-demo')).toBe(true);
  });

  it('has a plan with pre-agreed and added actions in several states, and action points', async () => {
    const event = await demoEvent();
    const plan = await as('responder', `/api/events/${event.id}/plan`);
    const byStatus = plan.counts.byStatus;
    for (const s of ['planned', 'ready', 'in_progress', 'done', 'blocked']) expect(byStatus[s], s).toBeGreaterThan(0);
    const origins = new Set(plan.actions.map((a: { origin: string }) => a.origin));
    expect([...origins]).toEqual(expect.arrayContaining(['rule', 'officer', 'batch']));
    const progress = await as('responder', `/api/incidents/${plan.incident}/plan/progress`);
    expect(progress.points.map((p: { location: { name: string } }) => p.location.name)).toContain('Government Boys High School, Thatta');
    expect(JSON.stringify(plan)).not.toMatch(/\b\d{5}-?\d{7}-?\d\b/); // no CNIC reaches a responder
  });

  it('tells the console which account to sign in with for each step, each one a demo account that signs in', async () => {
    const banner = demoBanner(running.url);
    for (const s of DEMO_STEPS) {
      expect(DEMO_USERS.map((u) => u.username)).toContain(s.username);
      expect(banner).toContain(`${s.username.padEnd(14)} ${s.step}`);
      await as(s.username, '/api/auth/me');
    }
  });

  it('does not prepare twice', async () => {
    await running.shutdown('restart');
    running = await startServer(parseEnv({ MADAD_DATA_DIR: dir, PORT: '0', MADAD_JOBS: '0', MADAD_DEMO: '1' }), silentLog);
    expect(running.demoPrepared).toBe(false);
  });
});
