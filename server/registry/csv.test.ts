import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { CsvReader, CsvRecordTooLongError, cutRecords, MAX_RECORD_BYTES, splitFirstRecord } from './csv.ts';

function read(slices: string[], line = 0) {
  const reader = new CsvReader(line);
  return [...slices.flatMap((s) => reader.push(s)), ...reader.end()];
}

async function cut(chunks: string[], size: number) {
  const pieces: { text: string; lines: number }[] = [];
  for await (const p of cutRecords(Readable.from(chunks.map((c) => Buffer.from(c))), size)) pieces.push({ text: p.bytes.toString('utf8'), lines: p.lines });
  return pieces;
}

describe('CSV reader', () => {
  it('reads plain rows with their line numbers, across slice boundaries', () => {
    expect(read(['a,b\n1,', '2\n3,4'])).toEqual([
      { fields: ['a', 'b'], line: 1 },
      { fields: ['1', '2'], line: 2 },
      { fields: ['3', '4'], line: 3 },
    ]);
  });

  it('honours quotes, doubled quotes, commas and newlines inside quotes, CRLF and a BOM', () => {
    const rows = read(['\uFEFFname,note\r\n"Bibi, Amina","said ""no"""\r\n"two\nlines",x\r\n\r\nlast,row']);
    expect(rows).toEqual([
      { fields: ['name', 'note'], line: 1 },
      { fields: ['Bibi, Amina', 'said "no"'], line: 2 },
      { fields: ['two\nlines', 'x'], line: 3 },
      { fields: ['last', 'row'], line: 6 },
    ]);
  });

  it('numbers lines from where its text starts in the file', () => {
    expect(read(['x,y\n'], 41)).toEqual([{ fields: ['x', 'y'], line: 42 }]);
  });
});

describe('cutting a CSV stream into pieces of whole records', () => {
  it('cuts only after a line break outside quotes, and counts the line breaks of each piece', async () => {
    const file = ['h1,h2\n1,"a\nb"\n', '2,"c,\n', 'd"\n3,x\n', '4,y'];
    const pieces = await cut(file, 4);
    expect(pieces.map((p) => p.text).join('')).toBe(file.join(''));
    for (const p of pieces.slice(0, -1)) expect(p.text.endsWith('\n')).toBe(true);
    // The piece holding `2,"c,` ends only once its quote is closed.
    expect(pieces.some((p) => p.text.endsWith('2,"c,\n'))).toBe(false);
    expect(pieces.reduce((n, p) => n + p.lines, 0)).toBe(6);
    // Read piece by piece, each from its first line, they give what one reader gives for the whole file.
    let line = 0;
    const records = pieces.flatMap((p) => {
      const out = read([p.text], line);
      line += p.lines;
      return out;
    });
    expect(records).toEqual(read([file.join('')]));
  });

  it('never splits a UTF-8 character', async () => {
    const bytes = Buffer.from('نام,x\nعلی,y\n');
    const pieces: Buffer[] = [];
    for await (const p of cutRecords(Readable.from([bytes.subarray(0, 3), bytes.subarray(3, 12), bytes.subarray(12)]), 2)) pieces.push(p.bytes);
    expect(pieces.map((p) => p.toString('utf8'))).toEqual(['نام,x\n', 'علی,y\n']);
  });

  it('takes the header off the first piece', () => {
    const { record, lines, rest } = splitFirstRecord(Buffer.from('\uFEFF"a\nb",c\n1,2\n'));
    expect(record).toEqual({ fields: ['a\nb', 'c'], line: 1 });
    expect(lines).toBe(2);
    expect(rest.toString()).toBe('1,2\n');
  });

  it('refuses a record that never ends (an unclosed quote) where it starts, instead of holding the rest of the file', async () => {
    const filler = `${'x'.repeat(1023)}\n`;
    const chunks = ['a,b\n1,2\n3,4\n"unclosed,5\n', ...Array.from({ length: (MAX_RECORD_BYTES / 1024) * 2 }, () => filler)];
    const refused = await cut(chunks, 64 * 1024).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(CsvRecordTooLongError);
    expect((refused as Error).message).toMatch(/starts on line 4 runs on for more than 1 MB/);
    // Long records short of the limit are read whole.
    const long = `"${'y'.repeat(200_000)}\nstill quoted",z\n`;
    expect((await cut(['a,b\n', long, 'c,d\n'], 1024)).map((p) => p.lines).reduce((a, b) => a + b, 0)).toBe(4);
  });
});
