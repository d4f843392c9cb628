import type { Geometry } from 'geojson';
import { inArray } from 'drizzle-orm';
import {
  CERTAINTIES,
  SEVERITIES,
  URGENCIES,
  type AlertSubject,
  type Certainty,
  type EventSubject,
  type Hazard,
  type HazardMetrics,
  type Severity,
  type Urgency,
} from '../../triggers/index.ts';
import type { Db } from '../db/client.ts';
import { alerts, events } from '../db/schema/index.ts';

type AlertRow = typeof alerts.$inferSelect;
type EventRow = typeof events.$inferSelect;

/** Alert states after which an activation must not carry on: the hazard was called off. */
export const STOPPING_STATES = new Set(['cancelled', 'ended']);

/** The fields an alert brings to a decision, whether stored, parsed from a file or written inline. */
type AlertFields = Pick<AlertSubject, 'hazard' | 'status' | 'msgType' | 'severity' | 'certainty' | 'urgency' | 'metrics'>;

/** An alert as the trigger core sees it: its own fields, plus where it stands and whether it is in force. */
export function toAlertSubject(a: AlertFields, at: Pick<AlertSubject, 'id' | 'areaCodes' | 'active' | 'sent' | 'expires'>): AlertSubject {
  const { hazard, status, msgType, severity, certainty, urgency, metrics } = a;
  return {
    kind: 'alert',
    id: at.id,
    hazard,
    status,
    msgType,
    severity,
    certainty,
    urgency,
    metrics,
    areaCodes: at.areaCodes,
    active: at.active,
    sent: at.sent,
    ...(at.expires ? { expires: at.expires } : {}),
  };
}

/**
 * A stored alert as the trigger core sees it. In force means state active and not past `expires` at `now`
 * (the expiry job may not have run yet); superseded, cancelled, ended and expired alerts are not in force.
 */
export function alertSubject(row: AlertRow, now: Date): AlertSubject {
  return toAlertSubject(row as unknown as AlertFields, {
    id: row.id,
    areaCodes: row.areaCodes,
    active: row.state === 'active' && (!row.expires || row.expires > now),
    sent: row.sent.toISOString(),
    ...(row.expires ? { expires: row.expires.toISOString() } : {}),
  });
}

/** Only polygons select households; an epicentre point does not. */
export function areaGeometry(geometry: unknown): Geometry | null {
  const g = geometry as Geometry | null;
  return g && (g.type === 'Polygon' || g.type === 'MultiPolygon') ? g : null;
}

const strongest = <T extends string>(order: readonly T[], values: (string | undefined)[]): T | undefined => {
  let best = -1;
  for (const v of values) best = Math.max(best, order.indexOf(v as T));
  return best < 0 ? undefined : order[best];
};

/** The strongest severity, certainty, urgency and metrics of the alerts an event carries. */
function strongestOf(rows: AlertRow[]): Pick<EventSubject, 'severity' | 'certainty' | 'urgency' | 'metrics'> {
  const metrics: HazardMetrics = {};
  for (const r of rows) {
    for (const [k, v] of Object.entries(r.metrics as HazardMetrics)) {
      const had = metrics[k];
      if (typeof v === 'number') metrics[k] = typeof had === 'number' ? Math.max(had, v) : v;
      else if (v !== undefined && had === undefined) metrics[k] = v;
    }
  }
  const severity = strongest(SEVERITIES, rows.map((r) => r.severity));
  const certainty = strongest(CERTAINTIES, rows.map((r) => r.certainty));
  const urgency = strongest(URGENCIES, rows.map((r) => r.urgency));
  return { metrics, ...(severity ? { severity } : {}), ...(certainty ? { certainty } : {}), ...(urgency ? { urgency } : {}) };
}

/** A declared event as the trigger core sees it, with the strongest values of the alerts attached to it. */
export async function eventSubject(db: Db, row: EventRow): Promise<EventSubject> {
  const attached = row.alertIds.length ? await db.select().from(alerts).where(inArray(alerts.id, row.alertIds)) : [];
  return {
    kind: 'event',
    id: row.id,
    hazard: row.hazard as Hazard,
    status: row.status as EventSubject['status'],
    areaCodes: row.areaCodes,
    ...(row.declaredAt ? { declaredAt: row.declaredAt.toISOString() } : {}),
    ...strongestOf(attached),
  };
}
