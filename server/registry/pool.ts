import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { convertPiece, type ConvertedPiece } from './convert.ts';
import { AreaLocator, type LocatorArea } from './locator.ts';
import type { ColumnPositions } from './row.ts';

export interface WorkerSetup {
  areas: LocatorArea[];
  positions: ColumnPositions;
  maxProblems: number;
}

export interface PieceRequest {
  bytes: Uint8Array;
  firstLine: number;
}

interface Waiting {
  resolve(piece: ConvertedPiece): void;
  reject(error: unknown): void;
}

/** Converts pieces of a registry file into COPY text. */
export interface Converter {
  /** How many pieces it converts at once. */
  readonly size: number;
  convert(bytes: Uint8Array, firstLine: number): Promise<ConvertedPiece>;
  close(): Promise<void>;
}

/** Converts in the calling thread: a worker's own converter, and the import's for a file of one piece (starting workers would take longer than the work). */
export class InThreadConverter implements Converter {
  readonly size = 1;
  private readonly locator: AreaLocator;
  private readonly decoder = new TextDecoder('utf-8');

  constructor(private readonly setup: WorkerSetup) {
    this.locator = AreaLocator.fromAreas(setup.areas);
  }

  async convert(bytes: Uint8Array, firstLine: number): Promise<ConvertedPiece> {
    return convertPiece(this.decoder.decode(bytes), firstLine, this.setup.positions, this.locator, this.setup.maxProblems);
  }

  async close(): Promise<void> {}
}

/**
 * Worker threads by default: one per core (on 2 cores, PostgreSQL and the main thread share them), at most
 * eight: beyond that the one COPY connection (~130,000 rows/s measured) is what limits.
 */
export const defaultConverters = () => Math.min(8, Math.max(1, availableParallelism()));

/**
 * Worker threads that convert pieces of a registry file (checks, area codes, H3, COPY text), so the
 * import uses every core. Pieces go round the workers; each answers its own in order.
 */
export class ConverterPool implements Converter {
  private next = 0;
  private failure: unknown;
  private closing = false;
  private readonly waiting: Waiting[][];

  private constructor(private readonly workers: Worker[]) {
    this.waiting = workers.map(() => []);
    workers.forEach((worker, i) => {
      worker.on('message', (piece: ConvertedPiece) => this.waiting[i]!.shift()?.resolve(piece));
      worker.on('error', (error) => this.fail(error));
      worker.on('exit', (code) => {
        if (code !== 0 && !this.closing) this.fail(new Error(`a registry import worker stopped with exit code ${code}`));
      });
    });
  }

  get size(): number {
    return this.workers.length;
  }

  static start(size: number, setup: WorkerSetup): ConverterPool {
    const entry = new URL('./import-worker.mjs', import.meta.url);
    return new ConverterPool(Array.from({ length: size }, () => new Worker(entry, { workerData: setup })));
  }

  convert(bytes: Uint8Array, firstLine: number): Promise<ConvertedPiece> {
    if (this.failure) return Promise.reject(this.failure);
    const i = this.next++ % this.workers.length;
    // A copy of exactly the piece, handed over without a second copy.
    const own = new Uint8Array(bytes);
    return new Promise<ConvertedPiece>((resolve, reject) => {
      this.waiting[i]!.push({ resolve, reject });
      this.workers[i]!.postMessage({ bytes: own, firstLine } satisfies PieceRequest, [own.buffer]);
    });
  }

  async close(): Promise<void> {
    this.closing = true;
    await Promise.all(this.workers.map((w) => w.terminate()));
  }

  private fail(error: unknown): void {
    this.failure ??= error;
    for (const queue of this.waiting) for (const w of queue.splice(0)) w.reject(error);
  }
}
