import { alertEvaluations, exposureOf, getAlert, type AlertDetail, type Evaluation, type Exposure } from '../api.ts';
import { h } from '../dom.ts';
import { count, num, percent } from '../format.ts';
import { t, tMaybe } from '../i18n.ts';
import { dl, errorBox, headlineOf, severityBadge, statusBadge, timeEl, type ViewContext } from './common.ts';

function infos(alert: AlertDetail): HTMLElement {
  return h(
    'section',
    { 'aria-labelledby': 'infos-h' },
    h('h2', { id: 'infos-h' }, t('languages')),
    alert.infos.map((info) =>
      h(
        'article',
        { class: 'info', lang: info.language?.slice(0, 2), dir: 'auto' },
        h('h3', {}, `${info.language ?? ''}: ${info.event ?? ''}`),
        info.headline ? h('p', { class: 'headline' }, info.headline) : null,
        info.description ? h('p', {}, info.description) : null,
        info.instruction ? h('p', { class: 'instruction' }, info.instruction) : null,
        info.senderName ? h('p', { class: 'help' }, info.senderName) : null,
      ),
    ),
  );
}

function chain(alert: AlertDetail): HTMLElement {
  return h(
    'section',
    {},
    h('h2', {}, t('chain')),
    h(
      'table',
      {},
      h('thead', {}, h('tr', {}, [t('identifier'), t('msgType'), t('sent'), t('state')].map((c) => h('th', { scope: 'col' }, c)))),
      h(
        'tbody',
        {},
        alert.chain.map((v) =>
          h(
            'tr',
            { 'aria-current': v.id === alert.id ? 'true' : undefined },
            h('td', {}, v.id === alert.id ? v.identifier : h('a', { href: `/alerts/${v.id}`, 'data-link': true }, v.identifier)),
            h('td', {}, v.msgType),
            h('td', {}, timeEl(v.sent)),
            h('td', {}, v.stateReason ? `${tMaybe(`state${v.state}`, v.state)} (${v.stateReason})` : tMaybe(`state${v.state}`, v.state)),
          ),
        ),
      ),
    ),
  );
}

function evaluations(items: Evaluation[] | undefined): HTMLElement {
  const section = h('section', { class: 'evaluations' }, h('h2', {}, t('evaluations')));
  if (!items || items.length === 0) return (section.append(h('p', {}, t('noEvaluations'))), section);
  items.forEach((e, i) => {
    section.append(
      h(
        'details',
        // The newest evaluation and every one that fired are open; older ones wait for a click.
        { open: e.fired || i === 0 },
        h('summary', {}, `${e.ruleId} (${t('version')} ${e.version}): ${e.fired ? `${t('fired')}${e.stage ? `, ${e.stage}` : ''}` : t('notFired')} · `, timeEl(e.evaluatedAt)),
        h(
          'ul',
          { class: 'reasons' },
          e.reasons.map((r) => h('li', { class: r.pass ? 'pass' : 'fail', style: `margin-inline-start:${r.depth * 1.2}em` }, h('span', { class: 'mark', 'aria-label': r.pass ? t('pass') : t('fail') }, r.pass ? '✓' : '✗'), ' ', h('span', { dir: 'ltr' }, r.text))),
        ),
      ),
    );
  });
  const activations = items.flatMap((e) => e.activations);
  section.append(
    h('h3', {}, t('activations')),
    activations.length === 0
      ? h('p', {}, t('noActivations'))
      : h(
          'ul',
          {},
          activations.map((a) => h('li', {}, `${a.ruleId}: ${a.stage}, ${a.status}${a.stoppedReason ? ` (${a.stoppedReason})` : ''} · `, timeEl(a.createdAt))),
        ),
  );
  return section;
}

function exposure(exp: Exposure | undefined, names: Map<string, string>): HTMLElement {
  const section = h('section', { class: 'exposure' }, h('h2', {}, t('exposure')));
  if (!exp) return (section.append(h('p', {}, t('noExposure'))), section);
  const byArea = exp.byDistrict.length > 0 ? exp.byDistrict : exp.byProvince;
  const d = exp.disclosure;
  section.append(
    dl([
      [t('householdsInside'), count(exp.households, d)],
      [t('members'), count(exp.members, d)],
      [t('underCutoff', { cutoff: exp.pmtCutoff }), `${count(exp.atOrUnderCutoff, d)} (${percent(exp.atOrUnderCutoff, exp.households)})`],
    ]),
    d ? h('p', { class: 'help' }, t('protectedCounts', { n: num(d.minCell) })) : '',
    h('h3', {}, t('byArea')),
    h(
      'table',
      {},
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, t('area')), h('th', { scope: 'col' }, t('code')), h('th', { scope: 'col' }, t('households')))),
      h('tbody', {}, byArea.map((c) => h('tr', {}, h('td', {}, names.get(c.code) ?? ''), h('td', {}, c.code), h('td', { class: 'n' }, count(c.households, d))))),
    ),
  );
  return section;
}

export async function alertDetailView(panel: HTMLElement, ctx: ViewContext, id: string): Promise<void> {
  const status = h('p', { role: 'status' }, t('loading'));
  panel.append(h('p', {}, h('a', { href: '/alerts', 'data-link': true }, `← ${t('backToAlerts')}`)), status);
  let alert: AlertDetail;
  try {
    alert = await getAlert(id);
  } catch (err) {
    status.replaceWith(errorBox(err));
    return;
  }
  const [evals, exp] = await Promise.all([alertEvaluations(id).catch(() => undefined), exposureOf([alert]).catch(() => undefined)]);
  const names = exp ? await ctx.map.namesOf([...exp.byDistrict, ...exp.byProvince].map((c) => c.code)) : new Map<string, string>();
  status.replaceWith(
    h('h1', { class: 'alert-title' }, headlineOf(alert), ' ', severityBadge(alert), ' ', statusBadge(alert)),
    dl([
      [t('event'), alert.infos[0]?.event ?? alert.hazard],
      [t('hazard'), alert.hazard],
      [t('status'), alert.status],
      [t('state'), alert.stateReason ? `${tMaybe(`state${alert.state}`, alert.state)} (${alert.stateReason})` : tMaybe(`state${alert.state}`, alert.state)],
      [t('urgency'), alert.urgency],
      [t('certainty'), alert.certainty],
      [t('sent'), timeEl(alert.sent)],
      [t('onset'), alert.onset ? timeEl(alert.onset) : null],
      [t('expires'), alert.expires ? timeEl(alert.expires) : null],
      [t('sender'), alert.sender],
      [t('identifier'), alert.identifier],
      [t('areas'), alert.areaDescriptions.join('; ')],
      [t('areaCodes'), alert.areaCodes.join(', ')],
    ]),
    infos(alert),
    chain(alert),
    evaluations(evals),
    exposure(exp, names),
  );
  ctx.map.focus(alert.geometry);
  ctx.map.setAffected(alert.areaCodes);
  if (exp) ctx.map.setChoropleth(t('layerChoropleth'), [...exp.byDistrict, ...exp.byProvince], exp.disclosure);
}
