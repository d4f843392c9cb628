/**
 * What one body and one alert may hold. Constants, not settings: no caller has needed another value,
 * and each is set well above what the real samples in ../shared/fixtures hold (named beside each), so
 * only a broken or hostile body meets them. Every refusal is counted in `limitRefusals`.
 */
import { Counter, type Registry } from 'prom-client';
import { AlertBodyTooLargeError } from './error.ts';

/**
 * Element nesting. CAP is 5 deep (alert/info/area/geocode/value); an EDXL-DE envelope or an Atom entry
 * adds 4, an XML signature (ds:Signature/…/ds:Transform) 5. Deeper is no alert format we read, and the
 * tree is built by recursion, so an unbounded depth is a stack overflow.
 */
export const MAX_XML_DEPTH = 32;

/**
 * Elements in one XML body: ~140 ms to read 100,000 here. A CAP message has 20–60 elements, SMHI's file
 * of 17 alerts about 1,000, the GDACS 24-hour RSS (21 items) about 2,800.
 */
export const MAX_XML_ELEMENTS = 100_000;

/**
 * Nesting of arrays and objects in a JSON body. GeoJSON is at most 7 deep to a coordinate
 * (features[i].geometry.coordinates[polygon][ring][position]); GDACS properties add 3.
 */
export const MAX_JSON_DEPTH = 64;

/**
 * Messages in one body. Each is stored in a transaction of its own: 1,000 held the server for 9 s. The
 * largest real body we read, SMHI's <alerts> file, has 17; GDACS's 24-hour RSS 21.
 */
export const MAX_MESSAGES_PER_BODY = 500;

/**
 * Vertices of one alert's area, over all its polygons. Every map load draws them and every exposure
 * count intersects them. GDACS's affected-area polygons of the 2024 Valencia flood have 26,813.
 */
export const MAX_VERTICES_PER_ALERT = 50_000;

/** Polygons of one alert's area (the same Valencia flood: 75). */
export const MAX_POLYGONS_PER_ALERT = 1_000;

/**
 * A CAP circle's radius in km. CAP 1.2 §3.2.4 sets no bound; 1,000 km is most of Pakistan, and a wider
 * circle from a typing slip (km for m) would put the whole country under one alert.
 */
export const MAX_CIRCLE_RADIUS_KM = 1_000;

/**
 * How far `sent` may lie after the time the body is received. CAP 1.2 §3.2.1: `sent` is "the time and
 * date of the origination of the alert message", so it cannot be in the future beyond clock skew; a
 * message dated years ahead would otherwise always count as the newest of its chain.
 */
export const MAX_SENT_AHEAD_MS = 24 * 3600_000;

/**
 * Characters of each text a person reads. Longer texts are cut with a note, not refused: a warning must
 * not be lost for a long description, and the stored body keeps every byte the sender wrote. CAP 1.2
 * §3.2.2 asks for a headline of about 160 characters; the longest description in the samples (NWS) has
 * 4,991.
 */
export const MAX_TEXT_CHARS = {
  headline: 1_000,
  event: 1_000,
  senderName: 1_000,
  description: 16_000,
  instruction: 16_000,
  areaDesc: 1_000,
  note: 4_000,
} as const;

/** A `web` link longer than this is dropped with a note (cutting would break it). */
export const MAX_URL_CHARS = 2_000;

/** Refuses a body of more than MAX_MESSAGES_PER_BODY messages; `what` names them as the body does. */
export function boundMessageCount(count: number, what = 'messages'): void {
  if (count <= MAX_MESSAGES_PER_BODY) return;
  countRefusal('messages_per_body');
  throw new AlertBodyTooLargeError(
    `The body holds ${count.toLocaleString('en')} ${what}; at most ${MAX_MESSAGES_PER_BODY} are read from one body. Send them in several bodies of up to ${MAX_MESSAGES_PER_BODY}.`,
  );
}

export type LimitName =
  | 'xml_depth'
  | 'xml_elements'
  | 'json_depth'
  | 'messages_per_body'
  | 'vertices_per_alert'
  | 'polygons_per_alert'
  | 'circle_radius'
  | 'sent_ahead'
  | 'text_cut';

/**
 * Bodies and messages refused (or texts cut) by a limit, by limit. The parser is pure and knows no app,
 * so the counter is the process's and each app's registry shows it (`registerParseLimitMetrics`).
 */
const METRIC = 'madad_alert_limit_refusals_total';

export const limitRefusals = new Counter({
  name: METRIC,
  help: 'Alert bodies or messages refused, or texts cut, by the parser limit they met',
  labelNames: ['limit'] as const,
  registers: [],
});

export function countRefusal(limit: LimitName): void {
  limitRefusals.inc({ limit });
}

/** Shows the counter in an app's registry (several apps in one process share the process's count). */
export function registerParseLimitMetrics(registry: Registry): void {
  if (!registry.getSingleMetric(METRIC)) registry.registerMetric(limitRefusals);
}
