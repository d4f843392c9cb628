import { closeEvent, declareEvent, eventEvaluations, eventPayments, eventPlan, getActivation, getAlert, getEvent, type BatchActivation, type Evaluation, type EventPayments, type EventView, type Plan } from '../api.ts';
import { h } from '../dom.ts';
import { num, pkr } from '../format.ts';
import { t, tMaybe } from '../i18n.ts';
import { can } from '../session.ts';
import { dl, errorBox, errorText, headlineOf, timeEl, type ViewContext } from './common.ts';
import { areaName, focusAreas, nCell, section, statusPill, table } from './parts.ts';

const MONEY_COLUMNS = ['reserved', 'released', 'exported', 'paid', 'failed', 'unclaimed', 'cancelled'] as const;

function evaluationsBlock(items: Evaluation[]): HTMLElement {
  if (items.length === 0) return section('ev-evals', t('evaluations'), h('p', {}, t('noEvaluations')));
  return section(
    'ev-evals',
    t('evaluations'),
    ...items.map((e, i) =>
      h(
        'details',
        { open: e.fired || i === 0, class: 'evaluation' },
        h('summary', {}, `${e.ruleId} (${t('version')} ${e.version}): ${e.fired ? `${t('fired')}${e.stage ? `, ${e.stage}` : ''}` : t('notFired')} · `, timeEl(e.evaluatedAt)),
        h('ul', { class: 'reasons' }, e.reasons.map((r) => h('li', { class: r.pass ? 'pass' : 'fail', style: `margin-inline-start:${r.depth * 1.2}em` }, h('span', { class: 'mark', 'aria-label': r.pass ? t('pass') : t('fail') }, r.pass ? '✓' : '✗'), ' ', h('span', { dir: 'ltr' }, r.text)))),
      ),
    ),
  );
}

function activationsBlock(activations: BatchActivation[]): HTMLElement {
  if (activations.length === 0) return section('ev-acts', t('activationsAndBatches'), h('p', {}, t('noActivations')));
  return section(
    'ev-acts',
    t('activationsAndBatches'),
    table(
      [t('rule'), t('stage'), t('status'), t('batch'), t('households'), t('totalPkr')],
      activations.flatMap((a) =>
        a.batches.length === 0
          ? [[a.ruleId, a.stage, statusPill(a.status), t('noBatchYet'), null, null]]
          : a.batches.map((b) => [
              a.ruleId,
              a.stage,
              statusPill(a.status),
              h('a', { href: `/batches/${b.id}`, 'data-link': true }, `${b.programme} · `, statusPill(b.status)),
              nCell(b.lineCount === null ? '—' : num(b.lineCount)),
              nCell(pkr(b.totalPkr)),
            ]),
      ),
      { class: 'activations' },
    ),
  );
}

function paymentsBlock(p: EventPayments | undefined, names: Map<string, string>): HTMLElement {
  if (!p) return section('ev-pay', t('paymentTotals'), h('p', {}, t('noPayments')));
  const cell = (c: { households: number | null; pkr: number | null }) => nCell(c.pkr === null && c.households === null ? '—' : `${pkr(c.pkr)} · ${t('hhShort', { n: c.households === null ? '—' : num(c.households) })}`);
  const head = [t('key'), ...MONEY_COLUMNS.map((s) => tMaybe(`money_${s}`, s))];
  const rows = (list: EventPayments['byProgramme'], label: (k: string) => string) => list.map((r) => [label(r.key), ...MONEY_COLUMNS.map((s) => cell(r[s]))]);
  return section(
    'ev-pay',
    t('paymentTotals'),
    h('p', { class: 'help' }, t('paymentTotalsHelp')),
    table(head, [[t('allProgrammes'), ...MONEY_COLUMNS.map((s) => cell(p.totals[s]))], ...rows(p.byProgramme, (k) => k)], { class: 'money' }),
    p.byDistrict.length ? h('h3', {}, t('byDistrict')) : '',
    p.byDistrict.length ? table(head, rows(p.byDistrict, (k) => areaName(names, k)), { class: 'money' }) : '',
    p.byChannel.length ? h('h3', {}, t('byChannel')) : '',
    p.byChannel.length ? table(head, rows(p.byChannel, (k) => tMaybe(`ch_${k}`, k)), { class: 'money' }) : '',
  );
}

function planBlock(eventId: string, plan: Plan | undefined): HTMLElement {
  const link = h('p', {}, h('a', { href: `/events/${eventId}/plan`, 'data-link': true }, t('openPlan')));
  if (!plan) return section('ev-plan', t('planTitleShort'), link);
  const c = plan.counts;
  const byStatus = Object.entries(c.byStatus).filter(([, n]) => n > 0);
  return section(
    'ev-plan',
    t('planTitleShort'),
    h('p', { class: c.overdue || c.blocked ? 'summary warn' : 'summary' }, t('eventPlanCounts', { total: c.total, overdue: c.overdue, blocked: c.blocked, unaccepted: c.unaccepted })),
    byStatus.length ? h('ul', { class: 'counts' }, byStatus.map(([st, n]) => h('li', {}, h('span', { class: 'count' }, String(n)), ' ', tMaybe(`plan_${st}`, st.replace(/_/g, ' '))))) : '',
    link,
  );
}

/** One event: its areas on the map, its notification, alerts, evaluations with reasons, activations and batches, money and plan. */
export async function eventDetailView(panel: HTMLElement, ctx: ViewContext, id: string): Promise<void> {
  const status = h('p', { role: 'status' }, t('loading'));
  panel.append(h('p', {}, h('a', { href: '/events', 'data-link': true }, `← ${t('backToEvents')}`)), status);
  let event: EventView;
  try {
    event = await getEvent(id);
  } catch (err) {
    status.replaceWith(errorBox(err));
    return;
  }
  const [evals, payments, plan, alerts] = await Promise.all([
    eventEvaluations(id).catch(() => [] as Evaluation[]),
    eventPayments(id).catch(() => undefined),
    eventPlan(id).catch(() => undefined),
    Promise.all(event.alertIds.map((a) => getAlert(a).catch(() => undefined))),
  ]);
  const activationIds = [...new Set(evals.flatMap((e) => e.activations.map((a) => a.id)))];
  const activations = (await Promise.all(activationIds.map((a) => getActivation(a).catch(() => undefined)))).filter((a): a is BatchActivation => !!a);
  const names = await ctx.map.namesOf([event.jurisdiction, ...event.areaCodes, ...(payments?.byDistrict.map((d) => d.key) ?? [])]);

  const actionOut = h('div', { 'aria-live': 'assertive' });
  const act = (label: string, run: () => Promise<unknown>, cls = '') =>
    h(
      'button',
      {
        type: 'button',
        class: cls,
        onclick: async (e: Event) => {
          (e.currentTarget as HTMLButtonElement).disabled = true;
          try {
            await run();
            panel.replaceChildren();
            await eventDetailView(panel, ctx, id);
          } catch (err) {
            actionOut.replaceChildren(h('p', { class: 'error', role: 'alert' }, errorText(err)));
            (e.target as HTMLButtonElement).disabled = false;
          }
        },
      },
      label,
    );
  const actions =
    can.declare() && event.status !== 'closed'
      ? h('div', { class: 'actions' }, event.status === 'draft' ? act(t('declareNow'), () => declareEvent(id)) : '', act(t('closeEvent'), () => closeEvent(id), 'secondary'), actionOut)
      : '';

  status.replaceWith(
    h('h1', {}, event.name, ' ', statusPill(event.status)),
    dl([
      [t('hazard'), tMaybe(`hz_${event.hazard}`, event.hazard)],
      [t('status'), tMaybe(`st_${event.status}`, event.status)],
      [t('jurisdiction'), areaName(names, event.jurisdiction)],
      [t('declaredAt'), event.declaredAt ? timeEl(event.declaredAt) : null],
      [t('closedAt'), event.closedAt ? timeEl(event.closedAt) : null],
      [t('createdBy'), event.createdBy],
      [t('createdAt'), timeEl(event.createdAt)],
    ]),
    actions,
    section(
      'ev-areas',
      t('notifiedAreas', { n: event.areaCodes.length }),
      table(
        [t('asWritten'), t('resolvedTo')],
        event.notification.lines.map((l) => [h('span', { dir: 'auto' }, l.submitted), `${l.area.name} (${l.area.code}${l.area.within ? `, ${l.area.within}` : ''})`]),
        { class: 'notified' },
      ),
      event.notification.alerts.length ? h('p', {}, t('areasFromAlerts', { n: event.notification.alerts.length })) : '',
    ),
    section(
      'ev-alerts',
      t('alertsTitle'),
      alerts.length === 0 ? h('p', {}, t('noAlerts')) : h('ul', {}, alerts.map((a, i) => h('li', {}, a ? h('a', { href: `/alerts/${a.id}`, 'data-link': true }, headlineOf(a)) : event.alertIds[i]))),
    ),
    evaluationsBlock(evals),
    activationsBlock(activations),
    paymentsBlock(payments, names),
    planBlock(event.id, plan),
  );
  ctx.map.setAffected(event.areaCodes);
  void focusAreas(ctx.map, event.areaCodes);
}
