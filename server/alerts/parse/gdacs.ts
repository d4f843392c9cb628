/**
 * GDACS (Global Disaster Alert and Coordination System, gdacs.org): the RSS feed's `gdacs:` items and the
 * JSON API's event features (`events/geteventdata`, `polygons/getgeometry`). One message per episode of
 * an event; the event is the incident, so the caller can follow episodes of one event.
 */
import type { Geometry, Polygon, MultiPolygon, Position } from 'geojson';
import type { Certainty, HazardMetrics, Severity, Urgency } from '../../../triggers/subject.ts';
import type { AlertFormat, MessageResult, NormalizedAlert } from './types.ts';
import { MessageRejected } from './error.ts';
import { assertGeometry, joinGeometry } from './geometry.ts';
import { hazardFromGdacs } from './hazard.ts';
import { runMessage } from './message.ts';
import { gdacsLevel, lengthKm, round, speedKmh } from './metrics.ts';
import { parseTime } from './time.ts';
import { kid, textOf, type XmlElement } from './xml.ts';

export const GDACS_NS = 'http://www.gdacs.org';
const GEORSS_NS = 'http://www.georss.org/georss';

/** The facts GDACS gives about one episode, whichever of its formats they came from. */
interface GdacsEpisode {
  format: AlertFormat;
  eventType: string;
  eventId: string;
  episodeId: string;
  alertLevel?: string;
  alertScore?: number;
  episodeAlertLevel?: string;
  severityValue?: number;
  severityUnit?: string;
  severityText?: string;
  populationValue?: number;
  populationUnit?: string;
  /** Times as GDACS writes them (RFC 822 in RSS, UTC without offset in the API). */
  sent?: string;
  fromDate?: string;
  toDate?: string;
  isCurrent?: boolean;
  title?: string;
  description?: string;
  link?: string;
  country?: string;
  geometry: Geometry | null;
}

/**
 * GDACS alert colours as CAP severity. GDACS's colour is an estimate of humanitarian impact, not CAP's
 * threat-to-life scale; trigger rules should test the `gdacsAlertLevel` metric, which is exact.
 */
const SEVERITY: Record<string, Severity> = { green: 'Minor', orange: 'Moderate', red: 'Severe' };

function toAlert(e: GdacsEpisode, warnings: string[]): NormalizedAlert {
  const type = e.eventType.toUpperCase();
  const identifier = `GDACS_${type}_${e.eventId}_${e.episodeId}`;
  const sentTime = parseTime(e.sent) ?? parseTime(e.toDate) ?? parseTime(e.fromDate);
  if (!sentTime) throw new MessageRejected(`GDACS ${identifier} has no readable publication time.`, identifier);
  const level = gdacsLevel(e.alertLevel);
  if (e.alertLevel && !level) warnings.push(`GDACS alert level "${e.alertLevel}" is not Green, Orange or Red.`);
  const metrics: HazardMetrics = {};
  if (level) metrics.gdacsAlertLevel = level;
  if (e.alertScore !== undefined) metrics.gdacsScore = e.alertScore;
  const episodeLevel = gdacsLevel(e.episodeAlertLevel);
  if (episodeLevel && episodeLevel !== level) metrics.gdacsEpisodeAlertLevel = episodeLevel;
  Object.assign(metrics, severityMetrics(type, e, warnings));
  if (e.populationValue !== undefined && e.populationUnit) {
    metrics.exposedPopulation = e.populationValue;
    metrics.exposedPopulationBasis = e.populationUnit;
  }
  const from = parseTime(e.fromDate)?.iso;
  const to = parseTime(e.toDate)?.iso;
  if (from) metrics.gdacsFromDate = from;
  if (to) metrics.gdacsToDate = to;
  if (e.isCurrent === false) warnings.push('GDACS marks this episode as no longer current.');
  if (e.geometry?.type === 'Point') warnings.push('GDACS gives only the event\'s point here; the affected area is in polygons/getgeometry.');
  const hazard = hazardFromGdacs(type);
  const urgency: Urgency = type === 'EQ' || e.isCurrent === false ? 'Past' : 'Unknown';
  // Cyclone alerts rest on forecast tracks; the other types on detected events.
  const certainty: Certainty = type === 'TC' ? 'Likely' : 'Observed';
  return {
    source: 'gdacs',
    format: e.format,
    sender: 'gdacs.org',
    identifier,
    sent: sentTime.iso,
    status: 'Actual',
    msgType: 'Alert',
    scope: 'Public',
    references: [],
    incidents: [`GDACS_${type}_${e.eventId}`],
    infos: [
      {
        language: 'en',
        event: e.title ?? `${type} event ${e.eventId}`,
        ...(e.title ? { headline: e.title } : {}),
        ...(e.description ? { description: e.description } : {}),
        ...(e.link ? { web: e.link } : {}),
        eventCodes: [{ valueName: 'GDACS', value: type }],
        parameters: [],
      },
    ],
    hazard,
    severity: level ? SEVERITY[level]! : 'Unknown',
    urgency,
    certainty,
    metrics,
    ...(from ? { onset: from } : {}),
    area: { geometry: e.geometry, descriptions: e.country ? [e.country] : [], geocodes: [] },
    notes: warnings,
  };
}

/** `gdacs:severity` means magnitude for earthquakes, maximum wind for cyclones, area for droughts. */
function severityMetrics(type: string, e: GdacsEpisode, warnings: string[]): HazardMetrics {
  const v = e.severityValue;
  if (v === undefined || !Number.isFinite(v)) return {};
  if (type === 'EQ') {
    const depth = /depth:?\s*([\d.]+\s*km)/i.exec(e.severityText ?? e.title ?? '');
    return { magnitude: v, ...(depth ? { depthKm: lengthKm(depth[1]!) } : {}) };
  }
  if (type === 'TC') {
    const kmh = speedKmh(v, e.severityUnit || undefined);
    if (kmh === undefined) {
      warnings.push(`GDACS cyclone speed unit "${e.severityUnit}" is not one we read; windSpeedKmh not set.`);
      return {};
    }
    return { windSpeedKmh: round(kmh, 1) };
  }
  if (type === 'DR' && /km2/i.test(e.severityUnit ?? '')) return { affectedAreaKm2: v };
  return e.severityUnit ? { gdacsSeverity: v, gdacsSeverityUnit: e.severityUnit } : {};
}

function num(text: string | undefined | null): number | undefined {
  if (text === undefined || text === null || String(text).trim() === '') return undefined;
  const n = Number(text);
  return Number.isFinite(n) ? n : undefined;
}

export function isGdacsItem(item: XmlElement): boolean {
  return kid(item, 'eventtype', [GDACS_NS]) !== undefined;
}

export function readGdacsItem(item: XmlElement): MessageResult {
  const g = [GDACS_NS];
  const type = textOf(item, 'eventtype', g);
  const eventId = textOf(item, 'eventid', g);
  const episodeId = textOf(item, 'episodeid', g);
  const hint = type && eventId ? `GDACS_${type}_${eventId}_${episodeId ?? '?'}` : textOf(item, 'guid');
  return runMessage(hint, (warnings) => {
    if (!type || !eventId || !episodeId) throw new MessageRejected('The GDACS item lacks gdacs:eventtype, gdacs:eventid or gdacs:episodeid.', hint);
    const severity = kid(item, 'severity', g);
    const population = kid(item, 'population', g);
    return toAlert(
      {
        format: 'gdacs-rss',
        eventType: type,
        eventId,
        episodeId,
        alertLevel: textOf(item, 'alertlevel', g),
        alertScore: num(textOf(item, 'alertscore', g)),
        episodeAlertLevel: textOf(item, 'episodealertlevel', g),
        severityValue: num(severity?.attrs.value),
        severityUnit: severity?.attrs.unit,
        severityText: severity?.text,
        populationValue: num(population?.attrs.value),
        populationUnit: population?.attrs.unit,
        sent: textOf(item, 'pubDate'),
        fromDate: textOf(item, 'fromdate', g),
        toDate: textOf(item, 'todate', g),
        isCurrent: boolOf(textOf(item, 'iscurrent', g)),
        title: textOf(item, 'title'),
        description: textOf(item, 'description'),
        link: textOf(item, 'link'),
        country: textOf(item, 'country', g),
        geometry: rssPoint(textOf(item, 'point', [GEORSS_NS]), hint),
      },
      warnings,
    );
  });
}

function boolOf(text: string | undefined | null): boolean | undefined {
  const t = String(text ?? '').trim().toLowerCase();
  return t === 'true' ? true : t === 'false' ? false : undefined;
}

/** GeoRSS Simple point: "lat lon" (georss.org/simple). */
function rssPoint(text: string | undefined, identifier: string | undefined): Geometry | null {
  if (!text) return null;
  const [lat, lon] = text.trim().split(/\s+/).map(Number);
  const geometry: Geometry = { type: 'Point', coordinates: [lon ?? NaN, lat ?? NaN] };
  try {
    assertGeometry(geometry, 'georss:point');
  } catch (e) {
    if (e instanceof MessageRejected) throw new MessageRejected(e.reason, identifier);
    throw e;
  }
  return geometry;
}

type Props = Record<string, unknown>;
interface JsonFeature {
  type?: unknown;
  geometry?: Geometry | null;
  properties?: Props | null;
}

export function isGdacsFeature(f: unknown): f is JsonFeature {
  const p = (f as JsonFeature | null)?.properties;
  return !!p && typeof p === 'object' && typeof p.eventtype === 'string' && p.eventid !== undefined && 'alertlevel' in p;
}

/**
 * API features grouped by episode: `getgeometry` returns a centroid and the affected polygons of one
 * episode; the polygons are its area when present, the centroid otherwise.
 */
export function readGdacsFeatures(features: JsonFeature[]): MessageResult[] {
  const groups = new Map<string, JsonFeature[]>();
  for (const f of features) {
    const p = f.properties!;
    const key = `${p.eventtype}_${p.eventid}_${p.episodeid}`;
    groups.set(key, [...(groups.get(key) ?? []), f]);
  }
  return [...groups.values()].map((group) => {
    const p = group[0]!.properties!;
    const hint = `GDACS_${String(p.eventtype).toUpperCase()}_${p.eventid}_${p.episodeid}`;
    return runMessage(hint, (warnings) => {
      if (p.episodeid === undefined || p.episodeid === null) throw new MessageRejected('The GDACS feature has no episodeid.', hint);
      const polygons: Position[][][] = [];
      const points: Position[] = [];
      for (const f of group) {
        const g = f.geometry;
        if (!g) continue;
        assertGeometry(g, `GDACS ${String(f.properties?.Class ?? 'feature')} geometry`);
        if (g.type === 'Polygon') polygons.push((g as Polygon).coordinates);
        else if (g.type === 'MultiPolygon') polygons.push(...(g as MultiPolygon).coordinates);
        else if (g.type === 'Point') points.push(g.coordinates);
      }
      const geometry = polygons.length > 0 ? joinGeometry(polygons, []) : joinGeometry([], points);
      const sev = (p.severitydata ?? {}) as Props;
      const url = (p.url ?? {}) as Props;
      return toAlert(
        {
          format: 'gdacs-api',
          eventType: String(p.eventtype),
          eventId: String(p.eventid),
          episodeId: String(p.episodeid),
          alertLevel: typeof p.alertlevel === 'string' ? p.alertlevel : undefined,
          alertScore: num(p.alertscore as string),
          episodeAlertLevel: typeof p.episodealertlevel === 'string' ? p.episodealertlevel : undefined,
          severityValue: num(sev.severity as string),
          severityUnit: typeof sev.severityunit === 'string' ? sev.severityunit : undefined,
          severityText: typeof sev.severitytext === 'string' ? sev.severitytext : undefined,
          // The API's times are UTC written without an offset; parseTime reads them as UTC.
          sent: str(p.datemodified) ?? str(p.todate),
          fromDate: str(p.fromdate),
          toDate: str(p.todate),
          isCurrent: boolOf(p.iscurrent as string),
          title: str(p.htmldescription) ?? str(p.name),
          description: str(p.description),
          link: str(url.report),
          country: str(p.country),
          geometry,
        },
        warnings,
      );
    });
  });
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v.trim() !== '' ? v : undefined;
}
