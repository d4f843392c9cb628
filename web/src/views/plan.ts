import { acceptPlanAction, addPlanAction, ApiError, eventPlan, planExportUrl, planProgress, updatePlanAction, type Plan, type PlanAction, type PlanStatus } from '../api.ts';
import { h, uid } from '../dom.ts';
import { num, pkr } from '../format.ts';
import { t, tMaybe } from '../i18n.ts';
import { planLegend, planPopup, showPlanProgress } from '../map-plan.ts';
import { popupFor } from '../map-panel.ts';
import { currentUser, has } from '../session.ts';
import { errorBox, errorText, timeEl, type ViewContext } from './common.ts';
import { focusAreas, nCell, section } from './parts.ts';

/** The moves of an action's status, as server/plan/machine.ts allows them (the server checks again). */
const MOVES: Record<PlanStatus, PlanStatus[]> = {
  planned: ['ready', 'blocked', 'cancelled'],
  ready: ['in_progress', 'blocked', 'cancelled'],
  in_progress: ['done', 'blocked', 'cancelled'],
  blocked: ['planned', 'ready', 'in_progress', 'cancelled'],
  done: [],
  cancelled: [],
};
const NEEDS_REASON = new Set<PlanStatus>(['blocked', 'cancelled']);
const STATUSES: PlanStatus[] = ['planned', 'ready', 'in_progress', 'done', 'blocked', 'cancelled'];
/** Sectors of a plan action (triggers/rule-schema.ts PLAN_SECTORS). */
const SECTORS = ['cash', 'shelter', 'food', 'health', 'wash', 'nutrition', 'protection', 'education', 'logistics', 'registration', 'communication', 'coordination', 'early_recovery'];

const canPlan = () => has('dma_officer', 'program_manager', 'admin');
const canAccept = () => has('dma_officer', 'program_manager', 'finance_officer', 'admin');
const canReport = () => has('dma_officer', 'program_manager', 'finance_officer', 'responder', 'admin');

export const planStatusPill = (status: string) => h('span', { class: `pill plan-${status}` }, tMaybe(`plan_${status}`, status.replace(/_/g, ' ')));

/** An area list as names, keeping the codes for the reader who knows them. */
export const areaList = (codes: string[], names: Map<string, string>) => codes.map((c) => names.get(c) ?? c).join(', ');

/** The figures of the plan at a glance: overdue and blocked first. */
export function countsBar(plan: Plan): HTMLElement {
  const c = plan.counts;
  return h(
    'ul',
    { class: 'plan-counts', 'aria-label': t('planCounts') },
    h('li', {}, t('planTotal', { n: c.total })),
    h('li', { class: c.overdue ? 'overdue' : '' }, t('planOverdueN', { n: c.overdue })),
    h('li', { class: c.blocked ? 'blocked' : '' }, t('planBlockedN', { n: c.blocked })),
    h('li', {}, t('planUnacceptedN', { n: c.unaccepted })),
    ...STATUSES.filter((s) => c.byStatus[s]).map((s) => h('li', {}, planStatusPill(s), ' ', num(c.byStatus[s]!))),
  );
}

/** The due time of an action: Pakistan time and, when it has one, its place after the trigger (T+48 h). */
export const dueCell = (a: PlanAction) => h('span', {}, a.dueAt ? timeEl(a.dueAt) : '—', a.dueRelative ? h('span', { class: 'muted', dir: 'ltr' }, ` (${a.dueRelative})`) : null);

function statusCell(a: PlanAction): HTMLElement {
  return h(
    'div',
    { class: 'plan-status' },
    planStatusPill(a.status),
    a.overdue ? h('span', { class: 'pill overdue' }, t('planOverdue')) : null,
    a.statusReason ? h('p', { class: 'reason' }, a.statusReason) : null,
  );
}

function whatCell(a: PlanAction): HTMLElement {
  const last = a.history[a.history.length - 1];
  return h(
    'div',
    {},
    h('strong', { dir: 'auto' }, a.title),
    h('div', { class: 'muted' }, `${tMaybe(`sector_${a.sector}`, a.sector)} · ${tMaybe(`origin_${a.origin}`, a.origin)}${a.rule ? ` (${a.rule.id})` : ''}`),
    a.money ? h('div', { class: 'muted' }, t('planMoney', { committed: pkr(a.money.committedPkr), released: pkr(a.money.releasedPkr), paid: pkr(a.money.paidPkr) })) : null,
    a.locations.length ? h('div', { class: 'muted' }, `${t('planPoints')}: ${a.locations.map((l) => l.name).join('; ')}`) : null,
    last && last.kind !== 'created' ? h('div', { class: 'last-note' }, `${t('planLastNote')}: `, h('q', { dir: 'auto' }, last.note), ' · ', timeEl(last.at)) : null,
  );
}

/** The update form of one action: a move the machine allows, a note, a reason when blocked or cancelled. */
function updateForm(a: PlanAction, done: () => void): HTMLElement {
  const moves = MOVES[a.status];
  const statusId = uid('plan-status');
  const noteId = uid('plan-note');
  const reasonId = uid('plan-reason');
  const status = h('select', { id: statusId, name: 'status' }, h('option', { value: '' }, t('planKeepStatus')), moves.map((m) => h('option', { value: m }, tMaybe(`plan_${m}`, m))));
  const reasonRow = h('div', { class: 'field', hidden: true }, h('label', { for: reasonId }, t('planReason')), h('input', { id: reasonId, name: 'reason', maxlength: '2000' }));
  status.addEventListener('change', () => (reasonRow.hidden = !NEEDS_REASON.has(status.value as PlanStatus)));
  const message = h('p', { class: 'form-message', role: 'status' });
  const form = h(
    'form',
    {
      class: 'plan-update',
      onsubmit: async (e: Event) => {
        e.preventDefault();
        const data = new FormData(form);
        const to = String(data.get('status') ?? '') as PlanStatus | '';
        message.textContent = t('saving');
        try {
          await updatePlanAction(a.id, {
            note: String(data.get('note') ?? ''),
            ...(to ? { status: to } : {}),
            ...(to && NEEDS_REASON.has(to) ? { reason: String(data.get('reason') ?? '') } : {}),
          });
          done();
        } catch (err) {
          message.textContent = err instanceof ApiError && err.problem.errors?.length ? err.problem.errors.map((p) => p.message).join('; ') : errorText(err);
          message.setAttribute('role', 'alert');
        }
      },
    },
    moves.length ? h('div', { class: 'field' }, h('label', { for: statusId }, t('planNewStatus')), status) : null,
    reasonRow,
    h('div', { class: 'field' }, h('label', { for: noteId }, t('planNote')), h('textarea', { id: noteId, name: 'note', required: true, minlength: '3', maxlength: '2000', rows: '2' })),
    h('button', { type: 'submit' }, t('planSaveUpdate')),
    message,
  );
  return h('details', { class: 'plan-update-box' }, h('summary', {}, t('planUpdate')), form);
}

function actionButtons(a: PlanAction, refresh: () => void): HTMLElement | null {
  if (a.kind !== 'action' || !a.mine) return a.kind === 'cash' && a.batchId ? h('a', { href: `/batches/${a.batchId}`, 'data-link': true }, t('openBatch')) : null;
  const parts: HTMLElement[] = [];
  if (!a.acceptedAt && canAccept() && a.status !== 'cancelled') {
    parts.push(
      h(
        'button',
        {
          type: 'button',
          class: 'accept',
          onclick: async (e: Event) => {
            (e.target as HTMLButtonElement).disabled = true;
            await acceptPlanAction(a.id).then(refresh, (err) => alert(errorText(err)));
          },
        },
        t('planAccept'),
      ),
    );
  }
  if (canReport() && a.status !== 'done' && a.status !== 'cancelled') parts.push(updateForm(a, refresh));
  return parts.length ? h('div', { class: 'plan-buttons' }, ...parts) : null;
}

interface Filters {
  agency: string;
  area: string;
  status: string;
  attention: boolean;
}

function matches(a: PlanAction, f: Filters): boolean {
  if (f.agency && a.leadAgency !== f.agency && !a.supportingAgencies.includes(f.agency)) return false;
  if (f.area && !a.areaCodes.some((c) => c === f.area || c.startsWith(f.area) || f.area.startsWith(c))) return false;
  if (f.status && a.status !== f.status) return false;
  if (f.attention && !a.overdue && a.status !== 'blocked') return false;
  return true;
}

/** The actions table, filtered; overdue and blocked rows stand out (a class, a badge and words, not colour alone). */
function actionsTable(plan: Plan, names: Map<string, string>, f: Filters, refresh: () => void): HTMLElement {
  const shown = plan.actions.filter((a) => matches(a, f));
  if (shown.length === 0) return h('p', { role: 'status' }, t('planNoneMatch'));
  return h(
    'table',
    { class: 'plan-actions' },
    h('caption', { class: 'sr-only' }, t('planActionsCaption', { n: shown.length, total: plan.actions.length })),
    h('thead', {}, h('tr', {}, [t('planWhat'), t('planLead'), t('planAreas'), t('planDue'), t('status'), t('planAccepted'), ''].map((c) => h('th', { scope: 'col' }, c)))),
    h(
      'tbody',
      {},
      shown.map((a) =>
        h(
          'tr',
          { class: [a.overdue ? 'overdue' : '', a.status === 'blocked' ? 'blocked' : '', a.mine ? 'mine' : ''].join(' ').trim(), 'data-action': a.id },
          h('td', {}, whatCell(a)),
          h('td', {}, h('div', { dir: 'auto' }, a.leadAgency), a.supportingAgencies.length ? h('div', { class: 'muted', dir: 'auto' }, a.supportingAgencies.join(', ')) : null),
          h('td', {}, areaList(a.areaCodes, names)),
          h('td', {}, dueCell(a)),
          h('td', {}, statusCell(a)),
          h('td', {}, a.kind === 'cash' ? '—' : a.acceptedAt ? h('span', {}, '✓ ', timeEl(a.acceptedAt)) : h('span', { class: 'pill unaccepted' }, t('planNotAccepted'))),
          h('td', {}, actionButtons(a, refresh)),
        ),
      ),
    ),
  );
}

/** The form to add an action: its areas ticked in a list or picked on the map (a click on an area of the plan). */
function addForm(plan: Plan, names: Map<string, string>, ctx: ViewContext, done: () => void): HTMLElement {
  const me = currentUser();
  const areaBoxes = new Map<string, HTMLInputElement>();
  const picked = h('p', { class: 'sr-only', 'aria-live': 'polite' });
  const areas = h(
    'fieldset',
    { class: 'plan-areas' },
    h('legend', {}, t('planAreasPick')),
    plan.areaCodes.map((code) => {
      const id = uid('plan-area');
      const box = h('input', { type: 'checkbox', id, name: 'areaCodes', value: code });
      areaBoxes.set(code, box);
      return h('div', { class: 'check' }, box, h('label', { for: id }, `${names.get(code) ?? code} (${code})`));
    }),
    picked,
  );
  // A click on an area of the plan's map ticks (or unticks) it here.
  const onMapClick = (e: { features?: { properties: Record<string, unknown> }[] }) => {
    const code = String(e.features?.[0]?.properties.code ?? '');
    const box = areaBoxes.get(code);
    if (!box || !form.isConnected) return;
    box.checked = !box.checked;
    picked.textContent = t(box.checked ? 'planAreaPicked' : 'planAreaUnpicked', { name: names.get(code) ?? code });
  };
  ctx.map.map.on('click', 'plan-progress-fill', onMapClick as never);
  const field = (label: string, input: HTMLElement) => {
    input.id ||= uid('plan-f');
    return h('div', { class: 'field' }, h('label', { for: input.id }, label), input);
  };
  const message = h('p', { class: 'form-message', role: 'status' });
  const form: HTMLFormElement = h(
    'form',
    {
      class: 'plan-add',
      onsubmit: async (e: Event) => {
        e.preventDefault();
        const d = new FormData(form);
        const str = (k: string) => String(d.get(k) ?? '').trim();
        const location = str('placeName')
          ? [{ name: str('placeName'), lat: Number(str('lat')), lon: Number(str('lon')), ...(str('capacity') ? { capacity: Number(str('capacity')) } : {}) }]
          : [];
        message.textContent = t('saving');
        try {
          await addPlanAction(plan.incident, {
            title: str('title'),
            sector: str('sector') as never,
            ...(str('leadAgency') ? { leadAgency: str('leadAgency') } : {}),
            supportingAgencies: str('supporting') ? str('supporting').split(',').map((s) => s.trim()).filter(Boolean) : [],
            areaCodes: d.getAll('areaCodes').map(String),
            locations: location,
            dueHours: Number(str('dueHours') || '48'),
            ...(str('households') ? { targets: { households: Number(str('households')) } } : {}),
            ...(str('note') ? { note: str('note') } : {}),
          });
          ctx.map.map.off('click', 'plan-progress-fill', onMapClick as never);
          done();
        } catch (err) {
          message.textContent = err instanceof ApiError && err.problem.errors?.length ? err.problem.errors.map((p) => `${p.field.replace(/^json\./, '')}: ${p.message}`).join('; ') : errorText(err);
          message.setAttribute('role', 'alert');
        }
      },
    },
    field(t('planTitleField'), h('input', { name: 'title', required: true, minlength: '3', maxlength: '300' })),
    field(t('planSector'), h('select', { name: 'sector' }, SECTORS.map((s) => h('option', { value: s }, tMaybe(`sector_${s}`, s))))),
    field(t('planLeadField'), h('input', { name: 'leadAgency', value: me?.agency ?? '', maxlength: '120' })),
    field(t('planSupporting'), h('input', { name: 'supporting', maxlength: '600' })),
    areas,
    h('p', { class: 'help' }, t('planPickOnMap')),
    field(t('planDueHours'), h('input', { name: 'dueHours', type: 'number', min: '0', max: '8760', value: '48', required: true })),
    field(t('planTargetHouseholds'), h('input', { name: 'households', type: 'number', min: '0' })),
    h(
      'fieldset',
      { class: 'plan-place' },
      h('legend', {}, t('planPlace')),
      field(t('planPlaceName'), h('input', { name: 'placeName', maxlength: '200' })),
      field(t('planLat'), h('input', { name: 'lat', type: 'number', step: 'any', min: '23', max: '37.5', dir: 'ltr' })),
      field(t('planLon'), h('input', { name: 'lon', type: 'number', step: 'any', min: '60', max: '78', dir: 'ltr' })),
      field(t('planCapacityField'), h('input', { name: 'capacity', type: 'number', min: '0' })),
    ),
    field(t('planNote'), h('textarea', { name: 'note', rows: '2', maxlength: '2000' })),
    h('button', { type: 'submit' }, t('planAddAction')),
    message,
  );
  return h('details', { class: 'plan-add-box' }, h('summary', {}, t('planAddAction')), form);
}

function filterBar(plan: Plan, names: Map<string, string>, f: Filters, apply: () => void): HTMLElement {
  const agencies = [...new Set(plan.actions.flatMap((a) => [a.leadAgency, ...a.supportingAgencies]))].sort();
  const select = (label: string, key: 'agency' | 'area' | 'status', options: [string, string][]) => {
    const id = uid('plan-filter');
    const el = h('select', { id, onchange: (e: Event) => ((f[key] = (e.target as HTMLSelectElement).value), apply()) }, h('option', { value: '' }, t('planAll')), options.map(([v, l]) => h('option', { value: v, selected: f[key] === v }, l)));
    return h('div', { class: 'field' }, h('label', { for: id }, label), el);
  };
  const attentionId = uid('plan-attention');
  return h(
    'div',
    { class: 'plan-filters', role: 'search' },
    select(t('planFilterAgency'), 'agency', agencies.map((a) => [a, a])),
    select(t('planFilterArea'), 'area', plan.areaCodes.map((c) => [c, names.get(c) ?? c])),
    select(t('planFilterStatus'), 'status', STATUSES.map((s) => [s, tMaybe(`plan_${s}`, s)])),
    h(
      'div',
      { class: 'check' },
      h('input', { type: 'checkbox', id: attentionId, checked: f.attention, onchange: (e: Event) => ((f.attention = (e.target as HTMLInputElement).checked), apply()) }),
      h('label', { for: attentionId }, t('planOnlyAttention')),
    ),
  );
}

/** `/events/:id/plan`: the joint response plan of an event, its actions, their progress on the map. */
export async function planView(panel: HTMLElement, ctx: ViewContext, eventId: string): Promise<void> {
  panel.append(h('p', { role: 'status' }, t('loading')));
  let plan: Plan;
  try {
    plan = await eventPlan(eventId);
  } catch (err) {
    panel.replaceChildren(errorBox(err));
    return;
  }
  const names = await ctx.map.namesOf(plan.areaCodes);
  const progress = await planProgress(plan.incident, 2).catch(() => undefined);
  for (const a of progress?.areas ?? []) if (a.name) names.set(a.areaCode, a.name);
  ctx.map.popupContent = (feature) => planPopup(feature.properties ?? {}) ?? popupFor(feature);
  if (progress) await showPlanProgress(ctx.map, progress);
  void focusAreas(ctx.map, plan.areaCodes);

  const f: Filters = { agency: '', area: '', status: '', attention: false };
  const tableBox = h('div', { class: 'plan-table-box' });
  const refresh = () => {
    panel.replaceChildren();
    void planView(panel, ctx, eventId);
  };
  const draw = () => tableBox.replaceChildren(actionsTable(plan, names, f, refresh));
  draw();
  panel.replaceChildren(
    h('p', {}, h('a', { href: `/events/${eventId}`, 'data-link': true }, t('backToEvent')), ' · ', h('a', { href: '/plans', 'data-link': true }, t('navPlans'))),
    h('h1', {}, t('planOf', { title: plan.title })),
    h('p', { class: 'muted' }, `${t('planAreas')}: ${areaList(plan.areaCodes, names)} · ${t('planStarted')} `, timeEl(plan.startedAt), plan.open ? '' : ` · ${t('planClosed')}`),
    countsBar(plan),
    h(
      'p',
      { class: 'plan-links' },
      h('a', { href: `/events/${eventId}/plan/print?lang=en`, lang: 'en' }, t('planPrintEn')),
      ' · ',
      h('a', { href: `/events/${eventId}/plan/print?lang=ur`, lang: 'ur', dir: 'rtl' }, t('planPrintUr')),
      ' · ',
      h('a', { href: planExportUrl(plan.incident, 'csv'), download: '' }, t('planExportCsv')),
    ),
    section('plan-actions-h', t('planActions'), filterBar(plan, names, f, draw), tableBox),
    ...(canPlan() ? [section('plan-add-h', t('planAddTitle'), addForm(plan, names, ctx, refresh))] : []),
    h('aside', { class: 'plan-map-legend' }, planLegend()),
    h('p', { class: 'sr-only' }, t('planMapSummary', { areas: progress?.areas.length ?? 0, points: progress?.points.length ?? 0 })),
  );
}

export { STATUSES as PLAN_STATUS_ORDER };
