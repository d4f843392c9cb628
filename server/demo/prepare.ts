import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { eq } from 'drizzle-orm';
import type { Logger } from 'pino';
import type { Actor } from '../access/principal.ts';
import type { Role } from '../access/roles.ts';
import { ingestBody } from '../alerts/store.ts';
import { systemCtx } from '../context.ts';
import { synthAreas, synthCsv } from '../registry/synth.ts';
import type { Database } from '../db/client.ts';
import { settings } from '../db/schema/index.ts';
import { importHouseholds } from '../households/import.ts';
import { loadRules } from '../rules/loader.ts';
import { createUser } from '../users/service.ts';
import { loadDemoBoundaries } from './boundaries.ts';
import { walkDemo, type Deliver, type DemoPeople } from './walk.ts';

/** The sender of the demo's CAP file (lower-sindh-flood.xml), PMD's Flood Forecasting Division. */
const DEMO_SENDER = 'ffd.pmd.gov.pk';

/**
 * Demo accounts, one per role. DEMO ONLY: these passwords are public (printed at first start and written
 * in the README); never start a real deployment with MADAD_DEMO=1. The PDMA Sindh officer may publish as the
 * demo warning's sender, so the demo can show an officer pushing its update; the other accounts publish none.
 */
export interface DemoUser {
  username: string;
  displayName: string;
  roles: Role[];
  agency: string;
  jurisdiction: string;
  senders?: string[];
  /** What this account does in the demo, for the console and the README. */
  does: string;
}

export const DEMO_USERS: DemoUser[] = [
  { username: 'admin', displayName: 'Demo administrator', roles: ['admin'], agency: 'NDMA', jurisdiction: 'PK', does: 'users, tokens, feeds, the outbox' },
  {
    username: 'pdma.sindh',
    displayName: 'Demo PDMA Sindh officer',
    roles: ['dma_officer'],
    agency: 'PDMA Sindh',
    jurisdiction: 'PK7',
    senders: [DEMO_SENDER],
    does: 'declared the flood from its notification; the plan: add actions, update their status',
  },
  { username: 'bisp.manager', displayName: 'Demo BISP programme manager', roles: ['program_manager'], agency: 'BISP', jurisdiction: 'PK', does: 'submitted the federal BISP batch' },
  { username: 'bisp.manager2', displayName: 'Demo second BISP programme manager', roles: ['program_manager'], agency: 'BISP', jurisdiction: 'PK', does: 'approve the federal BISP batch (it waits for you)' },
  { username: 'finance', displayName: 'Demo federal finance officer', roles: ['finance_officer'], agency: 'Finance Division', jurisdiction: 'PK', does: 'release the federal batch once approved, export its files, reconcile' },
  { username: 'sspa.manager', displayName: 'Demo SSPA programme manager', roles: ['program_manager'], agency: 'SSPA', jurisdiction: 'PK7', does: 'submitted the Sindh batch (net of what BISP holds)' },
  { username: 'sspa.manager2', displayName: 'Demo second SSPA programme manager', roles: ['program_manager'], agency: 'SSPA', jurisdiction: 'PK7', does: 'approved the Sindh batch (first signature)' },
  {
    username: 'sindh.finance',
    displayName: 'Demo Sindh finance officer',
    roles: ['finance_officer'],
    agency: 'Finance Department Sindh',
    jurisdiction: 'PK7',
    does: 'approved and released the Sindh batch, exported its payment files, applied the bank\u2019s answers',
  },
  {
    username: 'responder',
    displayName: 'Demo district responder',
    roles: ['responder'],
    agency: 'District administration Thatta',
    jurisdiction: 'PK7',
    does: 'the plan (report on the Thatta payment camps), the map and payment totals by area; never a name',
  },
  { username: 'auditor', displayName: 'Demo auditor', roles: ['auditor'], agency: 'Auditor General', jurisdiction: 'PK', does: 'the audit trail of every step' },
];
export const demoPassword = (username: string) => `demo-${username}-2026`;

/**
 * Enough for every step to show real numbers (the federal batch about 1,100 lines, the Sindh one about 900
 * with some 400 households BISP holds, every district of the letter shaded), at about two thirds of the CPU
 * that 200,000 took at first start.
 */
export const DEMO_HOUSEHOLDS = 100_000;
const DEMO_SEED = 2022;

const DEMO_RULES_DIR = fileURLToPath(new URL('./rules/', import.meta.url));

/**
 * The first five minutes of a new user: on an empty data folder, the demo's districts and tehsils, a
 * synthetic registry shaped by the tehsils' population, one account per step, a CAP flood warning over
 * lower Sindh, and the whole path walked (walk.ts): PDMA Sindh's notification of lower-Sindh districts,
 * the federal and Sindh flood batches, the Sindh one approved, released, exported and reconciled, the
 * federal one waiting for its second programme manager. Runs once per database (a setting records it).
 * `deliver` runs the outbox's reactions (the server's drainer), which evaluations and builds go through.
 */
export async function prepareDemo(database: Database, log: Logger, now: Date, deliver: Deliver): Promise<boolean> {
  const [done] = await database.db.select().from(settings).where(eq(settings.key, 'demo_prepared'));
  if (done) return false;
  const started = performance.now();
  const cpu = process.cpuUsage();
  const lap = () => Math.round((performance.now() - started) / 100) / 10;
  /** CPU seconds of this process (every thread) since the start: what the machine's load does not inflate. */
  const cpuSeconds = () => {
    const d = process.cpuUsage(cpu);
    return Math.round((d.user + d.system) / 100_000) / 10;
  };
  const steps: Record<string, [seconds: number, cpuSeconds: number]> = {};
  const mark = (step: string) => (steps[step] = [lap(), cpuSeconds()]);
  const ctx = systemCtx(database.db, 'demo', now, 'demo');
  const boundaries = await loadDemoBoundaries(ctx);
  const rules = await loadRules(ctx, DEMO_RULES_DIR);
  mark('boundaries and rules');
  const areas = await synthAreas(database.db);
  const source = synthCsv({ households: DEMO_HOUSEHOLDS, seed: DEMO_SEED, areas });
  // One converter thread: at this size the main thread (making the rows, the COPY) is what limits, and a
  // second worker cost its start-up (about a CPU second) for no time won (8.1–8.6 against 9.1–10.4 CPU s).
  const report = await importHouseholds(ctx, { database, source, name: `synthetic demo registry, seed ${DEMO_SEED}` }, { converters: 1 });
  mark('registry made and imported');
  log.info({ ...boundaries, rules: rules.map((r) => r.id), households: report.imported, steps, seconds: lap(), cpuSeconds: cpuSeconds() }, 'demo registry ready');
  const actors = new Map<string, Actor>();
  for (const u of DEMO_USERS) {
    const { does: _does, ...fields } = u;
    const user = await createUser(ctx, { ...fields, password: demoPassword(u.username) });
    actors.set(u.username, { kind: 'user', id: user.id, name: u.username, roles: u.roles, agency: u.agency, jurisdiction: u.jurisdiction });
  }
  const cap = readFileSync(new URL('./lower-sindh-flood.xml', import.meta.url));
  // As the system, with no publisher: the demo is the operator's own setup, trusted to publish as any sender.
  const ingest = await ingestBody(ctx, { body: new Uint8Array(cap), contentType: 'application/cap+xml' });
  const people: DemoPeople = {
    pdma: actors.get('pdma.sindh')!,
    bispManager: actors.get('bisp.manager')!,
    responder: actors.get('responder')!,
    sspaManager: actors.get('sspa.manager')!,
    sspaManager2: actors.get('sspa.manager2')!,
    sindhFinance: actors.get('sindh.finance')!,
  };
  mark('users and the warning');
  const walk = await walkDemo(ctx, people, deliver, mark);
  await database.db.insert(settings).values({ key: 'demo_prepared', value: now.toISOString() });
  log.info(
    {
      alert: ingest.items[0]?.id,
      event: walk.eventId,
      federalBatch: walk.federal,
      sindhBatch: walk.sindh,
      files: walk.files.length,
      reconciled: walk.reconciliations.map((r) => r.moved),
      plan: walk.plan.byStatus,
      steps,
      seconds: lap(),
      cpuSeconds: cpuSeconds(),
    },
    'demo prepared',
  );
  return true;
}

/** The path the demo walked and what is left to do, in order, with the account for each step. */
export const DEMO_STEPS: { username: string; step: string }[] = [
  { username: 'pdma.sindh', step: 'Events: the flood PDMA Sindh declared from its letter (8 districts by name), its alerts, evaluations and plan' },
  { username: 'sindh.finance', step: 'Inbox and the Sindh batch: net of the households BISP holds, approved by two people, released, payment files, the bank\u2019s answer' },
  { username: 'bisp.manager2', step: 'Inbox: approve the federal BISP batch of the three coastal districts (it waits for you)' },
  { username: 'finance', step: 'the federal batch: release it, make its payment files, apply the bank\u2019s answer' },
  { username: 'pdma.sindh', step: 'Plans: add an action (a camp on the map), report progress with a note, print the plan in English or Urdu' },
  { username: 'responder', step: 'the plan and the map of households and payments by district, never a name, CNIC, phone or account' },
  { username: 'auditor', step: 'the audit trail of every step above' },
];

/** The console lines a new user reads: where to go, and which account to sign in with for each step. */
export function demoBanner(url: string): string {
  const steps = DEMO_STEPS.map((s, i) => `  ${i + 1}. ${s.username.padEnd(14)} ${s.step}`);
  const rows = DEMO_USERS.map((u) => `  ${u.username.padEnd(14)} ${demoPassword(u.username).padEnd(24)} ${u.roles[0]!.padEnd(16)} ${u.does}`);
  return [
    `Demo (DEMO ONLY, public passwords). Open ${url} and sign in, step by step, as:`,
    ...steps,
    '',
    `  ${'username'.padEnd(14)} ${'password'.padEnd(24)} ${'role'.padEnd(16)} in the demo`,
    ...rows,
    '',
  ].join('\n');
}
