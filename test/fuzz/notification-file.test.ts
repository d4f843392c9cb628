/**
 * Notification lists under fuzzing: lists as PDMAs write them (plain text and CSV), edited at random
 * places, and random text. Each is read into lines or refused with the reader's own NotificationFileError
 * (which `madad events declare` shows with the file's name and line); each line read is then resolved
 * against the real gazetteer without an exception, and each that does not resolve can be explained.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { NotificationFileError, readNotificationFile } from '../../server/events/notification-file.ts';
import { explainUnresolved, resolveNotification, type GazetteerArea } from '../../server/events/resolve.ts';
import { runCli } from '../harness/cli.ts';
import { readTestDistricts } from '../harness/gazetteer.ts';
import { fuzzParams, mutate, mutations, withinBudget } from './support.ts';

const { provinces, districts } = readTestDistricts();
const gazetteer: GazetteerArea[] = [...provinces, ...districts].map(({ code, name, level, parentCode }) => ({ code, name, level, parentCode }));

const SAMPLES = [
  { name: 'notified.txt', text: '# PDMA Sindh notification, 26 Aug 2022\nDadu\nPK709\nkambar shahdadkot\n\nD.G. Khan   # Punjab\nSind\n' },
  { name: 'notified.csv', text: 'pcode,name,level\nPK703,Dadu,district\nPK709,,district\n,Jacobabad,\nPK7,Sindh,province\n' },
  { name: 'areas.csv', text: '\uFEFF"name","note"\r\n"Dera Ghazi Khan","hill torrents, east"\r\n"Rajanpur",""\r\n' },
];

const TOKENS = [',', '"', '""', '\n', '\r\n', '#', 'pcode', 'name', 'level', 'district', 'tehsil', 'union council', 'PK', 'PK7', ' ', '\t', '\uFEFF', '\u0000', ';', 'x'.repeat(300)];

function check(text: string, fileName: string): void {
  const lines = withinBudget('reading one notification list', () => {
    try {
      return readNotificationFile(text, fileName);
    } catch (e) {
      if (!(e instanceof NotificationFileError)) throw e;
      expect(e.message).not.toBe('');
      return [];
    }
  });
  // A lone CR ends a line too (csv-parse counts it, as old Mac files use it).
  const fileLines = text.split(/\r\n|\r|\n/).length;
  for (const l of lines) {
    expect(l.area.trim()).not.toBe('');
    expect(l.fileLine >= 1 && l.fileLine <= fileLines).toBe(true);
  }
  const resolved = withinBudget('resolving one notification list', () => resolveNotification(lines, gazetteer));
  expect(resolved).toHaveLength(lines.length);
  for (const r of resolved) if (r.status !== 'resolved') expect(explainUnresolved(r)).not.toBe('');
}

describe('notification lists under fuzzing', () => {
  it('read or refuse every mutation of a plain and a CSV list', () => {
    fc.assert(
      fc.property(fc.constantFrom(...SAMPLES), mutations(TOKENS), ({ name, text }, edits) => check(mutate(text, edits), name)),
      fuzzParams(500),
    );
  });

  it('read or refuse any text, as a .txt or a .csv', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 200 }), fc.constantFrom('list.txt', 'list.csv'), (text, name) => check(text, name)),
      fuzzParams(300),
    );
  });

  it('names the right lines of a CSV with CRLF line ends after a blank first line (found by this fuzzing)', () => {
    const text = '\n"name","note"\r\n"Dera Ghazi Khan","hill torrents"\r\n"Rajanpur",""\r\n';
    expect(readNotificationFile(text, 'areas.csv')).toEqual([
      { area: 'Dera Ghazi Khan', fileLine: 3 },
      { area: 'Rajanpur', fileLine: 4 },
    ]);
  });

  it("refuses a quote inside a field as the file's error, naming the file and line (found by this fuzzing)", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'madad-notification-'));
    try {
      const file = path.join(dir, 'notified.csv');
      writeFileSync(file, 'pcode,name\nPK703,Da"du\n');
      const result = await runCli(['events', 'declare', '--name', 'Monsoon floods, Dadu', '--hazard', 'flood', '--areas', file], { MADAD_DATA_DIR: path.join(dir, 'data'), DATABASE_URL: undefined });
      expect(result.stderr).toBe(`madad: ${file}: Invalid Opening Quote: a quote is found on field "name" at line 2, value is "Da"\n`);
      expect(result.code).toBe(1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
