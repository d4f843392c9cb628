/**
 * The shape every alert parser produces. The vocabulary (hazard, severity, urgency, certainty, status,
 * metrics) is the trigger layer's, so a parsed alert can be evaluated without translation.
 */
import type { Geometry } from 'geojson';
import type { AlertStatus, Certainty, Hazard, HazardMetrics, Severity, Urgency } from '../../../triggers/subject.ts';

export type AlertSource = 'cap' | 'gdacs' | 'usgs' | 'madad';

/** The wire format a message was read from; `meteoalarm-atom` is the MeteoAlarm index, which carries only cap:* summary fields. */
export type AlertFormat =
  | 'cap-1.2'
  | 'cap-1.1'
  | 'cap-1.0'
  | 'meteoalarm-atom'
  | 'gdacs-rss'
  | 'gdacs-api'
  | 'usgs-geojson'
  | 'madad-json';

/** The container around several messages, when the body is not a single message. */
export type Container = 'cap-alerts' | 'edxl-de' | 'atom' | 'rss' | 'feature-collection' | 'json-array';

export type MsgType = 'Alert' | 'Update' | 'Cancel' | 'Ack' | 'Error';
export type Scope = 'Public' | 'Restricted' | 'Private';

/** A CAP `references` triple (OASIS CAP 1.2 §3.2.1: "sender,identifier,sent", space separated). */
export interface AlertReference {
  sender: string;
  identifier: string;
  /** ISO 8601 in UTC. */
  sent: string;
}

export interface NamedValue {
  valueName: string;
  value: string;
}

/** One language's text of an alert (a CAP `<info>` block, or the one text a feed gives). */
export interface AlertInfo {
  /** RFC 3066 tag as given; CAP's default `en-US` when the source gives none. */
  language: string;
  event: string;
  headline?: string;
  description?: string;
  instruction?: string;
  web?: string;
  senderName?: string;
  eventCodes: NamedValue[];
  /** CAP `<parameter>`s as given, for values the normalised metrics do not carry. */
  parameters: NamedValue[];
}

export interface AlertArea {
  /** The union of the message's areas in [lon, lat]; null when only geocodes or descriptions are known. */
  geometry: Geometry | null;
  /** `areaDesc` texts, whitespace collapsed, without duplicates. */
  descriptions: string[];
  /** Geocodes exactly as given; resolving them against a gazetteer is the caller's job. */
  geocodes: NamedValue[];
}

export interface NormalizedAlert {
  source: AlertSource;
  format: AlertFormat;
  sender: string;
  identifier: string;
  /** ISO 8601 in UTC (`toISOString()`). */
  sent: string;
  status: AlertStatus;
  msgType: MsgType;
  scope: Scope;
  references: AlertReference[];
  incidents: string[];
  /** CAP response types over all infos (e.g. `AllClear`, `Monitor`): the caller's hint for a soft cancel. */
  responseType?: string[];
  infos: AlertInfo[];
  hazard: Hazard;
  severity: Severity;
  urgency: Urgency;
  certainty: Certainty;
  metrics: HazardMetrics;
  effective?: string;
  onset?: string;
  expires?: string;
  area: AlertArea;
  /** CAP `<note>` text, when the sender wrote one. */
  note?: string;
  /** What the parser noticed and decided about this message (same strings as the result's `warnings`). */
  notes: string[];
}

export type MessageResult =
  | { ok: true; alert: NormalizedAlert; warnings: string[] }
  | { ok: false; identifier?: string; reason: string };

export interface ParseOutcome {
  /** The messages' format (for a feed, the format of the messages it carries). */
  format: AlertFormat;
  container?: Container;
  messages: MessageResult[];
}
