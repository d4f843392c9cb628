import { describe, expect, it } from 'vitest';
import { accepted, only, parseFixture } from './test-support.ts';

// Expected values read from the fixture files (/shared/fixtures/cap).

describe('the <alerts> wrapper (SMHI)', () => {
  it('yields its 17 alerts, each in Swedish with a description-only area', () => {
    const outcome = parseFixture('cap', 'smhi-sweden-multi-alert-file.cap');
    expect(outcome).toMatchObject({ format: 'cap-1.2', container: 'cap-alerts' });
    expect(outcome.messages).toHaveLength(17);
    const alerts = outcome.messages.map(accepted);
    expect(alerts[0]!.identifier).toBe('smhi-bpm-1552396920785');
    expect(alerts[16]!.identifier).toBe('smhi-bpm-1552405011762');
    expect(alerts.every((a) => a.msgType === 'Alert' && a.severity === 'Moderate' && a.infos[0]!.language === 'sv-SE')).toBe(true);
    expect(alerts.every((a) => a.area.geometry === null && a.area.descriptions.length === 1)).toBe(true);
    expect(alerts[0]!.area.descriptions).toEqual(['002']);
    expect(alerts[0]!.sent).toBe('2019-03-12T13:51:46.000Z');
  });

  it('maps "average wind speed at sea" (9) to storm and "heavy snow" (7) and snowy "alpine weather" (1) to coldwave', () => {
    const alerts = parseFixture('cap', 'smhi-sweden-multi-alert-file.cap').messages.map(accepted);
    const count = (h: string) => alerts.filter((a) => a.hazard === h).length;
    expect(count('storm')).toBe(9);
    expect(count('coldwave')).toBe(8);
    // "alpine weather" names no hazard; its event code says "strong wind and drifting snow/precipitation".
    expect(alerts[0]!.infos[0]!.event).toBe('alpine weather');
    expect(alerts[0]!.hazard).toBe('coldwave');
  });
});

describe('the MeteoAlarm Atom index (France)', () => {
  it('groups its 12 per-area entries into the 2 messages they index, taking msgType from cap:message_type', () => {
    const outcome = parseFixture('cap', 'meteoalarm-france-atom-feed.xml');
    expect(outcome).toMatchObject({ format: 'meteoalarm-atom', container: 'atom' });
    expect(outcome.messages).toHaveLength(2);
    const [alert, update] = outcome.messages.map(accepted);
    expect(alert).toMatchObject({
      identifier: '2.49.0.0.250.0.FR.20221207160058.764028',
      format: 'meteoalarm-atom',
      msgType: 'Alert',
      sent: '2022-12-07T15:00:58.000Z',
      expires: '2022-12-08T15:00:00.000Z',
      severity: 'Moderate',
      urgency: 'Future',
      certainty: 'Likely',
      hazard: 'other',
      metrics: { awarenessLevel: 2 },
    });
    expect(alert!.area.geocodes.map((g) => `${g.valueName}:${g.value}`)).toEqual([
      'NUTS3:FR718',
      'NUTS3:FR717',
      'NUTS3:FR714',
      'NUTS3:FR823',
      'NUTS3:FR822',
      'NUTS3:FR821',
    ]);
    expect(alert!.area.descriptions).toEqual(['Haute Savoie', 'Savoie', 'Isere', 'Alpes Maritimes', 'Hautes Alpes', 'Alpes de Haute Provence']);
    expect(alert!.infos[0]).toMatchObject({ language: 'en', event: 'Moderate avalanches warning', headline: 'Yellow Avalanches Warning issued for France - Haute Savoie' });
    expect(update).toMatchObject({ identifier: '2.49.0.0.250.0.FR.20221207060126.964028', msgType: 'Update', references: [] });
    expect(update!.notes.join(' ')).toMatch(/carries no references/);
    expect(alert!.notes.join(' ')).toMatch(/full CAP message is at https:\/\/feeds\.meteoalarm\.org\/api\/v1\/warnings\/feeds-france\/04d497d4/);
  });

  it('indexes the same message the Météo-France detail file carries (same identifier and sent time)', () => {
    const update = accepted(parseFixture('cap', 'meteoalarm-france-atom-feed.xml').messages[1]);
    const detail = only('cap', 'meteoalarm-meteofrance-update-allclear-nuts3.xml');
    expect(update.identifier).toBe(detail.identifier);
    expect(update.sent).toBe(detail.sent);
    expect([...update.area.geocodes].sort((a, b) => a.value.localeCompare(b.value))).toEqual(
      [...detail.area.geocodes].sort((a, b) => a.value.localeCompare(b.value)),
    );
  });
});
