import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoPassword, DEMO_HOUSEHOLDS } from '../server/demo/prepare.ts';
import { parseEnv } from '../server/env.ts';
import { startServer, type Running } from '../server/serve.ts';
import { silentLog } from './harness/app.ts';

describe('the demo a new user meets', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'madad-demo-'));
  let running: Running;
  let cookie = '';
  let csrf = '';

  beforeAll(async () => {
    running = await startServer(parseEnv({ MADAD_DATA_DIR: dir, PORT: '0', MADAD_JOBS: '0', MADAD_DEMO: '1' }), silentLog);
  });
  afterAll(async () => {
    await running.shutdown('test over');
    rmSync(dir, { recursive: true, force: true });
  });

  const api = async (p: string, init: RequestInit = {}) => {
    const res = await fetch(`${running.url}${p}`, { ...init, headers: { cookie, 'x-csrf-token': csrf, 'content-type': 'application/json', ...(init.headers ?? {}) } });
    return res.json();
  };

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
    expect(flood).toMatchObject({ severity: 'Extreme', active: true, areaCodes: ['PK7'] });
    const evaluations = await api(`/api/alerts/${flood.id}/evaluations`);
    expect(evaluations.items.length).toBeGreaterThan(0);
    const exposure = await api('/api/exposure', { method: 'POST', body: JSON.stringify({ area: { geometry: flood.geometry } }) });
    expect(exposure.registrySize).toBe(DEMO_HOUSEHOLDS);
    expect(exposure.households).toBeGreaterThan(1000);
    expect(exposure.byProvince.map((p: { code: string }) => p.code)).toEqual(['PK7']);
  });

  it("activates the Sindh flood top-up on PDMA Sindh's declaration", async () => {
    const events = await api('/api/events');
    const event = events.items.find((e: { name: string }) => e.name.includes('lower Sindh'));
    expect(event).toMatchObject({ status: 'declared' });
    const evaluations = await api(`/api/events/${event.id}/evaluations`);
    const fired = evaluations.items.filter((e: { fired: boolean }) => e.fired).map((e: { ruleId: string }) => e.ruleId);
    expect(fired).toContain('sindh-flood-kafaalat');
  });

  it('does not prepare twice', async () => {
    await running.shutdown('restart');
    running = await startServer(parseEnv({ MADAD_DATA_DIR: dir, PORT: '0', MADAD_JOBS: '0', MADAD_DEMO: '1' }), silentLog);
    expect(running.demoPrepared).toBe(false);
  });
});
