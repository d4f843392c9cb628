/**
 * Safe XML reading: refuse DTDs before any parser sees them, validate with line numbers, then build a
 * small namespace-aware element tree. fast-xml-parser never expands entities here (processEntities
 * false); the five predefined entities and character references (XML 1.0 §4.6, §4.1) are decoded by
 * `decodeEntities`, which cannot reach a file or the network.
 */
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { AlertParseError } from './error.ts';
import { countRefusal, MAX_XML_DEPTH, MAX_XML_ELEMENTS } from './limits.ts';

export interface XmlElement {
  /** Qualified name as written, e.g. `cap:alert`. */
  name: string;
  local: string;
  /** Namespace URI, '' when none. */
  ns: string;
  attrs: Record<string, string>;
  children: XmlElement[];
  /** The element's own text (not its descendants'), entities decoded, trimmed. */
  text: string;
}

/**
 * A DOCTYPE can declare entities that read files or URLs (XXE) or expand without bound ("billion
 * laughs"); CAP never needs one (CAP 1.2 §3.1 defines the document by its XML schema alone).
 */
export function refuseDtd(text: string): void {
  const m = /<!(DOCTYPE|ENTITY)/i.exec(text);
  if (m) {
    const line = text.slice(0, m.index).split('\n').length;
    throw new AlertParseError(
      `XML with a DOCTYPE or entity declarations is refused (found <!${m[1]} on line ${line}): it can make a parser read files or URLs. Send the alert without a DOCTYPE.`,
      { line },
    );
  }
}

const parser = new XMLParser({
  preserveOrder: true,
  ignoreAttributes: false,
  attributeNamePrefix: '',
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: true,
  processEntities: false,
  htmlEntities: false,
  ignoreDeclaration: true,
  ignorePiTags: true,
  cdataPropName: '#cdata',
  // Past our own bound, so a deep body meets boundShape's message first, never the library's bare Error.
  maxNestedTags: MAX_XML_DEPTH + 1,
});

const lineAt = (text: string, index: number) => {
  let line = 1;
  for (let i = text.indexOf('\n'); i !== -1 && i < index; i = text.indexOf('\n', i + 1)) line++;
  return line;
};

/**
 * Refuses a body nested deeper than MAX_XML_DEPTH or holding more than MAX_XML_ELEMENTS elements, in one
 * pass over the text before any parser builds a tree of it. Comments, CDATA sections and processing
 * instructions are skipped whole (a `<` inside them is no tag); a `>` inside a quoted attribute value
 * does not end its tag (XML 1.0 §3.1 allows it there).
 */
export function boundShape(text: string): void {
  let depth = 0;
  let elements = 0;
  for (let i = text.indexOf('<'); i !== -1; i = text.indexOf('<', i)) {
    // The validator lets a document end inside a comment or processing instruction, and the parser then
    // throws a bare Error: refused here, naming where it starts.
    const skip = (end: string) => {
      const at = text.indexOf(end, i + 2);
      if (at !== -1) return at + end.length;
      const line = lineAt(text, i);
      throw new AlertParseError(`The XML is malformed at line ${line}: "${text.slice(i, i + 9)}" is never closed with "${end}".`, { line });
    };
    const next = text[i + 1];
    if (next === '!') {
      i = text.startsWith('<!--', i) ? skip('-->') : text.startsWith('<![CDATA[', i) ? skip(']]>') : i + 2;
      continue;
    }
    if (next === '?') {
      i = skip('?>');
      continue;
    }
    if (next === '/') {
      depth--;
      i = skip('>');
      continue;
    }
    let j = i + 1;
    let quote = '';
    for (; j < text.length; j++) {
      const ch = text[j]!;
      if (quote) {
        if (ch === quote) quote = '';
      } else if (ch === '"' || ch === "'") quote = ch;
      else if (ch === '>') break;
    }
    if (++elements > MAX_XML_ELEMENTS) {
      countRefusal('xml_elements');
      const line = lineAt(text, i);
      throw new AlertParseError(
        `The XML holds more than ${MAX_XML_ELEMENTS.toLocaleString('en')} elements (the one past the limit is on line ${line}); send fewer messages in one body.`,
        { line },
      );
    }
    if (text[j - 1] !== '/' && ++depth > MAX_XML_DEPTH) {
      countRefusal('xml_depth');
      const line = lineAt(text, i);
      throw new AlertParseError(
        `The XML is nested more than ${MAX_XML_DEPTH} elements deep (line ${line}); no alert format we read goes deeper.`,
        { line },
      );
    }
    i = j + 1;
  }
}

/** Validates and parses; throws AlertParseError naming the line of the first error. */
export function readXml(text: string): XmlElement {
  refuseDtd(text);
  boundShape(text);
  const valid = XMLValidator.validate(text, { allowBooleanAttributes: false });
  if (valid !== true) {
    const { line, col, msg } = valid.err;
    throw new AlertParseError(`The XML is malformed at line ${line}, column ${col}: ${msg}`, { line, column: col });
  }
  let nodes: OrderedNode[];
  try {
    nodes = parser.parse(text) as OrderedNode[];
  } catch (e) {
    // The validator passed it, so this is the parser's own limit or quirk: still the body's fault, not ours.
    throw new AlertParseError(`The XML could not be read: ${e instanceof Error ? e.message : String(e)}`);
  }
  const roots = nodes.flatMap((n) => toElements(n, new Map()));
  const root = roots[0];
  if (!root) throw new AlertParseError('The XML document has no root element.');
  return root;
}

type OrderedNode = Record<string, unknown>;

function toElements(node: OrderedNode, scope: ReadonlyMap<string, string>): XmlElement[] {
  const name = Object.keys(node).find((k) => k !== ':@' && k !== '#text' && k !== '#cdata');
  if (!name) return [];
  const rawAttrs = (node[':@'] ?? {}) as Record<string, string>;
  const own = new Map(scope);
  const attrs: Record<string, string> = {};
  for (const [key, value] of Object.entries(rawAttrs)) {
    const decoded = decodeEntities(String(value));
    if (key === 'xmlns') own.set('', decoded.trim());
    else if (key.startsWith('xmlns:')) own.set(key.slice(6), decoded.trim());
    attrs[key] = decoded;
  }
  const colon = name.indexOf(':');
  const prefix = colon >= 0 ? name.slice(0, colon) : '';
  const local = colon >= 0 ? name.slice(colon + 1) : name;
  const children: XmlElement[] = [];
  let text = '';
  for (const child of (node[name] ?? []) as OrderedNode[]) {
    if ('#text' in child) text += decodeEntities(String(child['#text']));
    else if ('#cdata' in child) text += cdataText(child['#cdata']);
    else children.push(...toElements(child, own));
  }
  return [{ name, local, ns: own.get(prefix) ?? '', attrs, children, text: text.trim() }];
}

function cdataText(value: unknown): string {
  if (!Array.isArray(value)) return String(value ?? '');
  return value.map((v: OrderedNode) => String(v['#text'] ?? '')).join('');
}

const PREDEFINED: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

export function decodeEntities(text: string): string {
  if (!text.includes('&')) return text;
  return text.replace(/&(#x[0-9a-fA-F]+|#\d+|lt|gt|amp|quot|apos);/g, (whole, ref: string) => {
    if (ref.startsWith('#')) {
      const code = ref[1] === 'x' || ref[1] === 'X' ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10);
      return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : whole;
    }
    return PREDEFINED[ref] ?? whole;
  });
}

/** Children with this local name, in any of the namespaces given (any namespace when none given). */
export function kids(el: XmlElement | undefined, local: string, ns?: readonly string[]): XmlElement[] {
  if (!el) return [];
  return el.children.filter((c) => c.local === local && (!ns || ns.includes(c.ns)));
}

export function kid(el: XmlElement | undefined, local: string, ns?: readonly string[]): XmlElement | undefined {
  return kids(el, local, ns)[0];
}

/** Trimmed text of the first such child; undefined when absent or empty. */
export function textOf(el: XmlElement | undefined, local: string, ns?: readonly string[]): string | undefined {
  const t = kid(el, local, ns)?.text;
  return t ? t : undefined;
}

export function textsOf(el: XmlElement | undefined, local: string, ns?: readonly string[]): string[] {
  return kids(el, local, ns)
    .map((c) => c.text)
    .filter((t) => t !== '');
}
