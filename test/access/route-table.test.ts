import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROLES, type Role } from '../../server/access/roles.ts';
import { approveBatch, cancelBatch, submitBatch } from '../../server/batches/approvals.ts';
import { systemCtx, type Ctx } from '../../server/context.ts';
import { batches, budgetLines, paymentInstructions } from '../../server/db/schema/index.ts';
import { releaseBatch } from '../../server/batches/release.ts';
import { exportPaymentFiles } from '../../server/payments/files.ts';
import { reconcile, RECONCILIATION_COLUMNS } from '../../server/payments/reconcile.ts';
import { requestReissue } from '../../server/payments/reissue.ts';
import { createAction } from '../../server/plan/service.ts';
import { loadRules, SHIPPED_RULES_DIR } from '../../server/rules/loader.ts';
import { ensureDefaultAreas } from '../../server/areas/service.ts';
import { testApp } from '../harness/app.ts';
import { createTestDatabase, drivers, type TestDatabase } from '../harness/databases.ts';
import { capMessage } from '../harness/cap.ts';
import { addFeed } from '../../server/feeds/service.ts';
import { bearer, makeAlert, makeEvent, makeHousehold, makeRule, makeUser, setupCtx, TEST_PASSWORD, unique } from '../harness/factories.ts';
import { settle } from '../batches/setup.ts';
import { readFileSync } from 'node:fs';
import { ensureWebBuild } from '../../server/http/web-build.ts';
import { WEB_DIST } from '../../server/http/web.ts';
import { EXCHANGE_ROUTES } from '../exchange/route-cases.ts';

/** `signed-in`: every role but `feed`, whose tokens push alerts and nothing else. */
type Access = 'public' | 'signed-in' | Role[];
interface Call {
  path: string;
  /** A JSON body. */
  body?: unknown;
  /** A body sent as it is (XML, or a CSV with `contentType`). */
  raw?: string;
  contentType?: string;
}
interface Setup {
  db: TestDatabase;
}
interface RouteCase {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  path: string;
  access: Access;
  /** A request that the allowed roles (jurisdiction PK7) may make. */
  call(s: Setup): Promise<Call> | Call;
  /** The same request on a record in Punjab (PK6): a 404 for a Sindh caller. */
  outOfScope?(s: Setup): Promise<Call>;
  /** Which of several cases of one route this is, for the test's name (`{eventId}`). */
  variant?: string;
  /** Why a route that names a record has no out-of-scope case: what it shows is the same for everyone. */
  sameForEveryone?: string;
}

const newUserBody = (jurisdiction = 'PK7') => ({
  username: unique('u').toLowerCase(),
  displayName: 'Someone',
  password: 'a long enough password',
  roles: ['responder'],
  agency: 'PDMA Sindh',
  jurisdiction,
});

/**
 * Every route of the app and who may call it. A route the app has and this table lacks fails the last test,
 * so the table grows with every route.
 */
/** One file the built web app loads, named by content hash. */
const builtAsset = () => /\/assets\/[\w.-]+\.js/.exec(readFileSync(`${WEB_DIST}index.html`, 'utf8'))![0];

const table: RouteCase[] = [
  // Registry exchange under agreements (server/exchange/): the cases live beside its tests.
  ...(EXCHANGE_ROUTES as RouteCase[]),
  // The web app (server/http/web.ts): its pages and files are public; the data behind them needs sign-in.
  ...['/', '/login', '/alerts', '/alerts/:id', '/rules', '/events', '/events/new', '/events/:id', '/inbox', '/batches/:id', '/budgets', '/plans', '/events/:id/plan', '/events/:id/plan/print'].map(
    (path): RouteCase => ({
      method: 'GET',
      path,
      access: 'public',
      call: () => ({ path: path.replace(':id', crypto.randomUUID()) }),
      sameForEveryone: 'the page shell of the web app; its data comes from the API',
    }),
  ),
  { method: 'GET', path: '/fonts/:file', access: 'public', call: () => ({ path: '/fonts/DejaVuSans.ttf' }), sameForEveryone: 'a font file' },
  { method: 'GET', path: '/assets/:file', access: 'public', call: () => ({ path: builtAsset() }), sameForEveryone: 'a file of the built web app' },
  { method: 'GET', path: '/healthz', access: 'public', call: () => ({ path: '/healthz' }) },
  { method: 'GET', path: '/readyz', access: 'public', call: () => ({ path: '/readyz' }) },
  { method: 'GET', path: '/metrics', access: 'public', call: () => ({ path: '/metrics' }) },
  { method: 'GET', path: '/openapi.json', access: 'public', call: () => ({ path: '/openapi.json' }) },
  { method: 'GET', path: '/docs', access: 'public', call: () => ({ path: '/docs' }) },
  { method: 'GET', path: '/docs/init.js', access: 'public', call: () => ({ path: '/docs/init.js' }) },
  { method: 'GET', path: '/docs/assets/:file', access: 'public', call: () => ({ path: '/docs/assets/swagger-ui.css' }), sameForEveryone: 'a file of the docs page' },
  {
    method: 'POST',
    path: '/api/auth/login',
    access: 'public',
    call: async ({ db }) => {
      const user = await makeUser(db.db);
      return { path: '/api/auth/login', body: { username: user.username, password: TEST_PASSWORD } };
    },
  },
  { method: 'POST', path: '/api/auth/logout', access: 'signed-in', call: () => ({ path: '/api/auth/logout' }) },
  { method: 'GET', path: '/api/auth/me', access: 'signed-in', call: () => ({ path: '/api/auth/me' }) },
  { method: 'GET', path: '/api/users', access: ['admin'], call: () => ({ path: '/api/users' }) },
  { method: 'POST', path: '/api/users', access: ['admin'], call: () => ({ path: '/api/users', body: newUserBody() }) },
  {
    method: 'GET',
    path: '/api/users/:id',
    access: ['admin'],
    call: async ({ db }) => ({ path: `/api/users/${(await makeUser(db.db)).id}` }),
    outOfScope: async ({ db }) => ({ path: `/api/users/${(await makeUser(db.db, { jurisdiction: 'PK6' })).id}` }),
  },
  {
    method: 'POST',
    path: '/api/users/:id/disable',
    access: ['admin'],
    call: async ({ db }) => ({ path: `/api/users/${(await makeUser(db.db)).id}/disable` }),
    outOfScope: async ({ db }) => ({ path: `/api/users/${(await makeUser(db.db, { jurisdiction: 'PK6' })).id}/disable` }),
  },
  { method: 'GET', path: '/api/tokens', access: ['admin'], call: () => ({ path: '/api/tokens' }) },
  {
    method: 'POST',
    path: '/api/tokens',
    access: ['admin'],
    call: () => ({ path: '/api/tokens', body: { name: unique('feed'), role: 'feed', agency: 'PMD', jurisdiction: 'PK7' } }),
  },
  {
    method: 'POST',
    path: '/api/tokens/:id/revoke',
    access: ['admin'],
    call: async ({ db }) => ({ path: `/api/tokens/${(await bearer(db.db, 'feed', 'PK7')).id}/revoke` }),
    outOfScope: async ({ db }) => ({ path: `/api/tokens/${(await bearer(db.db, 'feed', 'PK6')).id}/revoke` }),
  },
  { method: 'GET', path: '/api/audit', access: ['auditor', 'admin'], call: () => ({ path: '/api/audit' }) },
  {
    method: 'POST',
    path: '/api/alerts',
    access: ['feed', 'dma_officer', 'admin'],
    // Over Sindh, where the PK7 callers publish.
    call: () => ({ path: '/api/alerts', raw: capMessage({ identifier: unique('route-table'), geocode: { valueName: 'pcode', value: 'PK7' } }) }),
  },
  { method: 'GET', path: '/api/alerts', access: 'signed-in', call: () => ({ path: '/api/alerts' }) },
  { method: 'GET', path: '/api/areas', access: 'signed-in', call: () => ({ path: '/api/areas?level=1' }) },
  {
    method: 'GET',
    path: '/api/areas/:code',
    access: 'signed-in',
    call: () => ({ path: '/api/areas/PK7' }),
    sameForEveryone: 'boundaries are public geography; acting on an area (declaring, exposure) is scoped where it is done',
  },
  { method: 'POST', path: '/api/exposure', access: 'signed-in', call: () => ({ path: '/api/exposure', body: { area: { codes: ['PK7'] } } }) },
  { method: 'GET', path: '/api/households', access: 'signed-in', call: () => ({ path: '/api/households?area=PK7' }) },
  { method: 'GET', path: '/api/households/density', access: 'signed-in', call: () => ({ path: '/api/households/density?bbox=60,23,78,37&res=5' }) },
  {
    method: 'GET',
    path: '/api/alerts/:id',
    access: 'signed-in',
    call: async ({ db }) => ({ path: `/api/alerts/${await storedAlertId(db)}` }),
    outOfScope: async ({ db }) => ({ path: `/api/alerts/${await restrictedPunjabAlertId(db)}` }),
  },
  { method: 'GET', path: '/api/rules', access: 'signed-in', call: () => ({ path: '/api/rules' }) },
  {
    method: 'GET',
    path: '/api/rules/:id',
    access: 'signed-in',
    call: async ({ db }) => ({ path: `/api/rules/${await loadedRuleId(db)}` }),
    sameForEveryone: 'the rules in force are agreed in public between federal and provincial agencies',
  },
  {
    method: 'POST',
    path: '/api/rules/:id/dry-run',
    access: ['dma_officer', 'program_manager', 'admin'],
    variant: '{eventId}',
    call: async ({ db }) => ({ path: `/api/rules/${await loadedRuleId(db)}/dry-run`, body: { eventId: await storedEventId(db, 'PK7', 'declared') } }),
    outOfScope: async ({ db }) => ({ path: `/api/rules/${await loadedRuleId(db)}/dry-run`, body: { eventId: await storedEventId(db, 'PK6', 'declared') } }),
  },
  {
    method: 'POST',
    path: '/api/rules/:id/dry-run',
    access: ['dma_officer', 'program_manager', 'admin'],
    variant: '{alertId}',
    call: async ({ db }) => ({ path: `/api/rules/${await loadedRuleId(db)}/dry-run`, body: { alertId: await storedAlertId(db) } }),
    outOfScope: async ({ db }) => ({ path: `/api/rules/${await loadedRuleId(db)}/dry-run`, body: { alertId: await restrictedPunjabAlertId(db) } }),
  },
  {
    method: 'GET',
    path: '/api/alerts/:id/evaluations',
    access: 'signed-in',
    call: async ({ db }) => ({ path: `/api/alerts/${await storedAlertId(db)}/evaluations` }),
    outOfScope: async ({ db }) => ({ path: `/api/alerts/${await restrictedPunjabAlertId(db)}/evaluations` }),
  },
  {
    method: 'GET',
    path: '/api/events/:id/evaluations',
    access: 'signed-in',
    call: async ({ db }) => ({ path: `/api/events/${await storedEventId(db, 'PK7', 'declared')}/evaluations` }),
    outOfScope: async ({ db }) => ({ path: `/api/events/${await storedEventId(db, 'PK6', 'declared')}/evaluations` }),
  },
  { method: 'GET', path: '/api/feeds', access: ['admin', 'dma_officer'], call: () => ({ path: '/api/feeds' }) },
  {
    method: 'POST',
    path: '/api/feeds',
    access: ['admin'],
    call: () => ({ path: '/api/feeds', body: { url: `https://example.org/${unique('feed')}.xml`, format: 'cap-rss', every: '5m', senders: ['pmd.gov.pk'] } }),
  },
  {
    method: 'GET',
    path: '/api/feeds/:id',
    access: ['admin', 'dma_officer'],
    call: async ({ db }) => ({ path: `/api/feeds/${(await addFeed(setupCtx(db.db), { url: `https://example.org/${unique('feed')}.xml`, format: 'usgs', every: '5m' })).id}` }),
    sameForEveryone: 'feeds are national: every officer who may see them sees them all',
  },
  { method: 'GET', path: '/api/system/outbox', access: ['admin', 'auditor'], call: () => ({ path: '/api/system/outbox' }) },
  { method: 'POST', path: '/api/system/outbox/retry', access: ['admin'], call: () => ({ path: '/api/system/outbox/retry' }) },
  {
    method: 'POST',
    path: '/api/events',
    access: ['dma_officer', 'admin'],
    call: () => ({ path: '/api/events', body: { name: unique('Floods'), hazard: 'flood', areas: ['PK7'] } }),
  },
  { method: 'GET', path: '/api/events', access: 'signed-in', call: () => ({ path: '/api/events' }) },
  {
    method: 'POST',
    path: '/api/events/resolve',
    access: ['dma_officer', 'admin'],
    call: () => ({ path: '/api/events/resolve', body: { text: 'PK7\nThatta' } }),
  },
  {
    method: 'GET',
    path: '/api/events/:id',
    access: 'signed-in',
    call: async ({ db }) => ({ path: `/api/events/${await storedEventId(db, 'PK7', 'declared')}` }),
    outOfScope: async ({ db }) => ({ path: `/api/events/${await storedEventId(db, 'PK6', 'declared')}` }),
  },
  {
    method: 'POST',
    path: '/api/events/:id/declare',
    access: ['dma_officer', 'admin'],
    call: async ({ db }) => ({ path: `/api/events/${await storedEventId(db, 'PK7', 'draft')}/declare` }),
    outOfScope: async ({ db }) => ({ path: `/api/events/${await storedEventId(db, 'PK6', 'draft')}/declare` }),
  },
  {
    method: 'POST',
    path: '/api/events/:id/close',
    access: ['dma_officer', 'admin'],
    call: async ({ db }) => ({ path: `/api/events/${await storedEventId(db, 'PK7', 'declared')}/close` }),
    outOfScope: async ({ db }) => ({ path: `/api/events/${await storedEventId(db, 'PK6', 'declared')}/close` }),
  },
  // Activations, batches and budget lines (server/batches/routes.ts). A batch is seen where its areas touch the
  // caller's jurisdiction; who acts on it is the verb's check (a programme manager or finance officer of a payer).
  { method: 'GET', path: '/api/activations', access: 'signed-in', call: () => ({ path: '/api/activations' }) },
  {
    method: 'GET',
    path: '/api/activations/:id',
    access: 'signed-in',
    call: async ({ db }) => ({ path: `/api/activations/${(await readableBatch(db, 'PK7')).activationId}` }),
    outOfScope: async ({ db }) => ({ path: `/api/activations/${(await readableBatch(db, 'PK6')).activationId}` }),
  },
  {
    method: 'POST',
    path: '/api/activations/:id/batches',
    access: ['program_manager'],
    call: async ({ db }) => ({ path: `/api/activations/${await activationWithoutBatch(db, 'PK7')}/batches` }),
    outOfScope: async ({ db }) => ({ path: `/api/activations/${(await readableBatch(db, 'PK6')).activationId}/batches` }),
  },
  { method: 'GET', path: '/api/batches', access: 'signed-in', call: () => ({ path: '/api/batches' }) },
  {
    method: 'GET',
    path: '/api/batches/:id',
    access: 'signed-in',
    call: async ({ db }) => ({ path: `/api/batches/${(await readableBatch(db, 'PK7')).id}` }),
    outOfScope: async ({ db }) => ({ path: `/api/batches/${(await readableBatch(db, 'PK6')).id}` }),
  },
  {
    method: 'GET',
    path: '/api/batches/:id/lines',
    access: ['program_manager', 'finance_officer'],
    call: async ({ db }) => ({ path: `/api/batches/${(await readableBatch(db, 'PK7')).id}/lines` }),
    outOfScope: async ({ db }) => ({ path: `/api/batches/${(await readableBatch(db, 'PK6')).id}/lines` }),
  },
  ...(['rebuild', 'submit'] as const).map(
    (verb): RouteCase => ({
      method: 'POST',
      path: `/api/batches/:id/${verb}`,
      access: ['program_manager'],
      call: async ({ db }) => ({ path: `/api/batches/${await storedBatch(db, 'PK7', 'draft')}/${verb}` }),
      outOfScope: async ({ db }) => ({ path: `/api/batches/${await storedBatch(db, 'PK6', 'draft')}/${verb}` }),
    }),
  ),
  {
    method: 'POST',
    path: '/api/batches/:id/approve',
    access: ['program_manager', 'finance_officer'],
    call: async ({ db }) => ({ path: `/api/batches/${await storedBatch(db, 'PK7', 'submitted')}/approve`, body: { comment: 'checked against the list' } }),
    outOfScope: async ({ db }) => ({ path: `/api/batches/${await storedBatch(db, 'PK6', 'submitted')}/approve`, body: { comment: 'checked against the list' } }),
  },
  {
    method: 'POST',
    path: '/api/batches/:id/reject',
    access: ['program_manager', 'finance_officer'],
    call: async ({ db }) => ({ path: `/api/batches/${await storedBatch(db, 'PK7', 'submitted')}/reject`, body: { reason: 'totals do not match' } }),
    outOfScope: async ({ db }) => ({ path: `/api/batches/${await storedBatch(db, 'PK6', 'submitted')}/reject`, body: { reason: 'totals do not match' } }),
  },
  {
    method: 'POST',
    path: '/api/batches/:id/cancel',
    access: ['program_manager'],
    call: async ({ db }) => ({ path: `/api/batches/${await storedBatch(db, 'PK7', 'draft')}/cancel`, body: { reason: 'the list is being corrected' } }),
    outOfScope: async ({ db }) => ({ path: `/api/batches/${await storedBatch(db, 'PK6', 'draft')}/cancel`, body: { reason: 'the list is being corrected' } }),
  },
  {
    method: 'POST',
    path: '/api/batches/:id/release',
    access: ['finance_officer'],
    call: async ({ db }) => ({ path: `/api/batches/${await storedBatch(db, 'PK7', 'approved')}/release` }),
    outOfScope: async ({ db }) => ({ path: `/api/batches/${await storedBatch(db, 'PK6', 'approved')}/release` }),
  },
  { method: 'GET', path: '/api/budgets', access: ['program_manager', 'finance_officer', 'auditor', 'admin'], call: () => ({ path: '/api/budgets' }) },
  {
    method: 'POST',
    path: '/api/budgets/:id/amend',
    access: ['finance_officer'],
    call: async ({ db }) => ({ path: `/api/budgets/${await budgetLineOf(db, 'PK7')}/amend`, body: { ceilingPkr: 20_000_000_000, reason: 'second tranche', reference: 'RT-2026-1' } }),
    outOfScope: async ({ db }) => ({ path: `/api/budgets/${await budgetLineOf(db, 'PK6')}/amend`, body: { ceilingPkr: 20_000_000_000, reason: 'second tranche', reference: 'RT-2026-1' } }),
  },
  // Payments (server/payments/routes.ts): files and reconciliation for finance, paying again for programme managers.
  {
    method: 'POST',
    path: '/api/batches/:id/payment-files',
    access: ['finance_officer'],
    call: async ({ db }) => ({ path: `/api/batches/${await releasedBatch(db, 'PK7')}/payment-files` }),
    outOfScope: async ({ db }) => ({ path: `/api/batches/${await releasedBatch(db, 'PK6')}/payment-files` }),
  },
  {
    method: 'GET',
    path: '/api/batches/:id/payment-files',
    access: ['finance_officer'],
    call: async ({ db }) => ({ path: `/api/batches/${await releasedBatch(db, 'PK7')}/payment-files` }),
    outOfScope: async ({ db }) => ({ path: `/api/batches/${await releasedBatch(db, 'PK6')}/payment-files` }),
  },
  {
    method: 'GET',
    path: '/api/payment-files/:id',
    access: ['finance_officer'],
    call: async ({ db }) => ({ path: `/api/payment-files/${(await exportedFile(db, 'PK7')).fileId}` }),
    outOfScope: async ({ db }) => ({ path: `/api/payment-files/${(await exportedFile(db, 'PK6')).fileId}` }),
  },
  {
    method: 'GET',
    path: '/api/payment-files/:id/csv',
    access: ['finance_officer'],
    call: async ({ db }) => ({ path: `/api/payment-files/${(await exportedFile(db, 'PK7')).fileId}/csv` }),
    outOfScope: async ({ db }) => ({ path: `/api/payment-files/${(await exportedFile(db, 'PK6')).fileId}/csv` }),
  },
  {
    method: 'POST',
    path: '/api/payment-files/:id/reconciliation',
    access: ['finance_officer'],
    call: async ({ db }) => bankAnswer(await exportedFile(db, 'PK7')),
    outOfScope: async ({ db }) => bankAnswer(await exportedFile(db, 'PK6')),
  },
  {
    method: 'GET',
    path: '/api/events/:id/payments',
    access: 'signed-in',
    call: async ({ db }) => ({ path: `/api/events/${await storedEventId(db, 'PK7', 'declared')}/payments` }),
    outOfScope: async ({ db }) => ({ path: `/api/events/${await storedEventId(db, 'PK6', 'declared')}/payments` }),
  },
  {
    method: 'POST',
    path: '/api/payment-instructions/:id/reissue',
    access: ['program_manager'],
    call: async ({ db }) => ({ path: `/api/payment-instructions/${await failedInstruction(db, 'PK7')}/reissue`, body: { reason: 'wallet blocked' } }),
    outOfScope: async ({ db }) => ({ path: `/api/payment-instructions/${await failedInstruction(db, 'PK6')}/reissue`, body: { reason: 'wallet blocked' } }),
  },
  { method: 'GET', path: '/api/reissues', access: ['program_manager', 'finance_officer'], call: () => ({ path: '/api/reissues' }) },
  { method: 'GET', path: '/api/inbox', access: 'signed-in', call: () => ({ path: '/api/inbox' }) },
  // The joint response plan (server/plan/routes.ts): seen wherever the incident's areas touch the caller's
  // jurisdiction; an action is reported on and accepted by its lead agency (the table's tokens are of agency TEST).
  {
    method: 'GET',
    path: '/api/events/:id/plan',
    access: 'signed-in',
    call: async ({ db }) => ({ path: `/api/events/${await storedEventId(db, 'PK7', 'declared')}/plan` }),
    outOfScope: async ({ db }) => ({ path: `/api/events/${await storedEventId(db, 'PK6', 'declared')}/plan` }),
  },
  ...(['plan', 'plan/progress', 'plan/export?format=csv'] as const).map(
    (tail): RouteCase => ({
      method: 'GET',
      path: `/api/incidents/:incident/${tail.replace(/\?.*$/, '')}`,
      access: 'signed-in',
      call: async ({ db }) => ({ path: `/api/incidents/event:${await storedEventId(db, 'PK7', 'declared')}/${tail}` }),
      outOfScope: async ({ db }) => ({ path: `/api/incidents/event:${await storedEventId(db, 'PK6', 'declared')}/${tail}` }),
    }),
  ),
  {
    method: 'POST',
    path: '/api/incidents/:incident/plan/actions',
    access: ['dma_officer', 'program_manager', 'admin'],
    call: async ({ db }) => ({
      path: `/api/incidents/event:${await storedEventId(db, 'PK7', 'declared')}/plan/actions`,
      body: { title: 'Open a payment camp', sector: 'cash', areaCodes: ['PK7'], dueHours: 48 },
    }),
    outOfScope: async ({ db }) => ({
      path: `/api/incidents/event:${await storedEventId(db, 'PK6', 'declared')}/plan/actions`,
      body: { title: 'Open a payment camp', sector: 'cash', areaCodes: ['PK7'], dueHours: 48 },
    }),
  },
  {
    method: 'GET',
    path: '/api/plan-actions/:id',
    access: 'signed-in',
    call: async ({ db }) => ({ path: `/api/plan-actions/${await planAction(db, 'PK7')}` }),
    outOfScope: async ({ db }) => ({ path: `/api/plan-actions/${await planAction(db, 'PK6')}` }),
  },
  {
    method: 'POST',
    path: '/api/plan-actions/:id/updates',
    access: ['dma_officer', 'program_manager', 'finance_officer', 'responder', 'admin'],
    call: async ({ db }) => ({ path: `/api/plan-actions/${await planAction(db, 'PK7')}/updates`, body: { status: 'ready', note: 'trucks loaded' } }),
    outOfScope: async ({ db }) => ({ path: `/api/plan-actions/${await planAction(db, 'PK6')}/updates`, body: { status: 'ready', note: 'trucks loaded' } }),
  },
  {
    method: 'POST',
    path: '/api/plan-actions/:id/accept',
    access: ['dma_officer', 'program_manager', 'finance_officer', 'admin'],
    call: async ({ db }) => ({ path: `/api/plan-actions/${await planAction(db, 'PK7')}/accept`, body: {} }),
    outOfScope: async ({ db }) => ({ path: `/api/plan-actions/${await planAction(db, 'PK6')}/accept`, body: {} }),
  },
  {
    method: 'POST',
    path: '/api/plan-actions/:id/reassign',
    access: ['admin'],
    call: async ({ db }) => ({ path: `/api/plan-actions/${await planAction(db, 'PK7')}/reassign`, body: { leadAgency: 'District administration', note: 'the DC runs it' } }),
    outOfScope: async ({ db }) => ({ path: `/api/plan-actions/${await planAction(db, 'PK6')}/reassign`, body: { leadAgency: 'District administration', note: 'the DC runs it' } }),
  },
  { method: 'GET', path: '/api/plans/summary', access: 'signed-in', call: () => ({ path: '/api/plans/summary' }) },
  ...(['approve', 'reject'] as const).map(
    (verb): RouteCase => ({
      method: 'POST',
      path: `/api/reissues/:id/${verb}`,
      access: ['program_manager'],
      call: async ({ db }) => ({ path: `/api/reissues/${await openReissue(db, 'PK7')}/${verb}`, body: verb === 'approve' ? { comment: 'camp opens Monday' } : { reason: 'check the SIM owner' } }),
      outOfScope: async ({ db }) => ({ path: `/api/reissues/${await openReissue(db, 'PK6')}/${verb}`, body: verb === 'approve' ? { comment: 'camp opens Monday' } : { reason: 'check the SIM owner' } }),
    }),
  ),
];

/** A fresh batch of the table's rule over a province, approved and released by that province's officers. */
async function releasedBatch(db: TestDatabase, province: 'PK7' | 'PK6'): Promise<string> {
  const batch = await builtBatch(db, province, 'approved');
  await releaseBatch(officer(db, 'finance_officer', province), { id: batch.id });
  return batch.id;
}

/** A payment file of a fresh released batch, with the instructions in it. */
async function exportedFile(db: TestDatabase, province: 'PK7' | 'PK6') {
  const batchId = await releasedBatch(db, province);
  const { made } = await exportPaymentFiles(officer(db, 'finance_officer', province), { batchId });
  const rows = await db.db.select({ id: paymentInstructions.id }).from(paymentInstructions).where(eq(paymentInstructions.fileId, made[0]!.id));
  return { province, fileId: made[0]!.id, instructionIds: rows.map((r) => r.id) };
}

/** The bank's answer to a file: its first instruction failed. */
function bankAnswer(file: { fileId: string; instructionIds: string[] }): Call {
  return {
    path: `/api/payment-files/${file.fileId}/reconciliation`,
    raw: `${RECONCILIATION_COLUMNS.join(',')}\r\n${file.instructionIds[0]},failed,0,,,account closed\r\n`,
    contentType: 'text/csv',
  };
}

/** An instruction the bank said failed, so it may be paid again. */
async function failedInstruction(db: TestDatabase, province: 'PK7' | 'PK6'): Promise<string> {
  const file = await exportedFile(db, province);
  const answer = bankAnswer(file);
  await reconcile(officer(db, 'finance_officer', province), { fileId: file.fileId, text: answer.raw! });
  return file.instructionIds[0]!;
}

/** A request to pay again made by another programme manager of the province, waiting for a decision. */
async function openReissue(db: TestDatabase, province: 'PK7' | 'PK6'): Promise<string> {
  const id = await failedInstruction(db, province);
  return (await requestReissue(officer(db, 'program_manager', province), { instructionId: id, reason: 'pay at the camp', channel: 'biometric_cash' })).id;
}

/** An event over one province (the default province boundaries are loaded), for routes that act on one. */
async function storedEventId(db: TestDatabase, area: string, status: 'draft' | 'declared'): Promise<string> {
  return (await makeEvent(db.db, { areas: [area], status })).id;
}

/** An action of agency TEST (the table's tokens) in a fresh declared event over one province, unaccepted. */
async function planAction(db: TestDatabase, province: 'PK7' | 'PK6'): Promise<string> {
  const eventId = await storedEventId(db, province, 'declared');
  const action = await createAction(setupCtx(db.db), `event:${eventId}`, { title: 'Send water tankers', sector: 'wash', leadAgency: 'TEST', areaCodes: [province], dueHours: 24 });
  return action.id;
}

/** The shipped rules loaded (idempotent), for routes that read one. */
async function loadedRuleId(db: TestDatabase): Promise<string> {
  await loadRules(setupCtx(db.db), SHIPPED_RULES_DIR);
  return 'flood-relief-2022';
}

/** A public warning over Sindh, for routes that read one. */
async function storedAlertId(db: TestDatabase): Promise<string> {
  return (await makeAlert(db.db, { areaCodes: ['PK7'] })).id;
}

/** A Restricted message over Punjab: seen federally and in Punjab, not in Sindh. */
async function restrictedPunjabAlertId(db: TestDatabase): Promise<string> {
  return (await makeAlert(db.db, { scope: 'Restricted', areaCodes: ['PK6'] })).id;
}

/**
 * The route table's own rule: a landslide top-up for households of PMT 32 or less, paid by the province each
 * household lives in and signed by a programme manager and a finance officer of that province. No shipped
 * rule names landslides, so only this rule fires on the table's landslide alerts; two households in Sindh
 * and two in Punjab give its batches lines. Loaded once per database.
 */
const BATCH_RULE = 'route-table-landslide';
const batchWorlds = new WeakMap<TestDatabase, Promise<void>>();
function batchWorld(db: TestDatabase): Promise<void> {
  let made = batchWorlds.get(db);
  if (!made) {
    made = (async () => {
      await makeHousehold(db, [
        { lat: 25.39, lon: 68.37, pmt: 10 },
        { lat: 25.4, lon: 68.36, pmt: 20 },
        { lat: 31.52, lon: 74.36, pmt: 10 },
        { lat: 31.53, lon: 74.35, pmt: 20 },
      ]);
      await makeRule(db.db, {
        from: 'earthquake',
        id: BATCH_RULE,
        change: (y) =>
          y
            .replace('hazards: [earthquake]', 'hazards: [landslide]')
            .replace('purpose: earthquake_relief', 'purpose: route_table_relief')
            .replace(/^stages:[\s\S]*?(?=^eligibility:)/m, 'stages:\n  activation:\n    when:\n      severity_at_least: Severe\n')
            .replace(
              /^funding:[\s\S]*$/m,
              'funding:\n  ceiling_pkr: 10000000000\n  payers:\n    - agency: provincial-government\n      jurisdiction: household-province\n      share_bp: 10000\n' +
                'approvals:\n  - roles: [program_manager, finance_officer]\n    jurisdiction: payer\n',
            ),
      });
    })();
    batchWorlds.set(db, made);
  }
  return made;
}

/** An officer acting through the verbs themselves, to bring a batch to a state before the route is called. */
const officer = (db: TestDatabase, role: Role, jurisdiction: string): Ctx => ({
  db: db.db,
  actor: { kind: 'user', id: crypto.randomUUID(), name: unique(role), roles: [role], agency: 'TEST', jurisdiction },
  now: new Date(),
});

/**
 * A fresh batch of the table's rule over one province (a landslide alert over it, delivered through the
 * outbox), brought to `status` by officers of that province: submitted by one programme manager, approved
 * by another and by a finance officer. Returns the batch's id.
 */
async function storedBatch(db: TestDatabase, province: 'PK7' | 'PK6', status: 'draft' | 'submitted' | 'approved'): Promise<string> {
  return (await builtBatch(db, province, status)).id;
}
async function builtBatch(db: TestDatabase, province: 'PK7' | 'PK6', status: 'draft' | 'submitted' | 'approved') {
  await batchWorld(db);
  const alert = await makeAlert(db.db, { hazard: 'landslide', areaCodes: [province] });
  await settle(db.db, new Date());
  const [batch] = await db.db.select().from(batches).where(and(eq(batches.subjectId, alert.id), eq(batches.ruleId, BATCH_RULE)));
  if (!batch || batch.lineCount === 0) throw new Error(`route table: the landslide alert over ${province} built no batch with lines`);
  if (status !== 'draft') await submitBatch(officer(db, 'program_manager', province), { id: batch.id });
  if (status === 'approved')
    for (const role of ['program_manager', 'finance_officer'] as const) await approveBatch(officer(db, role, province), { id: batch.id, comment: 'checked' });
  return batch;
}

/** One batch per province for the routes that only read (made once per database). */
const readable = new WeakMap<TestDatabase, Map<string, Promise<{ id: string; activationId: string }>>>();
function readableBatch(db: TestDatabase, province: 'PK7' | 'PK6') {
  const byProvince = readable.get(db) ?? new Map();
  readable.set(db, byProvince);
  if (!byProvince.has(province)) byProvince.set(province, builtBatch(db, province, 'draft'));
  return byProvince.get(province)!;
}

/** An activation in force whose batch was cancelled, so a programme manager may build it again by hand. */
async function activationWithoutBatch(db: TestDatabase, province: 'PK7' | 'PK6'): Promise<string> {
  const batch = await builtBatch(db, province, 'draft');
  await cancelBatch(systemCtx(db.db, 'test', new Date()), { id: batch.id, reason: 'to be built again by hand' });
  return batch.activationId;
}

/** The budget line the table's rule opened for a province (its first batch there opens it). */
async function budgetLineOf(db: TestDatabase, province: 'PK7' | 'PK6'): Promise<string> {
  await readableBatch(db, province);
  const [line] = await db.db.select().from(budgetLines).where(and(eq(budgetLines.ruleId, BATCH_RULE), eq(budgetLines.jurisdiction, province)));
  return line!.id;
}

describe.each(drivers)('who may call which route, on %s', (driver) => {
  let db: TestDatabase;
  let app: ReturnType<typeof testApp>;
  const headers: Partial<Record<Role, string>> = {};

  beforeAll(async () => {
    db = await createTestDatabase(driver);
    app = testApp(db);
    await ensureWebBuild({ quiet: true });
    await ensureDefaultAreas(setupCtx(db.db));
    for (const role of ROLES) headers[role] = (await bearer(db.db, role, 'PK7')).authorization;
  });
  afterAll(() => db.drop());

  const send = (method: string, call: Call, authorization?: string) =>
    app.request(call.path, {
      method,
      headers: {
        ...(authorization ? { authorization } : {}),
        ...(call.body ? { 'content-type': 'application/json' } : {}),
        ...(call.raw ? { 'content-type': call.contentType ?? 'application/xml' } : {}),
      },
      body: call.raw ?? (call.body ? JSON.stringify(call.body) : undefined),
    });

  /** The ids a request names in its body (`eventId`, `alertIds`): a record it reads, so a scope case is due. */
  const namedInBody = (call: Call) => (call.body && typeof call.body === 'object' ? Object.keys(call.body).filter((k) => /Ids?$/.test(k)) : []);

  for (const route of table) {
    const allowed = (role: Role) => route.access === 'public' || (route.access === 'signed-in' ? role !== 'feed' : route.access.includes(role));

    it(`${route.method} ${route.path}${route.variant ? ` with ${route.variant}` : ''}: ${Array.isArray(route.access) ? route.access.join(', ') : route.access}`, async () => {
      if (route.access !== 'public') {
        const anonymous = await send(route.method, await route.call({ db }));
        expect(anonymous.status, 'without credentials').toBe(401);
      }
      for (const role of ROLES) {
        const res = await send(route.method, await route.call({ db }), headers[role]);
        if (allowed(role)) expect(res.status, `${role} is allowed`).toBeLessThan(300);
        else expect(res.status, `${role} is refused`).toBe(403);
      }
      if (route.outOfScope) {
        for (const role of ROLES.filter(allowed)) {
          const res = await send(route.method, await route.outOfScope({ db }), headers[role]);
          expect(res.status, `${role} of PK7 on a PK6 record`).toBe(404);
        }
      }
    });
  }

  it('has an out-of-scope case for every route that names a record, in its path or its body', async () => {
    const missing: string[] = [];
    for (const route of table) {
      const names = /:\w+/.test(route.path) || namedInBody(await route.call({ db })).length > 0;
      if (names && !route.outOfScope && !route.sameForEveryone) missing.push(`${route.method} ${route.path}`);
    }
    expect(missing).toEqual([]);
  });

  it('lists every route the app has', () => {
    const routes = new Set(app.routes.filter((r) => r.method !== 'ALL').map((r) => `${r.method} ${r.path}`));
    const listed = new Set(table.map((r) => `${r.method} ${r.path}`));
    expect([...routes].filter((r) => !listed.has(r))).toEqual([]);
    expect([...listed].filter((r) => !routes.has(r))).toEqual([]);
  });
});
