import type { MultiPolygon, Point } from 'geojson';
import { describe, expect, it } from 'vitest';
import { accepted, only, parseFixture } from './test-support.ts';

// Expected values read from the fixture files (/shared/fixtures/gdacs).

describe('GDACS RSS', () => {
  it('the 4-item excerpt: a cyclone, an earthquake and two droughts, with GDACS identifiers and metrics', () => {
    const outcome = parseFixture('gdacs', 'gdacs-rss-fixture-small_2019-12-30.xml');
    expect(outcome).toMatchObject({ format: 'gdacs-rss', container: 'rss' });
    const [tc, eq, dr1, dr2] = outcome.messages.map(accepted);
    expect(tc).toMatchObject({
      source: 'gdacs',
      sender: 'gdacs.org',
      identifier: 'GDACS_TC_1000643_1',
      incidents: ['GDACS_TC_1000643'],
      sent: '2019-12-29T12:00:00.000Z',
      hazard: 'cyclone',
      severity: 'Minor',
      // severity value="92.592" unit="km/h"; population value="0" unit="Pop74".
      metrics: { gdacsAlertLevel: 'green', gdacsScore: 1, windSpeedKmh: 92.6, exposedPopulation: 0 },
      area: { descriptions: ['Mauritius'] },
    });
    // georss:point is "lat lon": "-19.4 59.8".
    expect((tc!.area.geometry as Point).coordinates).toEqual([59.8, -19.4]);
    expect(eq).toMatchObject({
      identifier: 'GDACS_EQ_1199929_1287798',
      hazard: 'earthquake',
      urgency: 'Past',
      metrics: { magnitude: 5.5, depthKm: 10, gdacsScore: 0.01, exposedPopulation: 0 },
    });
    expect(dr1).toMatchObject({ identifier: 'GDACS_DR_1013682_1', hazard: 'drought', metrics: { affectedAreaKm2: 349846 } });
    expect(dr1!.metrics.exposedPopulation).toBeUndefined();
    expect(dr2).toMatchObject({ identifier: 'GDACS_DR_1013588_1', area: { descriptions: ['Australia'] } });
  });

  it('the full 24-hour feed: 21 episodes (11 droughts, 8 earthquakes, 2 cyclones), 7 of them Orange', () => {
    const alerts = parseFixture('gdacs', 'gdacs-rss-24h_2019-12-30.xml').messages.map(accepted);
    expect(alerts).toHaveLength(21);
    const count = (h: string) => alerts.filter((a) => a.hazard === h).length;
    expect([count('drought'), count('earthquake'), count('cyclone')]).toEqual([11, 8, 2]);
    expect(alerts.filter((a) => a.metrics.gdacsAlertLevel === 'orange')).toHaveLength(7);
    expect(alerts[0]).toMatchObject({ identifier: 'GDACS_DR_1012728_43', severity: 'Moderate', metrics: { affectedAreaKm2: 1775934 } });
    const fiji = alerts.find((a) => a.identifier === 'GDACS_TC_1000642_15');
    expect(fiji?.metrics).toMatchObject({ windSpeedKmh: 129.6, exposedPopulation: 9677 });
    expect((fiji!.area.geometry as Point).coordinates).toEqual([-178.8, -20.5]);
  });
});

describe('GDACS JSON API', () => {
  it('geteventdata episode 1: Red flood in Spain, score 3, centroid only', () => {
    const outcome = parseFixture('gdacs', 'gdacs-api-geteventdata_FL_1102983_ep1.json');
    expect(outcome.format).toBe('gdacs-api');
    const a = accepted(outcome.messages[0]);
    expect(a).toMatchObject({
      identifier: 'GDACS_FL_1102983_1',
      incidents: ['GDACS_FL_1102983'],
      hazard: 'flood',
      severity: 'Severe',
      sent: '2024-11-08T11:10:45.000Z',
      onset: '2024-10-27T15:00:00.000Z',
      metrics: { gdacsAlertLevel: 'red', gdacsScore: 3 },
      area: { geometry: { type: 'Point', coordinates: [-3.4110253455683806, 38.60133168687446] }, descriptions: ['Spain'] },
    });
    expect(a.notes.join(' ')).toMatch(/no longer current/);
  });

  it('geteventdata episode 2: Orange event whose episode is Green', () => {
    const a = only('gdacs', 'gdacs-api-geteventdata_FL_1102983_ep2.json');
    expect(a).toMatchObject({
      identifier: 'GDACS_FL_1102983_2',
      severity: 'Moderate',
      sent: '2024-11-21T18:35:23.000Z',
      metrics: { gdacsAlertLevel: 'orange', gdacsScore: 2, gdacsEpisodeAlertLevel: 'green' },
    });
  });

  it('getgeometry: one message whose area is the affected MultiPolygon (75 polygons, 83 rings), not the centroid', () => {
    const outcome = parseFixture('gdacs', 'gdacs-api-getgeometry_FL_1102983_ep1.min.json');
    expect(outcome.messages).toHaveLength(1);
    const a = accepted(outcome.messages[0]);
    expect(a.identifier).toBe('GDACS_FL_1102983_1');
    const g = a.area.geometry as MultiPolygon;
    expect(g.type).toBe('MultiPolygon');
    expect(g.coordinates).toHaveLength(75);
    expect(g.coordinates.reduce((n, p) => n + p.length, 0)).toBe(83);
    expect(g.coordinates.flat(2)).toHaveLength(26813);
    expect(g.coordinates[0]![0]![0]).toEqual([-3.3717277, 40.6257671]);
  });
});
