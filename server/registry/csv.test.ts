import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { readCsv } from './csv.ts';

async function records(chunks: string[]) {
  const out: { fields: string[]; line: number }[] = [];
  for await (const r of readCsv(Readable.from(chunks.map((c) => Buffer.from(c))))) out.push(r);
  return out;
}

describe('CSV reader', () => {
  it('reads plain rows with their line numbers, across chunk boundaries', async () => {
    expect(await records(['a,b\n1,', '2\n3,4'])).toEqual([
      { fields: ['a', 'b'], line: 1 },
      { fields: ['1', '2'], line: 2 },
      { fields: ['3', '4'], line: 3 },
    ]);
  });

  it('honours quotes, doubled quotes, commas and newlines inside quotes, CRLF and a BOM', async () => {
    const rows = await records(['\uFEFFname,note\r\n"Bibi, Amina","said ""no"""\r\n"two\nlines",x\r\n\r\nlast,row']);
    expect(rows).toEqual([
      { fields: ['name', 'note'], line: 1 },
      { fields: ['Bibi, Amina', 'said "no"'], line: 2 },
      { fields: ['two\nlines', 'x'], line: 3 },
      { fields: ['last', 'row'], line: 6 },
    ]);
  });

  it('decodes UTF-8 split across chunks', async () => {
    const bytes = Buffer.from('نام,x\n');
    const rows: string[][] = [];
    for await (const r of readCsv(Readable.from([bytes.subarray(0, 3), bytes.subarray(3)]))) rows.push(r.fields);
    expect(rows).toEqual([['نام', 'x']]);
  });
});
