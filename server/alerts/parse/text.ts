import { AlertParseError } from './error.ts';

const BOM = '\uFEFF';

/**
 * Bytes to text. UTF-8 unless an XML declaration names another encoding the platform knows
 * (XML 1.0 §4.3.3); a leading byte order mark is dropped.
 */
export function decodeBody(body: Uint8Array | string): string {
  if (typeof body === 'string') return body.startsWith(BOM) ? body.slice(1) : body;
  const declared = declaredEncoding(body);
  let decoder: TextDecoder;
  try {
    decoder = new TextDecoder(declared ?? 'utf-8', { fatal: true });
  } catch {
    throw new AlertParseError(`The XML declaration names the encoding "${declared}", which cannot be read; send UTF-8.`);
  }
  try {
    // TextDecoder drops a UTF-8 BOM itself (ignoreBOM defaults to false).
    return decoder.decode(body);
  } catch {
    throw new AlertParseError(`The body is not valid ${declared ?? 'UTF-8'} text; send it as UTF-8.`);
  }
}

/** The `encoding` of a leading `<?xml … ?>` declaration, read as ASCII; undefined for UTF-8 or none. */
function declaredEncoding(bytes: Uint8Array): string | undefined {
  const head = new TextDecoder('latin1').decode(bytes.subarray(0, 200));
  const match = /^(?:\uFEFF|\u00EF\u00BB\u00BF)?\s*<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._-]+)["']/.exec(head);
  const name = match?.[1]?.toLowerCase();
  if (!name || name === 'utf-8' || name === 'utf8') return undefined;
  return name;
}

/** Collapse runs of whitespace (area descriptions wrapped over several lines). */
export function collapseSpace(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}
