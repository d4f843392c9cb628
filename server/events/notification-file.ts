import { CsvError, parse } from 'csv-parse/sync';
import { AREA_LEVELS, type AreaLevelName, type NotificationLine } from './resolve.ts';

/** A notification line with the line of the file it came from, so problems point back into the file. */
export interface FileLine extends NotificationLine {
  fileLine: number;
}

export class NotificationFileError extends Error {}

const isLevel = (v: string): v is AreaLevelName => Object.hasOwn(AREA_LEVELS, v);

/**
 * Reads a notification as PDMAs send it: plain text with one P-code or area name per line (blank lines
 * and `#` comments ignored), or a CSV with a `pcode` or `name` column (and an optional `level` column).
 * It is CSV when the file is named `.csv` or its first line names one of those columns.
 */
export function readNotificationFile(text: string, fileName = ''): FileLine[] {
  // One line ending for both readers: csv-parse, meeting CRLF after a bare LF, counted each CRLF as two
  // lines, so the lines it named were wrong; a lone CR (old Mac files) ends a line as well.
  const body = text.replace(/^\uFEFF/, '').replace(/\r\n?/g, '\n');
  const firstLine = body.split('\n').find((l) => l.trim() !== '' && !l.trim().startsWith('#')) ?? '';
  const header = firstLine.split(',').map((h) => h.trim().toLowerCase().replace(/^"|"$/g, ''));
  const looksCsv = /\.csv$/i.test(fileName) || (firstLine.includes(',') && (header.includes('pcode') || header.includes('name')));
  return looksCsv ? readCsv(body) : readText(body);
}

function readText(body: string): FileLine[] {
  const lines: FileLine[] = [];
  body.split('\n').forEach((raw, i) => {
    const area = raw.replace(/#.*$/, '').trim();
    if (area) lines.push({ area, fileLine: i + 1 });
  });
  return lines;
}

type CsvRow = { record: Record<string, string>; info: { lines: number } };

function readCsv(body: string): FileLine[] {
  let records: CsvRow[];
  try {
    records = parse(body, { columns: (h: string[]) => h.map((c) => c.trim().toLowerCase()), skip_empty_lines: true, comment: '#', info: true, trim: true }) as CsvRow[];
  } catch (e) {
    // csv-parse's message names the line; its codes are not all CSV_* (INVALID_OPENING_QUOTE is not), so
    // a caller could not tell its errors from a bug but by this class.
    if (e instanceof CsvError) throw new NotificationFileError(e.message);
    throw e;
  }
  if (records.length === 0) return [];
  const columns = Object.keys(records[0]!.record);
  if (!columns.includes('pcode') && !columns.includes('name')) {
    throw new NotificationFileError(`the CSV needs a "pcode" or "name" column; it has ${columns.join(', ') || 'none'}`);
  }
  const lines: FileLine[] = [];
  for (const { record, info } of records) {
    // A P-code names one area exactly; the name beside it is for the person reading the letter.
    const area = record.pcode || record.name || '';
    if (!area) continue;
    const level = (record.level ?? '').toLowerCase().replace(/\s+/g, '_');
    if (level && !isLevel(level)) throw new NotificationFileError(`line ${info.lines}: level "${record.level}" is not one of ${Object.keys(AREA_LEVELS).join(', ')}`);
    lines.push({ area, fileLine: info.lines, ...(level ? { level: level as AreaLevelName } : {}) });
  }
  return lines;
}
