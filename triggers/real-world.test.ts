import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { evaluate } from './evaluate.ts';
import { parseRule } from './rule-schema.ts';
import type { AlertSubject, PagerLevel } from './subject.ts';

/**
 * Subjects shaped like real USGS messages (../shared/fixtures/usgs): magnitude, PAGER alert, MMI and
 * time are read from the files; the rest is what the USGS adapter would set for a reviewed event.
 */
const fixture = (name: string) => JSON.parse(readFileSync(new URL(`../../shared/fixtures/usgs/${name}`, import.meta.url), 'utf8'));
const earthquakeRule = parseRule(readFileSync(new URL('./rules/earthquake.yaml', import.meta.url), 'utf8'));

interface UsgsFeature {
  id: string;
  properties: { mag: number; alert: PagerLevel | null; mmi: number | null; time: number; place: string };
}

function fromUsgs(f: UsgsFeature, areaCodes: string[]): AlertSubject {
  const p = f.properties;
  return {
    kind: 'alert',
    id: f.id,
    hazard: 'earthquake',
    status: 'Actual',
    msgType: 'Alert',
    severity: 'Unknown',
    certainty: 'Observed',
    urgency: 'Past',
    metrics: { magnitude: p.mag, mmi: p.mmi ?? undefined, pagerAlert: p.alert ?? undefined },
    areaCodes,
    active: true,
    sent: new Date(p.time).toISOString(),
  };
}

describe('the earthquake rule on real USGS events', () => {
  const tibet = fixture('usgs-detail-geojson_us6000pi9w.geojson') as UsgsFeature;
  const summary = fixture('usgs-summary_significant_month_2022-04-05_orange.geojson') as { features: UsgsFeature[] };
  const event = (id: string) => summary.features.find((f) => f.id === id)!;

  it('M7.1 Tibet, 7 January 2025, PAGER red: the fixture is what the test thinks it is', () => {
    expect([tibet.id, tibet.properties.mag, tibet.properties.alert]).toEqual(['us6000pi9w', 7.1, 'red']);
  });

  it('M7.1 PAGER red fires activation when its MMI VII area resolves to Pakistani tehsils', () => {
    // The Tibet quake itself struck outside Pakistan; here the same shaking is placed over
    // Gilgit-Baltistan (Gilgit PK305, Hunza PK306) to test the rule on real figures. The illustrative
    // rule is valid from 15 January 2025, so it is evaluated as if the quake happened in June.
    const subject = fromUsgs(tibet, ['PK305', 'PK306']);
    const d = evaluate(earthquakeRule, subject, new Date('2025-06-01T00:00:00Z'));
    expect(d.stage).toBe('activation');
    expect(d.areaCodes).toEqual(['PK305', 'PK306']);
    const onTheDay = evaluate(earthquakeRule, subject, new Date(tibet.properties.time + 3_600_000));
    expect(onTheDay.summary).toContain('rule not yet valid on 2025-01-07 PKT (valid from 2025-01-15): no');
    expect(d.reasons.map((r) => r.text)).toEqual(
      expect.arrayContaining(['magnitude 7.1 ≥ 6.0: yes', 'PAGER red ≥ orange: yes', 'any of 2 conditions (1 held): yes']),
    );
  });

  it('the same quake where it happened, with no Pakistani area code, does not fire', () => {
    const d = evaluate(earthquakeRule, fromUsgs(tibet, []), new Date('2025-06-01T00:00:00Z'));
    expect(d.fired).toBe(false);
    expect(d.summary).toContain('area not resolved to codes: no');
  });

  it('M7.3 Japan, 16 March 2022, PAGER orange fires (placed over Pakistan)', () => {
    const japan = event('us6000h519');
    expect([japan.properties.mag, japan.properties.alert]).toEqual([7.3, 'orange']);
    // The rule was agreed in 2025; the 2022 quake is evaluated as if it happened now.
    const d = evaluate(earthquakeRule, fromUsgs(japan, ['PK501']), new Date('2025-06-01T00:00:00Z'));
    expect(d.stage).toBe('activation');
    expect(d.reasons.map((r) => r.text)).toContain('PAGER orange ≥ orange: yes');
  });

  it('M5.9 Iran, PAGER yellow, does not activate: too weak and too low an impact estimate', () => {
    const iran = event('us6000h58x');
    expect([iran.properties.mag, iran.properties.alert]).toEqual([5.9, 'yellow']);
    const d = evaluate(earthquakeRule, fromUsgs(iran, ['PK2']), new Date('2025-06-01T00:00:00Z'));
    expect(d.fired).toBe(false);
    expect(d.reasons.map((r) => r.text)).toEqual(expect.arrayContaining(['magnitude 5.9 ≥ 6.0: no', 'PAGER yellow ≥ orange: no', 'GDACS not given: no']));
  });

  it('of the twelve significant quakes of March 2022, only the orange one activates', () => {
    const fired = summary.features
      .filter((f) => evaluate(earthquakeRule, fromUsgs(f, ['PK5']), new Date('2025-06-01T00:00:00Z')).stage === 'activation')
      .map((f) => f.id);
    expect(fired).toEqual(['us6000h519']);
  });
});
