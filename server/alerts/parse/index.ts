/**
 * Alert parsing: bytes in, normalised alerts out, one result per message. Pure: no database, no
 * network, no clock. Whether an alert is still in force, resolving geocodes to P-codes and keeping the
 * raw bytes are the caller's.
 */
import type { AlertInfo, NormalizedAlert, ParseOutcome } from './types.ts';
import { parseJsonBody, parseXmlBody, sniff } from './detect.ts';
import { decodeBody } from './text.ts';

export { AlertParseError } from './error.ts';
export type * from './types.ts';

/**
 * Parses a body of one or more alert messages. Throws AlertParseError when the body as a whole is
 * refused (DOCTYPE or entity declarations, malformed XML or JSON, a format we do not read); a bad
 * message inside a good body is returned as `{ ok: false, reason }` and the others still parse.
 */
export function parseAlerts(body: Uint8Array | string, contentType?: string): ParseOutcome {
  const text = decodeBody(body);
  return sniff(text, contentType) === 'xml' ? parseXmlBody(text) : parseJsonBody(text);
}

/** The info to show a person: Urdu first, then English, then whatever the sender wrote first. */
export function displayInfo(alert: Pick<NormalizedAlert, 'infos'>): AlertInfo | undefined {
  const byLanguage = (prefix: string) => alert.infos.find((i) => i.language.toLowerCase().startsWith(prefix));
  return byLanguage('ur') ?? byLanguage('en') ?? alert.infos[0];
}
