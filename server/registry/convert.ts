import { cellBigintOf } from '../../geodata/h3.ts';
import { CsvReader } from './csv.ts';
import type { AreaCodes, AreaLocator } from './locator.ts';
import { checkRow, type ColumnPositions, type HouseholdRow, type RowProblem } from './row.ts';

/** What one piece of a registry file became. */
export interface ConvertedPiece {
  /** The good rows as COPY text (UTF-8), in the column order of `COPY_COLUMNS`. */
  copy: Uint8Array;
  rows: number;
  good: number;
  refused: number;
  /** The first problems of the piece (at most the number asked for; all are counted in `refused`). */
  problems: RowProblem[];
  unlocated: number;
}

/** Lines of COPY text encoded at a time: few enough to die young, enough to make each write worth it. */
const LINES_PER_WRITE = 64;

export const COPY_COLUMNS = [
  'source', 'household_id', 'cnic', 'head_name', 'phone', 'lat', 'lon', 'h3', 'province', 'district', 'tehsil', 'size', 'pmt',
  'female_headed', 'has_disabled', 'has_elderly', 'children_under5', 'enrolments', 'payment_channel', 'payment_account',
] as const;

/**
 * Reads one piece of a registry CSV (whole records, the header excluded) and turns every good row into a
 * line of COPY text with its area codes and H3 cell; refused rows are reported by line and column.
 */
export function convertPiece(text: string, firstLine: number, at: ColumnPositions, locator: AreaLocator, maxProblems: number): ConvertedPiece {
  const piece: ConvertedPiece = { copy: new Uint8Array(), rows: 0, good: 0, refused: 0, problems: [], unlocated: 0 };
  // Lines are encoded a few at a time: strings built up across a piece cost more in garbage collection
  // than the conversion itself (and for the same reason records are taken as they are read, not listed).
  let copy: Buffer = Buffer.allocUnsafeSlow(text.length * 2 + 1024);
  let size = 0;
  let lines = '';
  const flush = () => {
    if (size + lines.length * 3 > copy.length) copy = grow(copy, size, lines.length * 3);
    size += copy.write(lines, size);
    lines = '';
  };
  const convert = (fields: string[], line: number) => {
    piece.rows++;
    const checked = checkRow(fields, at, line);
    if (!checked.ok) {
      piece.refused++;
      for (const p of checked.problems) if (piece.problems.length < maxProblems) piece.problems.push(p);
      return;
    }
    const h = checked.value;
    const codes = locator.locate(h.lat, h.lon);
    if (!codes.province) piece.unlocated++;
    lines += copyLine(h, codes, cellBigintOf(h.lat, h.lon));
    if (++piece.good % LINES_PER_WRITE === 0) flush();
  };
  const reader = new CsvReader(firstLine - 1);
  reader.read(text, convert);
  reader.finish(convert);
  flush();
  piece.copy = copy.subarray(0, size);
  return piece;
}

/** A larger buffer holding the first `used` bytes of `buffer`, with room for at least `more`. */
function grow(buffer: Buffer, used: number, more: number): Buffer {
  const larger = Buffer.allocUnsafeSlow(Math.max(buffer.length * 2, used + more));
  buffer.copy(larger, 0, 0, used);
  return larger;
}

const COPY_ESCAPES: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };

/** A text value in COPY text format (PostgreSQL docs, COPY "Text Format"): \N for null, specials escaped. */
function copyText(v: string | null): string {
  if (v === null) return '\\N';
  return /[\\\t\n\r]/.test(v) ? v.replace(/[\\\t\n\r]/g, (ch) => COPY_ESCAPES[ch]!) : v;
}

/** A text[] literal for one household's enrolments (checked to be [A-Z0-9_]; quoted so NULL stays a name). */
function textArray(values: string[]): string {
  return values.length ? `{"${values.join('","')}"}` : '{}';
}

const bit = (v: boolean) => (v ? 't' : 'f');

/**
 * One household as a line of COPY text, in the order of COPY_COLUMNS. Only the free-text fields can hold a
 * character COPY treats specially; the others were checked to be codes, digits or names of [A-Z0-9_].
 */
function copyLine(h: HouseholdRow, codes: AreaCodes, h3: bigint): string {
  return `${h.source}\t${copyText(h.householdId)}\t${h.cnic}\t${copyText(h.headName)}\t${h.phone ?? '\\N'}\t${h.lat}\t${h.lon}\t${h3}\t${copyText(codes.province)}\t${copyText(codes.district)}\t${copyText(codes.tehsil)}\t${h.size}\t${h.pmt}\t${bit(h.femaleHeaded)}\t${bit(h.hasDisabled)}\t${bit(h.hasElderly)}\t${bit(h.childrenUnder5)}\t${textArray(h.enrolments)}\t${h.paymentChannel ?? '\\N'}\t${copyText(h.paymentAccount)}\n`;
}
