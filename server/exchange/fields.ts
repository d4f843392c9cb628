import { createHmac } from 'node:crypto';

/**
 * The registry fields an agreement may share, as a file names them, with the household column each is read
 * from. The order is the order of an export's columns. Identity fields never leave under a pseudonymous
 * agreement.
 */
export const EXPORT_FIELDS = [
  'household_id',
  'cnic',
  'head_name',
  'phone',
  'province',
  'district',
  'tehsil',
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
export type ExportField = (typeof EXPORT_FIELDS)[number];

export const IDENTITY_FIELDS: readonly ExportField[] = ['cnic', 'head_name', 'phone', 'payment_account'];

/** Fields a joint update may change (a survey's findings), with the household column each writes. */
export const CHANGEABLE_FIELDS = {
  household_size: 'size',
  pmt_score: 'pmt',
  female_headed: 'female_headed',
  has_disabled: 'has_disabled',
  has_elderly: 'has_elderly',
  children_under5: 'children_under5',
} as const;
export type ChangeableField = keyof typeof CHANGEABLE_FIELDS;

export const PURPOSES = ['dedup', 'disaster_response', 'targeting'] as const;
export const LINKAGES = ['pseudonymous', 'identified'] as const;

/** A linkage key: HMAC-SHA256 of the head's CNIC (13 digits) under the agreement's key, base64url without padding. */
export const LINKAGE_KEY = /^[A-Za-z0-9_-]{43}$/;

/** The linkage key maker of one agreement (Node's HMAC; on PostgreSQL with pgcrypto an export makes them in SQL). */
export function linkageKeys(key: Buffer): (cnicDigits: string) => string {
  if (key.length !== 32) throw new Error('an agreement key is 32 bytes');
  return (cnic) => createHmac('sha256', key).update(cnic).digest('base64url');
}

/** The reference form, for tests and for a province's implementers: the same as `linkageKeys(key)(cnic)`. */
export function linkageKey(key: Buffer, cnicDigits: string): string {
  return createHmac('sha256', key).update(cnicDigits).digest('base64url');
}
