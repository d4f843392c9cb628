import { mkdtempSync, readdirSync, rmSync, truncateSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importRegistry } from '../../server/registry/import.ts';
import { RegistryCache, type SnapshotEvent } from '../../server/registry/registry-index.ts';
import { synthAreas, synthCsv } from '../../server/registry/synth.ts';
import { createTestDatabase, type TestDatabase } from '../harness/databases.ts';
import { readTestDistricts, loadTestDistricts, loadTestTehsils } from '../harness/gazetteer.ts';
import { flattenPolygons } from '../../geodata/flat-polygons.ts';
import { bigintToH3 } from '../../geodata/h3.ts';
import { cellToParent, getResolution, latLngToCell } from 'h3-js';
import { readAreaPolygons } from '../../geodata/area-input.ts';

// The snapshot is a file beside the data: one driver is enough to show what it keeps and when it is not trusted.
describe('registry index snapshot', () => {
  let db: TestDatabase;
  let dir: string;
  const dadu = readTestDistricts().districts.find((d) => d.code === 'PK703')!.geometry;
  const area = () => ({ codes: ['PK704'], geometry: flattenPolygons(readAreaPolygons(dadu)) });

  beforeAll(async () => {
    db = await createTestDatabase('pglite');
    dir = mkdtempSync(path.join(tmpdir(), 'madad-snapshot-'));
    await loadTestDistricts(db.db);
    await loadTestTehsils(db.db);
    await importRegistry(db, synthCsv({ households: 30_000, seed: 7, areas: await synthAreas(db.db) }));
  });
  afterAll(async () => {
    await db.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** A cache as a server process has it, with what it did with the snapshot. */
  const cache = () => {
    const events: SnapshotEvent[] = [];
    const registry = new RegistryCache(db, { snapshotDir: dir, onSnapshot: (e) => events.push(e) });
    return { registry, events };
  };

  it('is written after the first load, and the next process reads it and answers the same', async () => {
    const first = cache();
    const fromDatabase = await first.registry.select(area());
    await first.registry.settled();
    first.registry.close();
    expect(first.events.map((e) => e.kind)).toEqual(['written']);
    expect(readdirSync(dir)).toHaveLength(1);

    const second = cache();
    const fromSnapshot = await second.registry.select(area());
    second.registry.close();
    expect(second.events.map((e) => e.kind)).toEqual(['read']);
    expect(fromSnapshot.index.count).toBe(30_000);
    expect(fromSnapshot.rows.length).toBeGreaterThan(100);
    expect([...fromSnapshot.rows]).toEqual([...fromDatabase.rows]);
    // Asked of both workers at once, each answering its share: the same as the index asked alone here.
    expect([...fromDatabase.rows]).toEqual([...fromDatabase.index.select({ codes: ['PK704'], geometry: dadu })]);
    const exposure = (r: typeof fromDatabase) => r.index.exposure(r.rows, 32);
    expect(exposure(fromSnapshot)).toEqual(exposure(fromDatabase));
    expect(fromSnapshot.index.households(fromSnapshot.rows.subarray(0, 50))).toEqual(fromDatabase.index.households(fromDatabase.rows.subarray(0, 50)));
  });

  it('is not read for a registry an import changed: the new version is loaded and written, the old file removed', async () => {
    const before = readdirSync(dir);
    const old = await new RegistryCache(db).get();
    // The first 5,000 households again, drawn with another seed: same ids, other places and scores.
    await importRegistry(db, synthCsv({ households: 5_000, seed: 8, areas: await synthAreas(db.db) }));
    const after = cache();
    const answer = await after.registry.select(area());
    await after.registry.settled();
    after.registry.close();
    expect(after.events.map((e) => e.kind)).toEqual(['written']);
    expect(answer.index.version).not.toBe(old.version);
    const truth = await new RegistryCache(db).select(area());
    expect([...answer.rows]).toEqual([...truth.rows]);
    expect(answer.index.exposure(answer.rows, 32)).toEqual(truth.index.exposure(truth.rows, 32));
    expect(answer.index.exposure(answer.rows, 32)).not.toEqual(old.exposure(old.select({ codes: ['PK704'], geometry: dadu }), 32));
    const files = readdirSync(dir);
    expect(files).toHaveLength(1);
    expect(files).not.toEqual(before);
  });

  it('is ignored when it is not whole, and written again', async () => {
    const [file] = readdirSync(dir);
    const full = path.join(dir, file!);
    truncateSync(full, statSync(full).size - 1000);
    const after = cache();
    const answer = await after.registry.select(area());
    await after.registry.settled();
    after.registry.close();
    expect(after.events.map((e) => e.kind)).toEqual(['written']);
    expect(answer.index.count).toBe(30_000);
    const again = cache();
    await again.registry.get();
    expect(again.events.map((e) => e.kind)).toEqual(['read']);
  });

  it('is read but never written by a short-lived process (the command line)', async () => {
    const events: SnapshotEvent[] = [];
    const reader = new RegistryCache(db, { snapshotDir: dir, readOnly: true, onSnapshot: (e) => events.push(e) });
    await reader.get();
    expect(events.map((e) => e.kind)).toEqual(['read']);
    const empty = mkdtempSync(path.join(tmpdir(), 'madad-snapshot-'));
    try {
      const elsewhere = new RegistryCache(db, { snapshotDir: empty, readOnly: true, onSnapshot: (e) => events.push(e) });
      expect((await elsewhere.get()).count).toBe(30_000);
      await elsewhere.settled();
      expect(events.map((e) => e.kind)).toEqual(['read']);
      expect(readdirSync(empty)).toEqual([]);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });

  it('answers a repeated question from memory only for the registry it was asked of', async () => {
    const registry = new RegistryCache(db);
    const first = await registry.select(area());
    first.rows.fill(0); // the caller's own copy: changing it changes no later answer
    const again = await registry.select(area());
    expect(again.rows.length).toBeGreaterThan(100);
    expect(new Set(again.rows).size).toBe(again.rows.length);
    await importRegistry(db, synthCsv({ households: 5_000, seed: 9, areas: await synthAreas(db.db) }));
    const afterImport = await registry.select(area());
    registry.close();
    const truth = await new RegistryCache(db).select(area());
    expect(afterImport.index.version).not.toBe(again.index.version);
    expect([...afterImport.rows]).toEqual([...truth.rows]);
    expect([...afterImport.rows]).not.toEqual([...again.rows]);
  });

  it('counts density by cell group exactly as household by household', async () => {
    const index = await new RegistryCache(db).get();
    // The reference: every household placed by its own cell (or position at the cell's resolution).
    const reference = (bbox: [number, number, number, number], res: number, within: string) => {
      const counts = new Map<string, number>();
      for (let i = 0; i < index.count; i++) {
        const x = index.lon[i]!, y = index.lat[i]!;
        if (x < bbox[0] || x > bbox[2] || y < bbox[1] || y > bbox[3]) continue;
        const finest = index.code('tehsil', i) ?? index.code('district', i) ?? index.code('province', i) ?? 'PK';
        if (!finest.startsWith(within)) continue;
        const cell = bigintToH3(index.cells[i]!);
        const parent = getResolution(cell) > res ? cellToParent(cell, res) : latLngToCell(y, x, res);
        counts.set(parent, (counts.get(parent) ?? 0) + 1);
      }
      return [...counts].sort(([a], [b]) => a.localeCompare(b));
    };
    const sorted = (cells: { cell: string; households: number }[]) => cells.map((c) => [c.cell, c.households]).sort(([a], [b]) => String(a).localeCompare(String(b)));
    for (const [bbox, res, within] of [
      [[60, 23, 78, 37], 5, 'PK'],
      [[66.5, 23.5, 71, 28.5], 7, 'PK'],
      [[67.3, 26.2, 68.1, 27.4], 8, 'PK'],
      [[66.5, 23.5, 71, 28.5], 6, 'PK7'],
    ] as const) {
      const expected = reference([...bbox], res, within);
      expect(expected.length).toBeGreaterThan(3);
      expect(sorted(index.density([...bbox], res, within))).toEqual(expected);
    }
  });
});
