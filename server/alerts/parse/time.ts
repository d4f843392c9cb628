/**
 * Times to ISO 8601 in UTC. CAP times carry an explicit offset (CAP 1.2 §3.3.2, "2002-05-24T16:49:00-07:00");
 * RSS uses RFC 822 dates; GDACS and USGS give UTC without saying so, or epoch milliseconds.
 */

const ISO = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?\s*(Z|[+-]\d{2}:?\d{2})?$/i;

export interface ParsedTime {
  iso: string;
  /** True when the text had no offset and was read as UTC. */
  assumedUtc: boolean;
}

/** Reads an ISO 8601 or RFC 822 time; undefined when it is not one. */
export function parseTime(text: string | undefined): ParsedTime | undefined {
  const value = text?.trim();
  if (!value) return undefined;
  const m = ISO.exec(value);
  if (m) {
    const [, y, mo, d, h, mi, s = '00', frac = '', zone] = m;
    const offset = zone ? (zone.toUpperCase() === 'Z' ? 'Z' : zone.length === 5 ? `${zone.slice(0, 3)}:${zone.slice(3)}` : zone) : 'Z';
    const ms = Date.parse(`${y}-${mo}-${d}T${h}:${mi}:${s}${frac.slice(0, 4)}${offset}`);
    if (Number.isNaN(ms) || Number(mo) > 12 || Number(d) > 31 || Number(h) > 23 || Number(mi) > 59 || Number(s) > 60) return undefined;
    return { iso: new Date(ms).toISOString(), assumedUtc: !zone };
  }
  // RFC 822 / 1123 (RSS 2.0 pubDate): "Sun, 29 Dec 2019 12:00:00 GMT".
  if (/^(?:[A-Za-z]{3},\s*)?\d{1,2}\s+[A-Za-z]{3}\s+\d{2,4}\s+\d{2}:\d{2}(?::\d{2})?\s+(?:GMT|UT|UTC|Z|[A-Z]{3}|[+-]\d{4})$/.test(value)) {
    const ms = Date.parse(value);
    if (!Number.isNaN(ms)) return { iso: new Date(ms).toISOString(), assumedUtc: false };
  }
  return undefined;
}

/** ECMAScript dates reach ±8.64e15 ms around 1970 (ECMA-262 §21.4.1.1); toISOString throws past them. */
const MAX_EPOCH_MS = 8.64e15;

export function epochMsToIso(ms: unknown): string | undefined {
  return typeof ms === 'number' && Number.isFinite(ms) && Math.abs(ms) <= MAX_EPOCH_MS ? new Date(ms).toISOString() : undefined;
}
