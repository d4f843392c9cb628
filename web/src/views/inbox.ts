import { getInbox, type Inbox } from '../api.ts';
import { h } from '../dom.ts';
import { pkr } from '../format.ts';
import { t, tMaybe } from '../i18n.ts';
import { errorBox, timeEl, type ViewContext } from './common.ts';
import { nCell } from './parts.ts';

/** What waits for the reader, by role and jurisdiction: overdue first (the server's order), with counts by kind. */
export async function inboxView(panel: HTMLElement, _ctx: ViewContext, onCounts?: (inbox: Inbox) => void): Promise<void> {
  const status = h('p', { role: 'status' }, t('loading'));
  panel.append(h('h1', {}, t('inboxTitle')), status);
  let inbox: Inbox;
  try {
    inbox = await getInbox();
  } catch (err) {
    status.replaceWith(errorBox(err));
    return;
  }
  onCounts?.(inbox);
  const kinds = Object.entries(inbox.counts).filter(([, n]) => n > 0);
  status.replaceWith(
    h('p', { role: 'status', class: 'summary' }, inbox.total === 0 ? t('inboxEmpty') : t('inboxWaiting', { n: inbox.total })),
    kinds.length ? h('ul', { class: 'counts' }, kinds.map(([k, n]) => h('li', {}, h('span', { class: 'count' }, String(n)), ' ', tMaybe(`inbox_${k}`, k)))) : '',
    h(
      'ol',
      { class: 'inbox' },
      inbox.items.map((i) =>
        h(
          'li',
          { class: i.overdue ? 'overdue' : '' },
          h('div', { class: 'what' }, i.overdue ? h('span', { class: 'pill st-overdue' }, t('overdue')) : '', h('span', { class: 'pill' }, tMaybe(`inbox_${i.kind}`, i.kind)), ' ', h('a', { href: i.link, 'data-link': true }, i.summary)),
          h(
            'div',
            { class: 'meta' },
            i.rule ? h('span', {}, `${i.programme} · ${i.rule.id} ${i.rule.version}`) : '',
            i.totalPkr ? h('span', {}, nCell(pkr(i.totalPkr))) : '',
            h('span', {}, `${t('waitingSince')} `, timeEl(i.since)),
            h('span', {}, `${t('dueBy')} `, timeEl(i.dueAt)),
          ),
        ),
      ),
    ),
  );
}
