import { currentLang } from './i18n.ts';

/** Pakistan Standard Time: UTC+05:00, no daylight saving. */
export const PAKISTAN_TIME_ZONE = 'Asia/Karachi';

const locale = () => (currentLang() === 'ur' ? 'ur-PK' : 'en-GB');

/** A time shown as people in Pakistan read it, whatever the browser's zone. */
export function pkTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  const text = new Intl.DateTimeFormat(locale(), { timeZone: PAKISTAN_TIME_ZONE, dateStyle: 'medium', timeStyle: 'short', hourCycle: 'h23' }).format(d);
  return `${text} PKT`;
}

export function num(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '—';
  return new Intl.NumberFormat(locale()).format(n);
}

export function pkr(n: number | null | undefined): string {
  return n === null || n === undefined ? '—' : `PKR ${num(n)}`;
}

export function percent(part: number, whole: number): string {
  if (!whole) return '—';
  return `${new Intl.NumberFormat(locale(), { maximumFractionDigits: 1 }).format((100 * part) / whole)} %`;
}
