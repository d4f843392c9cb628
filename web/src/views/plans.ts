import { planSummary, type PlanSummary } from '../api.ts';
import { h } from '../dom.ts';
import { num, pkr } from '../format.ts';
import { t } from '../i18n.ts';
import { errorBox, timeEl, type ViewContext } from './common.ts';
import { nCell, section, table } from './parts.ts';

type Tally = PlanSummary['totals'];

/** Figures of a row: overdue and blocked marked in words as well as colour. */
const tallyCells = (r: Pick<Tally, 'actions' | 'due' | 'done' | 'overdue' | 'blocked' | 'unaccepted'>) => [
  nCell(num(r.actions)),
  nCell(num(r.due)),
  nCell(num(r.done)),
  r.overdue ? h('span', { class: 'pill overdue' }, num(r.overdue)) : nCell('0'),
  r.blocked ? h('span', { class: 'pill plan-blocked' }, num(r.blocked)) : nCell('0'),
  nCell(num(r.unaccepted)),
];
const tallyHeads = () => [t('planActionsN'), t('planDueNow'), t('plan_done'), t('planOverdue'), t('plan_blocked'), t('planNotAccepted')];

/** The incident's page: `event:<id>` is an event's plan; an alert chain's plan has no page of its own yet. */
const incidentLink = (incident: string, title: string) => {
  const event = /^event:(.+)$/.exec(incident);
  return event ? h('a', { href: `/events/${event[1]}/plan`, 'data-link': true }, title) : h('span', {}, title);
};

/** `/plans`: the coordination summary: every open incident's plan, by agency and by district, and its money. */
export async function plansView(panel: HTMLElement, ctx: ViewContext): Promise<void> {
  panel.append(h('p', { role: 'status' }, t('loading')));
  let s: PlanSummary;
  try {
    s = await planSummary(2);
  } catch (err) {
    panel.replaceChildren(errorBox(err));
    return;
  }
  const names = await ctx.map.namesOf(s.byArea.map((a) => a.areaCode));
  panel.replaceChildren(
    h('h1', {}, t('plansTitle')),
    h('p', { class: 'muted' }, `${t('planGenerated')} `, timeEl(s.generatedAt)),
    h('p', {}, t('plansIntro')),
    section(
      'plans-incidents',
      t('plansIncidents'),
      s.incidents.length === 0
        ? h('p', {}, t('plansNone'))
        : table([t('planIncident'), t('planStarted'), ...tallyHeads()], s.incidents.map((i) => [incidentLink(i.incident, i.title), timeEl(i.startedAt), ...tallyCells(i)]), { class: 'plans-incidents' }),
    ),
    section('plans-agency', t('plansByAgency'), table([t('planAgency'), ...tallyHeads()], s.byAgency.map((a) => [h('span', { dir: 'auto' }, a.agency), ...tallyCells(a)]), { class: 'plans-agency' })),
    section(
      'plans-area',
      t('plansByArea'),
      table([t('planArea'), ...tallyHeads()], s.byArea.map((a) => [`${a.name ?? names.get(a.areaCode) ?? a.areaCode} (${a.areaCode})`, ...tallyCells(a)]), { class: 'plans-area' }),
    ),
    section(
      'plans-money',
      t('plansMoney'),
      table(
        [t('planAgency'), t('planIncidentsN'), t('planCommitted'), t('planReleased'), t('planPaid')],
        [
          ...s.money.map((m) => [h('span', { dir: 'auto' }, `${m.agency} (${m.jurisdiction})`), nCell(num(m.incidents)), nCell(pkr(m.committedPkr)), nCell(pkr(m.releasedPkr)), nCell(pkr(m.paidPkr))]),
          [h('strong', {}, t('planAllPayers')), null, nCell(pkr(s.totals.committedPkr)), nCell(pkr(s.totals.releasedPkr)), nCell(pkr(s.totals.paidPkr))],
        ],
        { class: 'plans-money' },
      ),
    ),
  );
  ctx.map.setChoropleth(null, []);
}
