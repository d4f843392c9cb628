import { listAlerts } from '../api.ts';
import { h } from '../dom.ts';
import { t } from '../i18n.ts';
import { alertList, errorBox, type ViewContext } from './common.ts';

/** The map page's panel: the active alerts, each a link to its detail. */
export async function overviewView(panel: HTMLElement, ctx: ViewContext): Promise<void> {
  const status = h('p', { role: 'status' }, t('loading'));
  panel.append(h('h1', {}, t('activeAlerts')), status);
  ctx.map.focus(null);
  await ctx.refreshAlerts();
  try {
    const { items } = await listAlerts({ active: true });
    status.replaceWith(alertList(items));
  } catch (err) {
    status.replaceWith(errorBox(err));
  }
}
