/**
 * The bounds every normalised alert is held to, whatever format it came in: its `sent` time, the size of
 * its area and the length of its texts (limits.ts says why each). Run once per message after its format's
 * parser, so no format can skip them.
 */
import type { Geometry } from 'geojson';
import type { AlertInfo, MessageResult } from './types.ts';
import {
  countRefusal,
  MAX_POLYGONS_PER_ALERT,
  MAX_SENT_AHEAD_MS,
  MAX_TEXT_CHARS,
  MAX_URL_CHARS,
  MAX_VERTICES_PER_ALERT,
  type LimitName,
} from './limits.ts';

export interface GeometrySize {
  vertices: number;
  polygons: number;
}

/** Positions and polygons of a geometry, counted without copying it. */
export function geometrySize(geometry: Geometry | null): GeometrySize {
  const size = { vertices: 0, polygons: 0 };
  const visit = (g: Geometry) => {
    switch (g.type) {
      case 'Point':
        size.vertices += 1;
        return;
      case 'MultiPoint':
      case 'LineString':
        size.vertices += g.coordinates.length;
        return;
      case 'MultiLineString':
        for (const line of g.coordinates) size.vertices += line.length;
        return;
      case 'Polygon':
        size.polygons += 1;
        for (const ring of g.coordinates) size.vertices += ring.length;
        return;
      case 'MultiPolygon':
        size.polygons += g.coordinates.length;
        for (const polygon of g.coordinates) for (const ring of polygon) size.vertices += ring.length;
        return;
      case 'GeometryCollection':
        g.geometries.forEach(visit);
    }
  };
  if (geometry) visit(geometry);
  return size;
}

export const tooManyVertices = (n: number) =>
  `The area has ${n.toLocaleString('en')} vertices; at most ${MAX_VERTICES_PER_ALERT.toLocaleString('en')} are read for one alert. Simplify the polygons or send the area as geocodes (P-codes).`;

/** Options of a parse: `now` is when the body was received, for the bound on `sent`. */
export interface BoundOptions {
  now?: Date;
}

/**
 * The message held to the bounds: refused when its `sent` lies too far ahead of `now` or its area is too
 * large; with its texts cut, and a note saying so, when they are too long.
 */
export function holdToBounds(result: MessageResult, options: BoundOptions = {}): MessageResult {
  if (!result.ok) return result;
  const { alert } = result;
  const refuse = (limit: LimitName, reason: string): MessageResult => {
    countRefusal(limit);
    return { ok: false, identifier: alert.identifier, reason };
  };
  if (options.now && Date.parse(alert.sent) - options.now.getTime() > MAX_SENT_AHEAD_MS) {
    return refuse(
      'sent_ahead',
      `sent ${alert.sent} is more than ${MAX_SENT_AHEAD_MS / 3600_000} hours after the time it was received (${options.now.toISOString()}); sent is when the message was made (CAP 1.2 §3.2.1). Check the sender's clock and time zone.`,
    );
  }
  const size = geometrySize(alert.area.geometry);
  if (size.vertices > MAX_VERTICES_PER_ALERT) return refuse('vertices_per_alert', tooManyVertices(size.vertices));
  if (size.polygons > MAX_POLYGONS_PER_ALERT) {
    return refuse(
      'polygons_per_alert',
      `The area has ${size.polygons.toLocaleString('en')} polygons; at most ${MAX_POLYGONS_PER_ALERT.toLocaleString('en')} are read for one alert. Merge them or send the area as geocodes (P-codes).`,
    );
  }

  const warnings = [...result.warnings];
  const infos = alert.infos.map((info) => cutInfo(info, warnings));
  const descriptions = alert.area.descriptions.map((d) => cut(d, MAX_TEXT_CHARS.areaDesc, 'An areaDesc', warnings));
  const note = alert.note === undefined ? undefined : cut(alert.note, MAX_TEXT_CHARS.note, 'The <note>', warnings);
  if (warnings.length === result.warnings.length) return result;
  countRefusal('text_cut');
  return {
    ok: true,
    alert: { ...alert, infos, area: { ...alert.area, descriptions }, ...(note === undefined ? {} : { note }), notes: warnings },
    warnings,
  };
}

const CUT_FIELDS = ['event', 'headline', 'description', 'instruction', 'senderName'] as const;

function cutInfo(info: AlertInfo, warnings: string[]): AlertInfo {
  let out = info;
  for (const key of CUT_FIELDS) {
    const value = info[key];
    if (value === undefined) continue;
    const shorter = cut(value, MAX_TEXT_CHARS[key], `The ${key} (${info.language})`, warnings);
    if (shorter !== value) out = { ...out, [key]: shorter };
  }
  if (info.web !== undefined && info.web.length > MAX_URL_CHARS) {
    warnings.push(`The web link (${info.language}) has ${info.web.length.toLocaleString('en')} characters, more than ${MAX_URL_CHARS.toLocaleString('en')}; it was dropped.`);
    const { web: _dropped, ...rest } = out;
    out = rest;
  }
  return out;
}

/**
 * The first `max` characters (code points, so a surrogate pair is never split) and an ellipsis, with a
 * note; the text itself when it is short enough.
 */
export function cut(text: string, max: number, what: string, warnings: string[]): string {
  // A string of at most `max` UTF-16 units has at most `max` code points.
  if (text.length <= max) return text;
  let end = 0;
  let chars = 0;
  while (end < text.length && chars < max) {
    const code = text.codePointAt(end)!;
    end += code > 0xffff ? 2 : 1;
    chars++;
  }
  if (end >= text.length) return text;
  let total = 0;
  // A string's iterator yields code points (a lone surrogate on its own).
  for (const _ of text) total++;
  warnings.push(`${what} has ${total.toLocaleString('en')} characters; it was cut to the first ${max.toLocaleString('en')} (the stored body keeps the whole text).`);
  return `${text.slice(0, end)}…`;
}
