import type { MapGeoJSONFeature } from 'maplibre-gl';
import { clear, h, uid } from './dom.ts';
import { num } from './format.ts';
import { t, tMaybe, type MessageKey } from './i18n.ts';
import { CHOROPLETH_RAMP, DENSITY_RAMP, SEVERITIES, SEVERITY_COLOURS } from './map-style.ts';
import { HOUSEHOLD_MIN_ZOOM, type LayerGroup, type MadadMap } from './map.ts';
import { navigate } from './router.ts';

const GROUPS: [LayerGroup, MessageKey][] = [
  ['boundaries', 'layerBoundaries'],
  ['alerts', 'layerAlerts'],
  ['affected', 'layerAffected'],
  ['choropleth', 'layerChoropleth'],
  ['density', 'layerDensity'],
  ['households', 'layerHouseholds'],
];

/** The layer switcher: a fieldset of checkboxes, so it works from the keyboard and with screen readers. */
export function layerSwitcher(map: MadadMap): HTMLElement {
  const name = uid('choropleth-mode');
  return h(
    'fieldset',
    { class: 'layers' },
    h('legend', {}, t('layers')),
    GROUPS.map(([group, label]) => {
      const id = uid(`layer-${group}`);
      return h(
        'div',
        { class: 'check' },
        h('input', { type: 'checkbox', id, checked: map.state.visible[group], 'data-layer': group, onchange: (e: Event) => map.setVisible(group, (e.target as HTMLInputElement).checked) }),
        h('label', { for: id }, t(label)),
      );
    }),
    h(
      'fieldset',
      { class: 'mode' },
      h('legend', {}, t('choroplethShow')),
      (['count', 'share'] as const).map((mode) => {
        const id = uid(`mode-${mode}`);
        return h(
          'div',
          { class: 'check' },
          h('input', { type: 'radio', id, name, value: mode, checked: map.state.choroplethMode === mode, onchange: () => map.setChoroplethMode(mode) }),
          h('label', { for: id }, t(mode === 'count' ? 'choroplethCount' : 'choroplethShare')),
        );
      }),
    ),
  );
}

function ramp(breaks: number[], colours: string[], unit = ''): HTMLElement {
  const offset = colours.length - breaks.length;
  return h(
    'ul',
    { class: 'ramp' },
    breaks.map((b, i) => {
      const next = breaks[i + 1];
      // Counts are whole numbers, so a class ends one below where the next begins.
      const top = next === undefined ? undefined : Number.isInteger(b) && Number.isInteger(next) ? next - 1 : next;
      const text = top === undefined ? `≥ ${num(b)}${unit}` : top <= b ? `${num(b)}${unit}` : `${num(b)}–${num(top)}${unit}`;
      return h('li', {}, h('span', { class: 'swatch', style: `background:${colours[offset + i]}` }), h('bdi', { dir: 'ltr' }, text));
    }),
  );
}

/** The legend: what each colour and line means, for the layers that are on. */
export function renderLegend(el: HTMLElement, map: MadadMap): void {
  clear(el);
  const s = map.state;
  el.append(h('h2', {}, t('legend')));
  if (s.visible.alerts) {
    el.append(
      h('h3', {}, t('severity')),
      h(
        'ul',
        { class: 'ramp' },
        SEVERITIES.map((sev) => h('li', {}, h('span', { class: 'swatch', style: `background:${SEVERITY_COLOURS[sev]}` }), tMaybe(`sev${sev}`, sev))),
        h('li', {}, h('span', { class: 'swatch dashed' }), t('testMarked')),
      ),
    );
  }
  if (s.visible.affected) el.append(h('p', { class: 'key' }, h('span', { class: 'swatch outline' }), t('layerAffected')));
  if (s.visible.choropleth && s.choroplethTitle && s.choroplethBreaks.length > 0) {
    el.append(h('h3', {}, s.choroplethTitle), ramp(s.choroplethBreaks, CHOROPLETH_RAMP, s.choroplethMode === 'share' ? ' %' : ''));
  }
  if (s.visible.density && s.densityBreaks.length > 0) el.append(h('h3', {}, t('layerDensity')), ramp(s.densityBreaks, DENSITY_RAMP));
  if (s.visible.households) {
    el.append(
      h('h3', {}, t('households')),
      s.households ? h('p', { class: 'key', role: 'status' }, t('householdsShown', { shown: num(s.households.shown), total: num(s.households.total) })) : h('p', { class: 'key' }, s.zoom < HOUSEHOLD_MIN_ZOOM ? t('zoomForHouseholds') : t('loading')),
    );
  }
}

const row = (label: string, value: string | number) => h('div', {}, h('dt', {}, label), h('dd', {}, String(value)));

/** A drawn count: a hidden one (fewer than the smallest cell the API shows) says so. */
const drawnCount = (p: Record<string, unknown>) => (p.hidden ? t('fewerThan', { n: num(Number(p.minCell)) }) : num(Number(p.households)));

/** What a click on the map shows; built from DOM nodes, never from HTML strings. */
export function popupFor(feature: MapGeoJSONFeature): HTMLElement | undefined {
  const p = feature.properties ?? {};
  const layer = feature.layer.id;
  if (layer === 'alerts-fill') {
    return h(
      'div',
      { class: 'popup' },
      h('h3', {}, String(p.headline || p.hazard)),
      h('dl', {}, row(t('severity'), tMaybe(`sev${p.severity}`, String(p.severity))), row(t('status'), String(p.status))),
      h('button', { type: 'button', class: 'linkish', onclick: () => navigate(`/alerts/${p.id}`) }, t('openAlert')),
    );
  }
  if (layer === 'households-circle') {
    const flags = String(p.flags || '')
      .split(',')
      .filter(Boolean)
      .map((f) => tMaybe(`flag${f}`, f));
    return h('div', { class: 'popup' }, h('h3', {}, String(p.id)), h('dl', {}, row(t('householdSize'), num(Number(p.size))), row(t('flags'), flags.join(', ') || t('none'))));
  }
  if (layer === 'density-fill') return h('div', { class: 'popup' }, h('dl', {}, row(t('h3Cell'), String(p.cell)), row(t('households'), drawnCount(p))));
  if (layer === 'choropleth-fill') {
    return h('div', { class: 'popup' }, h('h3', {}, `${p.name} (${p.code})`), h('dl', {}, row(t('households'), drawnCount(p)), row(t('choroplethShare'), p.hidden ? '—' : `${p.share} %`)));
  }
  if (layer.startsWith('areas-')) return h('div', { class: 'popup' }, h('h3', {}, String(p.name)), h('dl', {}, row(t('code'), String(p.code))));
  return undefined;
}
