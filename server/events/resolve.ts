import { matchAreaName } from '../../geodata/area-names.ts';

/** Levels a notification line may name, as PDMAs write them; the numbers are the gazetteer's `level`. */
export const AREA_LEVELS = { country: 0, province: 1, district: 2, tehsil: 3, union_council: 4 } as const;
export type AreaLevelName = keyof typeof AREA_LEVELS;
const LEVEL_NAMES = Object.fromEntries(Object.entries(AREA_LEVELS).map(([k, v]) => [v, k])) as Record<number, AreaLevelName>;

/** Words that, written before or after a name ("Tehsil Dadu", "Dadu Distt."), say which level is meant. */
const LEVEL_WORDS: Record<string, AreaLevelName> = {
  province: 'province',
  district: 'district',
  distt: 'district',
  dist: 'district',
  tehsil: 'tehsil',
  tahsil: 'tehsil',
  taluka: 'tehsil',
  taluqa: 'tehsil',
};

export interface GazetteerArea {
  code: string;
  name: string;
  level: number;
  parentCode: string | null;
}

/** One line of a notification: a P-code or a name, optionally with the level the sender meant. */
export interface NotificationLine {
  area: string;
  level?: AreaLevelName;
}

export interface AreaRef {
  code: string;
  name: string;
  level: number;
  /** Where it lies, for a person to tell two namesakes apart: "Dadu, Sindh". */
  within: string;
}

export type LineResolution =
  | { index: number; submitted: string; levelHint: AreaLevelName | null; status: 'resolved'; via: 'code' | 'name' | 'alias'; area: AreaRef }
  | { index: number; submitted: string; levelHint: AreaLevelName | null; status: 'ambiguous'; candidates: AreaRef[] }
  | { index: number; submitted: string; levelHint: AreaLevelName | null; status: 'unknown'; suggestions: AreaRef[] };

export type ResolvedLine = Extract<LineResolution, { status: 'resolved' }>;
export type UnresolvedLine = Exclude<LineResolution, { status: 'resolved' }>;

/** The level a line asks for: given explicitly, or read from an admin word at either end of the name. */
export function levelHintOf(line: NotificationLine): AreaLevelName | null {
  if (line.level) return line.level;
  const words = line.area.toLowerCase().replace(/[^a-z0-9]+/g, ' ').trim().split(' ');
  if (words.length < 2) return null;
  return LEVEL_WORDS[words[0]!] ?? LEVEL_WORDS[words[words.length - 1]!] ?? null;
}

/**
 * Resolves each line of a notification against the gazetteer: an exact P-code, or a forgiving name match
 * (geodata/area-names.ts). A name that fits several areas is ambiguous and a name that fits none is
 * unknown: both are returned with what a person can choose from, never picked silently, because a wrong
 * tehsil means paying the wrong households. Pure: the caller passes the current areas.
 */
export function resolveNotification(lines: readonly NotificationLine[], gazetteer: readonly GazetteerArea[]): LineResolution[] {
  const byCode = new Map(gazetteer.map((a) => [a.code, a]));
  const ref = (a: GazetteerArea): AreaRef => ({ code: a.code, name: a.name, level: a.level, within: withinOf(a, byCode) });
  return lines.map((line, index) => {
    const submitted = line.area.trim();
    const levelHint = levelHintOf(line);
    const base = { index, submitted, levelHint };
    if (/^PK\d*$/i.test(submitted)) {
      const found = byCode.get(submitted.toUpperCase());
      if (found && (levelHint === null || found.level === AREA_LEVELS[levelHint])) return { ...base, status: 'resolved', via: 'code', area: ref(found) };
      return { ...base, status: 'unknown', suggestions: found ? [ref(found)] : nearestAncestor(submitted.toUpperCase(), byCode).map(ref) };
    }
    const pool = levelHint === null ? gazetteer : gazetteer.filter((a) => a.level === AREA_LEVELS[levelHint]);
    const { matches, suggestions } = matchAreaName(submitted, pool);
    const distinct = [...new Map(matches.map((m) => [m.candidate.code, m])).values()];
    if (distinct.length === 1) return { ...base, status: 'resolved', via: distinct[0]!.via, area: ref(distinct[0]!.candidate) };
    if (distinct.length > 1) return { ...base, status: 'ambiguous', candidates: distinct.map((m) => ref(m.candidate)).sort(byLevelThenCode) };
    return { ...base, status: 'unknown', suggestions: suggestions.map((s) => ref(s.candidate)) };
  });
}

/** A sentence for a person about a line that did not resolve, naming what they can choose from. */
export function explainUnresolved(line: UnresolvedLine): string {
  const quoted = JSON.stringify(line.submitted);
  const hint = line.levelHint ? ` ${line.levelHint.replace('_', ' ')}` : '';
  const list = (refs: AreaRef[]) => refs.map(describeArea).join('; ');
  if (line.status === 'ambiguous') return `${quoted} names ${line.candidates.length} areas: ${list(line.candidates)}. Write the P-code, or add the level.`;
  if (line.suggestions.length === 0) return `${quoted} matches no${hint} area in the gazetteer, and nothing close.`;
  return `${quoted} matches no${hint} area in the gazetteer. Did you mean: ${list(line.suggestions)}?`;
}

export function describeArea(a: AreaRef): string {
  return `${a.name} (${a.code}, ${LEVEL_NAMES[a.level] ?? `level ${a.level}`}${a.within ? `, ${a.within}` : ''})`;
}

function withinOf(a: GazetteerArea, byCode: Map<string, GazetteerArea>): string {
  const names: string[] = [];
  let parent = a.parentCode ? byCode.get(a.parentCode) : undefined;
  while (parent && parent.level > 0 && names.length < 3) {
    names.push(parent.name);
    parent = parent.parentCode ? byCode.get(parent.parentCode) : undefined;
  }
  return names.join(', ');
}

/** For a P-code the gazetteer lacks, the deepest area whose code it extends (PK799 → Sindh). */
function nearestAncestor(code: string, byCode: Map<string, GazetteerArea>): GazetteerArea[] {
  for (let n = code.length - 1; n >= 2; n--) {
    const found = byCode.get(code.slice(0, n));
    if (found) return [found];
  }
  return [];
}

const byLevelThenCode = (a: AreaRef, b: AreaRef) => a.level - b.level || a.code.localeCompare(b.code);
