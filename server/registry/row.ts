/**
 * One row of the registry import CSV, checked. The header is documented in the README; booleans are
 * 0/1 or true/false, enrolments are separated by `;`.
 */
export const REGISTRY_COLUMNS = [
  'source',
  'household_id',
  'cnic',
  'head_name',
  'phone',
  'lat',
  'lon',
  'household_size',
  'pmt_score',
  'female_headed',
  'has_disabled',
  'has_elderly',
  'children_under5',
  'enrolments',
  'payment_channel',
  'payment_account',
] as const;
export type RegistryColumn = (typeof REGISTRY_COLUMNS)[number];

export const PAYMENT_CHANNELS = ['bank', 'mobile_wallet', 'cash_camp', 'post_office'] as const;

export interface HouseholdRow {
  source: string;
  householdId: string;
  cnic: string;
  headName: string;
  phone: string | null;
  lat: number;
  lon: number;
  size: number;
  pmt: number;
  femaleHeaded: boolean;
  hasDisabled: boolean;
  hasElderly: boolean;
  childrenUnder5: boolean;
  enrolments: string[];
  paymentChannel: string | null;
  paymentAccount: string | null;
}

export interface RowProblem {
  row: number;
  column: RegistryColumn | 'header';
  reason: string;
}

// Pakistan with a margin, including AJK and GB: a point outside is a data error, not a household.
const LAT = [23.5, 37.2];
const LON = [60.8, 77.9];

/** Where each registry column sits in a file's header (extra columns are ignored). */
export type ColumnPositions = Readonly<Record<RegistryColumn, number>>;

/** Reads a header: the position of every registry column, or the columns it lacks. */
export function readHeader(header: readonly string[]): { ok: true; positions: ColumnPositions } | { ok: false; missing: RegistryColumn[] } {
  const names = header.map((h) => h.trim().toLowerCase());
  const missing = REGISTRY_COLUMNS.filter((c) => !names.includes(c));
  if (missing.length) return { ok: false, missing };
  return { ok: true, positions: Object.fromEntries(REGISTRY_COLUMNS.map((c) => [c, names.indexOf(c)])) as Record<RegistryColumn, number> };
}

function bool(value: string): boolean | undefined {
  switch (value.toLowerCase()) {
    case '1':
    case 'true':
      return true;
    case '0':
    case 'false':
    case '':
      return false;
    default:
      return undefined;
  }
}

function field(fields: readonly (string | undefined)[], position: number): string {
  return (fields[position] ?? '').trim();
}

function bad(problems: RowProblem[], row: number, column: RegistryColumn, reason: string): void {
  problems.push({ row, column, reason });
}

const FLAGS = ['female_headed', 'has_disabled', 'has_elderly', 'children_under5'] as const;

/**
 * PostgreSQL text cannot hold U+0000 (a 0x00 byte in the file): one such field failed the COPY, and with
 * it the whole import, so the free-text fields refuse it row by row, as any other bad value (the other
 * fields' patterns refuse it already).
 */
const NUL = 'contains a NUL character (a 0x00 byte), which cannot be stored';

/**
 * Checks one CSV record; returns the household or every problem found in it. On the import's hot path
 * (millions of rows), so it reads fields by position and keeps to one pass over each.
 */
export function checkRow(fields: readonly (string | undefined)[], at: ColumnPositions, row: number): { ok: true; value: HouseholdRow } | { ok: false; problems: RowProblem[] } {
  // No inner functions: the TypeScript loader names each function it creates, for inner ones once per row.
  const problems: RowProblem[] = [];

  const source = field(fields, at.source).toUpperCase();
  if (!/^[A-Z][A-Z0-9_]{1,19}$/.test(source)) bad(problems, row, 'source', 'expected a registry name such as NSER or PSER');
  const householdId = field(fields, at.household_id);
  if (!householdId || householdId.length > 64) bad(problems, row, 'household_id', 'expected a household id of 1-64 characters');
  else if (householdId.includes('\u0000')) bad(problems, row, 'household_id', NUL);
  let cnic = field(fields, at.cnic);
  if (cnic.includes('-')) cnic = cnic.replace(/-/g, '');
  if (!/^\d{13}$/.test(cnic)) bad(problems, row, 'cnic', 'expected 13 digits (dashes allowed: 35202-1234567-3)');
  else if (cnic[0] === '0' || /^(\d)\1{12}$/.test(cnic)) bad(problems, row, 'cnic', 'not a possible CNIC');
  const headName = field(fields, at.head_name);
  if (!headName || headName.length > 120) bad(problems, row, 'head_name', 'expected a name of 1-120 characters');
  else if (headName.includes('\u0000')) bad(problems, row, 'head_name', NUL);
  let phone: string | null = field(fields, at.phone) || null;
  if (phone) {
    const m = /^(?:\+92|0092|0)?(3\d{9})$/.exec(/[\s-]/.test(phone) ? phone.replace(/[\s-]/g, '') : phone);
    if (m) phone = `0${m[1]}`;
    else bad(problems, row, 'phone', 'expected a Pakistani mobile number such as 03001234567 or +923001234567');
  }
  const latText = field(fields, at.lat);
  const lonText = field(fields, at.lon);
  const lat = latText ? Number(latText) : NaN;
  const lon = lonText ? Number(lonText) : NaN;
  if (!Number.isFinite(lat)) bad(problems, row, 'lat', 'expected a latitude in decimal degrees');
  if (!Number.isFinite(lon)) bad(problems, row, 'lon', 'expected a longitude in decimal degrees');
  if (Number.isFinite(lat) && Number.isFinite(lon) && !insidePakistan(lat, lon)) {
    bad(
      problems,
      row,
      'lat',
      insidePakistan(lon, lat)
        ? `lat ${lat}, lon ${lon} is outside Pakistan; swapped, it would be inside: lat and lon seem exchanged`
        : `lat ${lat}, lon ${lon} is outside Pakistan`,
    );
  }
  const size = Number(field(fields, at.household_size));
  if (!Number.isInteger(size) || size < 1 || size > 40) bad(problems, row, 'household_size', 'expected a whole number of members from 1 to 40');
  const pmtText = field(fields, at.pmt_score);
  const pmt = pmtText ? Number(pmtText) : NaN;
  if (!(pmt >= 0 && pmt <= 100)) bad(problems, row, 'pmt_score', 'expected a PMT score from 0 to 100');
  const flags: boolean[] = [];
  for (const c of FLAGS) {
    const v = bool(field(fields, at[c]));
    if (v === undefined) bad(problems, row, c, 'expected 0, 1, true or false');
    flags.push(v ?? false);
  }
  const enrolments: string[] = [];
  const enrolmentText = field(fields, at.enrolments);
  if (enrolmentText) {
    for (const part of enrolmentText.split(';')) {
      const e = part.trim().toUpperCase();
      if (e) enrolments.push(e);
    }
    if (!enrolments.every(isProgrammeName)) bad(problems, row, 'enrolments', 'expected programme names separated by ";", e.g. KAFAALAT;NASHONUMA');
  }
  const channel = field(fields, at.payment_channel).toLowerCase() || null;
  if (channel && !(PAYMENT_CHANNELS as readonly string[]).includes(channel)) bad(problems, row, 'payment_channel', `expected one of ${PAYMENT_CHANNELS.join(', ')}`);
  const account = field(fields, at.payment_account) || null;
  if (account && account.length > 64) bad(problems, row, 'payment_account', 'expected at most 64 characters');
  else if (account?.includes('\u0000')) bad(problems, row, 'payment_account', NUL);

  if (problems.length) return { ok: false, problems };
  return {
    ok: true,
    value: {
      source,
      householdId,
      cnic,
      headName,
      phone,
      lat,
      lon,
      size,
      pmt: Math.round(pmt * 100) / 100,
      femaleHeaded: flags[0]!,
      hasDisabled: flags[1]!,
      hasElderly: flags[2]!,
      childrenUnder5: flags[3]!,
      enrolments,
      paymentChannel: channel,
      paymentAccount: account,
    },
  };
}

function isProgrammeName(name: string): boolean {
  return /^[A-Z0-9_]{2,30}$/.test(name);
}

function insidePakistan(lat: number, lon: number): boolean {
  return lat >= LAT[0]! && lat <= LAT[1]! && lon >= LON[0]! && lon <= LON[1]!;
}
