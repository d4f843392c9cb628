/**
 * CSV for the registry import's hot path (RFC 4180: quoted fields, doubled quotes, newlines inside quotes,
 * CRLF or LF, a leading UTF-8 BOM). csv-parse took 1.9 s for 200,000 rows here, this ~0.2 s, and the rest
 * of the import (checks, area codes, H3, COPY) must fit in the same budget.
 *
 * Two parts: `cutRecords` cuts a byte stream into pieces that end on a record boundary (so pieces can be
 * read in parallel), and `CsvReader` turns text into records, each with the line it starts on.
 */
import { ValidationError } from '../errors.ts';

export interface CsvRecord {
  fields: string[];
  /** 1-based line where the record starts (the header is line 1). */
  line: number;
}

function splitQuoted(text: string): string[] {
  const fields: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i++;
        } else quoted = false;
      } else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      fields.push(field);
      field = '';
    } else field += ch;
  }
  fields.push(field);
  return fields;
}

function quoteCount(s: string): number {
  let n = 0;
  for (let i = s.indexOf('"'); i !== -1; i = s.indexOf('"', i + 1)) n++;
  return n;
}

export type RecordSink = (fields: string[], line: number) => void;

/**
 * Reads CSV text given in any slices: `push` and `end` return the records completed so far, `read` and
 * `finish` hand each to a callback instead (the import's hot path keeps no list of records).
 */
export class CsvReader {
  private rest = '';
  private pending = '';
  private pendingStart = 0;
  private first = true;

  /** @param line the line number of the text's first line, minus one */
  constructor(private line = 0) {}

  push(text: string): CsvRecord[] {
    const records: CsvRecord[] = [];
    this.read(text, (fields, line) => records.push({ fields, line }));
    return records;
  }

  end(): CsvRecord[] {
    const records: CsvRecord[] = [];
    this.finish((fields, line) => records.push({ fields, line }));
    return records;
  }

  read(text: string, emit: RecordSink): void {
    let all = this.rest + text;
    if (this.first) {
      if (all.charCodeAt(0) === 0xfeff) all = all.slice(1);
      this.first = false;
    }
    let start = 0;
    for (let nl = all.indexOf('\n'); nl !== -1; nl = all.indexOf('\n', start)) {
      this.take(all.slice(start, nl), emit);
      start = nl + 1;
    }
    this.rest = all.slice(start);
  }

  finish(emit: RecordSink): void {
    if (this.rest) this.take(this.rest, emit);
    this.rest = '';
    if (this.pending) emit(splitQuoted(this.pending), this.pendingStart);
    this.pending = '';
  }

  private take(raw: string, emit: RecordSink): void {
    const line = ++this.line;
    const text = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (this.pending) {
      this.pending += `\n${text}`;
      if (quoteCount(this.pending) % 2 === 1) return;
      const start = this.pendingStart;
      const pending = this.pending;
      this.pending = '';
      emit(splitQuoted(pending), start);
      return;
    }
    if (text === '') return;
    if (text.indexOf('"') === -1) {
      emit(text.split(','), line);
      return;
    }
    if (quoteCount(text) % 2 === 1) {
      this.pending = text;
      this.pendingStart = line;
      return;
    }
    emit(splitQuoted(text), line);
  }
}

/** A run of whole records: its bytes, and how many line breaks they hold. */
export interface CsvPiece {
  bytes: Buffer;
  lines: number;
}

const QUOTE = 0x22;
const NEWLINE = 0x0a;

/**
 * The longest record accepted. A registry row is about 150 bytes; a record that runs on for a megabyte is
 * an unclosed quote, and holding the rest of a large file in memory waiting for its end would exhaust it.
 */
export const MAX_RECORD_BYTES = 1024 * 1024;

/** A record longer than MAX_RECORD_BYTES: the file is refused where it starts, nothing after it is read. */
export class CsvRecordTooLongError extends ValidationError {
  constructor(readonly line: number) {
    super(`the record that starts on line ${line} runs on for more than ${MAX_RECORD_BYTES / 1024 / 1024} MB without ending: an unclosed quote? Nothing after it was read.`, [
      { field: `line ${line}`, message: 'record too long (an unclosed quote?)' },
    ]);
  }
}

/**
 * Cuts a CSV byte stream into pieces of at least `size` bytes that end after a line break outside quotes
 * (the last piece ends where the input does). A line break byte never occurs inside a UTF-8 sequence, so
 * every piece decodes on its own.
 */
export async function* cutRecords(input: AsyncIterable<Buffer | string>, size = 256 * 1024): AsyncGenerator<CsvPiece> {
  // The held bytes always start at a record boundary, so they start outside quotes.
  let held: Buffer[] = [];
  let heldBytes = 0;
  let linesBefore = 0;
  for await (const chunk of input) {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    held.push(bytes);
    heldBytes += bytes.length;
    if (heldBytes < size) continue;
    const all = held.length === 1 ? bytes : Buffer.concat(held);
    const cut = lineBreakOutsideQuotes(all, 'last');
    if (cut < 0) {
      if (heldBytes > size + MAX_RECORD_BYTES) throw new CsvRecordTooLongError(linesBefore + 1);
      held = [all];
      continue;
    }
    const piece = all.subarray(0, cut + 1);
    const lines = countLines(piece);
    linesBefore += lines;
    yield { bytes: piece, lines };
    const rest = all.subarray(cut + 1);
    held = rest.length ? [rest] : [];
    heldBytes = rest.length;
  }
  if (heldBytes > 0) {
    const piece = Buffer.concat(held);
    yield { bytes: piece, lines: countLines(piece) };
  }
}

/** The record at the start of a piece (a file's header), how many line breaks it spans, and the bytes after it. */
export function splitFirstRecord(bytes: Buffer): { record: CsvRecord | undefined; lines: number; rest: Buffer } {
  const lineBreak = lineBreakOutsideQuotes(bytes, 'first');
  const end = lineBreak === -1 ? bytes.length : lineBreak + 1;
  const first = bytes.subarray(0, end);
  const reader = new CsvReader();
  const [record] = [...reader.push(first.toString('utf8')), ...reader.end()];
  return { record, lines: countLines(first), rest: bytes.subarray(end) };
}

/** The first or last line break outside quotes in bytes that start outside quotes, or -1. */
function lineBreakOutsideQuotes(bytes: Buffer, which: 'first' | 'last'): number {
  if (bytes.indexOf(QUOTE) === -1) return which === 'first' ? bytes.indexOf(NEWLINE) : bytes.lastIndexOf(NEWLINE);
  let quoted = false;
  let found = -1;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    if (b === QUOTE) quoted = !quoted;
    else if (b === NEWLINE && !quoted) {
      found = i;
      if (which === 'first') break;
    }
  }
  return found;
}

function countLines(bytes: Buffer): number {
  let n = 0;
  for (let i = bytes.indexOf(NEWLINE); i !== -1; i = bytes.indexOf(NEWLINE, i + 1)) n++;
  return n;
}
