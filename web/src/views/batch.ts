import {
  ApiError,
  approveBatch,
  batchLines,
  exportPaymentFiles,
  getBatch,
  listPaymentFiles,
  reconcileFile,
  rejectBatch,
  releaseBatch,
  submitBatch,
  type Batch,
  type BatchLine,
  type PaymentFile,
  type ReconciliationReport,
} from '../api.ts';
import { h, uid } from '../dom.ts';
import { count, num, pkr, type Protection } from '../format.ts';
import { t, tMaybe } from '../i18n.ts';
import { can, currentUser } from '../session.ts';
import { dl, errorBox, errorText, timeEl, type ViewContext } from './common.ts';
import { areaName, focusAreas, nCell, section, statusPill, table } from './parts.ts';

type Figures = Record<string, any>;
const LINES_PAGE = 25;

const me = () => {
  const u = currentUser();
  return u ? `${u.kind}:${u.name}` : '';
};

function figuresBlock(b: Batch, d: Protection | null, names: Map<string, string>): HTMLElement {
  const f = b.figures as Figures;
  if (!b.whole) return section('b-figures', t('buildFigures'), h('p', { class: 'help' }, String(f.note ?? t('partOfBatch'))));
  const cutoffs = (f.cutoffs ?? []) as Figures[];
  const held = Object.entries((f.heldByOthers ?? {}) as Record<string, { households: number | null; pkr: number | null }>);
  const excluded = Object.entries((f.excluded ?? {}) as Record<string, number | null>).filter(([, n]) => n !== 0);
  return section(
    'b-figures',
    t('buildFigures'),
    dl([
      [t('householdsInArea'), count(f.householdsInArea, d)],
      [t('eligible'), count(f.eligible, d)],
      [t('requestedPkr'), pkr(f.requestedPkr)],
      [t('ceiling'), f.ceiling?.text ?? null],
      [t('asOf'), f.asOf ? timeEl(String(f.asOf)) : null],
    ]),
    cutoffs.length
      ? h(
          'div',
          {},
          h('h3', {}, t('cutoffs')),
          table(
            [t('area'), t('households'), t('percent'), t('rank'), t('pmtCutoff'), t('atOrUnder')],
            cutoffs.map((c) => [areaName(names, String(c.areaCode)), nCell(count(c.households, d)), nCell(`${c.percent} %`), nCell(c.rank === null ? '—' : num(c.rank)), nCell(c.pmtCutoff === null ? '—' : String(c.pmtCutoff)), nCell(count(c.atOrUnder, d))]),
            { class: 'cutoffs' },
          ),
        )
      : '',
    excluded.length ? h('div', {}, h('h3', {}, t('excluded')), h('ul', {}, excluded.map(([why, n]) => h('li', {}, `${tMaybe(`ex_${why}`, why)}: ${count(n, d)}`)))) : '',
    h(
      'div',
      { class: 'dedup' },
      h('h3', {}, t('dedupTitle')),
      dl([
        [t('nettedLines'), f.netted ? `${count(f.netted.lines, d)} · ${pkr(f.netted.pkr)}` : '—'],
        [t('droppedLines'), f.dropped ? `${count(f.dropped.lines, d)} · ${pkr(f.dropped.pkr)}` : '—'],
      ]),
      held.length
        ? table(
            [t('heldBy'), t('households'), t('amount')],
            held.map(([programme, x]) => [programme, nCell(count(x.households, d)), nCell(pkr(x.pkr))]),
            { class: 'held' },
          )
        : h('p', { class: 'help' }, t('heldByNone')),
    ),
  );
}

function stepsBlock(b: Batch): HTMLElement {
  return section(
    'b-steps',
    t('approvalSteps'),
    b.steps.length === 0
      ? h('p', {}, t('noStepsYet'))
      : table(
          [t('step'), t('role'), t('jurisdiction'), t('dueBy'), t('signedBy'), t('signedAt'), t('comment')],
          b.steps.map((s) => [
            nCell(String(s.step)),
            tMaybe(`role_${s.role}`, s.role),
            s.jurisdiction,
            h('span', {}, timeEl(s.dueAt), s.overdue ? h('span', { class: 'pill st-overdue' }, t('overdue')) : ''),
            s.signedBy ?? h('span', { class: 'help' }, t('waiting')),
            s.signedAt ? timeEl(s.signedAt) : '—',
            s.comment ? h('span', { dir: 'auto' }, s.comment) : '—',
          ]),
          { class: 'steps' },
        ),
    b.approvals.length
      ? h(
          'details',
          {},
          h('summary', {}, t('decisionTrail', { n: b.approvals.length })),
          table(
            [t('round'), t('decision'), t('signedBy'), t('role'), t('signedAt'), t('comment')],
            b.approvals.map((a) => [nCell(String(a.round)), tMaybe(`dec_${a.decision}`, a.decision), a.signedBy, tMaybe(`role_${a.role}`, a.role), timeEl(a.signedAt), h('span', { dir: 'auto' }, a.comment)]),
          ),
        )
      : '',
  );
}

/** What the viewer may do now; the server checks the same and more, and its refusal is shown as it says it. */
function actionsBlock(b: Batch, reload: () => Promise<void>): HTMLElement | null {
  const out = h('div', { class: 'result', 'aria-live': 'assertive' });
  const user = currentUser();
  if (!user) return null;
  const run = async (button: HTMLButtonElement, work: () => Promise<unknown>) => {
    button.disabled = true;
    out.replaceChildren();
    try {
      await work();
      await reload();
    } catch (err) {
      out.replaceChildren(h('p', { class: 'error', role: 'alert' }, errorText(err)));
      button.disabled = false;
    }
  };
  const parts: HTMLElement[] = [];
  if (can.manage() && b.status === 'draft' && b.totalPkr === 0) parts.push(h('p', { class: 'help' }, t('paysNothing')));
  else if (can.manage() && b.status === 'draft') {
    const submit: HTMLButtonElement = h('button', { type: 'button', onclick: () => run(submit, () => submitBatch(b.id)) }, t('submitBatch'));
    parts.push(h('div', { class: 'actions' }, submit));
  }
  const open = b.steps.find((s) => !s.signedBy);
  const signedThisRound = b.approvals.some((a) => a.round === b.round && a.signedBy === me());
  if (b.status === 'submitted' && open && user.roles.includes(open.role as never) && b.submittedBy !== me() && !signedThisRound) {
    const commentId = uid('comment');
    const comment = h('textarea', { id: commentId, rows: '2', required: true, minlength: '3', dir: 'auto' });
    const approve: HTMLButtonElement = h(
      'button',
      { type: 'button', onclick: () => (comment.value.trim().length < 3 ? (comment.focus(), out.replaceChildren(h('p', { class: 'error', role: 'alert' }, t('commentNeeded')))) : run(approve, () => approveBatch(b.id, comment.value.trim(), b.linesSha256))) },
      t('approveStep', { step: open.step }),
    );
    const reject: HTMLButtonElement = h(
      'button',
      { type: 'button', class: 'danger', onclick: () => (comment.value.trim().length < 3 ? (comment.focus(), out.replaceChildren(h('p', { class: 'error', role: 'alert' }, t('reasonNeeded')))) : run(reject, () => rejectBatch(b.id, comment.value.trim()))) },
      t('rejectBatch'),
    );
    parts.push(
      h(
        'div',
        { class: 'sign' },
        h('p', { class: 'help' }, t('signHelp', { hash: b.linesSha256.slice(0, 16) })),
        h('label', { for: commentId }, t('commentOrReason')),
        comment,
        h('div', { class: 'actions' }, approve, reject),
      ),
    );
  }
  if (can.finance() && (b.status === 'approved' || b.status === 'partly_released')) {
    for (const p of b.payers.filter((p) => !p.released && p.signedFor.startsWith(user.jurisdiction))) {
      const release: HTMLButtonElement = h('button', { type: 'button', onclick: () => run(release, () => releaseBatch(b.id)) }, t('releaseShare', { agency: p.agency, amount: pkr(p.amountPkr) }));
      parts.push(h('div', { class: 'actions' }, release));
    }
  }
  if (parts.length === 0) return null;
  return section('b-actions', t('yourActions'), ...parts, out);
}

function reportBlock(r: ReconciliationReport): HTMLElement {
  const moved = Object.entries(r.moved).filter(([, n]) => n > 0);
  return h(
    'div',
    { class: 'report', role: 'status' },
    h('h4', {}, r.repeated ? t('reportRepeated') : t('reportApplied')),
    dl([
      [t('rowsRead'), num(r.rows)],
      [t('rowsMoved'), moved.length ? moved.map(([s, n]) => `${tMaybe(`money_${s}`, s)} ${num(n)}`).join(', ') : t('none')],
      [t('rowsUnchanged'), num(r.unchanged)],
      [t('paidPkr'), pkr(r.paidPkr)],
      [t('partlyPaid'), `${num(r.partial.instructions)} · ${pkr(r.partial.outstandingPkr)}`],
      [t('outstanding'), `${num(r.outstanding.instructions)} · ${pkr(r.outstanding.pkr)}`],
      [t('fileSha'), h('code', {}, r.sha256)],
    ]),
  );
}

function refusalBlock(err: unknown): HTMLElement {
  const fields = err instanceof ApiError ? (err.problem.errors ?? []) : [];
  return h(
    'div',
    { class: 'error', role: 'alert' },
    h('p', {}, errorText(err)),
    fields.length ? table([t('where'), t('problem')], fields.map((f) => [f.field, f.message]), { class: 'refused' }) : '',
  );
}

function fileCard(f: PaymentFile): HTMLElement {
  const inputId = uid('recon');
  const input = h('input', { id: inputId, type: 'file', accept: '.csv,text/csv' });
  const out = h('div', { 'aria-live': 'polite' });
  const apply: HTMLButtonElement = h(
    'button',
    {
      type: 'button',
      onclick: async () => {
        const chosen = input.files?.[0];
        out.replaceChildren();
        if (!chosen) return void out.append(h('p', { class: 'error', role: 'alert' }, t('chooseFile')));
        apply.disabled = true;
        try {
          out.append(reportBlock(await reconcileFile(f.id, await chosen.text())));
        } catch (err) {
          out.append(refusalBlock(err));
        } finally {
          apply.disabled = false;
        }
      },
    },
    t('applyAnswer'),
  );
  return h(
    'article',
    { class: 'payment-file', 'data-channel': f.channel },
    h('h3', {}, `${tMaybe(`ch_${f.channel}`, f.channel)} · ${tMaybe(`kind_${f.kind}`, f.kind)} #${f.seq}`),
    dl([
      [t('instructions'), num(f.count)],
      [t('totalPkr'), pkr(f.totalPkr)],
      ['sha256', h('code', { class: 'sha' }, f.sha256)],
      [t('madeBy'), h('span', {}, `${f.madeBy} · `, timeEl(f.madeAt))],
    ]),
    h('p', {}, h('a', { href: f.download, download: '', class: 'button' }, t('downloadFile'))),
    f.kind === 'payment' ? h('div', { class: 'recon' }, h('label', { for: inputId }, t('reconUpload')), input, apply, out) : '',
  );
}

async function filesBlock(b: Batch): Promise<HTMLElement | null> {
  if (!can.finance() || b.status !== 'released') return null;
  const list = h('div', { class: 'files' });
  const out = h('div', { 'aria-live': 'assertive' });
  const show = (files: PaymentFile[]) => list.replaceChildren(files.length === 0 ? h('p', {}, t('noFilesYet')) : h('div', {}, files.map(fileCard)));
  const make: HTMLButtonElement = h(
    'button',
    {
      type: 'button',
      onclick: async () => {
        make.disabled = true;
        out.replaceChildren();
        try {
          const { made, files } = await exportPaymentFiles(b.id);
          out.append(h('p', { role: 'status' }, t('filesMade', { n: made.length })));
          show(files);
        } catch (err) {
          out.append(h('p', { class: 'error', role: 'alert' }, errorText(err)));
        } finally {
          make.disabled = false;
        }
      },
    },
    t('makeFiles'),
  );
  try {
    show(await listPaymentFiles(b.id));
  } catch (err) {
    list.replaceChildren(errorBox(err));
  }
  return section('b-files', t('paymentFiles'), h('p', { class: 'help' }, t('paymentFilesHelp')), h('div', { class: 'actions' }, make), out, list);
}

/** The lines, for programme managers and finance: paged, searchable, CNIC masked (the server audits each read). */
function linesBlock(b: Batch): HTMLElement | null {
  if (!can.readLines()) return null;
  const qId = uid('q');
  const stateId = uid('state');
  const q = h('input', { id: qId, type: 'search', autocomplete: 'off' });
  const state = h('select', { id: stateId }, ['', 'live', 'dropped', 'cancelled'].map((s) => h('option', { value: s }, s ? tMaybe(`line_${s}`, s) : t('allStates'))));
  const body = h('div', { 'aria-live': 'polite' });
  let page = 1;
  const load = async () => {
    body.replaceChildren(h('p', { role: 'status' }, t('loading')));
    try {
      const r = await batchLines(b.id, { q: q.value.trim() || undefined, state: state.value || undefined, page, pageSize: LINES_PAGE });
      const pages = Math.max(1, Math.ceil(r.total / LINES_PAGE));
      const prev = h('button', { type: 'button', class: 'secondary', disabled: page <= 1, onclick: () => ((page -= 1), void load()) }, t('prevPage'));
      const next = h('button', { type: 'button', class: 'secondary', disabled: page >= pages, onclick: () => ((page += 1), void load()) }, t('nextPage'));
      body.replaceChildren(
        h('p', { role: 'status' }, t('linesShown', { total: num(r.total), page, pages })),
        table(
          [t('lineNo'), t('household'), 'CNIC', t('headName'), t('district'), t('tehsil'), 'PMT', t('amount'), t('channel'), t('state'), t('note')],
          r.items.map((l: BatchLine) => [
            nCell(String(l.lineNo)),
            l.householdId,
            h('bdi', { dir: 'ltr' }, l.cnic),
            h('span', { dir: 'auto' }, l.headName),
            l.district,
            l.tehsil,
            nCell(String(l.pmt)),
            nCell(pkr(l.amountPkr)),
            l.paymentChannel ? tMaybe(`ch_${l.paymentChannel}`, l.paymentChannel) : '—',
            tMaybe(`line_${l.state}`, l.state),
            l.netText ?? (l.reasons.length ? l.reasons.join('; ') : '—'),
          ]),
          { class: 'lines' },
        ),
        h('div', { class: 'pager' }, prev, next),
      );
    } catch (err) {
      body.replaceChildren(errorBox(err));
    }
  };
  const form = h(
    'form',
    { class: 'line-search', role: 'search', onsubmit: (e: Event) => (e.preventDefault(), (page = 1), void load()) },
    h('label', { for: qId }, t('searchLines')),
    q,
    h('label', { for: stateId }, t('state')),
    state,
    h('button', { type: 'submit' }, t('search')),
  );
  void load();
  return section('b-lines', t('linesTitle'), h('p', { class: 'help' }, t('linesHelp')), form, body);
}

/**
 * A batch: rule and version, incident, caseload hash, cut-offs, totals by district (drawn as a choropleth) and
 * by payer with each budget line's ceiling and headroom, what dedup netted or dropped and which programme holds
 * those households, the approval steps, the viewer's actions, payment files and, for those who may, the lines.
 */
export async function batchView(panel: HTMLElement, ctx: ViewContext, id: string): Promise<void> {
  const status = h('p', { role: 'status' }, t('loading'));
  panel.append(status);
  let b: Batch;
  try {
    b = await getBatch(id);
  } catch (err) {
    status.replaceWith(errorBox(err));
    return;
  }
  const d = ((b.figures as Figures).disclosure as Protection | undefined) ?? (b.byDistrict.some((x) => x.households === null) ? { minCell: 10 } : null);
  const names = await ctx.map.namesOf([b.jurisdiction, ...b.areaCodes, ...b.byDistrict.map((x) => x.district), ...(((b.figures as Figures).cutoffs ?? []) as Figures[]).map((c) => String(c.areaCode))]);
  const reload = async () => {
    panel.replaceChildren();
    await batchView(panel, ctx, id);
  };
  const blocks = await filesBlock(b);
  status.replaceWith(
    h('p', {}, b.subject.kind === 'event' ? h('a', { href: `/events/${b.subject.id}`, 'data-link': true }, `← ${t('backToEvent')}`) : h('a', { href: '/inbox', 'data-link': true }, `← ${t('navInbox')}`)),
    h('h1', {}, `${b.programme}: ${b.rule.id}`, ' ', statusPill(b.status)),
    b.statusReason ? h('p', { class: 'help', dir: 'auto' }, b.statusReason) : '',
    dl([
      [t('rule'), `${b.rule.id} · ${t('version')} ${b.rule.version}`],
      [t('incident'), b.incident],
      [t('stage'), b.stage],
      [t('kind'), tMaybe(`kind_${b.kind}`, b.kind)],
      [t('jurisdiction'), areaName(names, b.jurisdiction)],
      [t('areas'), b.areaCodes.map((c) => names.get(c) ?? c).join(', ')],
      [t('caseloadHash'), h('code', { class: 'sha' }, b.linesSha256)],
      [t('registryVersion'), b.registryVersion],
      [t('lineCount'), b.lineCount === null ? '—' : count(b.lineCount, d)],
      [t('totalPkr'), pkr(b.totalPkr)],
      [t('builtAt'), h('span', {}, timeEl(b.builtAt), ` · ${b.builtBy} · ${t('buildNo', { n: b.build })}`)],
      [t('submittedAt'), b.submittedAt ? h('span', {}, timeEl(b.submittedAt), ` · ${b.submittedBy ?? ''}`) : null],
    ]),
    b.whole ? '' : h('p', { class: 'help' }, t('partOfBatch')),
    actionsBlock(b, reload) ?? '',
    section(
      'b-districts',
      t('byDistrict'),
      table(
        [t('district'), t('households'), t('amount'), t('netted'), t('dropped'), t('cancelledLines')],
        b.byDistrict.map((x) => [areaName(names, x.district), nCell(count(x.households, d)), nCell(pkr(x.amountPkr)), nCell(count(x.netted, d)), nCell(count(x.dropped, d)), nCell(count(x.cancelled, d))]),
        { class: 'by-district' },
      ),
    ),
    section(
      'b-payers',
      t('byPayer'),
      table(
        [t('payer'), t('households'), t('amount'), t('released'), t('ceiling'), t('committed'), t('releasedPkr'), t('headroom')],
        b.payers.map((p) => [
          `${p.agency} (${p.jurisdiction})`,
          nCell(count(p.households, d)),
          nCell(pkr(p.amountPkr)),
          p.released ? h('span', {}, `${p.released.by ?? ''} · `, timeEl(p.released.at)) : t('notReleased'),
          nCell(p.budget ? pkr(p.budget.ceilingPkr) : '—'),
          nCell(p.budget ? pkr(p.budget.committedPkr) : '—'),
          nCell(p.budget ? pkr(p.budget.releasedPkr) : '—'),
          nCell(p.budget ? pkr(p.budget.headroomPkr) : '—'),
        ]),
        { class: 'payers' },
      ),
    ),
    figuresBlock(b, d, names),
    stepsBlock(b),
    blocks ?? '',
    linesBlock(b) ?? '',
  );
  ctx.map.setAffected(b.areaCodes);
  ctx.map.setChoropleth(t('batchLayer'), b.byDistrict.map((x) => ({ code: x.district, households: x.households })), d);
  void focusAreas(ctx.map, b.byDistrict.map((x) => x.district));
}
