import { dryRun, listAlerts, listRules, type Alert, type DryRun, type Rule } from '../api.ts';
import { h } from '../dom.ts';
import { count, num, pkr } from '../format.ts';
import { t } from '../i18n.ts';
import { can } from '../session.ts';
import { dl, errorBox, errorText, type ViewContext } from './common.ts';

function benefitText(benefit: Record<string, unknown>): string {
  return Object.entries(benefit)
    .map(([k, v]) => `${k.replace(/_/g, ' ')}: ${typeof v === 'number' ? num(v) : JSON.stringify(v)}`)
    .join('; ');
}

function ruleCard(rule: Rule): HTMLElement {
  return h(
    'article',
    { class: 'rule', id: `rule-${rule.id}` },
    h('h2', {}, rule.title),
    h('p', { class: 'help' }, `${rule.id} · ${t('version')} ${rule.version} · ${rule.status}`),
    dl([
      [t('programme'), rule.programme],
      [t('purpose'), rule.purpose],
      [t('hazards'), rule.hazards.join(', ')],
      [t('scope'), rule.scope === 'anywhere' ? t('anywhere') : rule.scope.join(', ')],
      [t('benefit'), benefitText(rule.money.benefit)],
      [t('ceiling'), pkr(rule.money.ceilingPkr)],
      [t('payers'), rule.money.payers.map((p) => `${p.agency} (${p.jurisdiction}) ${num(p.share_bp / 100)} %`).join(', ')],
      [t('agreedBy'), rule.agreedBy.join(', ')],
      [t('agreedOn'), rule.agreedOn],
      [t('validity'), `${rule.validFrom} – ${rule.validTo ?? '…'}`],
    ]),
    h('h3', {}, t('stages')),
    h(
      'ol',
      { class: 'stages' },
      rule.stages.map((s) => h('li', {}, h('strong', {}, s.stage), s.note ? `: ${s.note}` : '')),
    ),
  );
}

function dryRunResult(result: DryRun, names: Map<string, string>): HTMLElement {
  const { decision, caseload } = result;
  const d = caseload.disclosure;
  return h(
    'div',
    { class: 'dry-run-result' },
    h('h3', {}, t('decision')),
    h('p', { class: decision.fired ? 'fired' : 'not-fired', dir: 'ltr' }, decision.summary),
    h('h3', {}, t('reasons')),
    h(
      'ul',
      { class: 'reasons' },
      decision.reasons.map((r) => h('li', { class: r.pass ? 'pass' : 'fail', style: `margin-inline-start:${r.depth * 1.2}em` }, h('span', { class: 'mark', 'aria-label': r.pass ? t('pass') : t('fail') }, r.pass ? '✓' : '✗'), ' ', h('span', { dir: 'ltr' }, r.text))),
    ),
    h('h3', {}, `${t('caseload')} (${t('stage')}: ${caseload.stage})`),
    caseload.whatIf ? h('p', { class: 'help' }, t('whatIf')) : null,
    dl([
      [t('householdsInArea'), count(caseload.householdsInArea, d)],
      [t('eligible'), count(caseload.eligible, d)],
      [t('households'), count(caseload.households, d)],
      [t('totalPkr'), pkr(caseload.totalPkr)],
      [t('ceiling'), caseload.ceiling?.text],
    ]),
    caseload.note ? h('p', { class: 'help' }, caseload.note) : null,
    d ? h('p', { class: 'help' }, t('protectedCounts', { n: num(d.minCell) })) : null,
    h('h4', {}, t('byPayer')),
    h('ul', {}, (caseload.byPayer ?? []).map((p) => h('li', {}, `${p.agency} (${p.jurisdiction}): ${count(p.households, d)} · ${pkr(p.amountPkr)}`))),
    h('h4', {}, t('byDistrict')),
    h(
      'table',
      {},
      h('thead', {}, h('tr', {}, [t('district'), t('households'), t('amount')].map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', {}, (caseload.byArea ?? []).map((a) => h('tr', {}, h('td', {}, names.get(a.district) ? `${names.get(a.district)} (${a.district})` : a.district), h('td', { class: 'n' }, count(a.households, d)), h('td', { class: 'n' }, pkr(a.amountPkr))))),
    ),
  );
}

function dryRunForm(rules: Rule[], alerts: Alert[], ctx: ViewContext): HTMLElement {
  const ruleSelect = h('select', { id: 'dry-rule', required: true }, rules.map((r) => h('option', { value: r.id }, r.title)));
  const alertSelect = h(
    'select',
    { id: 'dry-alert', required: true },
    alerts.map((a) => h('option', { value: a.id }, `${a.status === 'Actual' ? '' : `[${a.status.toUpperCase()}] `}${a.infos.find((i) => i.language?.startsWith('en'))?.headline ?? a.headline ?? a.identifier}`)),
  );
  const out = h('div', { 'aria-live': 'polite' });
  const submit = h('button', { type: 'submit' }, t('runDryRun'));
  return h(
    'form',
    {
      class: 'dry-run',
      onsubmit: async (e: Event) => {
        e.preventDefault();
        submit.disabled = true;
        submit.textContent = t('running');
        out.replaceChildren();
        try {
          const result = await dryRun(ruleSelect.value, alertSelect.value);
          out.append(dryRunResult(result, await ctx.map.namesOf((result.caseload.byArea ?? []).map((a) => a.district))));
          const alert = alerts.find((a) => a.id === alertSelect.value);
          if (alert) ctx.map.focus(alert.geometry);
          ctx.map.setChoropleth(t('caseloadLayer'), (result.caseload.byArea ?? []).map((a) => ({ code: a.district, households: a.households })), result.caseload.disclosure);
        } catch (err) {
          out.append(h('p', { class: 'error', role: 'alert' }, errorText(err)));
        } finally {
          submit.disabled = false;
          submit.textContent = t('runDryRun');
        }
      },
    },
    h('h2', {}, t('dryRunTitle')),
    h('p', { class: 'help' }, t('dryRunHelp')),
    h('label', { for: 'dry-rule' }, t('chooseRule')),
    ruleSelect,
    h('label', { for: 'dry-alert' }, t('chooseAlert')),
    alertSelect,
    submit,
    out,
  );
}

export async function rulesView(panel: HTMLElement, ctx: ViewContext): Promise<void> {
  const status = h('p', { role: 'status' }, t('loading'));
  panel.append(h('h1', {}, t('rulesTitle')), status);
  try {
    const [rules, alerts] = await Promise.all([listRules(), can.dryRun() ? listAlerts().then((r) => r.items) : Promise.resolve([] as Alert[])]);
    status.replaceWith(
      can.dryRun() && rules.length > 0 && alerts.length > 0 ? dryRunForm(rules, alerts, ctx) : '',
      rules.length === 0 ? h('p', {}, t('noRules')) : h('div', { class: 'rules' }, rules.map(ruleCard)),
    );
  } catch (err) {
    status.replaceWith(errorBox(err));
  }
}
