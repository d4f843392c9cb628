/**
 * USGS earthquake GeoJSON (earthquake.usgs.gov/earthquakes/feed/v1.0/geojson.php): a summary
 * FeatureCollection (one message per event) or one event's detail Feature. The event id is the
 * identifier; `updated` is when this version was sent, so a later version of the same event is newer.
 */
import type { Geometry, Point } from 'geojson';
import type { HazardMetrics, Severity } from '../../../triggers/subject.ts';
import type { MessageResult, NormalizedAlert } from './types.ts';
import { MessageRejected } from './error.ts';
import { assertGeometry } from './geometry.ts';
import { runMessage } from './message.ts';
import { mmiValue, pagerLevel } from './metrics.ts';
import { epochMsToIso } from './time.ts';

type Props = Record<string, unknown>;
export interface UsgsFeature {
  type?: unknown;
  id?: unknown;
  geometry?: Geometry | null;
  properties?: Props | null;
}

export function isUsgsFeature(f: unknown): f is UsgsFeature {
  const p = (f as UsgsFeature | null)?.properties;
  return !!p && typeof p === 'object' && 'mag' in p && typeof p.time === 'number' && ('alert' in p || 'tsunami' in p || 'sig' in p);
}

/**
 * PAGER alert colour as CAP severity: PAGER's levels are estimated fatalities and losses (green: none
 * expected … red: 1,000+ deaths), which is what CAP's Minor…Extreme describe. No PAGER, no severity.
 */
const SEVERITY: Record<string, Severity> = { green: 'Minor', yellow: 'Moderate', orange: 'Severe', red: 'Extreme' };

export function readUsgsFeature(f: UsgsFeature): MessageResult {
  const id = typeof f.id === 'string' ? f.id : undefined;
  return runMessage(id, (warnings) => toAlert(f, id, warnings));
}

function toAlert(f: UsgsFeature, id: string | undefined, warnings: string[]): NormalizedAlert {
  const p = f.properties!;
  if (!id) throw new MessageRejected('The USGS feature has no id.');
  const sent = epochMsToIso(p.updated) ?? epochMsToIso(p.time);
  if (!sent) throw new MessageRejected('The USGS feature has no readable `updated` or `time`.', id);
  const g: unknown = f.geometry;
  if (!g || (g as Geometry).type !== 'Point') throw new MessageRejected('The USGS feature has no Point geometry.', id);
  assertGeometry(g, 'The epicentre');
  const [lon, lat, depth] = (g as Point).coordinates;
  const point: Geometry = { type: 'Point', coordinates: [lon!, lat!] };
  warnings.push('The area is the epicentre only; shaking extends beyond it (the ShakeMap product has the footprint).');

  const metrics: HazardMetrics = {};
  if (typeof p.mag === 'number') metrics.magnitude = p.mag;
  if (typeof p.magType === 'string') metrics.magnitudeType = p.magType;
  // USGS GeoJSON: the third coordinate is depth in km (positive down).
  if (typeof depth === 'number') metrics.depthKm = depth;
  const mmi = mmiValue(p.mmi);
  if (mmi !== undefined) metrics.mmi = mmi;
  else if (p.mmi !== null && p.mmi !== undefined) warnings.push(`USGS mmi ${String(p.mmi)} is not an intensity (1-12); not set.`);
  if (typeof p.cdi === 'number') metrics.cdi = p.cdi;
  const pager = pagerLevel(typeof p.alert === 'string' ? p.alert : undefined);
  if (pager) metrics.pagerAlert = pager;
  if (typeof p.tsunami === 'number') metrics.tsunami = p.tsunami;
  if (typeof p.sig === 'number') metrics.significance = p.sig;
  if (typeof p.felt === 'number') metrics.felt = p.felt;

  const onset = epochMsToIso(p.time);
  const title = typeof p.title === 'string' ? p.title : undefined;
  const place = typeof p.place === 'string' ? p.place : undefined;
  const url = typeof p.url === 'string' ? p.url : undefined;
  if (p.type !== undefined && p.type !== 'earthquake') warnings.push(`USGS event type is "${String(p.type)}", not earthquake.`);
  return {
    source: 'usgs',
    format: 'usgs-geojson',
    sender: 'earthquake.usgs.gov',
    identifier: id,
    sent,
    // USGS marks review, not exercises: every event in the feeds is real.
    status: 'Actual',
    msgType: 'Alert',
    scope: 'Public',
    references: [],
    incidents: [],
    infos: [
      {
        language: 'en',
        event: 'Earthquake',
        ...(title ? { headline: title } : {}),
        ...(place ? { description: place } : {}),
        ...(url ? { web: url } : {}),
        eventCodes: [],
        parameters: [],
      },
    ],
    hazard: p.type === undefined || p.type === 'earthquake' ? 'earthquake' : 'other',
    severity: pager ? SEVERITY[pager]! : 'Unknown',
    urgency: 'Past',
    certainty: 'Observed',
    metrics,
    ...(onset ? { onset } : {}),
    area: { geometry: point, descriptions: place ? [place] : [], geocodes: [] },
    notes: warnings,
  };
}
