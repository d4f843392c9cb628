import type { FeatureCollection, Geometry } from 'geojson';

/** RFC 9457 problem details, as every Madad error answers. */
export interface Problem {
  title?: string;
  status?: number;
  detail?: string;
  requestId?: string;
  errors?: { field: string; message: string }[];
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly problem: Problem,
  ) {
    super(problem.detail ?? problem.title ?? `HTTP ${status}`);
  }
}

export type Role = 'admin' | 'dma_officer' | 'program_manager' | 'finance_officer' | 'responder' | 'auditor' | 'feed';

export interface Principal {
  kind: string;
  id: string;
  name: string;
  roles: Role[];
  agency: string;
  jurisdiction: string;
}

export interface AlertInfo {
  language?: string;
  event?: string;
  headline?: string;
  description?: string;
  instruction?: string;
  senderName?: string;
}

export interface AlertVersion {
  id: string;
  identifier: string;
  sender: string;
  msgType: string;
  sent: string;
  state: string;
  stateReason: string | null;
}

export interface Alert {
  id: string;
  sender: string;
  identifier: string;
  sent: string;
  status: string;
  msgType: string;
  hazard: string;
  severity: string;
  urgency: string;
  certainty: string;
  headline: string | null;
  language: string | null;
  infos: AlertInfo[];
  onset: string | null;
  expires: string | null;
  state: string;
  stateReason: string | null;
  active: boolean;
  geometry: Geometry | null;
  areaDescriptions: string[];
  areaCodes: string[];
  version: number;
  receivedAt: string;
  chain: AlertVersion[];
}

export interface Reason {
  condition: string;
  observed: unknown;
  threshold: unknown;
  pass: boolean;
  text: string;
  depth: number;
}

export interface Activation {
  id: string;
  ruleId: string;
  stage: string;
  status: string;
  stoppedReason: string | null;
  createdAt: string;
  stoppedAt: string | null;
}

export interface Evaluation {
  id: string;
  ruleId: string;
  version: string;
  stage: string | null;
  fired: boolean;
  cause: string;
  evaluatedAt: string;
  summary: string;
  areaCodes: string[];
  reasons: Reason[];
  activations: Activation[];
}

export interface AreaCount {
  code: string;
  households: number;
}

export interface Exposure {
  households: number;
  members: number;
  pmtCutoff: number;
  atOrUnderCutoff: number;
  byProvince: AreaCount[];
  byDistrict: AreaCount[];
  byTehsil: AreaCount[];
  registrySize: number;
}

export interface Rule {
  id: string;
  title: string;
  version: string;
  status: string;
  programme: string;
  purpose: string;
  hazards: string[];
  subject: string;
  requiresDeclaration: boolean;
  scope: 'anywhere' | string[];
  agreedBy: string[];
  agreedOn: string;
  validFrom: string;
  validTo: string | null;
  stages: { stage: string; note: string | null }[];
  money: { benefit: Record<string, unknown>; ceilingPkr: number; payers: { agency: string; jurisdiction: string; share_bp: number }[] };
}

export interface DryRun {
  decision: { stage: string | null; fired: boolean; summary: string; reasons: Reason[]; areaCodes: string[] };
  caseload: {
    stage: string;
    whatIf: boolean;
    householdsInArea: number;
    eligible: number;
    note: string;
    requestedPkr: number;
    totalPkr: number;
    households: number;
    ceiling: { text: string };
    byPayer: { agency: string; jurisdiction: string; households: number; amountPkr: number }[];
    byArea: { district: string; households: number; amountPkr: number }[];
  };
}

export interface IngestReport {
  format: string;
  items: { result: string; identifier?: string; id?: string; state?: string; reason?: string; warnings: string[] }[];
}

export interface Household {
  id: string;
  lat: number;
  lon: number;
  size: number;
  district: string | null;
  tehsil: string | null;
  flags: Record<string, boolean>;
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

// Shapes the app relies on are normalised here, so a field the server renames or leaves out degrades
// to an empty value instead of breaking a view.
const arr = <T>(v: unknown): T[] => (Array.isArray(v) ? (v as T[]) : []);
const str = (v: unknown): string => (typeof v === 'string' ? v : v === null || v === undefined ? '' : String(v));

function parseGeometry(v: unknown): Geometry | null {
  if (typeof v === 'string') {
    try {
      return JSON.parse(v) as Geometry;
    } catch {
      return null;
    }
  }
  return v && typeof v === 'object' && 'type' in v ? (v as Geometry) : null;
}

export function normaliseAlert(raw: Record<string, unknown>): Alert {
  return {
    id: str(raw.id),
    sender: str(raw.sender),
    identifier: str(raw.identifier),
    sent: str(raw.sent),
    status: str(raw.status),
    msgType: str(raw.msgType),
    hazard: str(raw.hazard),
    severity: str(raw.severity) || 'Unknown',
    urgency: str(raw.urgency),
    certainty: str(raw.certainty),
    headline: typeof raw.headline === 'string' ? raw.headline : null,
    language: typeof raw.language === 'string' ? raw.language : null,
    infos: arr<AlertInfo>(raw.infos),
    onset: typeof raw.onset === 'string' ? raw.onset : null,
    expires: typeof raw.expires === 'string' ? raw.expires : null,
    state: str(raw.state),
    stateReason: typeof raw.stateReason === 'string' ? raw.stateReason : null,
    active: raw.active === true,
    geometry: parseGeometry(raw.geometry),
    areaDescriptions: arr<string>(raw.areaDescriptions),
    areaCodes: arr<string>(raw.areaCodes),
    version: Number(raw.version ?? 1),
    receivedAt: str(raw.receivedAt),
    chain: arr<AlertVersion>(raw.chain),
  };
}

export const getMe = () => api<Principal>('/api/auth/me');
export const login = (username: string, password: string) =>
  api<{ principal: Principal; csrfToken: string }>('/api/auth/login', { json: { username, password } });
export const logout = () => api<void>('/api/auth/logout', { method: 'POST' });

export async function listAlerts(query: { active?: boolean } = {}): Promise<{ total: number; items: Alert[] }> {
  const q = new URLSearchParams({ pageSize: '200' });
  if (query.active !== undefined) q.set('active', String(query.active));
  const res = await api<{ total?: number; items?: Record<string, unknown>[] }>(`/api/alerts?${q}`);
  const items = arr<Record<string, unknown>>(res.items).map(normaliseAlert);
  return { total: res.total ?? items.length, items };
}

export const getAlert = async (id: string) => normaliseAlert(await api<Record<string, unknown>>(`/api/alerts/${encodeURIComponent(id)}`));

/** Evaluations of the rules against an alert; `undefined` when the server has no such endpoint (404). */
export async function alertEvaluations(id: string): Promise<Evaluation[] | undefined> {
  try {
    const res = await api<{ items?: Evaluation[] }>(`/api/alerts/${encodeURIComponent(id)}/evaluations`);
    return arr<Evaluation>(res.items).map((e) => ({ ...e, reasons: arr<Reason>(e.reasons), activations: arr<Activation>(e.activations), areaCodes: arr<string>(e.areaCodes) }));
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) return undefined;
    throw err;
  }
}

export const postAlert = (text: string) => {
  const trimmed = text.trimStart();
  const contentType = trimmed.startsWith('{') || trimmed.startsWith('[') ? 'application/json' : 'application/cap+xml';
  return api<IngestReport>('/api/alerts', { body: text, contentType });
};

/** Households inside an alert: its geometry when it has one (the codes would count whole provinces), else its codes. */
export async function exposureOf(alert: Pick<Alert, 'geometry' | 'areaCodes'>, pmtCutoff?: number): Promise<Exposure | undefined> {
  const area = alert.geometry ? { geometry: alert.geometry } : alert.areaCodes.length > 0 ? { codes: alert.areaCodes } : undefined;
  if (!area) return undefined;
  const res = await api<Partial<Exposure>>('/api/exposure', { json: { area, ...(pmtCutoff === undefined ? {} : { pmtCutoff }) } });
  return {
    households: res.households ?? 0,
    members: res.members ?? 0,
    pmtCutoff: res.pmtCutoff ?? pmtCutoff ?? 0,
    atOrUnderCutoff: res.atOrUnderCutoff ?? 0,
    byProvince: arr<AreaCount>(res.byProvince),
    byDistrict: arr<AreaCount>(res.byDistrict),
    byTehsil: arr<AreaCount>(res.byTehsil),
    registrySize: res.registrySize ?? 0,
  };
}

export const listAreas = (level: number, tolerance: number) => api<FeatureCollection>(`/api/areas?level=${level}&tolerance=${tolerance}`);

export const density = (bbox: number[], res: number) =>
  api<{ res: number; cells: { cell: string; households: number }[] }>(`/api/households/density?bbox=${bbox.map((n) => n.toFixed(4)).join(',')}&res=${res}`);

/** Households in a box, reduced on arrival to the pseudonymous fields the map shows. */
export async function householdsIn(bbox: number[]): Promise<{ total: number; items: Household[] }> {
  const res = await api<{ total?: number; items?: Record<string, unknown>[] }>(`/api/households?bbox=${bbox.map((n) => n.toFixed(5)).join(',')}&pageSize=2000`);
  const items = arr<Record<string, unknown>>(res.items).map((r) => ({
    id: str(r.id),
    lat: Number(r.lat),
    lon: Number(r.lon),
    size: Number(r.size),
    district: typeof r.district === 'string' ? r.district : null,
    tehsil: typeof r.tehsil === 'string' ? r.tehsil : null,
    flags: (r.flags && typeof r.flags === 'object' ? r.flags : {}) as Record<string, boolean>,
  }));
  return { total: res.total ?? items.length, items };
}

export async function listRules(): Promise<Rule[] | undefined> {
  try {
    const res = await api<{ items?: Rule[] }>('/api/rules');
    return arr<Rule>(res.items).map((r) => ({
      ...r,
      hazards: arr<string>(r.hazards),
      agreedBy: arr<string>(r.agreedBy),
      stages: arr<{ stage: string; note: string | null }>(r.stages),
      money: { benefit: r.money?.benefit ?? {}, ceilingPkr: r.money?.ceilingPkr ?? 0, payers: arr(r.money?.payers) },
    }));
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) return undefined;
    throw err;
  }
}

export const dryRun = (ruleId: string, alertId: string) => api<DryRun>(`/api/rules/${encodeURIComponent(ruleId)}/dry-run`, { json: { alertId } });
