import * as maplibregl from 'maplibre-gl';
import 'maplibre-gl/dist/maplibre-gl.css';
import workerUrl from 'maplibre-gl/dist/maplibre-gl-worker.mjs?worker&url';
import { pointOnFeature } from '@turf/turf';
import { cellToBoundary } from 'h3-js';
import type { Feature, FeatureCollection, Geometry } from 'geojson';
import { density, householdsIn, listAreas, type Alert, type AreaCount } from './api.ts';
import type { Protection } from './format.ts';
import { currentLang, t } from './i18n.ts';
import { baseStyle, CHOROPLETH_RAMP, classBreaks, DENSITY_RAMP, labelField, PAKISTAN_BOUNDS, severityColour, stepColour } from './map-style.ts';

// Under Vite the worker must be named explicitly (MapLibre 6 ships it as its own module).
maplibregl.setWorkerUrl(workerUrl);

const EMPTY: FeatureCollection = { type: 'FeatureCollection', features: [] };
/** Zoom at which districts, then tehsils, are fetched and drawn. */
const LEVEL_ZOOM: Record<number, number> = { 1: 0, 2: 5.5, 3: 8 };
/** Households are drawn one by one only this close in. */
export const HOUSEHOLD_MIN_ZOOM = 10;

export type LayerGroup = 'boundaries' | 'alerts' | 'affected' | 'choropleth' | 'density' | 'households';
export const LAYER_GROUPS: Record<LayerGroup, string[]> = {
  boundaries: ['areas-1-line', 'areas-2-line', 'areas-3-line', 'areas-1-label', 'areas-2-label', 'areas-3-label'],
  alerts: ['alerts-fill', 'alerts-line', 'alerts-line-test', 'alerts-label'],
  affected: ['affected-fill', 'affected-line'],
  choropleth: ['choropleth-fill', 'choropleth-line'],
  density: ['density-fill'],
  households: ['households-circle'],
};
/** Layers a click opens a popup for, top first. */
export const CLICKABLE = ['plan-points-circle', 'households-circle', 'alerts-fill', 'density-fill', 'choropleth-fill', 'plan-progress-fill', 'areas-3-fill', 'areas-2-fill', 'areas-1-fill'];

export type ChoroplethMode = 'count' | 'share';

export interface MapState {
  visible: Record<LayerGroup, boolean>;
  choroplethMode: ChoroplethMode;
  choroplethTitle: string | null;
  choroplethBreaks: number[];
  densityBreaks: number[];
  households: { shown: number; total: number } | null;
  zoom: number;
}

const codeLevel = (code: string) => (code.length <= 3 ? 1 : code.length <= 5 ? 2 : 3);

function alertMark(status: string): string {
  return status === 'Test' ? 'TEST' : status === 'Exercise' ? 'EXERCISE' : '';
}

/** The map and everything drawn on it; views tell it what to show, it tells listeners what changed. */
export class MadadMap {
  readonly map: maplibregl.Map;
  readonly state: MapState = {
    visible: { boundaries: true, alerts: true, affected: true, choropleth: true, density: false, households: false },
    choroplethMode: 'count',
    choroplethTitle: null,
    choroplethBreaks: [],
    densityBreaks: [],
    households: null,
    zoom: 4.6,
  };
  private areas = new Map<number, Promise<FeatureCollection>>();
  private loadedAreas = new Map<number, FeatureCollection>();
  private affectedCodes: string[] = [];
  private choroplethCounts: AreaCount[] = [];
  /** How the counts drawn were protected: a hidden count is drawn as 0 and its popup says "fewer than 10". */
  private choroplethDisclosure: Protection | null = null;
  private ready: Promise<void>;
  private changeListeners = new Set<() => void>();
  private fetchAbort: Record<'density' | 'households', number> = { density: 0, households: 0 };
  private popup: maplibregl.Popup | undefined;
  popupContent: (feature: maplibregl.MapGeoJSONFeature) => HTMLElement | undefined = () => undefined;

  constructor(container: HTMLElement) {
    this.map = new maplibregl.Map({
      container,
      style: baseStyle(location.origin),
      bounds: PAKISTAN_BOUNDS,
      fitBoundsOptions: { padding: 16 },
      attributionControl: false,
      // Keeps the drawn frame readable for tests and screenshots; the cost is small on a map this simple.
      canvasContextAttributes: { preserveDrawingBuffer: true },
      locale: { 'NavigationControl.ZoomIn': t('zoomIn'), 'NavigationControl.ZoomOut': t('zoomOut'), 'Popup.Close': t('closePopup') },
    });
    this.map.addControl(new maplibregl.NavigationControl({ showCompass: false }), 'top-left');
    this.map.addControl(new maplibregl.ScaleControl({ unit: 'metric' }), 'bottom-left');
    this.map.addControl(new maplibregl.AttributionControl({ compact: true, customAttribution: t('attribution') }));
    window.__madadMap = this.map;
    this.ready = new Promise((resolve) => this.map.once('load', () => resolve()));
    void this.ready.then(() => this.setUp());
  }

  onChange(listener: () => void): void {
    this.changeListeners.add(listener);
  }

  private changed(): void {
    for (const l of this.changeListeners) l();
  }

  private setUp(): void {
    const m = this.map;
    for (const level of [1, 2, 3]) m.addSource(`areas-${level}`, { type: 'geojson', data: EMPTY, promoteId: 'code' });
    for (const level of [1, 2, 3]) m.addSource(`areas-${level}-labels`, { type: 'geojson', data: EMPTY });
    for (const id of ['choropleth', 'density', 'affected', 'alerts', 'alerts-labels', 'households']) m.addSource(id, { type: 'geojson', data: EMPTY });

    m.addLayer({ id: 'areas-1-fill', type: 'fill', source: 'areas-1', paint: { 'fill-color': '#fbfaf6' } });
    m.addLayer({ id: 'areas-2-fill', type: 'fill', source: 'areas-2', minzoom: LEVEL_ZOOM[2], paint: { 'fill-color': '#fbfaf6', 'fill-opacity': 0.01 } });
    m.addLayer({ id: 'areas-3-fill', type: 'fill', source: 'areas-3', minzoom: LEVEL_ZOOM[3], paint: { 'fill-color': '#fbfaf6', 'fill-opacity': 0.01 } });
    m.addLayer({ id: 'choropleth-fill', type: 'fill', source: 'choropleth', paint: { 'fill-color': CHOROPLETH_RAMP[2]!, 'fill-opacity': ['interpolate', ['linear'], ['zoom'], 6, 0.85, 10, 0.35] } });
    m.addLayer({ id: 'choropleth-line', type: 'line', source: 'choropleth', paint: { 'line-color': '#54278f', 'line-width': 0.6 } });
    m.addLayer({ id: 'density-fill', type: 'fill', source: 'density', paint: { 'fill-color': DENSITY_RAMP[2]!, 'fill-opacity': 0.7, 'fill-outline-color': '#ffffff' } });
    m.addLayer({ id: 'areas-3-line', type: 'line', source: 'areas-3', minzoom: LEVEL_ZOOM[3], paint: { 'line-color': '#9aa5ad', 'line-width': 0.5 } });
    m.addLayer({ id: 'areas-2-line', type: 'line', source: 'areas-2', minzoom: LEVEL_ZOOM[2], paint: { 'line-color': '#7d8a94', 'line-width': 0.8 } });
    m.addLayer({ id: 'areas-1-line', type: 'line', source: 'areas-1', paint: { 'line-color': '#4a5862', 'line-width': 1.4 } });
    m.addLayer({ id: 'affected-fill', type: 'fill', source: 'affected', paint: { 'fill-color': '#1f78b4', 'fill-opacity': 0.08 } });
    m.addLayer({ id: 'affected-line', type: 'line', source: 'affected', paint: { 'line-color': '#1f78b4', 'line-width': 2.5 } });
    m.addLayer({ id: 'alerts-fill', type: 'fill', source: 'alerts', paint: { 'fill-color': severityColour, 'fill-opacity': 0.22 } });
    m.addLayer({ id: 'alerts-line', type: 'line', source: 'alerts', filter: ['==', ['get', 'mark'], ''], paint: { 'line-color': severityColour, 'line-width': 2.5 } });
    m.addLayer({
      id: 'alerts-line-test',
      type: 'line',
      source: 'alerts',
      filter: ['!=', ['get', 'mark'], ''],
      paint: { 'line-color': severityColour, 'line-width': 2.5, 'line-dasharray': [3, 2] },
    });
    m.addLayer({
      id: 'households-circle',
      type: 'circle',
      source: 'households',
      minzoom: HOUSEHOLD_MIN_ZOOM,
      paint: {
        'circle-radius': ['interpolate', ['linear'], ['get', 'size'], 1, 3, 12, 7],
        'circle-color': ['case', ['get', 'vulnerable'], '#c51b7d', '#2c7bb6'],
        'circle-stroke-color': '#ffffff',
        'circle-stroke-width': 1,
      },
    });
    const labelPaint = { 'text-color': '#1d2a33', 'text-halo-color': '#ffffff', 'text-halo-width': 1.5 };
    m.addLayer({ id: 'areas-1-label', type: 'symbol', source: 'areas-1-labels', maxzoom: 7, layout: { 'text-field': labelField(currentLang()), 'text-font': ['DejaVu Sans Bold'], 'text-size': 13 }, paint: labelPaint });
    m.addLayer({ id: 'areas-2-label', type: 'symbol', source: 'areas-2-labels', minzoom: 6.5, maxzoom: 9, layout: { 'text-field': labelField(currentLang()), 'text-font': ['DejaVu Sans'], 'text-size': 11 }, paint: labelPaint });
    m.addLayer({ id: 'areas-3-label', type: 'symbol', source: 'areas-3-labels', minzoom: 9, layout: { 'text-field': labelField(currentLang()), 'text-font': ['DejaVu Sans'], 'text-size': 11 }, paint: labelPaint });
    m.addLayer({
      id: 'alerts-label',
      type: 'symbol',
      source: 'alerts-labels',
      layout: { 'text-field': ['get', 'label'], 'text-font': ['DejaVu Sans Bold'], 'text-size': 13, 'text-allow-overlap': true },
      paint: { 'text-color': severityColour, 'text-halo-color': '#ffffff', 'text-halo-width': 2 },
    });

    m.on('moveend', () => {
      this.state.zoom = m.getZoom();
      this.loadLevelsForZoom();
      void this.refreshDensity();
      void this.refreshHouseholds();
      this.changed();
    });
    m.on('click', (e) => this.openPopup(e.point, e.lngLat));
    for (const layer of CLICKABLE.slice(0, 5)) {
      m.on('mouseenter', layer, () => (m.getCanvas().style.cursor = 'pointer'));
      m.on('mouseleave', layer, () => (m.getCanvas().style.cursor = ''));
    }
    this.loadLevelsForZoom();
  }

  whenReady(): Promise<void> {
    return this.ready;
  }

  private loadLevelsForZoom(): void {
    const zoom = this.map.getZoom();
    for (const level of [1, 2, 3]) if (zoom >= LEVEL_ZOOM[level]!) void this.loadLevel(level);
  }

  /** Fetches one level of boundaries once, simplified for drawing. */
  private loadLevel(level: number): Promise<FeatureCollection> {
    let pending = this.areas.get(level);
    if (!pending) {
      pending = listAreas(level, level === 1 ? 0.01 : level === 2 ? 0.005 : 0.002)
        .catch(() => EMPTY)
        .then(async (fc) => {
          await this.ready;
          this.loadedAreas.set(level, fc);
          (this.map.getSource(`areas-${level}`) as maplibregl.GeoJSONSource).setData(fc);
          (this.map.getSource(`areas-${level}-labels`) as maplibregl.GeoJSONSource).setData(labelPoints(fc));
          this.drawAffected();
          this.drawChoropleth();
          return fc;
        });
      this.areas.set(level, pending);
    }
    return pending;
  }

  /** One level's boundaries as drawn (fetched once), for layers of other modules (map-plan.ts). */
  boundaries(level: number): Promise<FeatureCollection> {
    return this.loadLevel(level);
  }

  /** The gazetteer names of area codes, fetching the levels they belong to. */
  async namesOf(codes: string[]): Promise<Map<string, string>> {
    const levels = await Promise.all([...new Set(codes.map(codeLevel))].map((l) => this.loadLevel(l)));
    const names = new Map<string, string>();
    for (const fc of levels) for (const f of fc.features) if (f.properties?.code) names.set(String(f.properties.code), String(f.properties.name ?? ''));
    return names;
  }

  setVisible(group: LayerGroup, visible: boolean): void {
    this.state.visible[group] = visible;
    void this.ready.then(() => {
      for (const id of LAYER_GROUPS[group]) this.map.setLayoutProperty(id, 'visibility', visible ? 'visible' : 'none');
      if (group === 'density') void this.refreshDensity();
      if (group === 'households') void this.refreshHouseholds();
    });
    this.changed();
  }

  /** Active alerts, coloured by severity; Test and Exercise alerts dashed and labelled. */
  async setAlerts(alerts: Alert[]): Promise<void> {
    await this.ready;
    const features: Feature[] = alerts
      .filter((a) => a.geometry)
      .map((a) => ({
        type: 'Feature',
        geometry: a.geometry as Geometry,
        properties: { id: a.id, severity: a.severity, status: a.status, mark: alertMark(a.status), headline: a.headline ?? '', sent: a.sent, hazard: a.hazard },
      }));
    (this.map.getSource('alerts') as maplibregl.GeoJSONSource).setData({ type: 'FeatureCollection', features });
    const labels: Feature[] = features.map((f) => {
      const p = pointOnFeature(f as Feature<Geometry>);
      return { ...p, properties: { ...f.properties, label: f.properties!.mark || String(f.properties!.severity).toUpperCase() } };
    });
    (this.map.getSource('alerts-labels') as maplibregl.GeoJSONSource).setData({ type: 'FeatureCollection', features: labels });
    this.setAffected(alerts.flatMap((a) => a.areaCodes));
  }

  /** Outlines the areas alerts name (alert.areaCodes). */
  setAffected(codes: string[]): void {
    this.affectedCodes = [...new Set(codes)];
    for (const level of new Set(this.affectedCodes.map(codeLevel))) void this.loadLevel(level);
    this.drawAffected();
  }

  private drawAffected(): void {
    if (!this.map.getSource('affected')) return;
    const wanted = new Set(this.affectedCodes);
    const features = [...this.loadedAreas.values()].flatMap((fc) => fc.features.filter((f) => wanted.has(String(f.properties?.code))));
    (this.map.getSource('affected') as maplibregl.GeoJSONSource).setData({ type: 'FeatureCollection', features });
  }

  /**
   * Households per area as a choropleth. Counts may mix levels (districts and provinces): the finest
   * level the gazetteer has boundaries for is drawn, so a gazetteer of provinces only still shows one.
   */
  setChoropleth(title: string | null, counts: AreaCount[], disclosure: Protection | null = null): void {
    this.state.choroplethTitle = counts.length > 0 ? title : null;
    this.choroplethCounts = counts;
    this.choroplethDisclosure = disclosure;
    for (const level of new Set(counts.map((c) => codeLevel(c.code)))) void this.loadLevel(level);
    void this.ready.then(() => this.drawChoropleth());
  }

  setChoroplethMode(mode: ChoroplethMode): void {
    this.state.choroplethMode = mode;
    this.drawChoropleth();
  }

  private drawChoropleth(): void {
    const source = this.map.getSource('choropleth') as maplibregl.GeoJSONSource | undefined;
    if (!source) return;
    const levels = [...new Set(this.choroplethCounts.map((c) => codeLevel(c.code)))].sort((a, b) => b - a);
    const level = levels.find((l) => this.loadedAreas.get(l)?.features.some((f) => this.choroplethCounts.some((c) => c.code === f.properties?.code)));
    const counts = this.choroplethCounts.filter((c) => codeLevel(c.code) === level);
    const byCode = new Map(counts.map((c) => [c.code, c.households]));
    const total = counts.reduce((s, c) => s + (c.households ?? 0), 0);
    const minCell = this.choroplethDisclosure?.minCell ?? 0;
    const features = (level === undefined ? [] : [this.loadedAreas.get(level)!]).flatMap((fc) =>
      fc.features
        .filter((f) => byCode.has(String(f.properties?.code)))
        .map((f) => {
          const shown = byCode.get(String(f.properties?.code));
          const households = shown ?? 0;
          const hidden = shown === null ? { hidden: true, minCell } : {};
          return { ...f, id: undefined, properties: { code: f.properties?.code, name: f.properties?.name, households, share: total ? Math.round((1000 * households) / total) / 10 : 0, ...hidden } };
        }),
    );
    const property = this.state.choroplethMode === 'count' ? 'households' : 'share';
    const breaks = classBreaks(features.map((f) => Number(f.properties[property])));
    this.state.choroplethBreaks = breaks;
    this.map.setPaintProperty('choropleth-fill', 'fill-color', stepColour(property, breaks, CHOROPLETH_RAMP));
    source.setData({ type: 'FeatureCollection', features: features as Feature[] });
    this.changed();
  }

  private viewBox(): number[] {
    const b = this.map.getBounds();
    const [w, s, e, n] = PAKISTAN_BOUNDS;
    return [Math.max(b.getWest(), w - 1), Math.max(b.getSouth(), s - 1), Math.min(b.getEast(), e + 1), Math.min(b.getNorth(), n + 1)];
  }

  private async refreshDensity(): Promise<void> {
    if (!this.state.visible.density || !this.map.getSource('density')) return;
    const ticket = ++this.fetchAbort.density;
    const res = Math.max(3, Math.min(8, Math.round(this.map.getZoom()) - 1));
    const box = this.viewBox();
    if (box[0]! >= box[2]! || box[1]! >= box[3]!) return;
    const answer = await density(box, res).catch(() => undefined);
    if (!answer || ticket !== this.fetchAbort.density) return;
    const minCell = answer.disclosure?.minCell ?? 0;
    const features: Feature[] = answer.cells.map((c) => {
      const ring = cellToBoundary(c.cell, true);
      // A hidden count (fewer than minCell) is drawn in the lowest class and named so in its popup.
      const hidden = c.households === null ? { hidden: true, minCell } : {};
      return { type: 'Feature', geometry: { type: 'Polygon', coordinates: [ring] }, properties: { cell: c.cell, households: c.households ?? 0, ...hidden } };
    });
    const breaks = classBreaks(answer.cells.map((c) => c.households ?? 0));
    this.state.densityBreaks = breaks;
    this.map.setPaintProperty('density-fill', 'fill-color', stepColour('households', breaks, DENSITY_RAMP));
    (this.map.getSource('density') as maplibregl.GeoJSONSource).setData({ type: 'FeatureCollection', features });
    this.changed();
  }

  private async refreshHouseholds(): Promise<void> {
    const source = this.map.getSource('households') as maplibregl.GeoJSONSource | undefined;
    if (!source) return;
    if (!this.state.visible.households || this.map.getZoom() < HOUSEHOLD_MIN_ZOOM) {
      this.state.households = null;
      source.setData(EMPTY);
      this.changed();
      return;
    }
    const ticket = ++this.fetchAbort.households;
    const answer = await householdsIn(this.viewBox()).catch(() => undefined);
    if (!answer || ticket !== this.fetchAbort.households) return;
    // Only pseudonymous fields go on the map, whatever the caller's role lets the API send.
    const features: Feature[] = answer.items.map((h) => ({
      type: 'Feature',
      geometry: { type: 'Point', coordinates: [h.lon, h.lat] },
      properties: {
        id: h.id,
        size: h.size,
        vulnerable: Object.values(h.flags).some(Boolean),
        flags: Object.entries(h.flags)
          .filter(([, v]) => v)
          .map(([k]) => k)
          .join(','),
      },
    }));
    source.setData({ type: 'FeatureCollection', features });
    this.state.households = { shown: answer.items.length, total: answer.total };
    this.changed();
  }

  /** Fits the view to a geometry, or to Pakistan. */
  focus(geometry: Geometry | null): void {
    if (!geometry) return void this.map.fitBounds(PAKISTAN_BOUNDS, { padding: 16 });
    const coords: number[][] = [];
    const walk = (c: unknown): void => {
      if (Array.isArray(c) && typeof c[0] === 'number') coords.push(c as number[]);
      else if (Array.isArray(c)) c.forEach(walk);
    };
    walk('coordinates' in geometry ? geometry.coordinates : []);
    if (coords.length === 0) return;
    const xs = coords.map((c) => c[0]!);
    const ys = coords.map((c) => c[1]!);
    this.map.fitBounds([Math.min(...xs), Math.min(...ys), Math.max(...xs), Math.max(...ys)], { padding: 40, maxZoom: 9, duration: 0 });
  }

  private openPopup(point: maplibregl.PointLike, lngLat: maplibregl.LngLat): void {
    const layers = CLICKABLE.filter((id) => this.map.getLayer(id) && this.map.getLayoutProperty(id, 'visibility') !== 'none');
    const [feature] = this.map.queryRenderedFeatures(point, { layers });
    if (!feature) return;
    const content = this.popupContent(feature);
    if (!content) return;
    this.popup?.remove();
    this.popup = new maplibregl.Popup({ maxWidth: '320px', focusAfterOpen: true }).setLngLat(lngLat).setDOMContent(content).addTo(this.map);
  }

  /** Renames the map's own controls after a change of language (MapLibre reads its locale once). */
  relabel(): void {
    const container = this.map.getContainer();
    for (const [selector, key] of [['.maplibregl-ctrl-zoom-in', 'zoomIn'], ['.maplibregl-ctrl-zoom-out', 'zoomOut']] as const) {
      const button = container.querySelector(selector);
      button?.setAttribute('title', t(key));
      button?.setAttribute('aria-label', t(key));
    }
    const attribution = container.querySelector('.maplibregl-ctrl-attrib-inner');
    if (attribution) attribution.textContent = t('attribution');
    // Area labels in the new language (Urdu names where the gazetteer has them).
    void this.ready.then(() => {
      for (const level of [1, 2, 3]) this.map.setLayoutProperty(`areas-${level}-label`, 'text-field', labelField(currentLang()));
    });
  }

  resize(): void {
    this.map.resize();
  }
}

/** One label point per area, inside its polygon (a centroid can fall outside). */
function labelPoints(fc: FeatureCollection): FeatureCollection {
  const features: Feature[] = [];
  for (const f of fc.features) {
    if (!f.geometry) continue;
    try {
      features.push({ ...pointOnFeature(f as Feature<Geometry>), properties: { code: f.properties?.code, name: f.properties?.name, nameUr: f.properties?.nameUr ?? null } });
    } catch {
      // An empty or broken geometry simply gets no label.
    }
  }
  return { type: 'FeatureCollection', features };
}
