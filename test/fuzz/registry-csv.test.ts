/**
 * The registry CSV under mutation: a good file (the test factories' rows) edited at random places. The
 * reader and the row checks never throw, whatever the text; and an import of the mutated file through
 * importHouseholds, on PGlite, imports some rows and refuses the others (or refuses the file at its header
 * or at a record that never ends) while the table then holds exactly the rows the report says it imported:
 * no refused row, no half of a file.
 */
import { Readable } from 'node:stream';
import { like } from 'drizzle-orm';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { households } from '../../server/db/schema/index.ts';
import { ValidationError } from '../../server/errors.ts';
import { importHouseholds } from '../../server/households/import.ts';
import { CsvReader } from '../../server/registry/csv.ts';
import { checkRow, readHeader, REGISTRY_COLUMNS } from '../../server/registry/row.ts';
import { createTestDatabase, type TestDatabase } from '../harness/databases.ts';
import { household, registryCsv, setupCtx } from '../harness/factories.ts';
import { fuzzParams, mutate, mutations, place, withinBudget, withinBudgetAsync } from './support.ts';

const CSV_TOKENS = [',', '"', '""', '\n', '\r\n', '\r', '\uFEFF', ';', '-', ' ', '0', '1', 'true', '', 'NaN', '1e999', '-0', '\u0000', '\uD800', '25.3', '68.4', '35202-1234567-3', '03001234567', 'bank', 'NSER', 'KAFAALAT;;', 'x'.repeat(200), ...REGISTRY_COLUMNS];

/** A good file of `n` households whose ids start with `prefix`, in lower Sindh. */
function goodFile(prefix: string, n: number): string {
  return registryCsv(Array.from({ length: n }, (_, i) => household(`${prefix}-${i}`, 24.5 + i * 0.01, 68.0 + i * 0.01, 10 + i, 1 + (i % 9))));
}

/** The file's records as the import reads them: one reader over the whole text. */
function records(text: string) {
  const reader = new CsvReader();
  return [...reader.push(text), ...reader.end()];
}

describe('registry CSV reading under fuzzing', () => {
  it('reads any mutation the same in one piece or in slices, and checks every row without throwing', () => {
    fc.assert(
      fc.property(mutations(CSV_TOKENS), fc.array(place, { maxLength: 4 }), (edits, cuts) => {
        const text = mutate(goodFile('P', 6), edits);
        withinBudget('reading one file', () => {
          const whole = records(text);
          const points = [...new Set(cuts.map((c) => Math.floor(c * text.length)))].sort((a, b) => a - b);
          const sliced = new CsvReader();
          const slices = [0, ...points, text.length].slice(1).map((end, i, all) => text.slice(i === 0 ? 0 : all[i - 1], end));
          expect([...slices.flatMap((s) => sliced.push(s)), ...sliced.end()]).toEqual(whole);
          const header = readHeader(whole[0]?.fields ?? []);
          if (!header.ok) return;
          for (const r of whole.slice(1)) {
            const checked = checkRow(r.fields, header.positions, r.line);
            if (!checked.ok) for (const p of checked.problems) expect(p).toMatchObject({ row: r.line, column: expect.stringMatching(new RegExp(`^(${REGISTRY_COLUMNS.join('|')})$`)) });
          }
        });
      }),
      fuzzParams(500),
    );
  });
});

describe('registry import under fuzzing, on pglite', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase('pglite');
  });
  afterAll(() => db.drop());

  it('refuses a row with a NUL in a free-text field, naming it, and imports the others (found by this fuzzing)', async () => {
    const rows = [household('NUL-ok', 24.6, 68.1, 20), { ...household('NUL-bad', 24.7, 68.2, 20), head_name: 'Bibi\u0000Amina' }, { ...household('NUL\u0000id', 24.8, 68.3, 20), head_name: 'Bibi Amina' }];
    const report = await importHouseholds(setupCtx(db.db), { database: db, source: Readable.from([Buffer.from(registryCsv(rows))]), name: 'nul.csv' });
    expect(report).toMatchObject({ rows: 3, added: 1, refused: 2 });
    expect(report.problems).toEqual([
      { row: 3, column: 'head_name', reason: 'contains a NUL character (a 0x00 byte), which cannot be stored' },
      { row: 4, column: 'household_id', reason: 'contains a NUL character (a 0x00 byte), which cannot be stored' },
    ]);
    expect((await db.db.select({ id: households.householdId }).from(households).where(like(households.householdId, 'NUL%'))).map((r) => r.id)).toEqual(['NUL-ok']);
  });

  it('imports or refuses the rows of a mutated file, and the table holds exactly the rows reported', async () => {
    let n = 0;
    await fc.assert(
      fc.asyncProperty(mutations(CSV_TOKENS), fc.integer({ min: 0, max: 3 }), async (edits, where) => {
        const prefix = `FZ${++n}X`;
        // One case in four edits the header too; the others only the rows, which a header refusal would hide.
        const file = goodFile(prefix, 8);
        const headerEnd = file.indexOf('\n') + 1;
        const text = where === 0 ? mutate(file, edits) : file.slice(0, headerEnd) + mutate(file.slice(headerEnd), edits);
        const ids = async () => new Set((await db.db.select({ id: households.householdId }).from(households).where(like(households.householdId, `%${prefix}-%`))).map((r) => r.id));
        const before = await db.db.$count(households);
        let report: Awaited<ReturnType<typeof importHouseholds>> | undefined;
        await withinBudgetAsync(
          'importing one file',
          async () => {
            try {
              report = await importHouseholds(setupCtx(db.db), { database: db, source: Readable.from([Buffer.from(text)]), name: `${prefix}.csv` });
            } catch (e) {
              // A refusal of the whole file is a ValidationError that names where; nothing may be left of it.
              if (!(e instanceof ValidationError)) throw e;
            }
          },
          10_000,
        );
        const stored = await ids();
        if (!report || report.refused < 0) {
          expect(await db.db.$count(households)).toBe(before);
          expect(stored.size).toBe(0);
          return;
        }
        expect(report.rows).toBe(report.imported + report.refused);
        expect((await db.db.$count(households)) - before).toBe(report.added);
        // The households of the rows the import did not refuse, read from the file as the import reads it.
        const all = records(text);
        const header = readHeader(all[0]!.fields);
        if (!header.ok) throw new Error('the import took a header that readHeader refuses');
        const refusedLines = new Set(report.problems.map((p) => p.row));
        const good = all.slice(1).filter((r) => r.fields.some((f) => f !== '') && !refusedLines.has(r.line));
        expect(good).toHaveLength(report.imported);
        const expected = new Set(good.map((r) => (r.fields[header.positions.household_id] ?? '').trim()).filter((id) => id.includes(`${prefix}-`)));
        expect(stored).toEqual(expected);
      }),
      fuzzParams(40),
    );
  }, 300_000);
});
