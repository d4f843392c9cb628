import { rename } from 'node:fs/promises';
import type { Command } from 'commander';
import { pkrText } from '../../triggers/index.ts';
import type { Ctx } from '../context.ts';
import { exportPlan } from '../plan/export.ts';
import { incidentOfEvent } from '../plan/incident.ts';
import { INCIDENT_PATTERN, planSchema, type Plan } from '../plan/schema.ts';
import { getPlan } from '../plan/service.ts';
import { planSummary } from '../plan/summary.ts';
import { refusing } from './batches.ts';
import { cliCtx, printTable, withDatabase } from './context.ts';
import { CliError } from './errors.ts';
import { writeSynced } from './partial-file.ts';

/** Pakistan time (UTC+05:00, no daylight saving), as the officials read it: `2026-08-27 11:00 PKT`. */
export function pakistanTime(iso: string | null): string {
  if (!iso) return '';
  const d = new Date(new Date(iso).getTime() + 5 * 3_600_000);
  return `${d.toISOString().slice(0, 16).replace('T', ' ')} PKT`;
}

/** An event id or an incident key (`event:<id>`, `alert-chain:<id>`) as the incident it names. */
async function incidentOf(ctx: Ctx, given: string): Promise<string> {
  const value = given.trim().toLowerCase();
  if (INCIDENT_PATTERN.test(value)) return value;
  if (/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(value)) return refusing(() => incidentOfEvent(ctx, value));
  throw new CliError(`expected an event id (a UUID) or an incident (event:<id> or alert-chain:<id>), got ${JSON.stringify(given)}`);
}

/** Rupees as the reader may see them (the CLI reads exact figures; `hidden` is never printed there). */
const rupees = (n: number | null) => (n === null ? 'hidden' : pkrText(n));

/** Rows as aligned plain-text lines (as printTable prints them). */
function tableLines(rows: Record<string, string>[], columns: string[]): string[] {
  const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => (r[c] ?? '').length)));
  const line = (values: string[]) => values.map((v, i) => v.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(columns), ...rows.map((r) => line(columns.map((c) => r[c] ?? '')))];
}

/** The plan as plain text: the incident, its counts, one row per action (due in Pakistan time). */
export function planText(p: Plan): string {
  const out: string[] = [];
  out.push(`Plan of ${p.title} (${p.hazard}, ${p.incident}), ${p.open ? 'open' : 'closed'}`);
  out.push(`  areas        ${p.areaCodes.join(', ')}`);
  out.push(`  started      ${pakistanTime(p.startedAt)}${p.triggers.length ? `; ${p.triggers.map((t) => `${t.stage} fired ${pakistanTime(t.at)}`).join('; ')}` : ''}`);
  const by = Object.entries(p.counts.byStatus).filter(([, n]) => n > 0);
  out.push(`  actions      ${p.counts.total}: ${by.map(([s, n]) => `${n} ${s.replace('_', ' ')}`).join(', ') || 'none'}; ${p.counts.overdue} overdue, ${p.counts.unaccepted} not yet accepted`);
  out.push('');
  out.push(
    ...tableLines(
      p.actions.map((a) => ({
        due: `${pakistanTime(a.dueAt)}${a.dueRelative ? ` (${a.dueRelative})` : ''}`,
        status: `${a.status.replace('_', ' ')}${a.overdue ? ', OVERDUE' : ''}`,
        // A batch is taken on when its programme submits it.
        lead: `${a.leadAgency}${a.acceptedAt ? '' : a.kind === 'cash' ? ' (not submitted)' : ' (not accepted)'}`,
        sector: a.sector,
        action: a.title,
        areas: a.areaCodes.join(','),
        money: a.money ? `${rupees(a.money.committedPkr)} committed, ${rupees(a.money.releasedPkr)} released, ${rupees(a.money.paidPkr)} paid` : a.budget.length ? a.budget.map((b) => `${b.funder} ${pkrText(b.pkr)}`).join('; ') : '',
        id: a.id,
      })),
      ['due', 'status', 'lead', 'sector', 'action', 'areas', 'money', 'id'],
    ),
  );
  const blocked = p.actions.filter((a) => a.status === 'blocked' || a.status === 'cancelled');
  if (blocked.length) out.push('', ...blocked.map((a) => `  ${a.status}: ${a.title}: ${a.statusReason ?? ''}`));
  return `${out.join('\n')}\n`;
}

export function registerPlanCommands(program: Command): void {
  const plan = program
    .command('plan')
    .description('the joint response plan of an incident: show, export, summary (as the CLI system actor: every jurisdiction)')
    .addHelpText(
      'after',
      `
EVENT is an event id, or an incident as batches name it: event:<id> or alert-chain:<id>. An event that
names alerts shares their chain's incident, and its plan.`,
    );

  plan
    .command('show <event>')
    .description('every action of the incident: due (Pakistan time, and T+h after its trigger), status, lead agency and acceptance, sector, areas, money')
    .option('--json', 'print the plan as JSON, as GET /api/incidents/{incident}/plan gives it')
    .action((event: string, o: { json?: boolean }) =>
      withDatabase(async (database) => {
        const ctx = cliCtx(database);
        const p = planSchema.parse(await refusing(async () => getPlan(ctx, await incidentOf(ctx, event))));
        process.stdout.write(o.json ? `${JSON.stringify(p, null, 2)}\n` : planText(p));
      }),
    );

  plan
    .command('export <event>')
    .description('the plan as CSV with an HXL hashtag row (for HDX tools) or as GeoJSON; to standard output, or to --out (written whole or not at all); audited')
    .option('--format <format>', 'csv or geojson', 'csv')
    .option('--out <file>', 'write to this file instead of standard output')
    .action((event: string, o: { format: string; out?: string }) => {
      if (o.format !== 'csv' && o.format !== 'geojson') throw new CliError(`--format: expected csv or geojson, got ${JSON.stringify(o.format)}`);
      const format = o.format;
      return withDatabase(async (database) => {
        const ctx = cliCtx(database);
        const out = await refusing(async () => exportPlan(ctx, await incidentOf(ctx, event), format));
        const text = out.format === 'csv' ? out.text : `${JSON.stringify(out.geojson)}\n`;
        if (!o.out) {
          process.stdout.write(text);
          return;
        }
        const partial = `${o.out}.partial`;
        await writeSynced(partial, 'w', async (write) => write(text));
        await rename(partial, o.out);
        process.stderr.write(`wrote ${o.out}: ${out.plan.actions.length} actions of ${out.plan.incident} as ${format}\n`);
      });
    });

  plan
    .command('summary')
    .description('the coordination view across open incidents: actions due, overdue, blocked, done by incident and by agency; money by payer')
    .action(() =>
      withDatabase(async (database) => {
        const s = await planSummary(cliCtx(database));
        if (s.incidents.length === 0) {
          process.stdout.write('No open incident has a plan.\n');
          return;
        }
        const columns = ['actions', 'due', 'done', 'overdue', 'blocked', 'unaccepted'];
        printTable(
          s.incidents.map((i) => ({ ...i, incident: `${i.title} (${i.incident})` })),
          ['incident', ...columns],
        );
        process.stdout.write('\n');
        printTable(s.byAgency, ['agency', ...columns]);
        if (s.money.length) {
          process.stdout.write('\n');
          printTable(
            s.money.map((m) => ({ payer: `${m.agency} (${m.jurisdiction})`, committed: rupees(m.committedPkr), released: rupees(m.releasedPkr), paid: rupees(m.paidPkr) })),
            ['payer', 'committed', 'released', 'paid'],
          );
        }
      }),
    );
}
