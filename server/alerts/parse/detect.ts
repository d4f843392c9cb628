/**
 * Which format a body is, from its content first and its declared content type second: senders label
 * CAP as text/xml, application/xml, application/cap+xml or nothing at all, so the label only decides
 * how to report a body that is neither XML nor JSON.
 */
import type { ParseOutcome } from './types.ts';
import { CAP_NAMESPACES, capFormat } from './cap.ts';
import { isEdxlDistribution, readEdxlDistribution } from './edxl.ts';
import { AlertParseError } from './error.ts';
import { ATOM_NS, capMessage, findCapAlert, readAlertsWrapper, readFeedEntries } from './feeds.ts';
import { isGdacsFeature, isGdacsItem, readGdacsFeatures, readGdacsItem } from './gdacs.ts';
import { jsonErrorOffset, lineAndColumn, tooDeepAt } from './json-position.ts';
import { boundMessageCount, countRefusal, MAX_JSON_DEPTH } from './limits.ts';
import { isMadadJson, madadItems, readMadadJson } from './madad-json.ts';
import { isUsgsFeature, readUsgsFeature } from './usgs.ts';
import { kid, kids, readXml, type XmlElement } from './xml.ts';

export type Syntax = 'xml' | 'json';

export function sniff(text: string, contentType?: string): Syntax {
  const first = text.trimStart()[0];
  if (first === '<') return 'xml';
  if (first === '{' || first === '[') return 'json';
  const type = contentType?.toLowerCase() ?? '';
  // A body labelled JSON that does not start like JSON still gets JSON's error, with its position.
  if (type.includes('json')) return 'json';
  const start = JSON.stringify(text.trimStart().slice(0, 40));
  if (type.includes('xml')) throw new AlertParseError(`The body is declared as ${contentType} but does not begin with "<" (it begins ${start}).`, { line: 1 });
  if (text.trim() === '') throw new AlertParseError('The body is empty.');
  throw new AlertParseError(
    `The body is neither XML nor JSON (it begins ${start}). Send CAP XML, an Atom/RSS feed of CAP, GDACS RSS or JSON, USGS GeoJSON or Madad alert JSON.`,
    { line: 1 },
  );
}

/** Parses XML whose leading whitespace may have been left in place, so reported lines match the body. */
export function parseXmlBody(text: string): ParseOutcome {
  const start = text.length - text.trimStart().length;
  const skippedLines = text.slice(0, start).split('\n').length - 1;
  let root: XmlElement;
  try {
    root = readXml(text.slice(start));
  } catch (e) {
    if (e instanceof AlertParseError && e.line !== undefined && skippedLines > 0) {
      throw new AlertParseError(e.message.replace(`line ${e.line}`, `line ${e.line + skippedLines}`), {
        line: e.line + skippedLines,
        column: e.column,
        field: e.field,
      });
    }
    throw e;
  }
  return dispatchXml(root);
}

function dispatchXml(root: XmlElement): ParseOutcome {
  const capVersion = capFormat(root);
  if (capVersion) return { format: capVersion, messages: [capMessage(root)] };
  if (root.local === 'alert') {
    throw new AlertParseError(
      `The <alert> is in namespace "${root.ns}", which is not a CAP version we read (${Object.keys(CAP_NAMESPACES).join(', ')}).`,
      { field: 'alert' },
    );
  }
  if (isEdxlDistribution(root)) return { ...readEdxlDistribution(root), container: 'edxl-de' };
  if (root.local === 'alerts') {
    boundMessageCount(root.children.length, 'elements in <alerts>');
    const firstAlert = root.children.find((c) => capFormat(c));
    return { format: firstAlert ? capFormat(firstAlert)! : (CAP_NAMESPACES[root.ns] ?? 'cap-1.2'), container: 'cap-alerts', messages: readAlertsWrapper(root) };
  }
  if (root.local === 'feed' && root.ns === ATOM_NS) {
    const entries = kids(root, 'entry', [ATOM_NS]);
    boundMessageCount(entries.length, 'feed entries');
    return { format: feedFormat(entries), container: 'atom', messages: readFeedEntries(entries, root) };
  }
  if (root.local === 'rss') {
    const items = kids(kid(root, 'channel'), 'item');
    boundMessageCount(items.length, 'RSS items');
    if (items.some(isGdacsItem)) {
      return {
        format: 'gdacs-rss',
        container: 'rss',
        messages: items.map((item) => (isGdacsItem(item) ? readGdacsItem(item) : { ok: false as const, reason: 'This RSS item has no gdacs:eventtype; it is not a GDACS alert.' })),
      };
    }
    return { format: feedFormat(items), container: 'rss', messages: readFeedEntries(items, root) };
  }
  throw new AlertParseError(
    `The XML root is <${root.name}>${root.ns ? ` in namespace "${root.ns}"` : ''}; expected a CAP <alert> (1.0, 1.1 or 1.2), an <alerts> wrapper, an EDXL-DE 1.0 envelope, an Atom or RSS feed of CAP alerts, or GDACS RSS.`,
    { field: root.name },
  );
}

function feedFormat(entries: XmlElement[]) {
  for (const entry of entries) {
    const cap = findCapAlert(entry);
    if (cap) return capFormat(cap)!;
    if (entry.children.some((c) => c.ns in CAP_NAMESPACES)) return 'meteoalarm-atom' as const;
  }
  return 'cap-1.2' as const;
}

export function parseJsonBody(text: string): ParseOutcome {
  const deep = tooDeepAt(text, MAX_JSON_DEPTH);
  if (deep !== -1) {
    countRefusal('json_depth');
    const { line, column } = lineAndColumn(text, deep);
    throw new AlertParseError(
      `The JSON is nested more than ${MAX_JSON_DEPTH} arrays or objects deep (line ${line}, column ${column}); no alert format we read goes deeper.`,
      { line, column },
    );
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    const offset = Math.max(0, jsonErrorOffset(text));
    const { line, column } = lineAndColumn(text, offset);
    const detail = e instanceof Error ? e.message : String(e);
    throw new AlertParseError(`The JSON is malformed at line ${line}, column ${column} (position ${offset}): ${detail}`, { line, column });
  }
  return dispatchJson(value);
}

interface GeoJsonLike {
  type?: unknown;
  features?: unknown;
  metadata?: { url?: unknown } | null;
  properties?: Record<string, unknown> | null;
  empirical_fatality?: unknown;
}

function dispatchJson(value: unknown): ParseOutcome {
  if (isMadadJson(value)) {
    boundMessageCount(madadItems(value).length, 'Madad alerts');
    return { format: 'madad-json', ...(Array.isArray(value) || !('source' in (value as object)) ? { container: 'json-array' as const } : {}), messages: readMadadJson(value) };
  }
  const v = (value ?? {}) as GeoJsonLike;
  if (v.type === 'FeatureCollection' && Array.isArray(v.features)) {
    const features = v.features as unknown[];
    const fromUsgs = typeof v.metadata?.url === 'string' && v.metadata.url.includes('earthquake.usgs.gov');
    if (fromUsgs || (features.length > 0 && features.some(isUsgsFeature))) {
      boundMessageCount(features.length, 'USGS features');
      return {
        format: 'usgs-geojson',
        container: 'feature-collection',
        messages: features.map((f, i) =>
          isUsgsFeature(f) ? readUsgsFeature(f) : { ok: false as const, reason: `Feature ${i} is not a USGS earthquake (no mag/time properties).` },
        ),
      };
    }
    if (features.length > 0 && features.some(isGdacsFeature)) {
      const rejected = features.filter((f) => !isGdacsFeature(f)).length;
      const messages = readGdacsFeatures(features.filter(isGdacsFeature));
      if (rejected > 0) messages.push({ ok: false, reason: `${rejected} feature(s) have no GDACS eventtype/eventid/alertlevel; skipped.` });
      return { format: 'gdacs-api', container: 'feature-collection', messages };
    }
    const p = (features[0] as GeoJsonLike | undefined)?.properties;
    if (p && p.units === 'mmi' && 'value' in p) {
      throw new AlertParseError('This is a USGS ShakeMap intensity contour file (cont_mmi.json), not an alert. Send the event\'s USGS GeoJSON; contours belong to the geometry layer.', { field: 'features' });
    }
    throw new AlertParseError('This GeoJSON FeatureCollection is neither a USGS earthquake feed nor a GDACS event collection.', { field: 'features' });
  }
  if (v.type === 'Feature') {
    if (isUsgsFeature(v)) return { format: 'usgs-geojson', messages: [readUsgsFeature(v)] };
    if (isGdacsFeature(v)) return { format: 'gdacs-api', messages: readGdacsFeatures([v]) };
    throw new AlertParseError('This GeoJSON Feature is neither a USGS earthquake nor a GDACS event (no mag/time or eventtype/alertlevel properties).', { field: 'properties' });
  }
  if (v.empirical_fatality !== undefined) {
    throw new AlertParseError('This is a USGS PAGER losses product (losses.json), not an alert. Send the event\'s detail GeoJSON, which carries the PAGER alert level.', { field: 'empirical_fatality' });
  }
  throw new AlertParseError(
    'The JSON is not a format we read: expected Madad alert JSON ("source": "madad"), USGS earthquake GeoJSON or GDACS event JSON.',
  );
}
