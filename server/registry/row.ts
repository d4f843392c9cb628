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

function bool(value: string): boolean | undefined {
  switch (value.trim().toLowerCase()) {
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

/** Checks one CSV record; returns the household or every problem found in it. */
export function checkRow(record: Record<string, string | undefined>, row: number): { ok: true; value: HouseholdRow } | { ok: false; problems: RowProblem[] } {
  const problems: RowProblem[] = [];
  const get = (c: RegistryColumn) => (record[c] ?? '').trim();
  const bad = (column: RegistryColumn, reason: string) => problems.push({ row, column, reason });

  const source = get('source').toUpperCase();
  if (!/^[A-Z][A-Z0-9_]{1,19}$/.test(source)) bad('source', 'expected a registry name such as NSER or PSER');
  const householdId = get('household_id');
  if (!householdId || householdId.length > 64) bad('household_id', 'expected a household id of 1-64 characters');
  const cnic = get('cnic').replace(/-/g, '');
  if (!/^\d{13}$/.test(cnic)) bad('cnic', 'expected 13 digits (dashes allowed: 35202-1234567-3)');
  else if (/^(\d)\1{12}$/.test(cnic) || cnic[0] === '0') bad('cnic', 'not a possible CNIC');
  const headName = get('head_name');
  if (!headName || headName.length > 120) bad('head_name', 'expected a name of 1-120 characters');
  let phone: string | null = get('phone').replace(/[\s-]/g, '') || null;
  if (phone) {
    const m = /^(?:\+92|0092|0)?(3\d{9})$/.exec(phone);
    if (m) phone = `0${m[1]}`;
    else bad('phone', 'expected a Pakistani mobile number such as 03001234567 or +923001234567');
  }
  const lat = Number(get('lat'));
  const lon = Number(get('lon'));
  const latText = get('lat');
  const lonText = get('lon');
  if (!latText || !Number.isFinite(lat)) bad('lat', 'expected a latitude in decimal degrees');
  if (!lonText || !Number.isFinite(lon)) bad('lon', 'expected a longitude in decimal degrees');
  if (latText && lonText && Number.isFinite(lat) && Number.isFinite(lon)) {
    const inside = (v: number, [lo, hi]: number[]) => v >= lo! && v <= hi!;
    if (!inside(lat, LAT) || !inside(lon, LON)) {
      bad(
        'lat',
        inside(lon, LAT) && inside(lat, LON)
          ? `lat ${lat}, lon ${lon} is outside Pakistan; swapped, it would be inside: lat and lon seem exchanged`
          : `lat ${lat}, lon ${lon} is outside Pakistan`,
      );
    }
  }
  const size = Number(get('household_size'));
  if (!Number.isInteger(size) || size < 1 || size > 40) bad('household_size', 'expected a whole number of members from 1 to 40');
  const pmtText = get('pmt_score');
  const pmt = Number(pmtText);
  if (!pmtText || !Number.isFinite(pmt) || pmt < 0 || pmt > 100) bad('pmt_score', 'expected a PMT score from 0 to 100');
  const flags = (['female_headed', 'has_disabled', 'has_elderly', 'children_under5'] as const).map((c) => {
    const v = bool(get(c));
    if (v === undefined) bad(c, 'expected 0, 1, true or false');
    return v ?? false;
  });
  const enrolments = get('enrolments')
    .split(';')
    .map((e) => e.trim().toUpperCase())
    .filter(Boolean);
  if (enrolments.some((e) => !/^[A-Z0-9_]{2,30}$/.test(e))) bad('enrolments', 'expected programme names separated by ";", e.g. KAFAALAT;NASHONUMA');
  const channel = get('payment_channel').toLowerCase() || null;
  if (channel && !(PAYMENT_CHANNELS as readonly string[]).includes(channel)) bad('payment_channel', `expected one of ${PAYMENT_CHANNELS.join(', ')}`);
  const account = get('payment_account') || null;
  if (account && account.length > 64) bad('payment_account', 'expected at most 64 characters');

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
