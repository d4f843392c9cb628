import { booleanPointInPolygon, polygon as turfPolygon } from '@turf/turf';
import Flatbush from 'flatbush';
import type { MultiPolygon, Polygon } from 'geojson';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryRows } from '../../server/db/client.ts';
import { importRegistry } from '../../server/registry/import.ts';
import { synthAreas, synthCsv } from '../../server/registry/synth.ts';
import { testApp } from '../harness/app.ts';
import { createTestDatabase, drivers, type TestDatabase } from '../harness/databases.ts';
import { bearer, square } from '../harness/factories.ts';
import { fixtureJson } from '../harness/fixtures.ts';
import { loadTestDistricts, loadTestTehsils } from '../harness/gazetteer.ts';
import { loadShippedRules } from '../rules/setup.ts';

/**
 * A star of 20,000 vertices over central Pakistan: every edge is long, so every cell near the middle
 * meets thousands of them. Seconds of work on 20,000 households even with the banded engine.
 */
function star(vertices: number): Polygon {
  const ring: number[][] = [];
  for (let k = 0; k < vertices; k++) {
    const a = (2 * Math.PI * k) / vertices;
    const r = k % 2 ? 6 : 0.05;
    ring.push([69 + r * Math.cos(a), 30 + r * Math.sin(a)]);
  }
  ring.push(ring[0]!);
  return { type: 'Polygon', coordinates: [ring] };
}

/** A ring of `n` positions (closed) around Dadu. */
function ringOf(n: number): Polygon {
  const ring: number[][] = [];
  for (let k = 0; k < n - 1; k++) ring.push([67.7 + 0.2 * Math.cos((2 * Math.PI * k) / (n - 1)), 26.7 + 0.2 * Math.sin((2 * Math.PI * k) / (n - 1))]);
  ring.push(ring[0]!);
  return { type: 'Polygon', coordinates: [ring] };
}

const metric = async (app: ReturnType<typeof testApp>, limit: string) => {
  const text = await (await app.request('/metrics')).text();
  return Number(new RegExp(`^madad_limit_refusals_total\\{limit="${limit}"\\} (\\d+)$`, 'm').exec(text)?.[1] ?? 0);
};

describe.each(drivers)('area questions bounded and answered off the main thread, on %s', (driver) => {
  let db: TestDatabase;
  let manager: string;

  beforeAll(async () => {
    db = await createTestDatabase(driver);
    await loadTestDistricts(db.db);
    await loadTestTehsils(db.db);
    await importRegistry(db, synthCsv({ households: 20_000, seed: 13, areas: await synthAreas(db.db) }));
    await loadShippedRules(db);
    manager = (await bearer(db.db, 'program_manager', 'PK')).authorization;
  });
  afterAll(() => db.drop());

  const post = async (app: ReturnType<typeof testApp>, path: string, body: unknown): Promise<Response> =>
    app.request(path, { method: 'POST', headers: { authorization: manager, 'content-type': 'application/json' }, body: JSON.stringify(body) });

  it('answers /healthz while a hostile polygon is counted, then refuses the polygon past the budget, naming it', async () => {
    const app = testApp(db, { bodyLimit: 4 * 1024 * 1024, env: { MADAD_SPATIAL_BUDGET_MS: 500 } });
    // The spatial worker is started and the registry loaded by an ordinary question first.
    expect((await post(app, '/api/exposure', { area: { geometry: square([67.5, 26.5, 68, 27]) } })).status).toBe(200);

    const finished: string[] = [];
    const hostile = post(app, '/api/exposure', { area: { geometry: star(20_000) } }).then((res) => (finished.push('hostile'), res));
    // A timer cannot fire while the main thread counts; once it does, /healthz must come back first.
    await new Promise((resolve) => setTimeout(resolve, 50));
    const health = await app.request('/healthz');
    finished.push('healthz');
    expect(health.status).toBe(200);

    const refused = await hostile;
    expect(finished).toEqual(['healthz', 'hostile']);
    expect(refused.status).toBe(503);
    const problem = await refused.json();
    expect(problem).toMatchObject({ code: 'unavailable', status: 503 });
    expect(problem.detail).toMatch(/too complex to answer within 0\.5 s; simplify it/);
    expect(await metric(app, 'spatial_budget')).toBe(1);

    // The worker that ran out of time was replaced: the next question is answered.
    expect((await post(app, '/api/exposure', { area: { geometry: square([67.5, 26.5, 68, 27]) } })).status).toBe(200);
  });

  it('refuses an area over the vertex limit in a request with 413 naming the limit, in exposure and in a dry run', async () => {
    const app = testApp(db, { env: { MADAD_MAX_POLYGON_VERTICES: 1000 } });
    expect((await post(app, '/api/exposure', { area: { geometry: ringOf(1000) } })).status).toBe(200);

    const res = await post(app, '/api/exposure', { area: { geometry: ringOf(1001) } });
    expect(res.status).toBe(413);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    const problem = await res.json();
    expect(problem.code).toBe('payload_too_large');
    expect(problem.detail).toContain('The area has 1001 positions; an area in a request may have at most 1000 (MADAD_MAX_POLYGON_VERTICES)');

    const dry = await post(app, '/api/rules/flood-relief-2022/dry-run', { alert: { hazard: 'flood', geometry: ringOf(1500) } });
    expect(dry.status).toBe(413);
    expect((await dry.json()).detail).toContain('MADAD_MAX_POLYGON_VERTICES');
    expect(await metric(app, 'polygon_vertices')).toBe(2);
  });

  it('answers the full UNOSAT 2022 flood extent (268,239 positions) as Turf does, once the limit is raised for it', async () => {
    const flood = fixtureJson<{ features: { geometry: MultiPolygon }[] }>('flood/unosat_FL20220808PAK_VIIRS_20220825-20220831_FloodExtent_PAK.geojson').features[0]!.geometry;
    const bodyLimit = 16 * 1024 * 1024;
    const refused = await post(testApp(db, { bodyLimit }), '/api/exposure', { area: { geometry: flood } });
    expect(refused.status).toBe(413);

    const app = testApp(db, { bodyLimit, env: { MADAD_MAX_POLYGON_VERTICES: 300_000 } });
    const res = await post(app, '/api/exposure', { area: { geometry: flood } });
    expect(res.status).toBe(200);
    const exposure = await res.json();

    // Turf's booleanPointInPolygon on every household, asking only the parts whose bbox holds it.
    const parts = flood.coordinates.map((c) => turfPolygon(c));
    const tree = new Flatbush(parts.length);
    for (const p of flood.coordinates) {
      const xs = p[0]!.map((q) => q[0]!);
      const ys = p[0]!.map((q) => q[1]!);
      tree.add(Math.min(...xs), Math.min(...ys), Math.max(...xs), Math.max(...ys));
    }
    tree.finish();
    const rows = await queryRows<{ lat: number; lon: number }>(db.db, sql`select lat, lon from households`);
    const inside = rows.filter((r) => tree.search(r.lon, r.lat, r.lon, r.lat).some((k) => booleanPointInPolygon([r.lon, r.lat], parts[k]!))).length;
    expect(inside).toBeGreaterThan(100);
    expect(exposure.households).toBe(inside);
  });
});
