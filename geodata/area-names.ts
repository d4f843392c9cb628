/**
 * Area names as people and letters write them ("D.G. Khan", "Tando Allah Yar Distt.", "Qambar
 * Shahdadkot") reduced to one lookup key, and a matcher that returns exact-key matches or, when none,
 * suggestions for a person to choose from: a near-miss is never picked silently, since a wrong tehsil
 * means paying the wrong households.
 */

export interface AreaNameCandidate {
  code: string;
  name: string;
  level: number;
  parentCode: string | null;
}

export interface AreaNameMatch<C extends AreaNameCandidate = AreaNameCandidate> {
  /** Candidates whose key equals the query's ('name'), or that a known former name points to ('alias'). */
  matches: { candidate: C; via: 'name' | 'alias' }[];
  /** Only when there is no match: nearest keys by edit distance, closest first. */
  suggestions: { candidate: C; distance: number }[];
}

/** Administrative words that say what a name is, not which one: dropped at either end. */
const ADMIN_WORDS = new Set(['district', 'distt', 'dist', 'tehsil', 'tahsil', 'taluka', 'taluqa', 'agency', 'province']);

/**
 * Initials written for long names, checked on the key (spaces already removed), so "D.G. Khan",
 * "DG Khan" and "D G Khan" all expand.
 */
const INITIALS: readonly [RegExp, string][] = [
  [/^dgkhan/, 'deraghazikhan'],
  [/^dikhan/, 'deraismailkhan'],
  [/^ttsingh/, 'tobateksingh'],
  [/^rykhan/, 'rahimyarkhan'],
  [/^mbdin/, 'mandibahauddin'],
  [/^sba$/, 'shaheedbenazirabad'],
];

/**
 * Former or popular names of current areas (keys of both sides after normalisation). Kept apart from
 * the key so that, say, the tehsil Nawabshah and the district Shaheed Benazirabad keep distinct keys.
 */
const ALIASES: Record<string, string[]> = {
  nawabshah: ['shaheedbenazirabad'],
  lyallpur: ['faisalabad'],
  montgomery: ['sahiwal'],
  campbellpur: ['attock'],
  nwfp: ['khyberpakhtunkhwa'],
  kp: ['khyberpakhtunkhwa'],
  kpk: ['khyberpakhtunkhwa'],
  sind: ['sindh'],
  baluchistan: ['balochistan'],
  ajk: ['azadjammuandkashmir', 'azadkashmir'],
  azadkashmir: ['azadjammuandkashmir'],
  gb: ['gilgitbaltistan'],
  northernareas: ['gilgitbaltistan'],
  ict: ['islamabad', 'islamabadcapitalterritory'],
  islamabadcapitalterritory: ['islamabad'],
};

let aliasCache: Map<string, string[]> | undefined;

/** ALIASES with both sides run through normaliseAreaName, so the table can be written readably. */
function aliasIndex(): Map<string, string[]> {
  aliasCache ??= new Map(Object.entries(ALIASES).map(([from, to]) => [normaliseAreaName(from), to.map(normaliseAreaName)]));
  return aliasCache;
}

/**
 * The lookup key of a name: lower case, accents and punctuation gone, "&" read as "and", admin words
 * at either end dropped, spaces removed (so "Allah Yar" = "Allahyar", "Benazir Abad" = "Benazirabad",
 * "Shahdad Kot" = "Shahdadkot"), initials expanded, then spelling folded: q → k (Qambar/Kambar),
 * ee → i, oo → u (Shaheed/Shahid) and doubled letters single (Muzaffargarh/Muzafargarh).
 */
export function normaliseAreaName(name: string): string {
  const words = name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/&/g, ' and ')
    .replace(/[^a-z0-9]+/g, ' ')
    .trim()
    .split(' ')
    .filter((w) => w.length > 0);
  while (words.length > 1 && ADMIN_WORDS.has(words[words.length - 1]!)) words.pop();
  while (words.length > 1 && ADMIN_WORDS.has(words[0]!)) words.shift();
  let key = words.join('');
  for (const [pattern, full] of INITIALS) key = key.replace(pattern, full);
  return key
    .replace(/q/g, 'k')
    .replace(/ee/g, 'i')
    .replace(/oo/g, 'u')
    .replace(/([a-z])\1+/g, '$1');
}

/** Finds candidates named like the query; see AreaNameMatch. */
export function matchAreaName<C extends AreaNameCandidate>(
  query: string,
  candidates: readonly C[],
  options: { maxSuggestions?: number } = {},
): AreaNameMatch<C> {
  const key = normaliseAreaName(query);
  const keyed = candidates.map((candidate) => ({ candidate, key: normaliseAreaName(candidate.name) }));
  const matches: AreaNameMatch<C>['matches'] = keyed.filter((k) => k.key === key).map((k) => ({ candidate: k.candidate, via: 'name' as const }));
  const aliasKeys = new Set(aliasIndex().get(key) ?? []);
  for (const k of keyed) if (aliasKeys.has(k.key)) matches.push({ candidate: k.candidate, via: 'alias' });
  if (matches.length > 0 || key.length === 0) return { matches, suggestions: [] };

  // Allow about one edit in four characters, at least two; and a name that starts with the query.
  const limit = Math.max(2, Math.floor(key.length / 4));
  const suggestions = keyed
    .map((k) => ({ candidate: k.candidate, distance: k.key.startsWith(key) && key.length >= 4 ? 1 : editDistance(key, k.key, limit) }))
    .filter((s) => s.distance <= limit)
    .sort((a, b) => a.distance - b.distance || a.candidate.level - b.candidate.level || a.candidate.name.localeCompare(b.candidate.name));
  return { matches, suggestions: suggestions.slice(0, options.maxSuggestions ?? 5) };
}

/** Levenshtein distance, giving up (returning limit + 1) once it must exceed `limit`. */
export function editDistance(a: string, b: string, limit = Infinity): number {
  if (Math.abs(a.length - b.length) > limit) return limit + 1;
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    let best = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      const v = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + cost);
      row.push(v);
      if (v < best) best = v;
    }
    if (best > limit) return limit + 1;
    prev = row;
  }
  return prev[b.length]!;
}
