import { checkActual, checkCondition, type Reason } from './conditions.ts';
import { namesStatus } from './condition-schema.ts';
import type { Rule, Stage } from './rule-schema.ts';
import type { Subject } from './subject.ts';

export type { Reason };

export interface StageResult {
  stage: Stage;
  fired: boolean;
  /** The stage's status check and its `when:` tree, depth-first. */
  reasons: Reason[];
}

export interface Decision {
  ruleId: string;
  ruleVersion: string;
  subjectKind: Subject['kind'];
  subjectId: string;
  /** The `now` the decision was taken at (ISO 8601), stored with it so it can be replayed. */
  evaluatedAt: string;
  /** The highest stage that fired: stop wins when it fires, then activation, then readiness. */
  stage: Stage | null;
  fired: boolean;
  /** Checks every stage depends on: validity window, hazard, subject kind, declaration, scope, alert in force. */
  checks: Reason[];
  /** Stages the rule defines, in order readiness, activation, stop. */
  stages: StageResult[];
  /** The subject's area codes that fall inside the rule's scope: the area the action applies to. */
  areaCodes: string[];
  /** Everything above in one list, for display: checks, then each stage's header and its reasons. */
  reasons: Reason[];
  summary: string;
}

/** Pakistan Standard Time, UTC+05:00 without daylight saving: dates in a signed rule are PKT calendar days. */
const PKT = '+05:00';
const DAY_MS = 86_400_000;
const PKT_OFFSET_MS = 5 * 3_600_000;

const check = (condition: string, observed: Reason['observed'], threshold: Reason['threshold'], pass: boolean, text: string): Reason => ({
  condition,
  observed,
  threshold,
  pass,
  text: `${text}: ${pass ? 'yes' : 'no'}`,
  depth: 0,
});

/** valid_from is inclusive from 00:00 PKT; valid_to is inclusive to the end of that day in PKT. */
function checkValidity(rule: Rule, now: Date): Reason {
  // Shown as the PKT calendar day, the same clock the window is written in.
  const day = `${new Date(now.getTime() + PKT_OFFSET_MS).toISOString().slice(0, 10)} PKT`;
  const from = Date.parse(`${rule.valid_from}T00:00:00${PKT}`);
  const to = rule.valid_to === undefined ? Infinity : Date.parse(`${rule.valid_to}T00:00:00${PKT}`) + DAY_MS;
  const t = now.getTime();
  const window = rule.valid_to === undefined ? `from ${rule.valid_from}` : `${rule.valid_from} to ${rule.valid_to}`;
  if (t < from) return check('valid_from', now.toISOString(), rule.valid_from, false, `rule not yet valid on ${day} (valid from ${rule.valid_from})`);
  if (t >= to) return check('valid_to', now.toISOString(), rule.valid_to!, false, `rule no longer valid on ${day} (valid to ${rule.valid_to})`);
  return check('validity', now.toISOString(), window, true, `rule valid ${window} on ${day}`);
}

function checkKind(rule: Rule, subject: Subject): Reason {
  if (rule.requires_declaration && subject.kind === 'alert')
    return check('requires_declaration', 'alert', 'event', false, 'an alert cannot fire this rule: it requires an event declared by a DMA');
  const pass = rule.subject === subject.kind;
  return check('subject', subject.kind, rule.subject, pass, `rule acts on ${rule.subject}s, this is an ${subject.kind}`);
}

function checkEventStatus(rule: Rule, subject: Subject): Reason | null {
  if (subject.kind !== 'event') return null;
  if (subject.status === 'closed') return check('event_status', 'closed', 'declared', false, 'event is closed');
  if (rule.requires_declaration)
    return check('event_status', subject.status, 'declared', subject.status === 'declared', subject.status === 'declared' ? 'event declared' : `event is ${subject.status}, not declared`);
  return check('event_status', subject.status, 'open', true, `event ${subject.status} (no declaration required)`);
}

/** P-codes are hierarchical, so "inside PK7" is "starts with PK7". */
function inScope(rule: Rule, subject: Subject): { reason: Reason; codes: string[] } {
  const scope = rule.scope;
  if (scope === 'anywhere') return { reason: check('scope', subject.areaCodes.join(', ') || null, 'anywhere', true, 'scope anywhere'), codes: [...subject.areaCodes] };
  const threshold = scope.join(', ');
  if (subject.areaCodes.length === 0) return { reason: check('scope', null, threshold, false, 'area not resolved to codes'), codes: [] };
  const codes = subject.areaCodes.filter((c) => scope.some((p) => c.startsWith(p)));
  const shown = subject.areaCodes.length > 6 ? `${subject.areaCodes.slice(0, 6).join(', ')} and ${subject.areaCodes.length - 6} more` : subject.areaCodes.join(', ');
  const pass = codes.length > 0;
  return {
    reason: check('scope', subject.areaCodes.join(', '), threshold, pass, pass ? `area ${shown}: ${codes.length} within ${threshold}` : `area ${shown} outside ${threshold}`),
    codes,
  };
}

/** Cancelled, superseded, ended or expired alerts do not fire readiness or activation. */
function checkActive(subject: Subject, now: Date): Reason | null {
  if (subject.kind !== 'alert') return null;
  if (subject.msgType === 'Cancel') return check('active', 'Cancel', 'in force', false, 'alert was cancelled');
  const expires = subject.expires === undefined ? NaN : Date.parse(subject.expires);
  if (!Number.isNaN(expires) && expires <= now.getTime()) return check('active', subject.expires!, 'in force', false, `alert expired at ${subject.expires}`);
  if (!subject.active) return check('active', 'ended', 'in force', false, 'alert is no longer in force');
  return check('active', 'in force', 'in force', true, 'alert in force');
}

/**
 * Evaluate a rule against an alert or a declared event at `now`. Pure: the same rule, subject and `now`
 * give the same decision, and every condition is explained whether it held or not.
 */
export function evaluate(rule: Rule, subject: Subject, now: Date): Decision {
  if (Number.isNaN(now.getTime())) throw new RangeError('evaluate needs a valid `now`');
  const scope = inScope(rule, subject);
  const hazardPass = rule.hazards.includes(subject.hazard);
  const common = [
    checkValidity(rule, now),
    check('hazard', subject.hazard, rule.hazards.join(', '), hazardPass, `hazard ${subject.hazard} in [${rule.hazards.join(', ')}]`),
    checkKind(rule, subject),
    checkEventStatus(rule, subject),
    scope.reason,
  ].filter((r): r is Reason => r !== null);
  // A stop stage may rightly be met by an alert that has ended (the hazard did not come), so the
  // "in force" check gates readiness and activation only.
  const active = checkActive(subject, now);
  const checks = active ? [...common, active] : common;
  const commonPass = common.every((r) => r.pass);

  const stages: StageResult[] = [];
  for (const stage of ['readiness', 'activation', 'stop'] as const) {
    const def = rule.stages[stage];
    if (!def) continue;
    // Only Actual messages move money; readiness may name other statuses itself, for drills.
    const defaultStatus = stage !== 'readiness' || !namesStatus(def.when);
    const status = defaultStatus ? [checkActual(subject)] : [];
    const when = checkCondition(def.when, subject);
    const gated = commonPass && (stage === 'stop' || active === null || active.pass);
    const fired = gated && status.every((r) => r.pass) && when.pass;
    stages.push({ stage, fired, reasons: [...status, ...when.reasons] });
  }

  const firedStages = stages.filter((s) => s.fired).map((s) => s.stage);
  const stage = firedStages.includes('stop') ? 'stop' : firedStages.includes('activation') ? 'activation' : firedStages.includes('readiness') ? 'readiness' : null;
  const reasons = [
    ...checks,
    ...stages.flatMap((s) => [
      { condition: `stage`, observed: s.fired ? 'fired' : 'not fired', threshold: s.stage, pass: s.fired, text: `${s.stage} fired: ${s.fired ? 'yes' : 'no'}`, depth: 0 },
      ...s.reasons.map((r) => ({ ...r, depth: r.depth + 1 })),
    ]),
  ];
  return {
    ruleId: rule.id,
    ruleVersion: rule.version,
    subjectKind: subject.kind,
    subjectId: subject.id,
    evaluatedAt: now.toISOString(),
    stage,
    fired: stage !== null,
    checks,
    stages,
    areaCodes: scope.codes,
    reasons,
    summary: summarise(rule, subject, stage, checks, stages),
  };
}

function summarise(rule: Rule, subject: Subject, stage: Stage | null, checks: Reason[], stages: StageResult[]): string {
  const head = `${rule.id} (version ${rule.version}) on ${subject.kind} ${subject.id}`;
  if (stage !== null) {
    const also = stages.filter((s) => s.fired && s.stage !== stage).map((s) => s.stage);
    return `${head}: ${stage} fired${also.length > 0 ? ` (also met: ${also.join(', ')}; ${stage} wins)` : ''}`;
  }
  const failedChecks = checks.filter((r) => !r.pass);
  const activation = stages.find((s) => s.stage === 'activation');
  const failed = failedChecks.length > 0 ? failedChecks : (activation?.reasons ?? []).filter((r) => !r.pass && r.condition !== 'all' && r.condition !== 'any');
  return `${head}: nothing fired; ${failed.slice(0, 3).map((r) => r.text).join('; ')}`;
}
