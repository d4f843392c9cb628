import { Worker } from 'node:worker_threads';
import { AreaInputError } from '../../geodata/area-input.ts';
import { TriggerInputError } from '../../triggers/input-error.ts';
import { flatBuffers, type FlatPolygons } from '../../geodata/flat-polygons.ts';
import type { CellGroups, Share } from '../../geodata/spatial-engine.ts';
import { UnavailableError } from '../errors.ts';
import type { CaseloadJob, CompactCaseload } from './caseload.ts';
import type { ExposureCounts, RegistryColumns } from './registry-index.ts';

/** An area as a worker is given it: codes, and polygons flattened so they are transferred, not cloned. */
export interface WorkerArea {
  codes?: string[];
  geometry?: FlatPolygons | null;
}

/** The questions a spatial worker answers, and what each answers with. */
export type SpatialJob =
  | { kind: 'select'; area: WorkerArea; share?: Share }
  | { kind: 'exposure'; area: WorkerArea; pmtCutoff: number; within: string }
  | { kind: 'density'; bbox: [number, number, number, number]; res: number; within: string }
  | { kind: 'caseload'; caseload: CaseloadJob };
export interface SpatialAnswers {
  select: Uint32Array;
  exposure: ExposureCounts;
  density: { cell: string; households: number }[];
  caseload: CompactCaseload;
}

/**
 * How long a caseload may run in a worker. It is linear in the households of its area (a polygon's are
 * found first, within the area budget), about 10 s for 4.5 M households on a shared core, so this only
 * stops a worker that is lost, not a question that is hard.
 */
export const CASELOAD_BUDGET_MS = 10 * 60_000;

/** The buffers of an answer, moved to the receiving thread instead of copied. */
export function answerBuffers(value: unknown): ArrayBuffer[] {
  if (value instanceof Uint32Array) return [value.buffer as ArrayBuffer];
  if (value && typeof value === 'object' && 'lines' in value && 'cut' in value) {
    const c = value as CompactCaseload;
    return [c.lines, c.cut].flatMap((l) => [l.row.buffer, l.amount.buffer, l.payers.buffer, l.reasons.buffer] as ArrayBuffer[]);
  }
  return [];
}

/** The buffers of a question, moved to the worker: flat polygons, a caseload's rows. */
function jobBuffers(job: SpatialJob): ArrayBuffer[] {
  if ('area' in job && job.area.geometry) return flatBuffers(job.area.geometry);
  if (job.kind === 'caseload' && job.caseload.rows) return [job.caseload.rows.buffer as ArrayBuffer];
  return [];
}

/** What a worker starts with. */
export interface SpatialWorkerData {
  columns: RegistryColumns;
  groups?: CellGroups;
}

/** Messages from a worker: ready once its index is built (with the groups it built, to share), then answers. */
export type SpatialWorkerMessage =
  | { kind: 'ready'; groups?: CellGroups }
  | { kind: 'answer'; id: number; value: unknown }
  | { kind: 'failed'; id: number; name: string; message: string };

export interface SpatialSettings {
  /** How long one question may run in a worker before the worker is stopped and the question refused. */
  budgetMs: number;
  /** Worker threads answering at once. */
  workers: number;
  /** Questions that may wait for a worker; past that the pool answers "busy" at once. */
  maxWaiting: number;
}

interface Pending {
  id: number;
  job: SpatialJob;
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

interface Slot {
  worker: Worker;
  ready: boolean;
  job?: Pending;
  timer?: NodeJS.Timeout;
}

/** Thrown when a question ran past the budget: the worker was stopped, the area is too complex to answer. */
export class SpatialBudgetError extends UnavailableError {}

const seconds = (ms: number) => `${Math.round(ms / 100) / 10} s`;

/**
 * Worker threads that answer area questions (which households lie in a polygon, exposure, density) and
 * weigh caseloads over the registry's shared columns, so the main thread, which answers every other
 * request, never runs them. A caseload is answered as typed arrays, moved rather than copied.
 * Each question gets `budgetMs` (a caseload CASELOAD_BUDGET_MS) once a worker takes it; past that the worker is terminated (a busy
 * JavaScript thread cannot be interrupted any other way), the question fails with SpatialBudgetError and
 * a fresh worker takes its place. The first worker groups the households by cell and shares the groups,
 * so a replacement starts in milliseconds.
 */
export class SpatialPool {
  private readonly slots: Slot[] = [];
  private readonly waiting: Pending[] = [];
  private groups: CellGroups | undefined;
  private readonly groupWaiters: ((groups: CellGroups) => void)[] = [];
  private nextId = 1;
  private closed = false;

  constructor(
    private readonly columns: RegistryColumns,
    private readonly settings: SpatialSettings,
    groups?: CellGroups,
  ) {
    this.groups = groups;
  }

  /** The households' cell groups: known already (a snapshot), or built by the first worker, started for it if none runs. */
  grouped(): Promise<CellGroups> {
    if (this.groups) return Promise.resolve(this.groups);
    if (this.closed) return Promise.reject(new UnavailableError('The registry index was replaced.'));
    if (this.slots.length === 0) this.start();
    return new Promise((resolve) => this.groupWaiters.push(resolve));
  }

  run<K extends SpatialJob['kind']>(job: Extract<SpatialJob, { kind: K }>): Promise<SpatialAnswers[K]> {
    if (this.closed) return Promise.reject(new UnavailableError('The registry index was replaced while the question waited; ask again.'));
    if (this.waiting.length >= this.settings.maxWaiting) {
      return Promise.reject(new UnavailableError(`Too many area questions are waiting (${this.settings.maxWaiting}); try again shortly.`));
    }
    return new Promise<SpatialAnswers[K]>((resolve, reject) => {
      this.waiting.push({ id: this.nextId++, job, resolve: resolve as (v: unknown) => void, reject });
      this.dispatch();
    });
  }

  /** Stops the workers once their questions are answered; waiting questions are refused. */
  close(): void {
    this.closed = true;
    for (const p of this.waiting.splice(0)) p.reject(new UnavailableError('The registry index was replaced while the question waited; ask again.'));
    for (const slot of [...this.slots]) if (!slot.job) this.retire(slot);
  }

  private dispatch(): void {
    while (this.waiting.length > 0) {
      let slot = this.slots.find((s) => s.ready && !s.job);
      if (!slot) {
        // One worker at a time groups the households; more start once the groups can be shared.
        const starting = this.slots.filter((s) => !s.ready).length;
        const mayStart = this.groups ? this.waiting.length > starting : starting === 0;
        if (mayStart && this.slots.length < this.settings.workers) this.start();
        return;
      }
      const pending = this.waiting.shift()!;
      slot.job = pending;
      slot.worker.ref();
      slot.timer = setTimeout(() => this.overBudget(slot!), pending.job.kind === 'caseload' ? CASELOAD_BUDGET_MS : this.settings.budgetMs);
      slot.worker.postMessage({ id: pending.id, job: pending.job }, jobBuffers(pending.job));
    }
  }

  private start(): void {
    const data: SpatialWorkerData = { columns: this.columns, ...(this.groups ? { groups: this.groups } : {}) };
    const worker = new Worker(new URL('./spatial-worker.mjs', import.meta.url), { workerData: data });
    const slot: Slot = { worker, ready: false };
    this.slots.push(slot);
    worker.unref();
    worker.on('message', (m: SpatialWorkerMessage) => this.heard(slot, m));
    worker.on('error', (err) => this.lost(slot, err));
    worker.on('exit', (code) => {
      if (this.slots.includes(slot)) this.lost(slot, new Error(`a spatial worker stopped with exit code ${code}`));
    });
  }

  private heard(slot: Slot, m: SpatialWorkerMessage): void {
    if (m.kind === 'ready') {
      if (m.groups) this.groups ??= m.groups;
      if (this.groups) for (const resolve of this.groupWaiters.splice(0)) resolve(this.groups);
      slot.ready = true;
      this.dispatch();
      return;
    }
    const pending = slot.job;
    if (!pending || pending.id !== m.id) return;
    this.free(slot);
    if (m.kind === 'answer') pending.resolve(m.value);
    else pending.reject(m.name === 'AreaInputError' ? new AreaInputError(m.message) : m.name === 'TriggerInputError' ? new TriggerInputError(m.message) : new Error(m.message));
    if (this.closed) this.retire(slot);
    else this.dispatch();
  }

  private overBudget(slot: Slot): void {
    const pending = slot.job;
    this.retire(slot);
    pending?.reject(
      new SpatialBudgetError(
        pending?.job.kind === 'caseload'
          ? `The caseload was not computed within ${seconds(CASELOAD_BUDGET_MS)}; its worker was stopped. Ask again when the server is less busy.`
          : `The area is too complex to answer within ${seconds(this.settings.budgetMs)}; simplify it (fewer vertices) or split it, and ask again.`,
      ),
    );
    this.dispatch();
  }

  /** A worker that failed on its own (out of memory, a crash): its question fails, the others carry on. */
  private lost(slot: Slot, err: unknown): void {
    const pending = slot.job;
    this.retire(slot);
    pending?.reject(err instanceof Error ? err : new Error(String(err)));
    if (!slot.ready && this.waiting.length > 0 && this.slots.length === 0) {
      // A worker that cannot even start would fail every question the same way.
      for (const p of this.waiting.splice(0)) p.reject(err instanceof Error ? err : new Error(String(err)));
      return;
    }
    this.dispatch();
  }

  private free(slot: Slot): void {
    clearTimeout(slot.timer);
    slot.timer = undefined;
    slot.job = undefined;
    slot.worker.unref();
  }

  private retire(slot: Slot): void {
    this.free(slot);
    const at = this.slots.indexOf(slot);
    if (at >= 0) this.slots.splice(at, 1);
    void slot.worker.terminate();
  }
}
