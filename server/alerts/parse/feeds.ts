/**
 * Containers of CAP messages: the non-standard `<alerts>` wrapper (SMHI), Atom and RSS feeds whose
 * entries carry a CAP `<alert>` inline, and the MeteoAlarm Atom index, whose entries carry only cap:*
 * summary fields, one entry per area of a message.
 */
import type { MessageResult, NamedValue, NormalizedAlert } from './types.ts';
import { CAP_NAMESPACES, isCapAlert, readCapAlert, requireTime } from './cap.ts';
import { MessageRejected } from './error.ts';
import { hazardFromText } from './hazard.ts';
import { pickCertainty, pickMsgType, pickScope, pickSeverity, pickStatus, pickUrgency, requireText, runMessage } from './message.ts';
import { collapseSpace } from './text.ts';
import { parseTime } from './time.ts';
import { kid, kids, textOf, type XmlElement } from './xml.ts';

export const ATOM_NS = 'http://www.w3.org/2005/Atom';

export function capMessage(el: XmlElement): MessageResult {
  return runMessage(textOf(el, 'identifier', [el.ns]), (w) => readCapAlert(el, w));
}

export function readAlertsWrapper(root: XmlElement): MessageResult[] {
  return root.children.map((child) =>
    isCapAlert(child) ? capMessage(child) : { ok: false as const, reason: `<${child.name}> inside <alerts> is not a CAP <alert>; skipped.` },
  );
}

/** The first CAP `<alert>` at or below an element (an Atom `<content>` or RSS `<item>` may wrap it). */
export function findCapAlert(el: XmlElement): XmlElement | undefined {
  if (isCapAlert(el) && el.ns !== '') return el;
  for (const child of el.children) {
    const found = findCapAlert(child);
    if (found) return found;
  }
  return undefined;
}

function capFields(entry: XmlElement): XmlElement[] {
  return entry.children.filter((c) => c.ns in CAP_NAMESPACES);
}

/** Atom `<entry>`s or RSS `<item>`s: inline CAP where present, else MeteoAlarm's cap:* index fields grouped by message. */
export function readFeedEntries(entries: XmlElement[], feed: XmlElement): MessageResult[] {
  const results: MessageResult[] = [];
  const groups = new Map<string, XmlElement[]>();
  for (const entry of entries) {
    const cap = findCapAlert(entry);
    if (cap) {
      results.push(capMessage(cap));
      continue;
    }
    const fields = capFields(entry);
    if (fields.length > 0) {
      const key = `${textOf(entry, 'identifier', [fields[0]!.ns]) ?? ''}\u0000${textOf(entry, 'sent', [fields[0]!.ns]) ?? ''}`;
      groups.set(key, [...(groups.get(key) ?? []), entry]);
      continue;
    }
    const link = capLink(entry);
    results.push({
      ok: false,
      identifier: textOf(entry, 'id') ?? textOf(entry, 'guid'),
      reason: link
        ? `This feed entry carries no CAP alert, only a link to one (${link}); fetch that to read it.`
        : 'This feed entry carries no CAP alert and no cap:* fields.',
    });
  }
  for (const group of groups.values()) {
    const first = group[0]!;
    const ns = [capFields(first)[0]!.ns];
    results.push(runMessage(textOf(first, 'identifier', ns), (w) => readIndexMessage(group, ns, feed, w)));
  }
  return results;
}

function capLink(entry: XmlElement): string | undefined {
  const links = kids(entry, 'link');
  const cap = links.find((l) => /cap\+xml/i.test(l.attrs.type ?? '')) ?? links.find((l) => /\.cap$|cap/i.test(l.attrs.href ?? l.text));
  return cap?.attrs.href ?? (cap?.text || undefined);
}

/** MeteoAlarm titles begin with the awareness colour ("Yellow Avalanches Warning issued for …"). */
const COLOUR_LEVEL: Record<string, number> = { green: 1, yellow: 2, orange: 3, red: 4 };

/**
 * One message from the index entries that share its identifier and sent time. The index has no sender,
 * references, description or polygons: the sender is the feed's author, and the warnings point to the
 * full CAP message for the rest.
 */
function readIndexMessage(entries: XmlElement[], ns: string[], feed: XmlElement, warnings: string[]): NormalizedAlert {
  const first = entries[0]!;
  const identifier = requireText(textOf(first, 'identifier', ns), 'cap:identifier');
  const author = textOf(kid(first, 'author', [ATOM_NS]), 'name', [ATOM_NS]) ?? textOf(kid(feed, 'author', [ATOM_NS]), 'name', [ATOM_NS]);
  const sender = requireText(author, 'sender (the index gives no cap:sender and the feed no author)', identifier);
  const sent = requireTime(textOf(first, 'sent', ns), 'cap:sent', identifier, warnings);
  const status = pickStatus(textOf(first, 'status', ns));
  if (!status) throw new MessageRejected(`cap:status "${textOf(first, 'status', ns) ?? ''}" is not a CAP status.`, identifier);
  const typeText = textOf(first, 'message_type', ns) ?? textOf(first, 'msgType', ns);
  const msgType = pickMsgType(typeText);
  if (!msgType) throw new MessageRejected(`cap:message_type "${typeText ?? ''}" is not one of Alert, Update, Cancel, Ack, Error.`, identifier);
  const event = textOf(first, 'event', ns) ?? '';
  const title = textOf(first, 'title', [ATOM_NS]);
  const link = capLink(first);
  const language = kids(first, 'link', [ATOM_NS]).find((l) => l.attrs.hreflang)?.attrs.hreflang ?? 'en';

  const descriptions: string[] = [];
  const geocodes: NamedValue[] = [];
  for (const entry of entries) {
    const desc = collapseSpace(textOf(entry, 'areaDesc', ns) ?? '');
    if (desc && !descriptions.includes(desc)) descriptions.push(desc);
    for (const g of kids(entry, 'geocode', ns)) {
      const pair = { valueName: textOf(g, 'valueName') ?? '', value: textOf(g, 'value') ?? '' };
      if (pair.value && !geocodes.some((x) => x.valueName === pair.valueName && x.value === pair.value)) geocodes.push(pair);
    }
  }
  const colour = title?.split(/\s+/)[0]?.toLowerCase() ?? '';
  const level = COLOUR_LEVEL[colour];

  warnings.push(
    `Built from the MeteoAlarm Atom index (${entries.length} entr${entries.length === 1 ? 'y' : 'ies'}, one per area), which has no description, polygons or references${link ? `; the full CAP message is at ${link}` : ''}.`,
  );
  warnings.push(`The index gives no cap:sender; the sender is the feed's author "${sender}".`);
  if (msgType !== 'Alert') warnings.push(`This ${msgType} does not say which message it replaces: the index carries no references.`);
  const time = (name: string) => parseTime(textOf(first, name, ns))?.iso;
  const effective = time('effective');
  const onset = time('onset');
  const expires = time('expires');
  return {
    source: 'cap',
    format: 'meteoalarm-atom',
    sender,
    identifier,
    sent,
    status,
    msgType,
    scope: pickScope(textOf(first, 'scope', ns)) ?? 'Public',
    references: [],
    incidents: [],
    infos: [{ language, event, ...(title ? { headline: title } : {}), ...(link ? { web: link } : {}), eventCodes: [], parameters: [] }],
    hazard: hazardFromText(event) ?? 'other',
    severity: pickSeverity(textOf(first, 'severity', ns), warnings),
    urgency: pickUrgency(textOf(first, 'urgency', ns), warnings),
    certainty: pickCertainty(textOf(first, 'certainty', ns), warnings),
    metrics: level ? { awarenessLevel: level } : {},
    ...(effective ? { effective } : {}),
    ...(onset ? { onset } : {}),
    ...(expires ? { expires } : {}),
    area: { geometry: null, descriptions, geocodes },
    notes: warnings,
  };
}
