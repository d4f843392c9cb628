import type { ExpressionSpecification, StyleSpecification } from 'maplibre-gl';

/** Pakistan, west/south/east/north. */
export const PAKISTAN_BOUNDS: [number, number, number, number] = [60.8, 23.6, 77.9, 37.1];

export const SEVERITIES = ['Extreme', 'Severe', 'Moderate', 'Minor', 'Unknown'] as const;
export const SEVERITY_COLOURS: Record<(typeof SEVERITIES)[number], string> = {
  Extreme: '#a50026',
  Severe: '#d7301f',
  Moderate: '#e67e00',
  Minor: '#b8860b',
  Unknown: '#5f6b73',
};

/** Sequential ramps (ColorBrewer Purples and BuGn): ordered, and readable without colour vision. */
export const CHOROPLETH_RAMP = ['#efedf5', '#cbc9e2', '#9e9ac8', '#756bb1', '#54278f'];
export const DENSITY_RAMP = ['#e5f5f9', '#99d8c9', '#66c2a4', '#2ca25f', '#006d2c'];

export const severityColour: ExpressionSpecification = [
  'match',
  ['get', 'severity'],
  ...SEVERITIES.slice(0, 4).flatMap((s) => [s, SEVERITY_COLOURS[s]]),
  SEVERITY_COLOURS.Unknown,
] as unknown as ExpressionSpecification;

/** Up to five class breaks (quantiles of the values, deduplicated): the lower bound of each class. */
export function classBreaks(values: number[], classes = 5): number[] {
  const sorted = values.filter((v) => Number.isFinite(v) && v > 0).sort((a, b) => a - b);
  if (sorted.length === 0) return [];
  const breaks: number[] = [];
  for (let i = 0; i < classes; i++) {
    const v = sorted[Math.min(sorted.length - 1, Math.floor((i / classes) * sorted.length))]!;
    if (breaks.length === 0 || v > breaks[breaks.length - 1]!) breaks.push(v);
  }
  return breaks;
}

/** A step expression colouring `property` by the class breaks. */
export function stepColour(property: string, breaks: number[], ramp: string[]): ExpressionSpecification | string {
  // A step needs at least one stop after its base colour: one class is a plain colour.
  if (breaks.length <= 1) return ramp[ramp.length - 1]!;
  const offset = ramp.length - breaks.length;
  const expr: unknown[] = ['step', ['get', property], ramp[offset]!];
  breaks.slice(1).forEach((b, i) => expr.push(b, ramp[offset + i + 1]!));
  return expr as ExpressionSpecification;
}

/** The Arabic script's blocks (Urdu letters, and the presentation forms MapLibre shapes them into). */
export const ARABIC_RANGES = ['U+0600-06FF', 'U+0750-077F', 'U+0870-08FF', 'U+FB50-FDFF', 'U+FE70-FEFF'];

/**
 * The base style: a plain background and nothing from the network. Labels are drawn from fonts our own
 * server serves (style `font-faces`, MapLibre 6); no glyphs URL, so no glyph server is asked. Arabic-script
 * labels (Urdu names) take Noto Naskh Arabic; MapLibre 6.9+ joins the letters and orders them right to left
 * itself, so no RTL text plugin is loaded.
 */
export function baseStyle(origin: string): StyleSpecification {
  const naskh = (weight: 400 | 700) => ({ url: `${origin}/fonts/noto-naskh-arabic-arabic-${weight}-normal.woff2`, 'unicode-range': ARABIC_RANGES });
  return {
    version: 8,
    'font-faces': {
      'DejaVu Sans': [naskh(400), { url: `${origin}/fonts/DejaVuSans.ttf` }],
      'DejaVu Sans Bold': [naskh(700), { url: `${origin}/fonts/DejaVuSans-Bold.ttf` }],
    },
    sources: {},
    layers: [{ id: 'background', type: 'background', paint: { 'background-color': '#dfe8ee' } }],
  } as StyleSpecification;
}

/** An area label in the reader's language: the Urdu name where the gazetteer has one, else the name as written. */
export function labelField(lang: 'en' | 'ur'): ExpressionSpecification {
  return (lang === 'ur' ? ['coalesce', ['get', 'nameUr'], ['get', 'name']] : ['get', 'name']) as ExpressionSpecification;
}
