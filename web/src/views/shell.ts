import { exposureOf, getInbox, listAlerts, logout, setCsrfToken, type Alert, type Inbox } from '../api.ts';
import { h } from '../dom.ts';
import { currentLang, LANGUAGES, onLangChange, setLang, t } from '../i18n.ts';
import { layerSwitcher, popupFor, renderLegend } from '../map-panel.ts';
import { MadadMap } from '../map.ts';
import type { Route } from '../router.ts';
import { can, currentUser } from '../session.ts';
import { alertDetailView } from './alert-detail.ts';
import { alertsView } from './alerts.ts';
import type { ViewContext } from './common.ts';
import { overviewView } from './overview.ts';
import { rulesView } from './rules.ts';
import { batchView } from './batch.ts';
import { budgetsView } from './budgets.ts';
import { declareView } from './declare.ts';
import { eventDetailView } from './event-detail.ts';
import { eventsView } from './events.ts';
import { inboxView } from './inbox.ts';
import { planPrintView } from './plan-print.ts';
import { planView } from './plan.ts';
import { plansView } from './plans.ts';
import { hidePlanProgress } from '../map-plan.ts';

/** The language switch: a labelled select, the same on the sign-in page and in the header. */
export function languageSwitch(): HTMLElement {
  const select = h(
    'select',
    { id: 'language', onchange: (e: Event) => setLang((e.target as HTMLSelectElement).value === 'ur' ? 'ur' : 'en') },
    LANGUAGES.map((l) => h('option', { value: l.code, lang: l.code, selected: l.code === currentLang() }, l.name)),
  );
  return h('div', { class: 'lang' }, h('label', { for: 'language' }, t('language')), select);
}

const NAV: [Route['name'], string, 'navMap' | 'navAlerts' | 'navRules' | 'navEvents' | 'navInbox' | 'navBudgets' | 'navPlans'][] = [
  ['map', '/', 'navMap'],
  ['alerts', '/alerts', 'navAlerts'],
  ['events', '/events', 'navEvents'],
  ['plans', '/plans', 'navPlans'],
  ['rules', '/rules', 'navRules'],
  ['inbox', '/inbox', 'navInbox'],
  ['budgets', '/budgets', 'navBudgets'],
];
/** Which nav entry a route belongs to, for aria-current. */
const NAV_OF: Partial<Record<Route['name'], Route['name']>> = { alert: 'alerts', event: 'events', declare: 'events', batch: 'inbox', plan: 'plans', planPrint: 'plans' };

/** The signed-in app: header, a panel for the current view, and one map that lives across views. */
export class Shell implements ViewContext {
  readonly map: MadadMap;
  private header = h('header', { class: 'top' });
  private panel = h('main', { id: 'main', class: 'panel', tabindex: '-1' });
  private controls = h('div', { class: 'map-controls' });
  private legend = h('div', { class: 'legend', 'aria-live': 'polite' });
  private route: Route = { name: 'map' };
  private activeAlerts: Alert[] = [];
  private disposed = false;
  private shown = false;

  constructor(
    private root: HTMLElement,
    private onSignedOut: () => void,
  ) {
    const mapEl = h('div', { id: 'map', role: 'region', 'aria-label': t('mapLabel') });
    root.replaceChildren(
      h(
        'a',
        {
          class: 'skip',
          href: '#main',
          // Focus moves without a fragment navigation, which would fire popstate and redraw the view.
          onclick: (e: Event) => {
            e.preventDefault();
            this.panel.focus();
          },
        },
        t('skip'),
      ),
      this.header,
      h('div', { class: 'layout' }, this.panel, h('section', { class: 'map-area' }, mapEl, h('aside', { class: 'map-side' }, this.controls, this.legend))),
    );
    this.map = new MadadMap(mapEl);
    this.map.popupContent = popupFor;
    this.map.onChange(() => renderLegend(this.legend, this.map));
    onLangChange(() => {
      if (this.disposed) return;
      mapEl.setAttribute('aria-label', t('mapLabel'));
      this.map.relabel();
      this.root.querySelector('.skip')!.textContent = t('skip');
      this.show(this.route, false);
    });
    void this.refreshAlerts();
  }

  async refreshAlerts(): Promise<void> {
    const { items } = await listAlerts({ active: true }).catch(() => ({ items: [] as Alert[] }));
    this.activeAlerts = items;
    await this.map.setAlerts(items);
  }

  /** Affected households of all active alerts, by district (provinces when no district is known). */
  async showActiveExposure(): Promise<void> {
    const exposure = await exposureOf(this.activeAlerts).catch(() => undefined);
    const counts = exposure ? ([...exposure.byDistrict, ...exposure.byProvince]) : [];
    this.map.setChoropleth(t('layerChoropleth'), counts, exposure?.disclosure ?? null);
  }

  show(route: Route, moveFocus = true): void {
    this.route = route;
    this.renderHeader();
    if (route.name !== 'inbox') this.refreshInboxCount();
    // Pages of tables (events, batches, budgets) take more of the width; the map keeps the rest.
    const wide = ['events', 'declare', 'event', 'inbox', 'batch', 'budgets', 'plan', 'plans'].includes(route.name);
    // The print view is a page of its own (A4, its own map): no header, no side map.
    this.root.classList.toggle('print-page', route.name === 'planPrint');
    if (route.name !== 'planPrint') window.__madadMap = this.map.map;
    if (route.name !== 'plan') {
      hidePlanProgress(this.map);
      this.map.popupContent = popupFor;
    }
    if (this.panel.classList.contains('wide') !== wide) {
      this.panel.classList.toggle('wide', wide);
      this.map.resize();
    }
    this.controls.replaceChildren(layerSwitcher(this.map));
    renderLegend(this.legend, this.map);
    this.panel.replaceChildren();
    if (route.name === 'map') void overviewView(this.panel, this).then(() => this.showActiveExposure());
    else if (route.name === 'alerts') void alertsView(this.panel, this);
    else if (route.name === 'alert') void alertDetailView(this.panel, this, route.id);
    else if (route.name === 'rules') void rulesView(this.panel, this);
    else if (route.name === 'events') void eventsView(this.panel, this);
    else if (route.name === 'declare') void declareView(this.panel, this);
    else if (route.name === 'event') void eventDetailView(this.panel, this, route.id);
    else if (route.name === 'inbox') void inboxView(this.panel, this, (inbox) => this.showInboxCount(inbox));
    else if (route.name === 'batch') void batchView(this.panel, this, route.id);
    else if (route.name === 'budgets') void budgetsView(this.panel, this);
    else if (route.name === 'plan') void planView(this.panel, this, route.id);
    else if (route.name === 'planPrint') void planPrintView(this.panel, route.id);
    else if (route.name === 'plans') void plansView(this.panel, this);
    else this.panel.append(h('h1', {}, t('notFound')));
    // After a change of view, focus goes to its content (as a page load would); not on the first load.
    if (moveFocus && this.shown) this.panel.focus({ preventScroll: true });
    this.shown = true;
  }

  /** The inbox's count in the header, read again on every change of view. */
  private inboxBadge = h('span', { class: 'inbox-count', 'aria-live': 'polite' });
  private inboxTicket = 0;

  showInboxCount(inbox: Inbox | undefined): void {
    this.inboxBadge.textContent = inbox && inbox.total > 0 ? ` ${inbox.total}` : '';
    this.inboxBadge.classList.toggle('overdue', !!inbox?.items.some((i) => i.overdue));
    if (inbox && inbox.total > 0) this.inboxBadge.setAttribute('aria-label', t('inboxCount', { n: inbox.total }));
    else this.inboxBadge.removeAttribute('aria-label');
  }

  private refreshInboxCount(): void {
    const ticket = ++this.inboxTicket;
    void getInbox()
      .then((inbox) => ticket === this.inboxTicket && this.showInboxCount(inbox))
      .catch(() => undefined);
  }

  private renderHeader(): void {
    const user = currentUser();
    this.header.replaceChildren(
      h('a', { class: 'brand', href: '/', 'data-link': true }, t('appName')),
      h(
        'nav',
        { 'aria-label': t('navMain') },
        h(
          'ul',
          {},
          NAV.filter(([name]) => name !== 'budgets' || can.readBudgets()).map(([name, href, label]) =>
            h(
              'li',
              {},
              h(
                'a',
                { href, 'data-link': true, 'aria-current': this.route.name === name || NAV_OF[this.route.name] === name ? 'page' : undefined },
                t(label),
                name === 'inbox' ? this.inboxBadge : '',
              ),
            ),
          ),
        ),
      ),
      h('span', { class: 'spacer' }),
      user ? h('span', { class: 'who' }, t('signedInAs', { name: user.name, roles: user.roles.join(', '), agency: user.agency, jurisdiction: user.jurisdiction })) : '',
      languageSwitch(),
      h(
        'button',
        {
          type: 'button',
          class: 'secondary',
          onclick: async () => {
            await logout().catch(() => undefined);
            setCsrfToken('');
            this.disposed = true;
            this.map.map.remove();
            this.onSignedOut();
          },
        },
        t('signOut'),
      ),
    );
  }
}
