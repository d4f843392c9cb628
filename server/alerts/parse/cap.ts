/**
 * A CAP `<alert>` element (OASIS CAP 1.0, 1.1, 1.2) to a NormalizedAlert. Several `<info>` blocks are
 * usually the same alert in several languages; their areas are joined and their texts kept per language.
 */
import type { HazardMetrics } from '../../../triggers/subject.ts';
import type { AlertFormat, AlertInfo, AlertReference, NormalizedAlert } from './types.ts';
import { readCapAreas, namedValue } from './cap-area.ts';
import { MessageRejected } from './error.ts';
import { capHazard } from './hazard.ts';
import { pickCertainty, pickMsgType, pickScope, pickSeverity, pickStatus, pickUrgency, requireText } from './message.ts';
import { capMetrics } from './metrics.ts';
import { parseTime } from './time.ts';
import { kids, textOf, textsOf, type XmlElement } from './xml.ts';

export const CAP_NAMESPACES: Record<string, AlertFormat> = {
  'urn:oasis:names:tc:emergency:cap:1.2': 'cap-1.2',
  'urn:oasis:names:tc:emergency:cap:1.1': 'cap-1.1',
  'http://www.incident.com/cap/1.0': 'cap-1.0',
};

/** The CAP version of an `<alert>` element; a namespace-less `<alert>` is read as CAP 1.2. */
export function capFormat(el: XmlElement): AlertFormat | undefined {
  if (el.local !== 'alert') return undefined;
  if (el.ns === '') return 'cap-1.2';
  return CAP_NAMESPACES[el.ns];
}

export function isCapAlert(el: XmlElement): boolean {
  return capFormat(el) !== undefined;
}

export function readCapAlert(el: XmlElement, warnings: string[]): NormalizedAlert {
  const format = capFormat(el);
  if (!format) throw new MessageRejected(`<${el.name}> in namespace "${el.ns}" is not a CAP alert.`);
  if (el.ns === '') warnings.push('The <alert> has no CAP namespace; it was read as CAP 1.2.');
  const ns = [el.ns];
  const identifier = requireText(textOf(el, 'identifier', ns), '<identifier>');
  const sender = requireText(textOf(el, 'sender', ns), '<sender>', identifier);
  const sent = requireTime(textOf(el, 'sent', ns), '<sent>', identifier, warnings);
  const statusText = textOf(el, 'status', ns);
  const status = pickStatus(statusText);
  if (!status) throw new MessageRejected(`<status> "${statusText ?? ''}" is not one of Actual, Exercise, System, Test, Draft.`, identifier);
  const msgTypeText = textOf(el, 'msgType', ns);
  const msgType = pickMsgType(msgTypeText);
  if (!msgType) throw new MessageRejected(`<msgType> "${msgTypeText ?? ''}" is not one of Alert, Update, Cancel, Ack, Error.`, identifier);
  const scopeText = textOf(el, 'scope', ns);
  const scope = pickScope(scopeText) ?? 'Public';
  if (!pickScope(scopeText)) warnings.push(`<scope> "${scopeText ?? ''}" is missing or unknown; read as Public.`);

  const infoEls = kids(el, 'info', ns);
  const infos = infoEls.map((info) => readInfo(info, ns));
  const area = readCapAreas(infoEls, ns, warnings);

  const base = {
    source: 'cap' as const,
    format,
    sender,
    identifier,
    sent,
    status,
    msgType,
    scope,
    references: readReferences(textOf(el, 'references', ns), warnings),
    incidents: splitQuoted(textOf(el, 'incidents', ns)),
    infos,
    area,
    note: textOf(el, 'note', ns),
    notes: warnings,
  };

  if (infoEls.length === 0) {
    warnings.push(
      msgType === 'Cancel' || msgType === 'Ack' || msgType === 'Error'
        ? `The ${msgType} message has no <info>; hazard, severity, urgency and certainty are Unknown.`
        : `The ${msgType} message has no <info>, so nothing says what or how severe; hazard is 'other' and severity Unknown.`,
    );
    return { ...base, hazard: 'other', severity: 'Unknown', urgency: 'Unknown', certainty: 'Unknown', metrics: {} };
  }

  // The first info decides severity, urgency and certainty: language versions repeat the same values.
  const first = infoEls[0]!;
  const severity = pickSeverity(textOf(first, 'severity', ns), warnings);
  const urgency = pickUrgency(textOf(first, 'urgency', ns), warnings);
  const certainty = pickCertainty(textOf(first, 'certainty', ns), warnings);
  for (const other of infoEls.slice(1)) {
    const s = textOf(other, 'severity', ns);
    const u = textOf(other, 'urgency', ns);
    if ((s && s !== severity) || (u && u !== urgency)) {
      warnings.push(`The <info> blocks disagree on severity or urgency; the first one's (${severity}, ${urgency}) is used.`);
      break;
    }
  }
  const hazards = infos.map((i) => capHazard(i.event, i.eventCodes, i.parameters));
  const hazard = hazards.find((h) => h !== 'other') ?? 'other';
  const metrics: HazardMetrics = {};
  for (const info of infos) {
    for (const [k, v] of Object.entries(capMetrics(info.parameters, warnings))) if (metrics[k] === undefined) metrics[k] = v;
  }
  const responseType = [...new Set(infoEls.flatMap((i) => textsOf(i, 'responseType', ns)))];
  const times = (name: string) => infoEls.map((i) => optionalTime(textOf(i, name, ns), `<${name}>`, warnings)).filter((t): t is string => !!t).sort();
  const effective = times('effective')[0];
  const onset = times('onset')[0];
  // The message is in force until its last info expires.
  const expires = times('expires').at(-1);

  return {
    ...base,
    ...(responseType.length > 0 ? { responseType } : {}),
    hazard,
    severity,
    urgency,
    certainty,
    metrics,
    ...(effective ? { effective } : {}),
    ...(onset ? { onset } : {}),
    ...(expires ? { expires } : {}),
  };
}

function readInfo(info: XmlElement, ns: readonly string[]): AlertInfo {
  const result: AlertInfo = {
    // CAP 1.2 §3.2.2: "If not present, an implicit default value of 'en-US' SHALL be assumed."
    language: textOf(info, 'language', ns) ?? 'en-US',
    event: textOf(info, 'event', ns) ?? '',
    eventCodes: kids(info, 'eventCode', ns).flatMap((c) => namedValue(c, ns) ?? []),
    parameters: kids(info, 'parameter', ns).flatMap((c) => namedValue(c, ns) ?? []),
  };
  for (const key of ['headline', 'description', 'instruction', 'web', 'senderName'] as const) {
    const v = textOf(info, key, ns);
    if (v) result[key] = v;
  }
  return result;
}

export function requireTime(text: string | undefined, field: string, identifier: string, warnings: string[]): string {
  if (!text) throw new MessageRejected(`The message has no ${field}; it is required.`, identifier);
  const t = parseTime(text);
  if (!t) throw new MessageRejected(`${field} "${text}" is not a date-time like 2024-08-26T14:00:00+05:00.`, identifier);
  if (t.assumedUtc) warnings.push(`${field} "${text}" has no time zone; it was read as UTC.`);
  return t.iso;
}

function optionalTime(text: string | undefined, field: string, warnings: string[]): string | undefined {
  if (!text) return undefined;
  const t = parseTime(text);
  if (!t) warnings.push(`${field} "${text}" is not a date-time; ignored.`);
  else if (t.assumedUtc) warnings.push(`${field} "${text}" has no time zone; it was read as UTC.`);
  return t?.iso;
}

/** CAP 1.2 §3.2.1 references: space-separated "sender,identifier,sent" triples. */
export function readReferences(text: string | undefined, warnings: string[]): AlertReference[] {
  if (!text) return [];
  return text
    .split(/\s+/)
    .filter(Boolean)
    .flatMap((triple) => {
      const parts = triple.split(',');
      const sent = parts.length === 3 ? parseTime(parts[2]) : undefined;
      if (parts.length !== 3 || !parts[0] || !parts[1] || !sent) {
        warnings.push(`Reference "${triple}" is not "sender,identifier,sent"; ignored.`);
        return [];
      }
      return [{ sender: parts[0], identifier: parts[1], sent: sent.iso }];
    });
}

/** CAP space-delimited lists, where an item containing spaces is in double quotes (CAP 1.2 §3.2.1 addresses, incidents). */
export function splitQuoted(text: string | undefined): string[] {
  if (!text) return [];
  return [...text.matchAll(/"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2] ?? '').filter(Boolean);
}
