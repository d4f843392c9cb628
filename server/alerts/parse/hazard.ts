/**
 * Hazard from what a source says: a SAME event code, the event text, a GDACS event type. Unknown
 * stays 'other' — a wrong hazard could fire the wrong cash trigger, a missing one only asks for review.
 */
import type { Hazard } from '../../../triggers/subject.ts';
import type { NamedValue } from './types.ts';

/**
 * SAME event codes (47 CFR §11.31(e), and NWS's national codes for heat and cold that EAS does not
 * list). Codes not here (CAE child abduction, LAE local area emergency …) fall through to the text.
 */
const SAME: Record<string, Hazard> = {
  FFW: 'flash_flood',
  FFA: 'flash_flood',
  FFS: 'flash_flood',
  FLW: 'flood',
  FLA: 'flood',
  FLS: 'flood',
  SVR: 'storm',
  SVA: 'storm',
  SVS: 'storm',
  TOR: 'storm',
  TOA: 'storm',
  SMW: 'storm',
  HWW: 'storm',
  HWA: 'storm',
  EWW: 'storm',
  DSW: 'storm',
  EQW: 'earthquake',
  TSW: 'tsunami',
  TSA: 'tsunami',
  HUW: 'cyclone',
  HUA: 'cyclone',
  HLS: 'cyclone',
  TRW: 'cyclone',
  TRA: 'cyclone',
  SSW: 'cyclone',
  SSA: 'cyclone',
  EHW: 'heatwave',
  EHA: 'heatwave',
  ECW: 'coldwave',
  ECA: 'coldwave',
  BZW: 'coldwave',
  WSW: 'coldwave',
  WSA: 'coldwave',
  FRW: 'fire',
  WFW: 'fire',
  WFA: 'fire',
};

/**
 * Words in event texts, most specific first (a "flash flood" is not a plain "flood"; a tsunami warning
 * mentions the earthquake that caused it). Urdu words are here because Pakistani senders write in Urdu;
 * French, Spanish and Chinese words because real samples we read use them. Avalanche is named so it
 * stays 'other' instead of matching "snow": the vocabulary has no avalanche hazard.
 */
const WORDS: [RegExp, Hazard][] = [
  [/\bglof\b|glacial lake outburst|گلوف/i, 'glof'],
  [/\bflash[- ]?flood|crue soudaine|crecida súbita|طغیانی/i, 'flash_flood'],
  [/\briver(?:ine)? flood|\bfluvial flood/i, 'riverine_flood'],
  [/\btsunami|海嘯|سونامی/i, 'tsunami'],
  [/\b(?:tropical cyclone|cyclone|hurricane|typhoon|tropical storm|storm surge|ouragan|cyclón|huracán)|颱風|台風|سمندری طوفان/i, 'cyclone'],
  [/\b(?:earthquake|seism|séisme|terremoto|sismo)|地震|زلزلہ|زلزلے/i, 'earthquake'],
  [/\b(?:landslides?|mudslides?|mudflows?|debris flows?|glissements? de terrain|deslizamientos?)|土石流|لینڈ سلائیڈ/i, 'landslide'],
  [/\bavalanches?|\balud/i, 'other'],
  [/\b(?:wild ?fires?|bush ?fires?|forest fires?|fires?|feux? de forêt|incendios?)|火災/i, 'fire'],
  [/\bdroughts?|sécheresse|sequía|خشک سالی/i, 'drought'],
  [/\b(?:heat ?waves?|excessive heat|extreme heat|high temperatures?|heat|canicule|ola de calor)|ہیٹ ویو|گرمی کی لہر/i, 'heatwave'],
  [/\b(?:cold ?waves?|extreme cold|wind chill|low temperatures?|cold|frost|freeze|ice|icy|snow|blizzard|grand froid|neige|verglas)|سردی کی لہر|برفباری/i, 'coldwave'],
  [/\b(?:floods?|flooding|inondations?|inundaci[oó]n)|洪|سیلاب/i, 'flood'],
  [/\b(?:thunderstorms?|storms?|tornado(?:es)?|squalls?|gales?|wind|winds|orages?|tempête|vent violent|tormenta)|暴風|آندھی|طوفان/i, 'storm'],
];

export function hazardFromText(text: string | undefined): Hazard | undefined {
  if (!text) return undefined;
  return WORDS.find(([re]) => re.test(text))?.[1];
}

export function hazardFromSame(code: string | undefined): Hazard | undefined {
  return code ? SAME[code.trim().toUpperCase()] : undefined;
}

/**
 * MeteoAlarm `awareness_type` ("9; avalanches"): the number names the phenomenon (MeteoAlarm CAP
 * profile). Rain alone (10) and fog (4) are not a hazard of our vocabulary.
 */
const AWARENESS_TYPES: Record<number, Hazard> = {
  1: 'storm',
  2: 'coldwave',
  3: 'storm',
  5: 'heatwave',
  6: 'coldwave',
  7: 'storm',
  8: 'fire',
  12: 'flood',
  13: 'flood',
};

/** A CAP info's hazard: SAME code, then event text, then other event codes' values, then MeteoAlarm's awareness type. */
export function capHazard(event: string, eventCodes: NamedValue[], parameters: NamedValue[]): Hazard {
  for (const code of eventCodes) {
    if (/^same$/i.test(code.valueName)) {
      const h = hazardFromSame(code.value);
      if (h) return h;
    }
  }
  const fromEvent = hazardFromText(event);
  if (fromEvent) return fromEvent;
  for (const code of eventCodes) {
    if (/^same$/i.test(code.valueName)) continue;
    const h = hazardFromText(code.value);
    if (h) return h;
  }
  const awareness = parameters.find((p) => /^awareness_type$/i.test(p.valueName));
  const n = awareness ? parseInt(awareness.value, 10) : NaN;
  return AWARENESS_TYPES[n] ?? 'other';
}

/** GDACS event types (GDACS RSS `gdacs:eventtype`); volcanoes are not in our vocabulary. */
const GDACS: Record<string, Hazard> = {
  EQ: 'earthquake',
  TC: 'cyclone',
  FL: 'flood',
  DR: 'drought',
  WF: 'fire',
  VO: 'other',
};

export function hazardFromGdacs(type: string | undefined): Hazard {
  return (type && GDACS[type.trim().toUpperCase()]) || 'other';
}
