import { eventPlan, planProgress, type Plan } from '../api.ts';
import { h } from '../dom.ts';
import { pkTime } from '../format.ts';
import { currentLang, setLang, t, tMaybe } from '../i18n.ts';
import { MadadMap } from '../map.ts';
import { planLegend, showPlanProgress } from '../map-plan.ts';
import { errorBox, timeEl } from './common.ts';
import { focusAreas } from './parts.ts';
import { areaList, countsBar, dueCell, planStatusPill } from './plan.ts';

/** The map drawn for the page is kept as a picture, so the printed page (or PDF) carries it as an image. */
async function snapshot(map: MadadMap, into: HTMLImageElement, box: HTMLElement): Promise<void> {
  await new Promise<void>((resolve) => {
    const done = () => resolve();
    map.map.once('idle', done);
    // A map with nothing left to load may already be idle.
    setTimeout(() => map.map.loaded() && done(), 1500);
  });
  into.src = map.map.getCanvas().toDataURL('image/png');
  await into.decode().catch(() => undefined);
  box.dataset.ready = 'true';
}

function printTable(plan: Plan, names: Map<string, string>): HTMLElement {
  return h(
    'table',
    { class: 'plan-print-table' },
    h('thead', {}, h('tr', {}, [t('planWhat'), t('planLead'), t('planAreas'), t('planDue'), t('status'), t('planLastNote')].map((c) => h('th', { scope: 'col' }, c)))),
    h(
      'tbody',
      {},
      plan.actions.map((a) => {
        const last = a.history[a.history.length - 1];
        return h(
          'tr',
          { class: [a.overdue ? 'overdue' : '', a.status === 'blocked' ? 'blocked' : ''].join(' ').trim() },
          h('td', {}, h('span', { dir: 'auto' }, a.title), h('div', { class: 'muted' }, tMaybe(`sector_${a.sector}`, a.sector))),
          h('td', { dir: 'auto' }, a.leadAgency),
          h('td', {}, areaList(a.areaCodes, names)),
          h('td', {}, dueCell(a)),
          h('td', {}, planStatusPill(a.status), a.overdue ? h('div', { class: 'overdue' }, t('planOverdue')) : null, a.statusReason ? h('div', {}, a.statusReason) : null),
          h('td', { dir: 'auto' }, last && last.kind !== 'created' ? last.note : ''),
        );
      }),
    ),
  );
}

/**
 * `/events/:id/plan/print?lang=en|ur`: the plan on one or more A4 pages: title, figures, the map of
 * progress by district with its action points (as a picture), its legend and every action. The language
 * is the page's (Urdu right to left); `?lang=` sets it.
 */
export async function planPrintView(panel: HTMLElement, eventId: string): Promise<void> {
  const wanted = new URLSearchParams(location.search).get('lang');
  if ((wanted === 'ur' || wanted === 'en') && wanted !== currentLang()) {
    setLang(wanted); // the shell draws this view again in that language
    return;
  }
  panel.append(h('p', { role: 'status' }, t('loading')));
  let plan: Plan;
  try {
    plan = await eventPlan(eventId);
  } catch (err) {
    panel.replaceChildren(errorBox(err));
    return;
  }
  const progress = await planProgress(plan.incident, 2).catch(() => undefined);
  const names = new Map((progress?.areas ?? []).filter((a) => a.name).map((a) => [a.areaCode, a.name!]));
  const live = h('div', { class: 'print-map-live', 'aria-hidden': 'true' });
  const picture = h('img', { class: 'print-map-img', alt: t('planMapAlt', { title: plan.title }) });
  const figure = h('figure', { class: 'print-map' }, live, picture, h('figcaption', {}, planLegend()));
  // The printed file's title (a PDF's document title) is the plan's.
  document.title = t('planOf', { title: plan.title });
  const other = currentLang() === 'ur' ? 'en' : 'ur';
  panel.replaceChildren(
    h(
      'div',
      { class: 'print-tools no-print' },
      h('button', { type: 'button', onclick: () => window.print() }, t('planPrintNow')),
      ' ',
      h('a', { href: `/events/${eventId}/plan/print?lang=${other}`, lang: other, dir: other === 'ur' ? 'rtl' : 'ltr' }, other === 'ur' ? t('planPrintUr') : t('planPrintEn')),
      ' ',
      h('a', { href: `/events/${eventId}/plan`, 'data-link': true }, t('backToPlan')),
    ),
    h(
      'article',
      { class: 'plan-print' },
      h('h1', {}, t('planOf', { title: plan.title })),
      h('p', { class: 'muted' }, `${t('planAreas')}: ${areaList(plan.areaCodes, names)}`),
      h('p', { class: 'muted' }, `${t('planStarted')} `, timeEl(plan.startedAt), ` · ${t('planGenerated')} `, h('time', { dir: 'ltr' }, pkTime(plan.generatedAt))),
      countsBar(plan),
      figure,
      printTable(plan, names),
      h('p', { class: 'print-foot muted' }, t('planPrintFoot')),
    ),
  );
  const map = new MadadMap(live);
  if (progress) await showPlanProgress(map, progress);
  await focusAreas(map, plan.areaCodes);
  await snapshot(map, picture, figure);
}
