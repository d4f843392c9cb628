import { listEvents, type EventView } from '../api.ts';
import { h } from '../dom.ts';
import { t, tMaybe } from '../i18n.ts';
import { can } from '../session.ts';
import { errorBox, timeEl, type ViewContext } from './common.ts';
import { statusPill, table } from './parts.ts';

/** Areas of an event in words: the first few names, then how many more. */
export function areasText(codes: string[], names: Map<string, string>, shown = 4): string {
  const first = codes.slice(0, shown).map((c) => names.get(c) ?? c);
  return codes.length > shown ? `${first.join(', ')} ${t('andMore', { n: codes.length - shown })}` : first.join(', ');
}

/** Events touching the reader's jurisdiction, newest first, with status and areas; the declared ones drawn. */
export async function eventsView(panel: HTMLElement, ctx: ViewContext): Promise<void> {
  const status = h('p', { role: 'status' }, t('loading'));
  panel.append(
    h('h1', {}, t('eventsTitle')),
    can.declare() ? h('p', {}, h('a', { href: '/events/new', 'data-link': true, class: 'button' }, t('declareEvent'))) : '',
    status,
  );
  let events: EventView[];
  try {
    events = (await listEvents()).items;
  } catch (err) {
    status.replaceWith(errorBox(err));
    return;
  }
  const codes = [...new Set(events.flatMap((e) => e.areaCodes))];
  const names = await ctx.map.namesOf(codes);
  status.replaceWith(
    events.length === 0
      ? h('p', {}, t('noEvents'))
      : table(
          [t('eventName'), t('hazard'), t('status'), t('areas'), t('declaredAt')],
          events.map((e) => [
            h('a', { href: `/events/${e.id}`, 'data-link': true }, e.name),
            tMaybe(`hz_${e.hazard}`, e.hazard.replace(/_/g, ' ')),
            statusPill(e.status),
            areasText(e.areaCodes, names),
            e.declaredAt ? timeEl(e.declaredAt) : '—',
          ]),
          { class: 'events' },
        ),
  );
  ctx.map.setAffected(events.filter((e) => e.status === 'declared').flatMap((e) => e.areaCodes));
}
