/** An area as far as jurisdiction needs it: its code and its parent's. */
export interface AreaLink {
  code: string;
  parentCode: string | null;
}

/**
 * The jurisdiction a set of areas belongs to: the deepest area that contains all of them, by the
 * gazetteer's parent links (when given) and else by the P-code's own structure (PK, PKn, PKnnn, PKnnnnn).
 * A plain character prefix would not do: PK703 and PK709 share "PK70", which is no area at all.
 * Events take their jurisdiction from it, and decisions about areas are audited under it.
 */
export function commonJurisdiction(codes: readonly string[], gazetteer: readonly AreaLink[] = []): string {
  if (codes.length === 0) return 'PK';
  const byCode = new Map(gazetteer.map((a) => [a.code, a]));
  const chains = codes.map((c) => ancestry(c, byCode));
  const shared = chains.reduce((acc, chain) => new Set([...acc].filter((c) => chain.has(c))));
  return [...shared].sort((a, b) => b.length - a.length)[0] ?? 'PK';
}

/** A code, its ancestors in the gazetteer, and the prefixes its structure implies. */
function ancestry(code: string, byCode: Map<string, AreaLink>): Set<string> {
  const chain = new Set<string>([code]);
  for (const length of [2, 3, 5, 7, 9]) if (code.length > length) chain.add(code.slice(0, length));
  let parent = byCode.get(code)?.parentCode;
  while (parent && !chain.has(parent)) {
    chain.add(parent);
    parent = byCode.get(parent)?.parentCode;
  }
  chain.add('PK');
  return chain;
}
