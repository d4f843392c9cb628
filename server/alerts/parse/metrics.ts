/**
 * Hazard metrics from CAP `<parameter>`s. Names differ by sender (USGS "Magnitude", WCATWC
 * "EventPreliminaryMagnitude", MeteoAlarm "awareness_level"), and values carry their unit in the text
 * ("11.8 mi.", "38.7 km (24.0 miles)"), so each value is read with its unit and converted.
 */
import { GDACS_LEVELS, PAGER_LEVELS, type GdacsLevel, type HazardMetrics, type PagerLevel } from '../../../triggers/subject.ts';
import type { NamedValue } from './types.ts';

const NUMBER_AND_UNIT = /(-?\d+(?:\.\d+)?)\s*([A-Za-z/°]+\.?)?/;

export function leadingNumber(text: string | undefined): number | undefined {
  const m = text ? NUMBER_AND_UNIT.exec(text) : null;
  return m ? Number(m[1]) : undefined;
}

/** Kilometres from "39 kilometers", "11.8 mi.", "10000 m"; a bare number is read as km, as USGS and CAP senders write depth. */
export function lengthKm(text: string): number | undefined {
  const m = NUMBER_AND_UNIT.exec(text);
  if (!m) return undefined;
  const n = Number(m[1]);
  const unit = (m[2] ?? 'km').toLowerCase().replace(/\.$/, '');
  if (/^(km|kms|kilomet(er|re)s?)$/.test(unit)) return n;
  if (/^(mi|mile|miles)$/.test(unit)) return round(n * 1.609344);
  if (/^(m|meters?|metres?)$/.test(unit)) return n / 1000;
  return undefined;
}

/** Metres from "1.2 m", "4 ft". */
export function lengthM(text: string): number | undefined {
  const m = NUMBER_AND_UNIT.exec(text);
  if (!m) return undefined;
  const n = Number(m[1]);
  const unit = (m[2] ?? 'm').toLowerCase().replace(/\.$/, '');
  if (/^(m|meters?|metres?)$/.test(unit)) return n;
  if (/^(ft|feet|foot)$/.test(unit)) return round(n * 0.3048);
  return undefined;
}

/** km/h from a speed and its unit; knots are the international nautical mile per hour (1852 m). */
export function speedKmh(value: number, unit: string | undefined): number | undefined {
  const u = (unit ?? 'km/h').toLowerCase().replace(/\s+/g, '');
  if (u === 'km/h' || u === 'kmh' || u === 'kph' || u === 'kmph') return value;
  if (u === 'm/s' || u === 'mps') return round(value * 3.6);
  if (u === 'mph') return round(value * 1.609344);
  if (u === 'kt' || u === 'kts' || u === 'knots' || u === 'knot') return round(value * 1.852);
  return undefined;
}

export function round(n: number, digits = 3): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

export function pagerLevel(text: string | undefined | null): PagerLevel | undefined {
  const t = text?.trim().toLowerCase();
  return (PAGER_LEVELS as readonly string[]).includes(t ?? '') ? (t as PagerLevel) : undefined;
}

export function gdacsLevel(text: string | undefined | null): GdacsLevel | undefined {
  const t = text?.trim().toLowerCase();
  return (GDACS_LEVELS as readonly string[]).includes(t ?? '') ? (t as GdacsLevel) : undefined;
}

/** MMI is 1–12 (USGS writes 0 when it has no ShakeMap value): anything else is no value. */
export function mmiValue(n: unknown): number | undefined {
  return typeof n === 'number' && n >= 1 && n <= 12 ? n : undefined;
}

/** Metrics from one info's parameters; the first value of a name wins, as CAP gives no order of precedence. */
export function capMetrics(parameters: NamedValue[], warnings: string[]): HazardMetrics {
  const metrics: HazardMetrics = {};
  const set = (key: string, value: number | string | undefined) => {
    if (value !== undefined && metrics[key] === undefined) metrics[key] = value;
  };
  for (const { valueName, value } of parameters) {
    const name = valueName.replace(/[\s_-]/g, '').toLowerCase();
    if (!value) continue;
    if (name === 'magnitude' || name === 'eventpreliminarymagnitude' || name === 'eventmagnitude') set('magnitude', leadingNumber(value));
    else if (name === 'magnitudetype' || name === 'eventpreliminarymagnitudetype') set('magnitudeType', value);
    else if (name === 'depth' || name === 'eventdepth') {
      const km = lengthKm(value);
      if (km === undefined) warnings.push(`Depth "${value}" has a unit we do not read; depthKm not set.`);
      set('depthKm', km);
    } else if (name === 'mmi' || name === 'maxmmi' || name === 'intensity') set('mmi', mmiValue(leadingNumber(value)));
    else if (name === 'pager' || name === 'pageralert' || name === 'pageralertlevel') set('pagerAlert', pagerLevel(value));
    else if (name === 'awarenesslevel') {
      const level = parseInt(value, 10);
      if (level >= 1 && level <= 4) set('awarenessLevel', level);
      else warnings.push(`awareness_level "${value}" is not 1-4; ignored.`);
    } else if (name === 'awarenesstype') set('awarenessType', value);
    else if (/^(windspeed|maxwindspeed|maximumwindspeed|maxwind|sustainedwind|windgust|gust)/.test(name)) {
      const m = /(-?\d+(?:\.\d+)?)\s*([a-zA-Z/]+)?/.exec(value);
      const kmh = m ? speedKmh(Number(m[1]), m[2]) : undefined;
      if (kmh === undefined) warnings.push(`Wind speed "${value}" has a unit we do not read; windSpeedKmh not set.`);
      set('windSpeedKmh', kmh);
    } else if (/^(stormsurge|surgeheight)/.test(name)) set('stormSurgeM', lengthM(value));
  }
  return metrics;
}
