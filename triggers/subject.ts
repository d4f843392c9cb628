/**
 * What a trigger rule is evaluated against: an alert (as normalized by the alert adapters) or an event
 * declared by a disaster management authority. Plain data; the server maps its rows into this shape.
 */

/** CAP 1.2 severity, certainty and urgency values (OASIS CAP 1.2 §3.2.2). */
export const SEVERITIES = ['Unknown', 'Minor', 'Moderate', 'Severe', 'Extreme'] as const;
export const CERTAINTIES = ['Unknown', 'Unlikely', 'Possible', 'Likely', 'Observed'] as const;
export const URGENCIES = ['Unknown', 'Past', 'Future', 'Expected', 'Immediate'] as const;
export type Severity = (typeof SEVERITIES)[number];
export type Certainty = (typeof CERTAINTIES)[number];
export type Urgency = (typeof URGENCIES)[number];

export const HAZARDS = [
  'flood',
  'riverine_flood',
  'flash_flood',
  'glof',
  'earthquake',
  'tsunami',
  'cyclone',
  'storm',
  'heatwave',
  'coldwave',
  'drought',
  'landslide',
  'fire',
  'other',
] as const;
export type Hazard = (typeof HAZARDS)[number];

/** USGS PAGER alert levels, in order. */
export const PAGER_LEVELS = ['green', 'yellow', 'orange', 'red'] as const;
export type PagerLevel = (typeof PAGER_LEVELS)[number];
/** GDACS alert levels, in order. */
export const GDACS_LEVELS = ['green', 'orange', 'red'] as const;
export type GdacsLevel = (typeof GDACS_LEVELS)[number];

/** Hazard metrics an alert may carry; absent when the source does not give them. */
export interface HazardMetrics {
  magnitude?: number;
  depthKm?: number;
  /** Modified Mercalli intensity, 1-12 (may be fractional, as USGS gives it). */
  mmi?: number;
  pagerAlert?: PagerLevel;
  gdacsAlertLevel?: GdacsLevel;
  gdacsScore?: number;
  /** MeteoAlarm awareness level: 1 green, 2 yellow, 3 orange, 4 red. */
  awarenessLevel?: number;
  windSpeedKmh?: number;
  stormSurgeM?: number;
  exposedPopulation?: number;
  /** Any other named metric from a CAP parameter or a feed, by its name. */
  [name: string]: number | string | undefined;
}

export type AlertStatus = 'Actual' | 'Exercise' | 'System' | 'Test' | 'Draft';

export interface AlertSubject {
  kind: 'alert';
  id: string;
  hazard: Hazard;
  status: AlertStatus;
  msgType: 'Alert' | 'Update' | 'Cancel' | 'Ack' | 'Error';
  severity: Severity;
  certainty: Certainty;
  urgency: Urgency;
  metrics: HazardMetrics;
  /** Area codes (P-codes) the alert's area resolved to; empty when only geometry is known. */
  areaCodes: string[];
  /** Whether the alert is in force (not cancelled, superseded, expired or ended). */
  active: boolean;
  sent: string;
  expires?: string;
}

export interface EventSubject {
  kind: 'event';
  id: string;
  hazard: Hazard;
  status: 'draft' | 'declared' | 'closed';
  /** Declared (notified) area codes. */
  areaCodes: string[];
  declaredAt?: string;
  /** The strongest values of the alerts attached to the event, when any are. */
  severity?: Severity;
  certainty?: Certainty;
  urgency?: Urgency;
  metrics: HazardMetrics;
}

export type Subject = AlertSubject | EventSubject;
