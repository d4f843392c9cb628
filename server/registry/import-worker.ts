import { parentPort, workerData } from 'node:worker_threads';
import { InThreadConverter, type PieceRequest, type WorkerSetup } from './pool.ts';

/** Converts the pieces of a registry file it is sent, in the order they come, with its own area locator. */
const converter = new InThreadConverter(workerData as WorkerSetup);

parentPort!.on('message', async ({ bytes, firstLine }: PieceRequest) => {
  const piece = await converter.convert(bytes, firstLine);
  parentPort!.postMessage(piece, [piece.copy.buffer as ArrayBuffer]);
});
