import type { FeatureCollection, Geometry } from 'geojson';
// The API's own types, so the client and the server cannot drift apart (erased at build time).
import type { Principal } from '../../server/access/principal.ts';
import type { Role } from '../../server/access/roles.ts';
import type { AlertInfo } from '../../server/alerts/parse/types.ts';
import type { AlertView, getAlert as alertWithChain } from '../../server/alerts/service.ts';
import type { listHouseholds } from '../../server/households/service.ts';
import type { IngestReport } from '../../server/alerts/store.ts';
import type { Problem } from '../../server/http/problem.ts';
import type { RegistryIndex } from '../../server/registry/registry-index.ts';
import type { Caseload } from '../../server/rules/caseload.ts';
import type { evaluationHistory, ruleSummary } from '../../server/rules/service.ts';
import type { Decision, Reason } from '../../triggers/evaluate.ts';

export type { AlertInfo, IngestReport, Principal, Problem, Reason, Role };
/** An alert as lists show it. */
export type Alert = AlertView;
/** One alert with its chain of versions. */
export type AlertDetail = Awaited<ReturnType<typeof alertWithChain>>;
export type AlertVersion = AlertDetail['chain'][number];
export type Exposure = ReturnType<RegistryIndex['exposure']> & { registrySize: number; milliseconds: number };
export type AreaCount = Exposure['byDistrict'][number];
export interface DryRun {
  decision: Decision;
  caseload: Caseload;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly problem: Problem,
  ) {
    super(problem.detail ?? problem.title ?? `HTTP ${status}`);
  }
}

export type Evaluation = Awaited<ReturnType<typeof evaluationHistory>>['items'][number];
export type Activation = Evaluation['activations'][number];
export type Rule = ReturnType<typeof ruleSummary>;
/** A household as every role may see it: pseudonymous, no identity. */
export type Household = Awaited<ReturnType<typeof listHouseholds>>['items'][number];

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

export function listAlerts(query: { active?: boolean } = {}): Promise<{ total: number; items: Alert[] }> {
  const q = new URLSearchParams({ pageSize: '200' });
  if (query.active !== undefined) q.set('active', String(query.active));
  return api(`/api/alerts?${q}`);
}

export const getAlert = (id: string) => api<AlertDetail>(`/api/alerts/${encodeURIComponent(id)}`);

/** Evaluations of the rules against an alert, newest first, with their reasons and activations. */
export const alertEvaluations = async (id: string) => (await api<{ items: Evaluation[] }>(`/api/alerts/${encodeURIComponent(id)}/evaluations`)).items;

export const postAlert = (text: string) => {
  const trimmed = text.trimStart();
  const contentType = trimmed.startsWith('{') || trimmed.startsWith('[') ? 'application/json' : 'application/cap+xml';
  return api<IngestReport>('/api/alerts', { body: text, contentType });
};

/** Households inside an alert: its geometry when it has one (the codes would count whole provinces), else its codes. */
export async function exposureOf(alert: Pick<Alert, 'geometry' | 'areaCodes'>, pmtCutoff?: number): Promise<Exposure | undefined> {
  const area = alert.geometry ? { geometry: alert.geometry } : alert.areaCodes.length > 0 ? { codes: alert.areaCodes } : undefined;
  if (!area) return undefined;
  return api<Exposure>('/api/exposure', { json: { area, ...(pmtCutoff === undefined ? {} : { pmtCutoff }) } });
}

export const listAreas = (level: number, tolerance: number) => api<FeatureCollection>(`/api/areas?level=${level}&tolerance=${tolerance}`);

export const density = (bbox: number[], res: number) =>
  api<{ res: number; cells: { cell: string; households: number }[] }>(`/api/households/density?bbox=${bbox.map((n) => n.toFixed(4)).join(',')}&res=${res}`);

/** Households in a box: the server sends each role only what it may see (pseudonymous for most). */
export const householdsIn = (bbox: number[]) =>
  api<{ total: number; items: Household[] }>(`/api/households?bbox=${bbox.map((n) => n.toFixed(5)).join(',')}&pageSize=2000`);

export const listRules = async () => (await api<{ items: Rule[] }>('/api/rules')).items;

export const dryRun = (ruleId: string, alertId: string) => api<DryRun>(`/api/rules/${encodeURIComponent(ruleId)}/dry-run`, { json: { alertId } });
