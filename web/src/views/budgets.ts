import { amendBudget, listBudgets, type BudgetLine } from '../api.ts';
import { h, uid } from '../dom.ts';
import { pkr } from '../format.ts';
import { t } from '../i18n.ts';
import { can } from '../session.ts';
import { errorBox, errorText, timeEl, type ViewContext } from './common.ts';
import { nCell, table } from './parts.ts';

function amendForm(b: BudgetLine, reload: () => Promise<void>): HTMLElement {
  const ids = { ceiling: uid('ceiling'), reason: uid('reason'), reference: uid('reference') };
  const ceiling = h('input', { id: ids.ceiling, type: 'number', min: String(b.releasedPkr), step: '1', value: String(b.ceilingPkr), required: true, dir: 'ltr' });
  const reason = h('input', { id: ids.reason, required: true, minlength: '3', dir: 'auto' });
  const reference = h('input', { id: ids.reference, required: true, dir: 'auto' });
  const out = h('div', { 'aria-live': 'assertive' });
  const save = h('button', { type: 'submit' }, t('amendCeiling'));
  return h(
    'form',
    {
      class: 'amend',
      onsubmit: async (e: Event) => {
        e.preventDefault();
        save.disabled = true;
        out.replaceChildren();
        try {
          await amendBudget(b.id, { ceilingPkr: Number(ceiling.value), reason: reason.value.trim(), reference: reference.value.trim() });
          await reload();
        } catch (err) {
          out.append(h('p', { class: 'error', role: 'alert' }, errorText(err)));
          save.disabled = false;
        }
      },
    },
    h('label', { for: ids.ceiling }, t('newCeiling')),
    ceiling,
    h('label', { for: ids.reason }, t('reason')),
    reason,
    h('label', { for: ids.reference }, t('reference')),
    reference,
    save,
    out,
  );
}

/** Budget lines: ceiling, committed, released, headroom, every amendment; finance may change a ceiling. */
export async function budgetsView(panel: HTMLElement, ctx: ViewContext): Promise<void> {
  const status = h('p', { role: 'status' }, t('loading'));
  panel.append(h('h1', {}, t('budgetsTitle')), status);
  let lines: BudgetLine[];
  try {
    lines = await listBudgets();
  } catch (err) {
    status.replaceWith(errorBox(err));
    return;
  }
  const reload = async () => {
    panel.replaceChildren();
    await budgetsView(panel, ctx);
  };
  status.replaceWith(
    lines.length === 0
      ? h('p', {}, t('noBudgets'))
      : h(
          'div',
          {},
          table(
            [t('rule'), t('programme'), t('payer'), t('ceiling'), t('committed'), t('releasedPkr'), t('headroom')],
            lines.map((b) => [b.ruleId, b.programme, `${b.agency} (${b.jurisdiction})`, nCell(pkr(b.ceilingPkr)), nCell(pkr(b.committedPkr)), nCell(pkr(b.releasedPkr)), nCell(pkr(b.headroomPkr))]),
            { class: 'budgets' },
          ),
          lines.map((b) =>
            h(
              'details',
              { class: 'budget' },
              h('summary', {}, `${b.programme} · ${b.agency} (${b.jurisdiction}) · ${t('amendmentsN', { n: b.amendments.length })}`),
              b.amendments.length
                ? table(
                    [t('madeAt'), t('madeBy'), t('before'), t('after'), t('reason'), t('reference')],
                    b.amendments.map((a) => [timeEl(a.madeAt), a.madeBy, nCell(pkr(a.ceilingBeforePkr)), nCell(pkr(a.ceilingAfterPkr)), h('span', { dir: 'auto' }, a.reason), h('span', { dir: 'auto' }, a.reference)]),
                  )
                : h('p', {}, t('noAmendments', { date: '' }), timeEl(b.openedAt)),
              can.finance() ? amendForm(b, reload) : '',
            ),
          ),
        ),
  );
}
