import { readFileSync } from 'node:fs';
import { booleanClockwise } from '@turf/turf';
import { describe, expect, it } from 'vitest';
import { BoundaryInputError, readBoundaries } from './boundaries.ts';
import { deriveTehsilCodes } from './tehsil-codes.ts';

const fixture = (path: string) => JSON.parse(readFileSync(new URL(`../../shared/fixtures/${path}`, import.meta.url), 'utf8'));
const fields = { codeField: 'pcode', nameField: 'name', parentField: (p: Record<string, unknown>) => String(p.pcode).slice(0, 3), level: 2, source: 'test' };
const fc = (...features: unknown[]) => ({ type: 'FeatureCollection', features });
const feat = (pcode: string, name: string, geometry: unknown) => ({ type: 'Feature', properties: { pcode, name }, geometry });

describe('readBoundaries', () => {
  it('reads the 160 districts with code, name, parent and level', () => {
    const { areas } = readBoundaries(fixture('pakistan/pak_adm2_districts_cod_pcodes_simplified.geojson'), fields);
    expect(areas).toHaveLength(160);
    expect(areas.find((a) => a.code === 'PK703')).toMatchObject({ name: 'Dadu', level: 2, parentCode: 'PK7', source: 'test' });
  });

  it('reads the tehsils with derived codes', () => {
    const tehsils = fixture('pakistan/pak_adm3_tehsils_gbopen_geom_with_cod_pcodes.geojson');
    const { codes } = deriveTehsilCodes(tehsils.features);
    const byIndex = new Map(codes.map((c) => [c.index, c]));
    const kept = fc(...tehsils.features.filter((_: unknown, i: number) => byIndex.has(i)));
    const indexes = [...byIndex.keys()];
    const { areas, repairs } = readBoundaries(kept, {
      codeField: (_p, i) => byIndex.get(indexes[i]!)!.code,
      nameField: 'shapeName',
      parentField: 'adm2_pcode',
      level: 3,
      source: 'geoBoundaries ADM3 + COD-AB attributes',
    });
    expect(areas).toHaveLength(554);
    // The real layer has zero-area slivers in a few MultiPolygons (Salehpat, Keti Bunder, Clifton).
    expect(repairs.filter((r) => /dropped a part/.test(r)).length).toBeGreaterThanOrEqual(3);
  });

  it('repairs unclosed rings, repeated positions and winding, and says so', () => {
    const clockwise = [[70, 30], [70, 31], [70, 31], [71, 31], [71, 30]];
    const { areas, repairs } = readBoundaries(fc(feat('PK999', 'Test', { type: 'Polygon', coordinates: [clockwise] })), fields);
    const ring = (areas[0]!.geometry.coordinates as number[][][])[0]!;
    expect(ring).toHaveLength(5);
    expect(ring[0]).toEqual(ring[4]);
    expect(booleanClockwise(ring)).toBe(false);
    expect(repairs.join('\n')).toMatch(/closed the ring/);
    expect(repairs.join('\n')).toMatch(/repeated/);
  });

  it('refuses what cannot be repaired, naming the feature', () => {
    const bad = fc(
      feat('PK901', 'Few', { type: 'Polygon', coordinates: [[[70, 30], [71, 30], [70, 30]]] }),
      feat('PK902', 'Nan', { type: 'Polygon', coordinates: [[[70, 30], [NaN, 30], [71, 31], [70, 30]]] }),
      feat('PK903', 'Swapped', { type: 'Polygon', coordinates: [[[30, 70], [30, 191], [31, 71], [30, 70]]] }),
      feat('PK904', 'Line', { type: 'LineString', coordinates: [[70, 30], [71, 31]] }),
    );
    try {
      readBoundaries(bad, fields);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(BoundaryInputError);
      const text = (e as BoundaryInputError).problems.join('\n');
      expect(text).toMatch(/feature 0 \(PK901, Few\).*at least 4/);
      expect(text).toMatch(/feature 1 \(PK902, Nan\).*finite/);
      expect(text).toMatch(/feature 2 \(PK903, Swapped\).*out of range/);
      expect(text).toMatch(/feature 3 \(PK904, Line\).*not a Polygon/);
    }
  });
});
