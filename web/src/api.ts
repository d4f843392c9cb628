import type { Geometry, MultiPolygon, Polygon } from 'geojson';
// The API's own types, inferred from the zod schemas that also check each response on its way out and
// write the OpenAPI document, so the client and the server cannot drift apart (erased at build time).
import type { Principal } from '../../server/access/principal.ts';
import type { Role } from '../../server/access/roles.ts';
import type { Alert, AlertDetail, AlertInfo, AlertList, AlertVersion, IngestReport } from '../../server/alerts/schema.ts';
import type { AreaCollection } from '../../server/areas/schema.ts';
import type { AreaCount, Exposure, ExposureRequest } from '../../server/exposure/routes.ts';
import type { Density, Household, HouseholdList } from '../../server/households/schema.ts';
import type { Problem } from '../../server/http/openapi.ts';
import type { Activation, DryRun, DryRunBody, Evaluation, EvaluationHistory, Reason, RuleSummary } from '../../server/rules/routes.ts';
import type { EventView, NewEventBody, NotificationPreview } from '../../server/events/schema.ts';
import type { Activation as BatchActivation, Batch, BatchLine, BatchSummary, BudgetLine } from '../../server/batches/schema.ts';
import type { EventPayments, PaymentFile, ReconciliationReport } from '../../server/payments/schema.ts';
import type { Inbox, InboxItem } from '../../server/payments/inbox.ts';
import type { CreateActionInput, Plan, PlanAction, PlanProgress, PlanStatus, PlanSummary, UpdateActionInput } from '../../server/plan/schema.ts';

export type { AreaCollection, Batch, BatchActivation, BatchLine, BatchSummary, BudgetLine, EventPayments, EventView, Inbox, InboxItem, NewEventBody, NotificationPreview, PaymentFile, ReconciliationReport };
export type { CreateActionInput, Plan, PlanAction, PlanProgress, PlanStatus, PlanSummary, UpdateActionInput };
export type { Activation, Alert, AlertDetail, AlertInfo, AlertVersion, AreaCount, DryRun, Evaluation, Exposure, Household, IngestReport, Principal, Problem, Reason, Role };
/** A rule in force as the rules page lists it. */
export type Rule = RuleSummary;

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly problem: Problem,
  ) {
    super(problem.detail ?? problem.title ?? `HTTP ${status}`);
  }
}

const CSRF_KEY = 'madad.csrf';
let csrfToken = sessionStorage.getItem(CSRF_KEY) ?? '';

/** Kept for the tab's life: the session cookie is HttpOnly, and writes must echo this token. */
export function setCsrfToken(token: string): void {
  csrfToken = token;
  if (token) sessionStorage.setItem(CSRF_KEY, token);
  else sessionStorage.removeItem(CSRF_KEY);
}

/** Called when the server says the session is gone, so the app can show the sign-in page. */
let onUnauthorized: () => void = () => {};
export function whenUnauthorized(handler: () => void): void {
  onUnauthorized = handler;
}

export async function api<T>(path: string, init: { method?: string; json?: unknown; body?: string; contentType?: string } = {}): Promise<T> {
  const method = init.method ?? (init.json !== undefined || init.body !== undefined ? 'POST' : 'GET');
  const headers: Record<string, string> = { accept: 'application/json, application/geo+json, application/problem+json' };
  let body: string | undefined;
  if (init.json !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(init.json);
  } else if (init.body !== undefined) {
    headers['content-type'] = init.contentType ?? 'text/plain';
    body = init.body;
  }
  if (method !== 'GET' && csrfToken) headers['x-csrf-token'] = csrfToken;
  const res = await fetch(path, { method, headers, body, credentials: 'same-origin' });
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  let data: unknown;
  try {
    data = text ? JSON.parse(text) : undefined;
  } catch {
    data = { detail: text.slice(0, 200) };
  }
  if (!res.ok) {
    if (res.status === 401 && !path.startsWith('/api/auth/')) onUnauthorized();
    throw new ApiError(res.status, (data ?? {}) as Problem);
  }
  return data as T;
}

export const getMe = () => api<Principal>('/api/auth/me');
export const login = (username: string, password: string) =>
  api<{ principal: Principal; csrfToken: string }>('/api/auth/login', { json: { username, password } });
export const logout = () => api<void>('/api/auth/logout', { method: 'POST' });

/** Alerts per request: each carries its area, so a page is kept to a size a map draws at once. */
export const ALERT_PAGE_SIZE = 200;
/** Active alerts read for the map at most; past this the list says how many there are in all (`total`). */
export const MAX_ACTIVE_ALERTS = 2_000;

/**
 * One page of alerts, newest first; `{ active: true }` without a page reads page after page until every
 * active alert is in (at most MAX_ACTIVE_ALERTS), since the map and the overview must show them all.
 */
export async function listAlerts(query: { active?: boolean; page?: number } = {}): Promise<AlertList> {
  const page = (n: number) => {
    const q = new URLSearchParams({ pageSize: String(ALERT_PAGE_SIZE), page: String(n) });
    if (query.active !== undefined) q.set('active', String(query.active));
    return api<AlertList>(`/api/alerts?${q}`);
  };
  if (query.page !== undefined || query.active !== true) return page(query.page ?? 1);
  const first = await page(1);
  const items = [...first.items];
  // A page that comes back short means the list shrank while being read: what was read is all there is.
  for (let n = 2; items.length < Math.min(first.total, MAX_ACTIVE_ALERTS); n++) {
    const next = await page(n);
    items.push(...next.items);
    if (next.items.length < ALERT_PAGE_SIZE) break;
  }
  return { total: first.total, items: items.slice(0, MAX_ACTIVE_ALERTS) };
}

export const getAlert = (id: string) => api<AlertDetail>(`/api/alerts/${encodeURIComponent(id)}`);

/** Evaluations of the rules against an alert, newest first, with their reasons and activations. */
export const alertEvaluations = async (id: string) => (await api<EvaluationHistory>(`/api/alerts/${encodeURIComponent(id)}/evaluations`)).items;

export const postAlert = (text: string) => {
  const trimmed = text.trimStart();
  const contentType = trimmed.startsWith('{') || trimmed.startsWith('[') ? 'application/json' : 'application/cap+xml';
  return api<IngestReport>('/api/alerts', { body: text, contentType });
};

const isPolygonal = (g: Geometry): g is Polygon | MultiPolygon => g.type === 'Polygon' || g.type === 'MultiPolygon';

/**
 * The polygons of an alert's footprint. A point (a USGS epicentre) is no area, and /api/exposure refuses
 * one, so an alert with no polygon is counted by its codes instead.
 */
function polygonsOf(g: Geometry | null): (Polygon | MultiPolygon)[] {
  if (!g) return [];
  if (isPolygonal(g)) return [g];
  return g.type === 'GeometryCollection' ? g.geometries.filter(isPolygonal) : [];
}

/**
 * Households inside alerts: their polygons where they have some (the codes would count whole provinces),
 * the codes of the others. The API reads a FeatureCollection as one area: inside any of its polygons.
 */
export async function exposureOf(alerts: readonly Pick<Alert, 'geometry' | 'areaCodes'>[], pmtCutoff?: number): Promise<Exposure | undefined> {
  const polygons = alerts.map((a) => polygonsOf(a.geometry));
  const geometries = polygons.flat();
  const codes = alerts.filter((_, i) => polygons[i]!.length === 0).flatMap((a) => a.areaCodes);
  if (geometries.length === 0 && codes.length === 0) return undefined;
  const area: ExposureRequest['area'] = {
    ...(geometries.length > 0 ? { geometry: { type: 'FeatureCollection', features: geometries.map((geometry) => ({ type: 'Feature', geometry, properties: {} })) } } : {}),
    ...(codes.length > 0 ? { codes } : {}),
  };
  const request: ExposureRequest = { area, ...(pmtCutoff === undefined ? {} : { pmtCutoff }) };
  return api<Exposure>('/api/exposure', { json: request });
}

export const listAreas = (level: number, tolerance: number) => api<AreaCollection>(`/api/areas?level=${level}&tolerance=${tolerance}`);

export const density = (bbox: number[], res: number) => api<Density>(`/api/households/density?bbox=${bbox.map((n) => n.toFixed(4)).join(',')}&res=${res}`);

/** Households in a box: the server sends each role only what it may see (pseudonymous for most). */
export const householdsIn = (bbox: number[]) =>
  api<HouseholdList>(`/api/households?bbox=${bbox.map((n) => n.toFixed(5)).join(',')}&pageSize=2000`);

export const listRules = async () => (await api<{ items: Rule[] }>('/api/rules')).items;

export const dryRun = (ruleId: string, alertId: string) => {
  const body: DryRunBody = { alertId };
  return api<DryRun>(`/api/rules/${encodeURIComponent(ruleId)}/dry-run`, { json: body });
};

// Events: the notification list resolved before anything is stored, then drafted or declared.
const enc = encodeURIComponent;
export const listEvents = (page = 1) => api<{ total: number; items: EventView[] }>(`/api/events?pageSize=100&page=${page}`);
export const getEvent = (id: string) => api<EventView>(`/api/events/${enc(id)}`);
export const resolveNotification = (text: string, fileName?: string) =>
  api<NotificationPreview>('/api/events/resolve', { json: fileName ? { text, fileName } : { text } });
export const createEvent = (body: NewEventBody) => api<EventView>('/api/events', { json: body });
export const declareEvent = (id: string) => api<EventView>(`/api/events/${enc(id)}/declare`, { method: 'POST' });
export const closeEvent = (id: string) => api<EventView>(`/api/events/${enc(id)}/close`, { method: 'POST' });
export const eventEvaluations = async (id: string) => (await api<EvaluationHistory>(`/api/events/${enc(id)}/evaluations`)).items;
export const eventPayments = (id: string) => api<EventPayments>(`/api/events/${enc(id)}/payments`);

// Activations, batches, budget lines.
export const getActivation = (id: string) => api<BatchActivation>(`/api/activations/${enc(id)}`);
export const listBatches = (query: { status?: string; page?: number } = {}) => {
  const q = new URLSearchParams({ pageSize: '100', page: String(query.page ?? 1) });
  if (query.status) q.set('status', query.status);
  return api<{ total: number; items: BatchSummary[] }>(`/api/batches?${q}`);
};
export const getBatch = (id: string) => api<Batch>(`/api/batches/${enc(id)}`);
export const batchLines = (id: string, query: { q?: string; state?: string; page: number; pageSize: number }) => {
  const q = new URLSearchParams({ page: String(query.page), pageSize: String(query.pageSize) });
  if (query.q) q.set('q', query.q);
  if (query.state) q.set('state', query.state);
  return api<{ total: number; page: number; items: BatchLine[] }>(`/api/batches/${enc(id)}/lines?${q}`);
};
export const submitBatch = (id: string) => api<Batch>(`/api/batches/${enc(id)}/submit`, { method: 'POST' });
export const approveBatch = (id: string, comment: string, linesSha256: string) => api<Batch>(`/api/batches/${enc(id)}/approve`, { json: { comment, linesSha256 } });
export const rejectBatch = (id: string, reason: string) => api<Batch>(`/api/batches/${enc(id)}/reject`, { json: { reason } });
export const releaseBatch = (id: string) => api<Batch>(`/api/batches/${enc(id)}/release`, { method: 'POST' });
export const listBudgets = async () => (await api<{ items: BudgetLine[] }>('/api/budgets')).items;
export const amendBudget = (id: string, body: { ceilingPkr: number; reason: string; reference: string }) => api<BudgetLine>(`/api/budgets/${enc(id)}/amend`, { json: body });

// Payment files and the bank's answer.
export const exportPaymentFiles = (batchId: string) => api<{ made: PaymentFile[]; files: PaymentFile[] }>(`/api/batches/${enc(batchId)}/payment-files`, { method: 'POST' });
export const reconcileFile = (fileId: string, csv: string) => api<ReconciliationReport>(`/api/payment-files/${enc(fileId)}/reconciliation`, { body: csv, contentType: 'text/csv' });

export const getInbox = () => api<Inbox>('/api/inbox');
export const listPaymentFiles = async (batchId: string) => (await api<{ files: PaymentFile[] }>(`/api/batches/${enc(batchId)}/payment-files`)).files;

// The joint response plan of an incident, its progress by area, and the coordination summary.
export const eventPlan = (eventId: string) => api<Plan>(`/api/events/${enc(eventId)}/plan`);
export const planProgress = (incident: string, level?: 1 | 2 | 3) => api<PlanProgress>(`/api/incidents/${enc(incident)}/plan/progress${level ? `?level=${level}` : ''}`);
export const addPlanAction = (incident: string, body: CreateActionInput) => api<PlanAction>(`/api/incidents/${enc(incident)}/plan/actions`, { json: body });
export const updatePlanAction = (id: string, body: UpdateActionInput) => api<PlanAction>(`/api/plan-actions/${enc(id)}/updates`, { json: body });
export const acceptPlanAction = (id: string, note?: string) => api<PlanAction>(`/api/plan-actions/${enc(id)}/accept`, { json: note ? { note } : {} });
export const planSummary = (level: 1 | 2 | 3 = 2) => api<PlanSummary>(`/api/plans/summary?level=${level}`);
export const planExportUrl = (incident: string, format: 'csv' | 'geojson') => `/api/incidents/${enc(incident)}/plan/export?format=${format}`;
