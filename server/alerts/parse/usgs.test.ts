import { describe, expect, it } from 'vitest';
import { AlertParseError } from './index.ts';
import { accepted, only, parseFixture } from './test-support.ts';

// Expected values read from the fixture files (/shared/fixtures/usgs).

describe('USGS GeoJSON', () => {
  it('summary feed: 12 earthquakes, one message each, PAGER colour as severity', () => {
    const outcome = parseFixture('usgs', 'usgs-summary_significant_month_2022-04-05_orange.geojson');
    expect(outcome).toMatchObject({ format: 'usgs-geojson', container: 'feature-collection' });
    const alerts = outcome.messages.map(accepted);
    expect(alerts).toHaveLength(12);
    expect(alerts.every((a) => a.hazard === 'earthquake' && a.sender === 'earthquake.usgs.gov')).toBe(true);
    const japan = alerts.find((a) => a.identifier === 'us6000h519')!;
    expect(japan).toMatchObject({
      severity: 'Severe',
      urgency: 'Past',
      certainty: 'Observed',
      sent: '2022-04-05T04:21:56.749Z',
      onset: '2022-03-16T14:36:33.264Z',
      metrics: { magnitude: 7.3, depthKm: 63.07, mmi: 8.008, pagerAlert: 'orange', tsunami: 1, cdi: 8.3 },
      area: { geometry: { type: 'Point', coordinates: [141.587, 37.7015] }, descriptions: ['57 km ENE of Namie, Japan'] },
    });
    expect(alerts.find((a) => a.identifier === 'us6000h58x')).toMatchObject({ severity: 'Moderate', metrics: { pagerAlert: 'yellow', magnitude: 5.9 } });
    const hawaii = alerts.find((a) => a.identifier === 'hv72956917')!;
    expect(hawaii.severity).toBe('Unknown');
    expect(hawaii.metrics.pagerAlert).toBeUndefined();
    // "mmi": 0 means no ShakeMap value, not intensity zero.
    const loyalty = alerts.find((a) => a.identifier === 'us7000gysz')!;
    expect(loyalty.metrics.mmi).toBeUndefined();
    expect(loyalty.notes.join(' ')).toMatch(/mmi 0 is not an intensity/);
  });

  it('detail feature: M7.1 Tibet, PAGER red (Extreme), MMI 9.212, depth 10 km from the third coordinate', () => {
    const a = only('usgs', 'usgs-detail-geojson_us6000pi9w.geojson');
    expect(a).toMatchObject({
      identifier: 'us6000pi9w',
      severity: 'Extreme',
      sent: '2025-01-09T17:05:21.636Z',
      onset: '2025-01-07T01:05:16.824Z',
      metrics: { magnitude: 7.1, mmi: 9.212, pagerAlert: 'red', depthKm: 10, tsunami: 0, significance: 2781 },
      area: { geometry: { type: 'Point', coordinates: [87.3608, 28.639] } },
    });
    expect(a.infos[0]).toMatchObject({ headline: 'M 7.1 - 2025 Southern Tibetan Plateau Earthquake', web: 'https://earthquake.usgs.gov/earthquakes/eventpage/us6000pi9w' });
    expect(a.notes.join(' ')).toMatch(/epicentre only/);
  });

  it('PAGER losses.json is refused: it is a product, not an alert', () => {
    expect(() => parseFixture('usgs', 'usgs-pager-losses_us6000pi9w.json')).toThrow(/PAGER losses product.*not an alert/);
  });

  it('ShakeMap cont_mmi.json is refused: contours are not an alert', () => {
    expect(() => parseFixture('usgs', 'usgs-shakemap-cont_mmi_sample.json')).toThrow(AlertParseError);
    expect(() => parseFixture('usgs', 'usgs-shakemap-cont_mmi_sample.json')).toThrow(/ShakeMap intensity contour/);
  });
});
