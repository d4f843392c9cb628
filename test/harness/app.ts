import pino from 'pino';
import { createApp } from '../../server/app.ts';
import type { Database } from '../../server/db/client.ts';
import type { Bus } from '../../server/bus.ts';

export const silentLog = pino({ level: 'silent' });

/** The real app over a real database, as the server builds it. */
export function testApp(database: Database, options: { bodyLimit?: number; clock?: () => Date; bus?: Bus } = {}) {
  return createApp({ database, env: { MADAD_BODY_LIMIT: options.bodyLimit ?? 1024 * 1024 }, log: silentLog, clock: options.clock, bus: options.bus });
}
