import type * as maplibregl from 'maplibre-gl';
import type { Feature, FeatureCollection } from 'geojson';
import type { PlanProgress } from './api.ts';
import { h } from './dom.ts';
import { num } from './format.ts';
import { t, tMaybe } from './i18n.ts';
import type { MadadMap } from './map.ts';

/** Share of the due actions done, in four classes (ColorBrewer YlGn), and a grey for areas with none due yet. */
export const PROGRESS_RAMP = ['#f7fcb9', '#addd8e', '#41ab5d', '#006837'] as const;
export const PROGRESS_NONE_DUE = '#d9d9d9';
/** Action points by status: blocked and overdue stand out in red and orange. */
export const POINT_COLOURS = { blocked: '#b2182b', overdue: '#e66101', done: '#1a9641', other: '#2c7bb6' } as const;

export const PLAN_LAYERS = ['plan-progress-fill', 'plan-progress-line', 'plan-points-circle', 'plan-points-label'];

const EMPTY: FeatureCollection = { type: 'FeatureCollection', features: [] };
const levelOf = (code: string) => (code.length <= 3 ? 1 : code.length <= 5 ? 2 : 3);

const progressColour = [
  'case',
  ['==', ['get', 'shareDone'], -1],
  PROGRESS_NONE_DUE,
  ['step', ['get', 'shareDone'], PROGRESS_RAMP[0], 0.25, PROGRESS_RAMP[1], 0.5, PROGRESS_RAMP[2], 0.75, PROGRESS_RAMP[3]],
] as unknown as maplibregl.ExpressionSpecification;

const pointColour = [
  'case',
  ['==', ['get', 'status'], 'blocked'],
  POINT_COLOURS.blocked,
  ['get', 'overdue'],
  POINT_COLOURS.overdue,
  ['==', ['get', 'status'], 'done'],
  POINT_COLOURS.done,
  POINT_COLOURS.other,
] as unknown as maplibregl.ExpressionSpecification;

function addLayers(m: maplibregl.Map): void {
  if (m.getSource('plan-progress')) return;
  m.addSource('plan-progress', { type: 'geojson', data: EMPTY });
  m.addSource('plan-points', { type: 'geojson', data: EMPTY });
  // Below the area outlines and labels, above the plain fill.
  const before = m.getLayer('areas-3-line') ? 'areas-3-line' : undefined;
  m.addLayer({ id: 'plan-progress-fill', type: 'fill', source: 'plan-progress', paint: { 'fill-color': progressColour, 'fill-opacity': 0.75 } }, before);
  m.addLayer({ id: 'plan-progress-line', type: 'line', source: 'plan-progress', paint: { 'line-color': '#31572c', 'line-width': 1.2 } }, before);
  m.addLayer({
    id: 'plan-points-circle',
    type: 'circle',
    source: 'plan-points',
    paint: { 'circle-radius': 7, 'circle-color': pointColour, 'circle-stroke-color': '#ffffff', 'circle-stroke-width': 2 },
  });
  m.addLayer({
    id: 'plan-points-label',
    type: 'symbol',
    source: 'plan-points',
    minzoom: 7,
    layout: { 'text-field': ['get', 'name'], 'text-font': ['DejaVu Sans'], 'text-size': 11, 'text-offset': [0, 1.2], 'text-anchor': 'top' },
    paint: { 'text-color': '#1d2a33', 'text-halo-color': '#ffffff', 'text-halo-width': 1.5 },
  });
}

/**
 * The plan on the map: each area of the plan coloured by the share of its due actions that are done, and
 * the action points (payment camps, boat points) as dots, red when blocked, orange when overdue. Areas are
 * drawn from the map's own boundaries of their level, so the colours sit exactly under the outlines.
 */
export async function showPlanProgress(map: MadadMap, progress: PlanProgress): Promise<void> {
  await map.whenReady();
  const m = map.map;
  addLayers(m);
  const byLevel = new Map<number, PlanProgress['areas']>();
  for (const a of progress.areas) byLevel.set(levelOf(a.areaCode), [...(byLevel.get(levelOf(a.areaCode)) ?? []), a]);
  const features: Feature[] = [];
  for (const [level, areas] of byLevel) {
    const fc = await map.boundaries(level);
    const byCode = new Map(areas.map((a) => [a.areaCode, a]));
    for (const f of fc.features) {
      const a = byCode.get(String(f.properties?.code));
      if (!a) continue;
      features.push({
        type: 'Feature',
        geometry: f.geometry,
        properties: { code: a.areaCode, name: a.name ?? a.areaCode, total: a.total, due: a.due, done: a.done, overdue: a.overdue, blocked: a.blocked, shareDone: a.shareDone ?? -1, points: a.points, planArea: true },
      });
    }
  }
  (m.getSource('plan-progress') as maplibregl.GeoJSONSource).setData({ type: 'FeatureCollection', features });
  const points: Feature[] = progress.points.map((p) => ({
    type: 'Feature',
    geometry: { type: 'Point', coordinates: [p.location.lon, p.location.lat] },
    properties: { actionId: p.actionId, title: p.title, name: p.location.name, status: p.status, overdue: p.overdue, leadAgency: p.leadAgency, capacity: p.location.capacity ?? null, planPoint: true },
  }));
  (m.getSource('plan-points') as maplibregl.GeoJSONSource).setData({ type: 'FeatureCollection', features: points });
}

/** Takes the plan off the map (another view is shown). */
export function hidePlanProgress(map: MadadMap): void {
  const m = map.map;
  for (const id of ['plan-progress', 'plan-points']) (m.getSource(id) as maplibregl.GeoJSONSource | undefined)?.setData(EMPTY);
}

/** What a click on a plan area or point says. */
export function planPopup(props: Record<string, unknown>): HTMLElement | undefined {
  if (props.planPoint) {
    return h(
      'div',
      { class: 'popup' },
      h('strong', {}, String(props.name)),
      h('p', {}, String(props.title)),
      h('p', {}, `${t('status')}: ${tMaybe(`plan_${props.status}`, String(props.status))}${props.overdue ? ` · ${t('planOverdue')}` : ''}`),
      h('p', {}, `${t('planLead')}: ${String(props.leadAgency)}`),
      props.capacity ? h('p', {}, t('planCapacity', { n: num(Number(props.capacity)) })) : null,
    );
  }
  if (props.planArea) {
    const share = Number(props.shareDone);
    return h(
      'div',
      { class: 'popup' },
      h('strong', {}, `${String(props.name)} (${String(props.code)})`),
      h('p', {}, t('planAreaCounts', { total: Number(props.total), due: Number(props.due), done: Number(props.done) })),
      h('p', {}, share < 0 ? t('planNoneDue') : t('planShareDone', { pct: Math.round(share * 100) })),
      Number(props.overdue) ? h('p', { class: 'overdue' }, t('planOverdueN', { n: Number(props.overdue) })) : null,
      Number(props.blocked) ? h('p', { class: 'blocked' }, t('planBlockedN', { n: Number(props.blocked) })) : null,
    );
  }
  return undefined;
}

/** The legend of the plan layers. */
export function planLegend(): HTMLElement {
  const swatch = (colour: string, label: string, round = false) => h('li', {}, h('span', { class: round ? 'swatch dot' : 'swatch', style: `background:${colour}` }), ' ', label);
  return h(
    'div',
    { class: 'plan-legend' },
    h('h3', {}, t('planMapTitle')),
    h(
      'ul',
      {},
      swatch(PROGRESS_NONE_DUE, t('planNoneDue')),
      swatch(PROGRESS_RAMP[0], t('planShareRange', { from: 0, to: 25 })),
      swatch(PROGRESS_RAMP[1], t('planShareRange', { from: 25, to: 50 })),
      swatch(PROGRESS_RAMP[2], t('planShareRange', { from: 50, to: 75 })),
      swatch(PROGRESS_RAMP[3], t('planShareRange', { from: 75, to: 100 })),
      swatch(POINT_COLOURS.other, t('planPointOpen'), true),
      swatch(POINT_COLOURS.overdue, t('planOverdue'), true),
      swatch(POINT_COLOURS.blocked, t('plan_blocked'), true),
      swatch(POINT_COLOURS.done, t('plan_done'), true),
    ),
  );
}
