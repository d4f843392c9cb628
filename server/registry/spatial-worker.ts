import { parentPort, workerData } from 'node:worker_threads';
import type { CellGroups } from '../../geodata/spatial-engine.ts';
import { compactCaseload } from './caseload.ts';
import { RegistryIndex, sharedCopy } from './registry-index.ts';
import { answerBuffers, type SpatialJob, type SpatialWorkerData, type SpatialWorkerMessage } from './spatial-pool.ts';

/**
 * Answers area questions and weighs caseloads over the registry's shared columns (see spatial-pool.ts). The households are
 * grouped by cell before the worker says it is ready, so that work never counts against a question's
 * budget; groups it built are sent back on shared memory for the workers that come after it.
 */
const data = workerData as SpatialWorkerData;
const index = RegistryIndex.fromColumns(data.columns, data.groups);
const post = (m: SpatialWorkerMessage, transfer: ArrayBuffer[] = []) => parentPort!.postMessage(m, transfer);

function shareGroups(g: CellGroups): CellGroups {
  return {
    cells: sharedCopy(g.cells),
    start: sharedCopy(g.start),
    order: sharedCopy(g.order),
    centreLon: sharedCopy(g.centreLon),
    centreLat: sharedCopy(g.centreLat),
    radius: sharedCopy(g.radius),
    offsetLon: sharedCopy(g.offsetLon),
    offsetLat: sharedCopy(g.offsetLat),
  };
}

const groups = index.cellGroups();
post({ kind: 'ready', ...(data.groups ? {} : { groups: shareGroups(groups) }) });

function answer(job: SpatialJob): unknown {
  switch (job.kind) {
    case 'select':
      return index.select(job.area, job.share);
    case 'exposure':
      return index.exposure(index.within(index.select(job.area), job.within), job.pmtCutoff);
    case 'density':
      return index.density(job.bbox, job.res, job.within);
    case 'caseload':
      return compactCaseload(index, job.caseload);
  }
}

parentPort!.on('message', ({ id, job }: { id: number; job: SpatialJob }) => {
  try {
    const value = answer(job);
    post({ kind: 'answer', id, value }, answerBuffers(value));
  } catch (err) {
    const e = err instanceof Error ? err : new Error(String(err));
    post({ kind: 'failed', id, name: e.name, message: e.message });
  }
});
