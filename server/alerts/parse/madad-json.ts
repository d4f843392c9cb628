/**
 * Madad's own alert JSON: how a disaster management authority (NDMA, a PDMA) posts an alert straight
 * to Madad, in the normalised vocabulary, without writing CAP XML.
 *
 * {
 *   "source": "madad",
 *   "sender": "ndma.gov.pk",                      // who issues it
 *   "identifier": "NDMA-2025-0142",               // unique per sender
 *   "sent": "2025-08-14T09:00:00+05:00",          // ISO 8601 with offset
 *   "status": "Actual", "msgType": "Alert",       // CAP values; "scope" defaults to "Public"
 *   "references": [{ "sender", "identifier", "sent" }],   // for Update/Cancel
 *   "incidents": ["MONSOON-2025"],
 *   "hazard": "flash_flood",                      // triggers/subject.ts HAZARDS
 *   "severity": "Severe", "urgency": "Immediate", "certainty": "Likely",
 *   "responseType": ["Evacuate"],
 *   "language": "ur", "event": "…", "headline": "…", "description": "…", "instruction": "…", "web": "…",
 *   "translations": [{ "language": "en", "headline": "…", … }],
 *   "metrics": { "magnitude": 6.1, "awarenessLevel": 3, … },   // HazardMetrics
 *   "effective", "onset", "expires",              // ISO 8601 with offset
 *   "area": {
 *     "geometry": { GeoJSON Polygon | MultiPolygon | Point | GeometryCollection, [lon, lat] },
 *     "descriptions": ["District Swat"],
 *     "areaCodes": ["PK604"],                     // P-codes; kept as geocodes named "pcode"
 *     "geocodes": [{ "valueName": "pcode", "value": "PK604" }]
 *   }
 * }
 *
 * A body is one such object, an array of them, or { "alerts": [ … ] }; each is checked on its own.
 */
import { z } from 'zod';
import type { Geometry } from 'geojson';
import { CERTAINTIES, GDACS_LEVELS, HAZARDS, PAGER_LEVELS, SEVERITIES, URGENCIES } from '../../../triggers/subject.ts';
import type { MessageResult, NamedValue, NormalizedAlert } from './types.ts';
import { MessageRejected } from './error.ts';
import { assertGeometry, toRing } from './geometry.ts';
import { runMessage } from './message.ts';

const isoTime = z.iso.datetime({ offset: true });

const geometry = z.custom<Geometry>(isGeometry, { message: 'must be a GeoJSON Polygon, MultiPolygon, Point or GeometryCollection in [lon, lat]' });

const text = z.string().trim().min(1);

const metrics = z
  .object({
    magnitude: z.number().optional(),
    depthKm: z.number().nonnegative().optional(),
    mmi: z.number().min(1).max(12).optional(),
    pagerAlert: z.enum(PAGER_LEVELS).optional(),
    gdacsAlertLevel: z.enum(GDACS_LEVELS).optional(),
    gdacsScore: z.number().optional(),
    awarenessLevel: z.number().int().min(1).max(4).optional(),
    windSpeedKmh: z.number().nonnegative().optional(),
    stormSurgeM: z.number().optional(),
    exposedPopulation: z.number().int().nonnegative().optional(),
  })
  .catchall(z.union([z.number(), z.string()]));

const namedValue = z.object({ valueName: z.string(), value: text });

const translation = z.object({
  language: text,
  event: text.optional(),
  headline: text,
  description: text.optional(),
  instruction: text.optional(),
  web: z.url().optional(),
});

export const madadAlertSchema = z.object({
  source: z.literal('madad'),
  sender: text,
  identifier: text,
  sent: isoTime,
  status: z.enum(['Actual', 'Exercise', 'System', 'Test', 'Draft']),
  msgType: z.enum(['Alert', 'Update', 'Cancel', 'Ack', 'Error']),
  scope: z.enum(['Public', 'Restricted', 'Private']).default('Public'),
  references: z.array(z.object({ sender: text, identifier: text, sent: isoTime })).default([]),
  incidents: z.array(text).default([]),
  hazard: z.enum(HAZARDS),
  severity: z.enum(SEVERITIES),
  urgency: z.enum(URGENCIES),
  certainty: z.enum(CERTAINTIES),
  responseType: z.array(text).optional(),
  language: text.default('en'),
  event: text.optional(),
  headline: text,
  description: text.optional(),
  instruction: text.optional(),
  web: z.url().optional(),
  translations: z.array(translation).default([]),
  metrics: metrics.default({}),
  effective: isoTime.optional(),
  onset: isoTime.optional(),
  expires: isoTime.optional(),
  area: z.object({
    geometry: geometry.nullable().optional(),
    descriptions: z.array(text).default([]),
    areaCodes: z.array(text).default([]),
    geocodes: z.array(namedValue).default([]),
  }),
});

export type MadadAlertInput = z.input<typeof madadAlertSchema>;

/** The alerts of a body: one object, an array of them, or `{ "alerts": [ … ] }`. */
export function madadItems(value: unknown): unknown[] {
  return Array.isArray(value) ? value : isWrapper(value) ? value.alerts : [value];
}

export function isMadadJson(value: unknown): boolean {
  const items = madadItems(value);
  return items.length > 0 && items.every((v) => (v as { source?: unknown } | null)?.source === 'madad');
}

function isWrapper(value: unknown): value is { alerts: unknown[] } {
  return !!value && typeof value === 'object' && Array.isArray((value as { alerts?: unknown }).alerts);
}

export function readMadadJson(value: unknown): MessageResult[] {
  return madadItems(value).map((item) => {
    const hint = typeof (item as { identifier?: unknown })?.identifier === 'string' ? (item as { identifier: string }).identifier : undefined;
    return runMessage(hint, (warnings) => toAlert(item, hint, warnings));
  });
}

const utc = (t: string | undefined) => (t ? new Date(t).toISOString() : undefined);

function toAlert(item: unknown, hint: string | undefined, warnings: string[]): NormalizedAlert {
  const parsed = madadAlertSchema.safeParse(item);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new MessageRejected(`The Madad alert JSON is invalid: ${problems}.`, hint);
  }
  const a = parsed.data;
  const g = a.area.geometry ?? null;
  if (g) assertGeometry(g, 'area.geometry');
  const geocodes: NamedValue[] = [...a.area.geocodes];
  for (const code of a.area.areaCodes) {
    if (!geocodes.some((x) => x.value === code)) geocodes.push({ valueName: 'pcode', value: code });
  }
  if (!g && geocodes.length === 0) warnings.push('The alert has neither geometry nor area codes; nobody can be matched to it.');
  const effective = utc(a.effective);
  const onset = utc(a.onset);
  const expires = utc(a.expires);
  return {
    source: 'madad',
    format: 'madad-json',
    sender: a.sender,
    identifier: a.identifier,
    sent: utc(a.sent)!,
    status: a.status,
    msgType: a.msgType,
    scope: a.scope,
    references: a.references.map((r) => ({ ...r, sent: utc(r.sent)! })),
    incidents: a.incidents,
    ...(a.responseType ? { responseType: a.responseType } : {}),
    infos: [
      {
        language: a.language,
        event: a.event ?? a.hazard,
        headline: a.headline,
        ...(a.description ? { description: a.description } : {}),
        ...(a.instruction ? { instruction: a.instruction } : {}),
        ...(a.web ? { web: a.web } : {}),
        eventCodes: [],
        parameters: [],
      },
      ...a.translations.map((t) => ({ ...t, event: t.event ?? a.event ?? a.hazard, eventCodes: [], parameters: [] })),
    ],
    hazard: a.hazard,
    severity: a.severity,
    urgency: a.urgency,
    certainty: a.certainty,
    metrics: a.metrics,
    ...(effective ? { effective } : {}),
    ...(onset ? { onset } : {}),
    ...(expires ? { expires } : {}),
    area: { geometry: g, descriptions: a.area.descriptions, geocodes },
    notes: warnings,
  };
}

const isPosition = (p: unknown): boolean => Array.isArray(p) && p.length >= 2 && p.length <= 3 && p.every((n) => typeof n === 'number');

/** A closed ring of at least four positions with some area (RFC 7946 §3.1.6). */
const isRing = (r: unknown): boolean => Array.isArray(r) && r.every(isPosition) && toRing(r as number[][]).ring !== undefined && closed(r as number[][]);

function closed(r: number[][]): boolean {
  const a = r[0]!;
  const b = r[r.length - 1]!;
  return a[0] === b[0] && a[1] === b[1];
}

function isGeometry(g: unknown): boolean {
  if (!g || typeof g !== 'object') return false;
  const { type, coordinates, geometries } = g as { type?: unknown; coordinates?: unknown; geometries?: unknown };
  if (type === 'Point') return isPosition(coordinates);
  if (type === 'Polygon') return Array.isArray(coordinates) && coordinates.length > 0 && coordinates.every(isRing);
  if (type === 'MultiPolygon') return Array.isArray(coordinates) && coordinates.length > 0 && coordinates.every((p) => Array.isArray(p) && p.length > 0 && p.every(isRing));
  if (type === 'GeometryCollection') return Array.isArray(geometries) && geometries.length > 0 && geometries.every(isGeometry);
  return false;
}

