import { Worker } from 'node:worker_threads';

/**
 * How long a shutdown may take before the process is ended anyway: MADAD_SHUTDOWN_TIMEOUT_MS for in-flight
 * requests (server/serve.ts then closes their connections), as long again for jobs, the outbox drainer and
 * the database (postgres.js gives its queries 5 s to end), and a second more. What is cut off is safe to
 * cut: every change commits with its audit entry and outbox row or not at all.
 */
export function shutdownDeadlineMs(requestTimeoutMs: number): number {
  return 2 * requestTimeoutMs + 1000;
}

/**
 * Runs in its own thread, so its timer fires even while the main thread is blocked (a request computing on
 * the event loop holds every timer and signal handler of the main thread, the hard exit among them).
 * CommonJS, evaluated as given: no loader is needed in the worker.
 */
const WATCHDOG_SOURCE = `
const { workerData } = require('node:worker_threads');
const { writeSync } = require('node:fs');
setTimeout(() => {
  const line = JSON.stringify({ level: 60, time: new Date().toISOString(), service: 'madad', msg: workerData.message });
  try { writeSync(1, line + '\\n'); } catch {}
  process.kill(workerData.pid, 'SIGKILL');
}, workerData.ms);
`;

/**
 * Kills this process with SIGKILL after `ms`, writing `message` as a log line first, unless the process has
 * exited by then. It does not keep the process alive.
 */
export function startWatchdog(ms: number, message: string): void {
  const worker = new Worker(WATCHDOG_SOURCE, { eval: true, workerData: { ms, message, pid: process.pid } });
  worker.unref();
}
