/**
 * Alert parsing: bytes in, normalised alerts out, one result per message. Pure: no database, no
 * network, no clock. Whether an alert is still in force, resolving geocodes to P-codes and keeping the
 * raw bytes are the caller's.
 */
import type { AlertInfo, NormalizedAlert, ParseOutcome } from './types.ts';
import { holdToBounds, type BoundOptions } from './bounds.ts';
import { parseJsonBody, parseXmlBody, sniff } from './detect.ts';
import { boundMessageCount } from './limits.ts';
import { decodeBody } from './text.ts';

export { AlertBodyTooLargeError, AlertParseError } from './error.ts';
export { registerParseLimitMetrics } from './limits.ts';
export type * from './types.ts';

/** `now`: when the body was received; without it, `sent` is not checked against the clock. */
export type ParseOptions = BoundOptions;

/**
 * Parses a body of one or more alert messages. Throws AlertParseError when the body as a whole is
 * refused (DOCTYPE or entity declarations, malformed XML or JSON, nesting too deep, a format we do not
 * read) and AlertBodyTooLargeError when it holds too many messages; a bad message inside a good body is
 * returned as `{ ok: false, reason }` and the others still parse. Every message is held to the bounds of
 * bounds.ts.
 */
export function parseAlerts(body: Uint8Array | string, contentType?: string, options: ParseOptions = {}): ParseOutcome {
  const text = decodeBody(body);
  const outcome = sniff(text, contentType) === 'xml' ? parseXmlBody(text) : parseJsonBody(text);
  // Containers are counted as they are opened; this catches the rest (GDACS features grouped by episode).
  boundMessageCount(outcome.messages.length);
  return { ...outcome, messages: outcome.messages.map((m) => holdToBounds(m, options)) };
}

/** The info to show a person: Urdu first, then English, then whatever the sender wrote first. */
export function displayInfo(alert: Pick<NormalizedAlert, 'infos'>): AlertInfo | undefined {
  const byLanguage = (prefix: string) => alert.infos.find((i) => i.language.toLowerCase().startsWith(prefix));
  return byLanguage('ur') ?? byLanguage('en') ?? alert.infos[0];
}
