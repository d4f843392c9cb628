import { listAlerts, postAlert, type Alert } from '../api.ts';
import { h } from '../dom.ts';
import { t, tMaybe } from '../i18n.ts';
import { can } from '../session.ts';
import { alertList, errorBox, errorText, type ViewContext } from './common.ts';

/** Posting a CAP message: paste it or pick a file; the server's verdict on each message is listed. */
function postForm(onPosted: () => Promise<void>): HTMLElement {
  const text = h('textarea', { id: 'cap-text', name: 'cap', rows: '10', spellcheck: 'false', dir: 'ltr', 'aria-describedby': 'cap-help' });
  const file = h('input', {
    id: 'cap-file',
    type: 'file',
    accept: '.xml,.cap,.json,.geojson,application/xml,application/json',
    onchange: async () => {
      const chosen = file.files?.[0];
      if (chosen) text.value = await chosen.text();
    },
  });
  const result = h('div', { class: 'result', role: 'status', 'aria-live': 'polite' });
  const submit = h('button', { type: 'submit' }, t('postAlert'));
  return h(
    'form',
    {
      class: 'post-alert',
      onsubmit: async (e: Event) => {
        e.preventDefault();
        result.replaceChildren();
        if (!text.value.trim()) return void result.append(h('p', { class: 'error' }, t('empty')));
        submit.disabled = true;
        submit.textContent = t('posting');
        try {
          const report = await postAlert(text.value);
          result.append(
            h(
              'ul',
              {},
              report.items.map((i) =>
                h(
                  'li',
                  { class: `result-${i.result}` },
                  i.id ? h('a', { href: `/alerts/${i.id}`, 'data-link': true }, t('postResult', { identifier: i.identifier ?? '', result: tMaybe(`result${i.result}`, i.result) })) : t('postResult', { identifier: i.identifier ?? '', result: tMaybe(`result${i.result}`, i.result) }),
                  i.reason ? h('span', {}, ` ${i.reason}`) : null,
                  i.warnings.length > 0 ? h('ul', { class: 'warnings' }, i.warnings.map((w) => h('li', {}, w))) : null,
                ),
              ),
            ),
          );
          text.value = '';
          await onPosted();
        } catch (err) {
          result.append(h('p', { class: 'error', role: 'alert' }, errorText(err)));
        } finally {
          submit.disabled = false;
          submit.textContent = t('postAlert');
        }
      },
    },
    h('h2', {}, t('postAlertTitle')),
    h('p', { id: 'cap-help', class: 'help' }, t('postAlertHelp')),
    h('label', { for: 'cap-text' }, t('capXml')),
    text,
    h('label', { for: 'cap-file' }, t('capFile')),
    file,
    submit,
    result,
  );
}

/** Every alert, newest first, a page at a time: the history grows without end, so older pages are asked for. */
export async function alertsView(panel: HTMLElement, ctx: ViewContext): Promise<void> {
  const list = h('div', { class: 'list' }, h('p', { role: 'status' }, t('loading')));
  let shown: Alert[] = [];
  let page = 1;
  const render = (total: number) => {
    const more = h('button', { type: 'button', class: 'more' }, t('olderAlerts'));
    more.onclick = async () => {
      more.disabled = true;
      try {
        const next = await listAlerts({ page: page + 1 });
        page += 1;
        shown = [...shown, ...next.items];
        render(next.total);
      } catch (err) {
        more.replaceWith(errorBox(err));
      }
    };
    list.replaceChildren(
      alertList(shown),
      shown.length < total ? h('p', { role: 'status' }, t('alertsShown', { shown: shown.length, total }), ' ', more) : '',
    );
  };
  const load = async () => {
    try {
      const first = await listAlerts({ page: 1 });
      shown = first.items;
      page = 1;
      render(first.total);
    } catch (err) {
      list.replaceChildren(errorBox(err));
    }
  };
  panel.append(
    h('h1', {}, t('alertsTitle')),
    can.postAlert()
      ? postForm(async () => {
          await Promise.all([load(), ctx.refreshAlerts()]);
        })
      : '',
    h('h2', {}, t('allAlerts')),
    list,
  );
  await load();
}
