import { ApiError, type Alert } from '../api.ts';
import { h } from '../dom.ts';
import { pkTime } from '../format.ts';
import { t, tMaybe } from '../i18n.ts';
import type { MadadMap } from '../map.ts';

/** What every view may use. */
export interface ViewContext {
  map: MadadMap;
  /** Reloads the active alerts onto the map. */
  refreshAlerts(): Promise<void>;
}

/** A time in Pakistan time, kept left to right inside Urdu text so its parts stay in order. */
export const timeEl = (iso: string | null | undefined) => h('time', { datetime: iso ?? undefined, dir: 'ltr' }, pkTime(iso));

export function errorText(err: unknown): string {
  if (err instanceof ApiError) return t('error', { detail: err.message });
  return t('error', { detail: err instanceof Error ? err.message : String(err) });
}

export const errorBox = (err: unknown) => h('p', { class: 'error', role: 'alert' }, errorText(err));

/** The headline in the alert's own language, marked so screen readers and fonts follow it. */
export function headlineOf(alert: Alert): HTMLElement {
  const info = alert.infos.find((i) => i.headline) ?? { headline: alert.headline ?? alert.hazard, language: alert.language ?? undefined };
  const lang = info.language?.slice(0, 2);
  return h('span', { lang, dir: 'auto' }, info.headline ?? alert.identifier);
}

export function severityBadge(alert: Alert): HTMLElement {
  return h('span', { class: `badge sev-${alert.severity.toLowerCase()}` }, tMaybe(`sev${alert.severity}`, alert.severity));
}

/** TEST / EXERCISE marks, so nobody acts on a drill. */
export function statusBadge(alert: Alert): HTMLElement | null {
  if (alert.status === 'Test') return h('span', { class: 'badge test' }, t('testBadge'));
  if (alert.status === 'Exercise') return h('span', { class: 'badge test' }, t('exerciseBadge'));
  return null;
}

export function alertList(alerts: Alert[]): HTMLElement {
  if (alerts.length === 0) return h('p', {}, t('noAlerts'));
  return h(
    'ul',
    { class: 'alert-list' },
    alerts.map((a) =>
      h(
        'li',
        { class: a.active ? 'active' : 'inactive' },
        h('a', { href: `/alerts/${a.id}`, 'data-link': true }, headlineOf(a)),
        h('div', { class: 'meta' }, severityBadge(a), statusBadge(a), h('span', {}, `${t('sent')}: `, timeEl(a.sent)), h('span', {}, `${t('state')}: ${tMaybe(`state${a.state}`, a.state)}`)),
      ),
    ),
  );
}

export const dl = (rows: [string, string | Node | null | undefined][]) =>
  h(
    'dl',
    { class: 'facts' },
    rows.filter(([, v]) => v !== null && v !== undefined && v !== '').map(([k, v]) => h('div', {}, h('dt', {}, k), h('dd', {}, v as string | Node))),
  );
