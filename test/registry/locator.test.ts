import { bbox, booleanPointInPolygon } from '@turf/turf';
import { describe, expect, it } from 'vitest';
import type { AreaRecord } from '../../geodata/boundaries.ts';
import { Random } from '../../geodata/random.ts';
import { AreaLocator, type LocatorArea } from '../../server/registry/locator.ts';
import { readTestTehsils } from '../harness/gazetteer.ts';

const asLocatorArea = (a: AreaRecord): LocatorArea => ({ code: a.code, parentCode: a.parentCode, level: a.level, geometry: a.geometry, bbox: bbox(a.geometry) });

describe('area locator', () => {
  const tehsils = readTestTehsils().areas;
  const locator = AreaLocator.fromAreas(tehsils.map(asLocatorArea));

  it('answers from its grid exactly as it does polygon by polygon, on and near the boundaries too', () => {
    const random = new Random(7);
    const points: [number, number][] = [];
    for (let i = 0; i < 100_000; i++) points.push([60.8 + random.next() * 17, 23.6 + random.next() * 13.5]);
    // Vertices of tehsil boundaries, and points a hair off them, where a grid cell is most likely wrong.
    for (const t of tehsils.slice(0, 120)) {
      const rings = t.geometry.type === 'Polygon' ? [t.geometry.coordinates[0]!] : t.geometry.coordinates.map((p) => p[0]!);
      for (const ring of rings) for (const [x, y] of ring.filter((_, k) => k % 7 === 0)) points.push([x!, y!], [x! + 1e-7, y!], [x!, y! - 1e-7]);
    }
    const disagreeing = points.filter(([lon, lat]) => JSON.stringify(locator.locate(lat, lon)) !== JSON.stringify(locator.locateExactly(lat, lon)));
    expect(disagreeing).toEqual([]);
  });

  it('gives each point the tehsil whose polygon holds it', () => {
    const random = new Random(11);
    const byCode = new Map(tehsils.map((t) => [t.code, t]));
    let located = 0;
    for (let i = 0; i < 2000; i++) {
      const lon = 66 + random.next() * 8;
      const lat = 24.5 + random.next() * 10;
      const { tehsil, district } = locator.locate(lat, lon);
      if (!tehsil) continue;
      located++;
      expect(booleanPointInPolygon([lon, lat], byCode.get(tehsil)!.geometry)).toBe(true);
      expect(tehsil.startsWith(district!)).toBe(true);
    }
    expect(located).toBeGreaterThan(1000);
  });
});
