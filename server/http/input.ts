import type { FieldProblem } from '../errors.ts';

/**
 * A UTF-16 surrogate without its partner. Written without the `u` flag so it sees code units; the lib this
 * project compiles against (ES2023) does not type `String.prototype.isWellFormed`, which does the same.
 */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** `text` with each lone surrogate replaced by U+FFFD, as a UTF-8 encoder writes it (`toWellFormed`). */
export function toWellFormedText(text: string): string {
  return text.replace(LONE_SURROGATE, '\uFFFD');
}

/** Why `text` cannot be taken as input, or undefined when it can. */
export function textProblem(text: string): string | undefined {
  LONE_SURROGATE.lastIndex = 0;
  const lone = LONE_SURROGATE.exec(text);
  if (lone) {
    const unit = lone[0].charCodeAt(0).toString(16).toUpperCase();
    return `is not well-formed Unicode: it holds a lone surrogate (U+${unit}) at position ${lone.index}`;
  }
  const nul = text.indexOf('\u0000');
  if (nul >= 0) return `holds a NUL character (U+0000) at position ${nul}, which no text field accepts`;
  return undefined;
}

/** Past this many, a request's bad strings are counted, not each named. */
const MAX_NAMED = 20;

/**
 * Every string in a parsed request part (its values and its keys) that is not well-formed Unicode or holds
 * NUL, named by its path as the validator names fields (`json.username`, `query.actor`). PostgreSQL's text
 * cannot hold either (UTF-8 has no form for a lone surrogate; U+0000 is refused by text and jsonb), so such a
 * string is refused at the door instead of failing, or changing, on its way into the database. The walk is
 * iterative: a deeply nested body cannot overflow the stack here.
 */
export function textProblems(value: unknown, target: string): FieldProblem[] {
  const problems: FieldProblem[] = [];
  let more = 0;
  const add = (path: string, message: string) => {
    if (problems.length < MAX_NAMED) problems.push({ field: path, message });
    else more++;
  };
  // Depth first, each node's children pushed in reverse so problems come out in the order of the document.
  const stack: { value: unknown; path: string; badKey?: string }[] = [{ value, path: target }];
  const seen = new Set<object>();
  while (stack.length > 0) {
    const { value: v, path, badKey } = stack.pop()!;
    if (badKey) add(path, `key ${badKey}`);
    if (typeof v === 'string') {
      const problem = textProblem(v);
      if (problem) add(path, problem);
    } else if (v !== null && typeof v === 'object' && !seen.has(v)) {
      seen.add(v);
      const entries: [string, unknown][] = Array.isArray(v) ? v.map((item, i) => [String(i), item]) : Object.entries(v);
      for (let i = entries.length - 1; i >= 0; i--) {
        const [key, item] = entries[i]!;
        // Numbers, booleans and null hold no text: a large coordinate array costs a loop, not a stack.
        const holdsText = typeof item === 'string' || (item !== null && typeof item === 'object');
        const keyProblem = Array.isArray(v) ? undefined : textProblem(key);
        // A bad key is named in a form that can itself be shown: U+FFFD for a surrogate, \0 for NUL.
        const shown = keyProblem ? toWellFormedText(key).replaceAll('\u0000', '\\0') : key;
        if (holdsText || keyProblem) stack.push({ value: item, path: `${path}.${shown}`, ...(keyProblem ? { badKey: keyProblem } : {}) });
      }
    }
  }
  if (more > 0) problems.push({ field: target, message: `and ${more} more strings that are not well-formed Unicode or hold NUL` });
  return problems;
}
