import { currentLang, t } from './i18n.ts';

/** Pakistan Standard Time: UTC+05:00, no daylight saving. */
export const PAKISTAN_TIME_ZONE = 'Asia/Karachi';

const locale = () => (currentLang() === 'ur' ? 'ur-PK' : 'en-GB');

/** A time shown as people in Pakistan read it, whatever the browser's zone. */
export function pkTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  // In Urdu an Arabic-script month between numbers reorders the numbers (Unicode bidi rule W2), so
  // Urdu gets the all-digit form 2026-08-26 09:00, which reads the same in either direction.
  const options: Intl.DateTimeFormatOptions =
    currentLang() === 'ur'
      ? { timeZone: PAKISTAN_TIME_ZONE, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }
      : { timeZone: PAKISTAN_TIME_ZONE, dateStyle: 'medium', timeStyle: 'short', hourCycle: 'h23' };
  const text = new Intl.DateTimeFormat(currentLang() === 'ur' ? 'en-CA' : 'en-GB', options).format(d).replace(',', '');
  return `${text} PKT`;
}

export function num(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '—';
  return new Intl.NumberFormat(locale()).format(n);
}

/** How the API protected a figure: counts under `minCell` come as null (server/registry/disclosure.ts). */
export interface Protection {
  minCell: number;
}

/** A household count the API may have protected: null is "fewer than 10", not unknown. */
export function count(n: number | null | undefined, disclosure: Protection | null | undefined): string {
  return n === null && disclosure ? t('fewerThan', { n: num(disclosure.minCell) }) : num(n);
}

export function pkr(n: number | null | undefined): string {
  return n === null || n === undefined ? '—' : `PKR ${num(n)}`;
}

export function percent(part: number | null, whole: number | null): string {
  if (part === null || !whole) return '—';
  return `${new Intl.NumberFormat(locale(), { maximumFractionDigits: 1 }).format((100 * part) / whole)} %`;
}
