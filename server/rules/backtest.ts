import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Geometry } from 'geojson';
import { evaluate, pkrText, type Decision, type Rule, type Stage } from '../../triggers/index.ts';
import { initialState } from '../alerts/lifecycle.ts';
import { parseAlerts } from '../alerts/parse/index.ts';
import type { AreaCatalog } from '../areas/catalog.ts';
import type { RegistryIndex } from '../registry/registry-index.ts';
import { caseload, type Caseload } from './caseload.ts';
import { areaGeometry, toAlertSubject } from './subjects.ts';

export interface BacktestRow {
  file: string;
  identifier: string;
  sent: string;
  headline: string;
  stage: Stage | null;
  decision: Decision;
  caseload?: Caseload;
}

export interface BacktestReport {
  rows: BacktestRow[];
  skipped: { file: string; identifier?: string; reason: string }[];
}

export interface BacktestOptions {
  /** The gazetteer, to resolve each message's area to codes; empty or absent: no codes. */
  catalog?: AreaCatalog;
  /** Codes assumed for every message instead of its own area: "what if this quake had struck here". */
  assumeArea?: string[];
  registry?: RegistryIndex;
}

/**
 * A backtest asks what the rule's thresholds would have done with past messages, so the rule's validity
 * window (set when it was signed, usually after the events being replayed) is lifted; everything else
 * is evaluated as written, at each message's own sent time.
 */
export function withoutValidityWindow(rule: Rule): Rule {
  const { valid_to: _ignored, ...rest } = rule;
  return { ...rest, valid_from: '1900-01-01' };
}

const contentTypeOf = (file: string) => (/\.(xml|cap|atom|rss)$/i.test(file) ? 'application/xml' : /\.(geo)?json$/i.test(file) ? 'application/json' : undefined);

/** Replays every message of every file in `dir` against the rule. Pure reading: nothing is stored. */
export async function backtest(rule: Rule, dir: string, options: BacktestOptions = {}): Promise<BacktestReport> {
  const replayed = withoutValidityWindow(rule);
  const report: BacktestReport = { rows: [], skipped: [] };
  const files = readdirSync(dir).filter((f) => statSync(path.join(dir, f)).isFile()).sort();
  for (const file of files) {
    let messages;
    try {
      messages = parseAlerts(readFileSync(path.join(dir, file)), contentTypeOf(file)).messages;
    } catch (err) {
      report.skipped.push({ file, reason: err instanceof Error ? err.message : String(err) });
      continue;
    }
    for (const m of messages) {
      if (!m.ok) {
        report.skipped.push({ file, ...(m.identifier ? { identifier: m.identifier } : {}), reason: m.reason });
        continue;
      }
      const a = m.alert;
      const sent = new Date(a.sent);
      const subject = toAlertSubject(a, {
        id: a.identifier,
        areaCodes: options.assumeArea ?? (options.catalog ? (await options.catalog.resolve(a.area)).codes : []),
        active: initialState(a, sent).state === 'active',
        sent: a.sent,
        ...(a.expires ? { expires: a.expires } : {}),
      });
      const decision = evaluate(replayed, subject, sent);
      const geometry: Geometry | null = options.assumeArea ? null : areaGeometry(a.area.geometry);
      const acts = decision.stage === 'readiness' || decision.stage === 'activation';
      report.rows.push({
        file,
        identifier: a.identifier,
        sent: a.sent,
        headline: a.infos[0]?.headline ?? a.area.descriptions[0] ?? a.infos[0]?.event ?? '',
        stage: decision.stage,
        decision,
        ...(acts && options.registry ? { caseload: caseload(options.registry, { rule: replayed, decision, geometry, severity: a.severity, now: sent }) } : {}),
      });
    }
  }
  return report;
}

/** The report as lines for a terminal: one per message, fired ones with their caseload. */
export function backtestLines(rule: Rule, report: BacktestReport, registryLoaded: boolean): string[] {
  const lines: string[] = [];
  for (const r of report.rows) {
    const head = `${r.identifier}  ${r.sent.slice(0, 19)}Z  ${r.headline}`;
    if (r.stage === null) {
      lines.push(`${head}\n    nothing fired: ${r.decision.summary.replace(/^.*nothing fired; /, '')}`);
      continue;
    }
    const c = r.caseload;
    const money = !c
      ? registryLoaded || r.stage === 'stop'
        ? ''
        : '; no registry loaded, so no caseload'
      : `; ${c.households} households, ${pkrText(c.totalPkr)}${c.ceiling.cutHouseholds ? ` (${c.ceiling.cutHouseholds} cut by the ceiling)` : ''}${c.byPayer.length ? ` (${c.byPayer.map((p) => `${p.agency} ${p.jurisdiction} ${pkrText(p.amountPkr)}`).join(', ')})` : ''}`;
    lines.push(`${head}\n    ${r.stage.toUpperCase()} fired${money}`);
  }
  const fired = report.rows.filter((r) => r.stage !== null);
  const byStage = (['activation', 'readiness', 'stop'] as const).map((s) => [s, fired.filter((r) => r.stage === s).length] as const).filter(([, n]) => n > 0);
  lines.push(
    `${rule.id}: ${fired.length} of ${report.rows.length} messages would have fired${byStage.length ? ` (${byStage.map(([s, n]) => `${s} ${n}`).join(', ')})` : ''}.`,
  );
  for (const s of report.skipped) lines.push(`skipped ${s.file}${s.identifier ? ` (${s.identifier})` : ''}: ${s.reason}`);
  return lines;
}
