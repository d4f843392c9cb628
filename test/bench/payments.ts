/**
 * `npm run bench:payments [-- --households 10000000 --share 0.45]`: what follows a released batch of millions
 * of lines, on PostgreSQL: its payment instructions made (the outbox reaction to the release), its payment
 * files exported per channel (with their texts to beneficiaries), each file answered by the "bank" (most
 * paid, some partly, some failed or unclaimed), the answers reconciled as streams read from disk, and the
 * same answers sent again (nothing changes). The batch is the one `npm run bench:batch` builds.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import { sql } from 'drizzle-orm';
import { queryRows } from '../../server/db/client.ts';
import { reactions } from '../../server/jobs/reactions.ts';
import { drainOutbox } from '../../server/outbox/drain.ts';
import { exportPaymentFiles } from '../../server/payments/files.ts';
import { reconcile, RECONCILIATION_COLUMNS, type ReconciliationReport } from '../../server/payments/reconcile.ts';
import { numberArg } from './args.ts';
import { mb, n, peakRss, person, releasedFloodBatch, tableSizes, type Row } from './flood-batch.ts';
import { ms, printTable } from './scratch.ts';

const HOUSEHOLDS = numberArg('households', 10_000_000);
const SEED = numberArg('seed', 20220825);
const SHARE = numberArg('share', 0.45);

const rows: Row[] = [];
const world = await releasedFloodBatch({ households: HOUSEHOLDS, seed: SEED, share: SHARE }, rows);
const { db } = world;
const folder = await mkdtemp(path.join(tmpdir(), 'madad-bench-payments-'));
try {
  const [, issueMs, issueRss] = await peakRss(() => drainOutbox(db, reactions(world.deps), { owner: 'bench' }));
  const [issued] = await queryRows<{ n: number }>(db, sql`select count(*)::int as n from payment_instructions`);
  rows.push(['instructions: one per released line (the reaction to batch.released)', `${n(issued!.n)} instructions`, `${ms(issueMs)}, peak RSS ${mb(issueRss)}`]);

  const finance = world.ctx(person('fo-zain', 'finance_officer'));
  const [exported, exportMs, exportRss] = await peakRss(() => exportPaymentFiles(finance, { batchId: world.batch.id }));
  const [texts] = await queryRows<{ n: number }>(db, sql`select count(*)::int as n from messages`);
  rows.push([
    'export: payment files per channel, with manifests and texts to beneficiaries',
    `${exported.made.map((f) => `${f.channel} ${n(f.count)}`).join(', ')}; ${n(texts!.n)} texts`,
    `${ms(exportMs)}: ${n(Math.round(issued!.n / (exportMs / 1000)))} instructions/s, peak RSS ${mb(exportRss)}`,
  ]);

  // The bank's answers, written to disk (not timed): 1 in 20 failed, 1 in 33 unclaimed, 1 in 50 paid PKR 5,000 short.
  const answers: { fileId: string; file: string; bytes: number }[] = [];
  for (const f of exported.made) {
    const file = path.join(folder, `${f.id}.csv`);
    const out = createWriteStream(file);
    out.write(`${RECONCILIATION_COLUMNS.join(',')}\r\n`);
    let after = '';
    let i = 0;
    for (;;) {
      const page = await queryRows<{ id: string; amount_pkr: number }>(db, sql`select id, amount_pkr from payment_instructions where file_id = ${f.id}::uuid and id > ${after} order by id limit 100000`);
      if (page.length === 0) break;
      let text = '';
      for (const p of page) {
        i++;
        if (i % 20 === 0) text += `${p.id},failed,0,,,account closed\r\n`;
        else if (i % 33 === 0) text += `${p.id},unclaimed,0,,,not collected in 30 days\r\n`;
        else text += `${p.id},paid,${i % 50 === 1 ? p.amount_pkr - 5000 : p.amount_pkr},2026-09-02T14:30:00+05:00,BR${i},\r\n`;
      }
      if (!out.write(text)) await once(out, 'drain');
      after = page.at(-1)!.id;
    }
    out.end();
    await once(out, 'finish');
    answers.push({ fileId: f.id, file, bytes: (await stat(file)).size });
  }

  const reconcileAll = async () => {
    const reports: ReconciliationReport[] = [];
    for (const a of answers) reports.push(await reconcile(finance, { fileId: a.fileId, text: createReadStream(a.file) }));
    return reports;
  };
  const answerBytes = answers.reduce((s, a) => s + a.bytes, 0);
  const [reports, reconcileMs, reconcileRss] = await peakRss(reconcileAll);
  const moved: Record<string, number> = {};
  for (const r of reports) for (const [k, v] of Object.entries(r.moved)) moved[k] = (moved[k] ?? 0) + v;
  rows.push([
    `reconcile: ${answers.length} answers streamed from disk (${mb(answerBytes)}), checked whole, applied, texts of the paid`,
    Object.entries(moved).map(([k, v]) => `${k} ${n(v)}`).join(', '),
    `${ms(reconcileMs)}: ${n(Math.round(issued!.n / (reconcileMs / 1000)))} rows/s, peak RSS ${mb(reconcileRss)}`,
  ]);
  const [again, againMs, againRss] = await peakRss(reconcileAll);
  rows.push(['the same answers again (each found by its sha256: nothing changes)', `${again.filter((r) => r.repeated).length} of ${again.length} repeated`, `${ms(againMs)}, peak RSS ${mb(againRss)}`]);
  await tableSizes(db, ['payment_instructions', 'messages', 'payment_files', 'reconciliations'], rows);
} finally {
  await rm(folder, { recursive: true, force: true });
  await world.drop();
}
printTable(`Payments benchmark: ${n(HOUSEHOLDS)} synthetic households (seed ${SEED}) on PostgreSQL, ${availableParallelism()} cores, load average ${world.load.toFixed(1)} when the build began`, rows);
