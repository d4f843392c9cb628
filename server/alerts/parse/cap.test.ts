import { booleanClockwise } from '@turf/turf';
import type { Point } from 'geojson';
import { describe, expect, it } from 'vitest';
import { AlertParseError, displayInfo } from './index.ts';
import { accepted, only, parseFixture, rings } from './test-support.ts';

// Expected values below were read from the fixture files themselves (/shared/fixtures/cap).

describe('OASIS CAP spec examples', () => {
  it('A.2 thunderstorm, CAP 1.2: SAME SVR, one 5-point polygon, three SAME geocodes, en-US by default', () => {
    const a = only('cap', 'oasis-spec-a2-thunderstorm-polygon-cap12.xml');
    expect(a).toMatchObject({
      source: 'cap',
      format: 'cap-1.2',
      identifier: 'KSTO1055887203',
      sender: 'KSTO@NWS.NOAA.GOV',
      sent: '2003-06-17T21:57:00.000Z',
      status: 'Actual',
      msgType: 'Alert',
      scope: 'Public',
      hazard: 'storm',
      severity: 'Severe',
      urgency: 'Immediate',
      certainty: 'Observed',
      responseType: ['Shelter'],
      expires: '2003-06-17T23:00:00.000Z',
      references: [],
    });
    expect(a.infos).toHaveLength(1);
    expect(a.infos[0]).toMatchObject({ language: 'en-US', event: 'SEVERE THUNDERSTORM', headline: 'SEVERE THUNDERSTORM WARNING' });
    expect(a.area.geometry?.type).toBe('Polygon');
    const [ring] = rings(a.area.geometry);
    expect(ring).toHaveLength(5);
    // CAP's "38.47,-120.14" is lat,lon; GeoJSON is [lon, lat].
    expect(ring).toContainEqual([-120.14, 38.47]);
    expect(ring).toContainEqual([-119.89, 38.62]);
    expect(booleanClockwise(ring!)).toBe(false);
    expect(a.area.geocodes).toEqual([
      { valueName: 'SAME', value: '006109' },
      { valueName: 'SAME', value: '006009' },
      { valueName: 'SAME', value: '006003' },
    ]);
    expect(a.area.descriptions).toEqual([
      'EXTREME NORTH CENTRAL TUOLUMNE COUNTY IN CALIFORNIA, EXTREME NORTHEASTERN CALAVERAS COUNTY IN CALIFORNIA, SOUTHWESTERN ALPINE COUNTY IN CALIFORNIA',
    ]);
  });

  it('A.2 in the CAP 1.1 namespace: lower-case "same" code, FIPS6 geocodes', () => {
    const a = only('cap', 'oasis-spec-a2-thunderstorm-cap11.xml');
    expect(a).toMatchObject({ format: 'cap-1.1', identifier: 'KSTO1055887203', hazard: 'storm', certainty: 'Observed' });
    expect(a.infos[0]!.eventCodes).toEqual([{ valueName: 'same', value: 'SVR' }]);
    expect(a.area.geocodes.map((g) => `${g.valueName}:${g.value}`)).toEqual(['FIPS6:006109', 'FIPS6:006009', 'FIPS6:006003']);
    expect(rings(a.area.geometry)[0]).toHaveLength(5);
  });

  it('A.2 in the CAP 1.0 namespace: "same=SVR" and "fips6=006109" text forms, certainty Likely, no responseType', () => {
    const a = only('cap', 'oasis-spec-a2-thunderstorm-cap10.xml');
    expect(a).toMatchObject({ format: 'cap-1.0', hazard: 'storm', certainty: 'Likely', severity: 'Severe' });
    expect(a.responseType).toBeUndefined();
    expect(a.infos[0]!.eventCodes).toEqual([{ valueName: 'same', value: 'SVR' }]);
    expect(a.area.geocodes).toEqual([
      { valueName: 'fips6', value: '006109' },
      { valueName: 'fips6', value: '006009' },
      { valueName: 'fips6', value: '006003' },
    ]);
  });

  it('A.3 earthquake Update: one reference, magnitude and depth in miles, a radius-0 circle kept as a point with a warning', () => {
    const outcome = parseFixture('cap', 'oasis-spec-a3-earthquake-update-circle-cap12.xml');
    const a = accepted(outcome.messages[0]);
    expect(a).toMatchObject({ identifier: 'TRI13970876.2', msgType: 'Update', hazard: 'earthquake', severity: 'Minor', urgency: 'Past' });
    expect(a.references).toEqual([{ sender: 'trinet@caltech.edu', identifier: 'TRI13970876.1', sent: '2003-06-12T03:30:00.000Z' }]);
    // "3.4 Ml" and "11.8 mi." (11.8 × 1.609344 km).
    expect(a.metrics).toMatchObject({ magnitude: 3.4, depthKm: 18.99 });
    expect(a.area.geometry).toEqual({ type: 'Point', coordinates: [-115.5527, 32.9525] });
    expect(outcome.messages[0]!.ok && outcome.messages[0]!.warnings.join(' ')).toMatch(/radius 0.*kept as a point/);
    expect(a.infos[0]!.web).toBe('http://www.trinet.org/scsn/scsn.html');
  });

  it('A.4 Amber alert: two infos (en-US, es-US), geocode-only area, hazard other; English is shown', () => {
    const a = only('cap', 'oasis-spec-a4-amber-multilang-en-es-cap12.xml');
    expect(a.infos.map((i) => i.language)).toEqual(['en-US', 'es-US']);
    expect(a.infos[1]!.event).toBe('Abducción de Niño');
    expect(a.hazard).toBe('other');
    expect(a.area.geometry).toBeNull();
    expect(a.area.geocodes).toEqual([{ valueName: 'SAME', value: '006037' }]);
    expect(a.area.descriptions).toEqual(['Los Angeles County', 'condado de Los Ángeles']);
    expect(displayInfo(a)?.headline).toBe('Amber Alert in Los Angeles County');
  });
});

describe('IPAWS and NWS messages', () => {
  it('Cancel without <info> still parses: one reference, hazard other, everything Unknown, signature ignored', () => {
    const outcome = parseFixture('cap', 'ipaws-cancel-no-info-signed.xml');
    const a = accepted(outcome.messages[0]);
    expect(a).toMatchObject({
      identifier: 'AS-NV-58d33e3a-1f9a-4909-9d59-34e90b33b3e8',
      sender: 'bbrundage@dps.state.nv.us',
      sent: '2019-04-19T17:46:20.000Z',
      msgType: 'Cancel',
      hazard: 'other',
      severity: 'Unknown',
      urgency: 'Unknown',
      certainty: 'Unknown',
      infos: [],
      area: { geometry: null, descriptions: [], geocodes: [] },
    });
    expect(a.references).toEqual([
      { sender: 'bbrundage@dps.state.nv.us', identifier: 'AS-NV-e18921c7-1b35-4a81-9705-42d25c265ddd', sent: '2019-04-18T18:02:32.000Z' },
    ]);
    expect(a.notes.join(' ')).toMatch(/Cancel message has no <info>/);
  });

  it('Local Area Emergency: numeric-looking identifier stays a string, 41-point polygon at full precision', () => {
    const a = only('cap', 'ipaws-local-area-emergency-polygon-signed.xml');
    expect(a.identifier).toBe('402013233923688');
    expect(a.sender).toBe('402013233923688');
    expect(a).toMatchObject({ hazard: 'other', severity: 'Extreme', urgency: 'Immediate', certainty: 'Observed', expires: '2019-12-13T22:24:50.000Z' });
    const [ring] = rings(a.area.geometry);
    expect(ring).toHaveLength(41);
    expect(ring).toContainEqual([-77.12967945345733, 39.09930403047015]);
    expect(a.area.geocodes).toEqual([{ valueName: 'SAME', value: '024031' }]);
    expect(a.area.descriptions).toEqual(['Montgomery County']);
  });

  it('NWS hurricane Update: 8 references, HUW is a cyclone, two polygons (a 4-point sliver and 69 points)', () => {
    const a = only('cap', 'nws-update-multiple-polygons.xml');
    expect(a).toMatchObject({ msgType: 'Update', hazard: 'cyclone', severity: 'Extreme', urgency: 'Immediate', certainty: 'Likely', responseType: ['Avoid'] });
    expect(a.references).toHaveLength(8);
    expect(a.references[0]).toEqual({ sender: 'w-nws.webmaster@noaa.gov', identifier: 'NWS-IDP-PROD-4410291-3675936', sent: '2020-08-25T15:32:00.000Z' });
    expect(a.references[7]!.identifier).toBe('NWS-IDP-PROD-4411932-3677173');
    expect(a.area.geometry?.type).toBe('MultiPolygon');
    expect(rings(a.area.geometry).map((r) => r.length)).toEqual([4, 69]);
    expect(a.area.geocodes).toEqual([
      { valueName: 'UGC', value: 'LAZ043' },
      { valueName: 'SAME', value: '022001' },
    ]);
    expect(a.note).toBeUndefined();
  });

  it('NWS Flash Flood Watch (CAP 1.1): FFA is a flash flood; geocode-only; effective and note kept', () => {
    const a = only('cap', 'google-nws-flashflood-cap11-geocode-only.cap');
    expect(a).toMatchObject({
      format: 'cap-1.1',
      hazard: 'flash_flood',
      severity: 'Severe',
      urgency: 'Expected',
      certainty: 'Possible',
      effective: '2010-08-30T10:07:00.000Z',
      expires: '2010-08-30T18:00:00.000Z',
      note: 'Alert for Central and Southern Lewis and Clark; Lewis and Clark (Montana) Issued by the National Weather Service',
    });
    expect(a.area.geometry).toBeNull();
    expect(a.area.geocodes).toEqual([
      { valueName: 'FIPS6', value: '030049' },
      { valueName: 'UGC', value: 'MTZ014' },
    ]);
  });
});

describe('Google cap-library samples', () => {
  it('Environment Canada Update in en-CA and fr-CA: polygons repeated per language count once', () => {
    const a = only('cap', 'google-canada-update-multilang-polygons.cap');
    expect(a).toMatchObject({ identifier: '2.49.0.1.124.6bddbc91.2012', msgType: 'Update', hazard: 'storm', severity: 'Minor', urgency: 'Past', responseType: ['AllClear'] });
    expect(a.references.map((r) => r.identifier)).toEqual(['2.49.0.1.124.a3f342a4.2012', '2.49.0.1.124.60f31a3a.2012']);
    expect(a.references[0]!.sent).toBe('2012-05-02T21:45:05.000Z');
    expect(a.incidents).toEqual([]);
    expect(a.infos.map((i) => i.language)).toEqual(['en-CA', 'fr-CA']);
    expect(rings(a.area.geometry).map((r) => r.length)).toEqual([17, 38]);
    expect(a.area.geocodes).toHaveLength(13);
    expect(a.area.descriptions).toEqual([
      'Windsor - Leamington - Essex County',
      'Chatham-Kent - Rondeau Park',
      "Windsor - Leamington - comté d'Essex",
      'Chatham-Kent - parc Rondeau',
    ]);
  });

  it('USGS earthquake in CAP 1.1: magnitude 6.3, depth 38.7 km, circle of radius 0.0 is the epicentre', () => {
    const a = only('cap', 'google-usgs-earthquake-cap11-circle.cap');
    expect(a).toMatchObject({
      format: 'cap-1.1',
      identifier: 'USGS-earthquakes-us2010apcd.6.20100831T000925.496Z',
      sent: '2010-08-31T05:09:25.000Z',
      hazard: 'earthquake',
      severity: 'Unknown',
      certainty: 'Likely',
      urgency: 'Past',
      metrics: { magnitude: 6.3, depthKm: 38.7 },
    });
    expect((a.area.geometry as Point).coordinates).toEqual([-173.274, -16.053]);
    expect(a.infos[0]!.parameters).toHaveLength(12);
  });

  it('WCATWC tsunami Update: reference, incident, 38 parameters, preliminary magnitude 7.1 Mw at 39 km', () => {
    const a = only('cap', 'google-wcatwc-tsunami-update.cap');
    expect(a).toMatchObject({ identifier: 'PAAQ-2-lqw6d6', msgType: 'Update', hazard: 'tsunami', severity: 'Extreme', incidents: ['lqw6d6'] });
    expect(a.references).toEqual([{ sender: 'PAAQ', identifier: 'PAAQ-1-lqw6d6', sent: '2011-09-02T10:55:55.000Z' }]);
    expect(a.metrics).toMatchObject({ magnitude: 7.1, magnitudeType: 'Mw', depthKm: 39 });
    expect(a.infos[0]!.parameters).toHaveLength(38);
    expect(a.area.geometry).toBeNull();
    expect(a.area.geocodes.map((g) => g.value)).toEqual(['AKZ185', 'AKZ187']);
  });

  it('validator thunderstorm example: same polygon and geocodes as the spec', () => {
    const a = only('cap', 'google-thunderstorm-polygon.cap');
    expect(a).toMatchObject({ identifier: 'KSTO1055887203', hazard: 'storm', severity: 'Severe' });
    expect(rings(a.area.geometry)[0]).toHaveLength(5);
    expect(a.area.geocodes).toHaveLength(3);
  });

  it('XXE attack sample is refused before parsing, naming the DOCTYPE line', () => {
    expect(() => parseFixture('cap', 'google-xxe-attack.cap')).toThrow(AlertParseError);
    try {
      parseFixture('cap', 'google-xxe-attack.cap');
    } catch (e) {
      expect((e as AlertParseError).message).toMatch(/^XML with a DOCTYPE or entity declarations is refused/);
      expect((e as AlertParseError).line).toBe(3);
    }
  });
});

describe('other senders', () => {
  it('Taiwan WRA reservoir release: BOM, zh-tw, 洩洪 is a flood, geocode-only', () => {
    const a = only('cap', 'wra-taiwan-zh-reservoir-geocode-bom.cap');
    expect(a).toMatchObject({
      identifier: 'WRA_ReservoirWarn_201405142010',
      sent: '2014-05-14T12:10:00.000Z',
      hazard: 'flood',
      severity: 'Moderate',
      urgency: 'Future',
      certainty: 'Observed',
      responseType: ['Monitor'],
    });
    expect(displayInfo(a)).toMatchObject({ language: 'zh-tw', event: '水庫洩洪', headline: '明德水庫:洩洪中' });
    expect(a.area.geocodes).toEqual([{ valueName: 'Taiwan_Geocode_100', value: '1000512' }]);
    expect(a.area.descriptions).toEqual(['苗栗縣頭屋鄉']);
  });

  it('Météo-France downgrade: Update + AllClear, fr-FR and en-GB, six NUTS3 areas, awareness level 2, avalanches stay other', () => {
    const a = only('cap', 'meteoalarm-meteofrance-update-allclear-nuts3.xml');
    expect(a).toMatchObject({
      identifier: '2.49.0.0.250.0.FR.20221207060126.964028',
      sent: '2022-12-07T05:01:26.000Z',
      msgType: 'Update',
      responseType: ['AllClear'],
      hazard: 'other',
      severity: 'Moderate',
      urgency: 'Future',
      onset: '2022-12-07T05:00:00.000Z',
      expires: '2022-12-07T05:01:00.000Z',
      metrics: { awarenessLevel: 2, awarenessType: '9; avalanches' },
    });
    expect(a.references).toEqual([{ sender: 'vigilance@meteo.fr', identifier: '2.49.0.0.250.0.FR.20221206160108.315028', sent: '2022-12-06T15:01:08.000Z' }]);
    expect(a.infos.map((i) => i.language)).toEqual(['fr-FR', 'en-GB']);
    expect(a.area.geocodes.map((g) => g.value)).toEqual(['FR821', 'FR822', 'FR823', 'FR714', 'FR717', 'FR718']);
    expect(a.area.descriptions).toHaveLength(6);
    expect(displayInfo(a)?.headline).toBe('Moderate avalanches warning');
  });

  it('UK Met Office ice warning: capitalised "2; Yellow; Moderate", ten EMMA_ID areas, &amp; decoded', () => {
    const a = only('cap', 'meteoalarm-ukmo-emma-id-geocode-only.xml');
    expect(a).toMatchObject({ hazard: 'coldwave', severity: 'Moderate', responseType: ['Prepare'], metrics: { awarenessLevel: 2 } });
    expect(a.area.geocodes).toHaveLength(10);
    expect(a.area.geocodes.every((g) => g.valueName === 'EMMA_ID')).toBe(true);
    expect(a.area.descriptions).toContain('Yorkshire & Humber');
    expect(a.area.geometry).toBeNull();
  });
});
