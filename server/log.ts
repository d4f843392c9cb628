import pino, { type Logger } from 'pino';
import type { Env } from './env.ts';

/** JSON lines on stdout; every request's lines carry its `reqId`. */
export function createLogger(level: Env['LOG_LEVEL']): Logger {
  return pino({ level, base: { service: 'madad' }, timestamp: pino.stdTimeFunctions.isoTime });
}
