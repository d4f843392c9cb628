import { parentPort, workerData } from 'node:worker_threads';
import { convertPiece } from './convert.ts';
import { AreaLocator } from './locator.ts';
import type { PieceRequest, WorkerSetup } from './pool.ts';

/** Converts the pieces of a registry file it is sent, in the order they come, with its own area locator. */
const setup = workerData as WorkerSetup;
const locator = AreaLocator.fromAreas(setup.areas);
const decoder = new TextDecoder('utf-8');

parentPort!.on('message', ({ bytes, firstLine }: PieceRequest) => {
  const piece = convertPiece(decoder.decode(bytes), firstLine, setup.positions, locator, setup.maxProblems);
  parentPort!.postMessage(piece, [piece.copy.buffer as ArrayBuffer]);
});
