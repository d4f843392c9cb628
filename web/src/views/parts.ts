import { api, type AreaCollection } from '../api.ts';
import { h } from '../dom.ts';
import { tMaybe } from '../i18n.ts';
import type { MadadMap } from '../map.ts';

type Cell = string | number | Node | null | undefined;

/** A table with column headers; a cell given as a number is right-aligned. */
export function table(headers: string[], rows: Cell[][], attrs: Record<string, string> = {}): HTMLTableElement {
  return h(
    'table',
    attrs,
    h('thead', {}, h('tr', {}, headers.map((c) => h('th', { scope: 'col' }, c)))),
    h(
      'tbody',
      {},
      rows.map((r) => h('tr', {}, r.map((c) => (typeof c === 'number' ? h('td', { class: 'n' }, String(c)) : h('td', {}, c ?? '—'))))),
    ),
  );
}

/** A number cell already formatted (PKR, counts): right-aligned and kept left to right in Urdu. */
export const nCell = (text: string) => h('bdi', { class: 'num', dir: 'ltr' }, text);

/** A status shown as a coloured badge with its words in the reader's language. */
export const statusPill = (status: string) => h('span', { class: `pill st-${status}` }, tMaybe(`st_${status}`, status.replace(/_/g, ' ')));

/** A section with a heading that screen readers can jump to. */
export function section(id: string, title: string, ...children: (Node | string | null | undefined | false)[]): HTMLElement {
  return h('section', { id, 'aria-labelledby': `${id}-h`, class: 'block' }, h('h2', { id: `${id}-h` }, title), ...children.filter((c): c is Node | string => !!c));
}

/** An area's name with its P-code, or the code alone when the gazetteer lacks it. */
export const areaName = (names: Map<string, string>, code: string) => (names.get(code) ? `${names.get(code)} (${code})` : code);

/** Fits the map to areas by their boundaries' boxes (at most 40 are asked for, which is plenty for a view). */
export async function focusAreas(map: MadadMap, codes: string[]): Promise<void> {
  if (codes.length === 0) return;
  const boxes = await Promise.all(
    codes.slice(0, 40).map((code) => api<AreaCollection['features'][number]>(`/api/areas/${encodeURIComponent(code)}?tolerance=0.05`).then((f) => f.bbox, () => undefined)),
  );
  const found = boxes.filter((b): b is [number, number, number, number] => !!b);
  if (found.length === 0) return;
  const [w, s, e, n] = [Math.min(...found.map((b) => b[0])), Math.min(...found.map((b) => b[1])), Math.max(...found.map((b) => b[2])), Math.max(...found.map((b) => b[3]))];
  map.focus({ type: 'Polygon', coordinates: [[[w, s], [e, s], [e, n], [w, n], [w, s]]] });
}
