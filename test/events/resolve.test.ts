import { describe, expect, it } from 'vitest';
import { readNotificationFile } from '../../server/events/notification-file.ts';
import { commonJurisdiction } from '../../server/access/jurisdiction.ts';
import { explainUnresolved, resolveNotification, type GazetteerArea, type UnresolvedLine } from '../../server/events/resolve.ts';
import { readTestDistricts, readTestTehsils } from '../harness/gazetteer.ts';

/** The real gazetteer of the shared fixtures, provinces to tehsils, as plain data. */
function realGazetteer(): GazetteerArea[] {
  const { provinces, districts } = readTestDistricts();
  const tehsils = readTestTehsils().areas;
  return [...provinces, ...districts, ...tehsils].map(({ code, name, level, parentCode }) => ({ code, name, level, parentCode }));
}

const gazetteer = realGazetteer();
const districtsOnly = gazetteer.filter((a) => a.level <= 2);
const codesOf = (lines: string[], g = districtsOnly) => resolveNotification(lines.map((area) => ({ area })), g).map((r) => (r.status === 'resolved' ? r.area.code : r.status));

describe('resolving a notification list', () => {
  it('reads P-codes and names as PDMAs write them', () => {
    expect(codesOf(['Dadu', 'D.G. Khan', 'PK709', 'kambar shahdadkot', 'pk713', 'Sind'])).toEqual(['PK703', 'PK607', 'PK709', 'PK709', 'PK713', 'PK7']);
  });

  it('lists a typo back with suggestions instead of picking one', () => {
    const [line] = resolveNotification([{ area: 'Dodu' }], districtsOnly);
    expect(line!.status).toBe('unknown');
    expect((line as Extract<UnresolvedLine, { status: 'unknown' }>).suggestions[0]).toEqual({ code: 'PK703', name: 'Dadu', level: 2, within: 'Sindh' });
    expect(explainUnresolved(line as UnresolvedLine)).toMatch(/^"Dodu" matches no area in the gazetteer\. Did you mean: Dadu \(PK703, district, Sindh\)/);
  });

  it('calls a name shared by a district and its tehsil ambiguous, and the level settles it', () => {
    const [bare, hinted, worded, tehsil] = resolveNotification(
      [{ area: 'Dadu' }, { area: 'Dadu', level: 'district' }, { area: 'Dadu Distt.' }, { area: 'Tehsil Dadu' }],
      gazetteer,
    );
    expect(bare).toMatchObject({ status: 'ambiguous', candidates: [{ code: 'PK703', level: 2 }, { code: 'PK70301', level: 3, within: 'Dadu, Sindh' }] });
    expect(explainUnresolved(bare as UnresolvedLine)).toContain('Write the P-code, or add the level.');
    expect([hinted, worded, tehsil].map((r) => r!.status === 'resolved' && r!.area.code)).toEqual(['PK703', 'PK703', 'PK70301']);
  });

  it('calls a tehsil name found in two provinces ambiguous', () => {
    const [line] = resolveNotification([{ area: 'Khanpur', level: 'tehsil' }], gazetteer);
    expect(line).toMatchObject({ status: 'ambiguous' });
    expect((line as Extract<UnresolvedLine, { status: 'ambiguous' }>).candidates.map((c) => c.within)).toEqual(['Rahim Yar Khan, Punjab', 'Shikarpur, Sindh']);
  });

  it('refuses an unknown P-code and points to the nearest area above it', () => {
    const [line] = resolveNotification([{ area: 'PK799' }], districtsOnly);
    expect(line).toMatchObject({ status: 'unknown', suggestions: [{ code: 'PK7', name: 'Sindh' }] });
  });
});

describe('the jurisdiction of an event', () => {
  it('is the deepest area containing all of its areas, never a bare character prefix', () => {
    expect(commonJurisdiction(['PK703', 'PK709'], gazetteer)).toBe('PK7');
    expect(commonJurisdiction(['PK70301', 'PK70302'], gazetteer)).toBe('PK703');
    expect(commonJurisdiction(['PK703'], gazetteer)).toBe('PK703');
    expect(commonJurisdiction(['PK703', 'PK607'], gazetteer)).toBe('PK');
  });
});

describe('a notification file', () => {
  it('reads one area per line, skipping blank lines and comments', () => {
    expect(readNotificationFile('# PDMA Sindh, notification of 26 Aug\nDadu\n\nPK709  # Kambar\n  D.G. Khan \n')).toEqual([
      { area: 'Dadu', fileLine: 2 },
      { area: 'PK709', fileLine: 4 },
      { area: 'D.G. Khan', fileLine: 5 },
    ]);
  });

  it('reads a CSV by its pcode or name column, with an optional level', () => {
    expect(readNotificationFile('name,pcode,level\nDadu,,district\nKambar,PK709,\n', 'list.csv')).toEqual([
      { area: 'Dadu', level: 'district', fileLine: 2 },
      { area: 'PK709', fileLine: 3 },
    ]);
    expect(() => readNotificationFile('tehsil,province\nDadu,Sindh\n', 'list.csv')).toThrow('needs a "pcode" or "name" column');
  });
});
