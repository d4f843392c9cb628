import { readFileSync } from 'node:fs';
import { eq } from 'drizzle-orm';
import type { Logger } from 'pino';
import type { Role } from '../access/roles.ts';
import { ingestBody } from '../alerts/store.ts';
import { systemCtx } from '../context.ts';
import { synthAreas, synthCsv } from '../registry/synth.ts';
import type { Database } from '../db/client.ts';
import { settings } from '../db/schema/index.ts';
import { importHouseholds } from '../households/import.ts';
import { createUser } from '../users/service.ts';
import { createEvent } from '../events/service.ts';

/** The sender of the demo's CAP file (lower-sindh-flood.xml), PMD's Flood Forecasting Division. */
const DEMO_SENDER = 'ffd.pmd.gov.pk';

/**
 * Demo accounts, one per role. DEMO ONLY: these passwords are public (printed at first start and written
 * in the README); never start a real deployment with MADAD_DEMO=1. The PDMA Sindh officer may publish as the
 * demo warning's sender, so the demo can show an officer pushing its update; the other accounts publish none.
 */
export const DEMO_USERS: { username: string; displayName: string; roles: Role[]; agency: string; jurisdiction: string; senders?: string[] }[] = [
  { username: 'admin', displayName: 'Demo administrator', roles: ['admin'], agency: 'NDMA', jurisdiction: 'PK' },
  { username: 'pdma.sindh', displayName: 'Demo PDMA Sindh officer', roles: ['dma_officer'], agency: 'PDMA Sindh', jurisdiction: 'PK7', senders: [DEMO_SENDER] },
  { username: 'bisp.manager', displayName: 'Demo BISP programme manager', roles: ['program_manager'], agency: 'BISP', jurisdiction: 'PK' },
  { username: 'finance', displayName: 'Demo finance officer', roles: ['finance_officer'], agency: 'Finance Division', jurisdiction: 'PK' },
  { username: 'responder', displayName: 'Demo district responder', roles: ['responder'], agency: 'District Thatta', jurisdiction: 'PK7' },
  { username: 'auditor', displayName: 'Demo auditor', roles: ['auditor'], agency: 'Auditor General', jurisdiction: 'PK' },
];
export const demoPassword = (username: string) => `demo-${username}-2026`;

export const DEMO_HOUSEHOLDS = 200_000;
const DEMO_SEED = 2022;

/**
 * The first five minutes of a new user: on an empty data folder, a synthetic registry shaped like
 * Pakistan, one user per role, a CAP flood warning over lower Sindh that the shipped rules evaluate, and
 * PDMA Sindh's declaration of the warned area, which activates the Sindh flood top-up.
 * Runs once per database (a setting records it). Trigger evaluation follows through the outbox.
 */
export async function prepareDemo(database: Database, log: Logger, now: Date): Promise<boolean> {
  const [done] = await database.db.select().from(settings).where(eq(settings.key, 'demo_prepared'));
  if (done) return false;
  const started = performance.now();
  const areas = await synthAreas(database.db);
  const ctx = systemCtx(database.db, 'demo', now, 'demo');
  const source = synthCsv({ households: DEMO_HOUSEHOLDS, seed: DEMO_SEED, areas });
  const report = await importHouseholds(ctx, { database, source, name: `synthetic demo registry, seed ${DEMO_SEED}` });
  for (const u of DEMO_USERS) await createUser(ctx, { ...u, password: demoPassword(u.username) });
  const cap = readFileSync(new URL('./lower-sindh-flood.xml', import.meta.url));
  // As the system, with no publisher: the demo is the operator's own setup, trusted to publish as any sender.
  const ingest = await ingestBody(ctx, { body: new Uint8Array(cap), contentType: 'application/cap+xml' });
  // PDMA Sindh notifies the warned area as calamity-hit, which is what declaration-driven rules wait for.
  const alertId = ingest.items[0]?.id;
  const pdma = DEMO_USERS.find((u) => u.roles.includes('dma_officer'))!;
  const event = alertId
    ? await createEvent(
        { ...ctx, actor: { kind: 'user', id: 'demo', name: pdma.username, roles: pdma.roles, agency: pdma.agency, jurisdiction: pdma.jurisdiction } },
        { name: 'Indus floods, lower Sindh (demo)', hazard: 'riverine_flood', status: 'declared', areas: [], alertIds: [alertId] },
      )
    : undefined;
  await database.db.insert(settings).values({ key: 'demo_prepared', value: now.toISOString() });
  log.info({ households: report.imported, alert: alertId, event: event?.id, seconds: Math.round((performance.now() - started) / 100) / 10 }, 'demo prepared');
  return true;
}

/** The console lines a new user reads: where to go and how to sign in. */
export function demoBanner(url: string): string {
  const rows = DEMO_USERS.map((u) => `  ${u.roles[0]!.padEnd(16)} ${u.username.padEnd(14)} ${demoPassword(u.username)}`);
  return [`Demo accounts (DEMO ONLY, public passwords):`, `  role             username       password`, ...rows, `Open ${url} and sign in.`, ''].join('\n');
}
