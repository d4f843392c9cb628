import { readFileSync } from 'node:fs';
import { booleanPointInPolygon } from '@turf/turf';
import type { Feature } from 'geojson';
import { describe, expect, it } from 'vitest';
import { PROVINCE_BOXES, scatteredId, synthHouseholds, type SynthArea, type SynthHousehold } from './synth.ts';

const tehsils = JSON.parse(readFileSync(new URL('../../shared/fixtures/pakistan/pak_adm3_tehsils_gbopen_geom_with_cod_pcodes.geojson', import.meta.url), 'utf8'));
const areas: SynthArea[] = tehsils.features
  .filter((f: Feature) => f.properties!.adm2_pcode)
  .map((f: Feature) => ({ code: f.properties!.adm2_pcode, geometry: f.geometry, weight: f.properties!.pop_2023 }));

const take = (n: number, seed: number, withAreas = true, offset = 0): SynthHousehold[] =>
  Array.from(synthHouseholds({ households: n, seed, areas: withAreas ? areas : undefined, offset }));

describe('synthetic registry', () => {
  const sample = take(20_000, 11);

  it('is deterministic: the same seed gives the same records, another seed others', () => {
    expect(take(500, 11)).toEqual(sample.slice(0, 500));
    const other = take(500, 12);
    expect(other.filter((h, i) => h.cnic === sample[i]!.cnic || h.lat === sample[i]!.lat).length).toBe(0);
  });

  it('gives every household its own id, in no order of the file', () => {
    const ids = sample.map((h) => h.householdId);
    expect(new Set(ids).size).toBe(ids.length);
    const rising = ids.slice(1).filter((id, i) => id > ids[i]!).length / (ids.length - 1);
    expect(rising).toBeGreaterThan(0.4);
    expect(rising).toBeLessThan(0.6);
    // The permutation holds far beyond the sample: no two of 200,000 positions spread over ten billion share an id.
    expect(new Set(Array.from({ length: 200_000 }, (_, i) => scatteredId(i * 49_999))).size).toBe(200_000);
  });

  it('resumes at an offset with the same records (chunks for 10 M)', () => {
    expect(take(100, 11, true, 1000)).toEqual(sample.slice(1000, 1100));
  });

  it('puts every household inside its area polygon', () => {
    const byCode = new Map<string, SynthArea[]>();
    for (const a of areas) byCode.set(a.code, [...(byCode.get(a.code) ?? []), a]);
    for (const h of sample.slice(0, 3000)) {
      const inAny = byCode.get(h.areaCode)!.some((a) => booleanPointInPolygon([h.lon, h.lat], a.geometry as never));
      expect(inAny, `${h.householdId} ${h.areaCode}`).toBe(true);
    }
  });

  it('has the registry\'s proportions: PMT ≤ 32 share, size, flags, Kafaalat only under the cut-off', () => {
    const share = (f: (h: SynthHousehold) => boolean) => sample.filter(f).length / sample.length;
    expect(share((h) => h.pmtScore <= 32)).toBeGreaterThan(0.25);
    expect(share((h) => h.pmtScore <= 32)).toBeLessThan(0.33);
    const meanSize = sample.reduce((s, h) => s + h.householdSize, 0) / sample.length;
    expect(meanSize).toBeGreaterThan(6.2);
    expect(meanSize).toBeLessThan(6.6);
    expect(share((h) => h.flags.femaleHeaded)).toBeCloseTo(0.1, 1);
    expect(share((h) => h.flags.hasElderly)).toBeCloseTo(0.2, 1);
    expect(share((h) => h.flags.childrenUnder5)).toBeCloseTo(0.45, 1);
    expect(sample.every((h) => h.householdSize >= 1 && h.householdSize <= 14)).toBe(true);
    expect(sample.every((h) => h.pmtScore >= 0 && h.pmtScore <= 100 && Math.round(h.pmtScore * 10) === h.pmtScore * 10)).toBe(true);
    expect(sample.every((h) => h.enrolments.length === 0 || h.pmtScore <= 32)).toBe(true);
    expect(share((h) => h.enrolments.includes('KAFAALAT'))).toBeGreaterThan(0.15);
  });

  it('writes identity and payment fields in their real formats', () => {
    for (const h of sample.slice(0, 2000)) {
      expect(h.cnic).toMatch(/^\d{13}$/);
      expect(h.phone).toMatch(/^03\d{9}$/);
      expect(Number(h.cnic.at(-1)) % 2 === 0).toBe(h.flags.femaleHeaded);
      if (h.paymentChannel === 'bank') expect(h.paymentAccount).toMatch(/^PK\d{2}[A-Z]{4}\d{16}$/);
      if (h.paymentChannel === 'mobile_wallet') expect(h.paymentAccount).toBe(h.phone);
      if (h.paymentChannel === 'cash_camp') expect(h.paymentAccount).toBeNull();
    }
    expect(new Set(sample.map((h) => h.cnic)).size).toBe(sample.length);
    // Province digit: Sindh 4, Punjab 3.
    expect(sample.filter((h) => h.areaCode.startsWith('PK7')).every((h) => h.cnic[0] === '4')).toBe(true);
    expect(sample.filter((h) => h.areaCode.startsWith('PK6')).every((h) => h.cnic[0] === '3')).toBe(true);
  });

  it('follows population: Punjab holds about half the households, Sindh about a fifth', () => {
    const share = (p: string) => sample.filter((h) => h.areaCode.startsWith(p)).length / sample.length;
    expect(share('PK6')).toBeGreaterThan(0.4);
    expect(share('PK7')).toBeGreaterThan(0.15);
  });

  it('falls back to the approximate province boxes when no areas are given', () => {
    const boxed = take(2000, 3, false);
    const codes = new Set(PROVINCE_BOXES.map((b) => b.code));
    expect(boxed.every((h) => codes.has(h.areaCode))).toBe(true);
    expect(boxed.filter((h) => h.areaCode === 'PK6').length).toBeGreaterThan(800);
  });
});
