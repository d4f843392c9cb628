import type { Condition, MetricOp } from './condition-schema.ts';
import { GDACS_LEVELS, PAGER_LEVELS, SEVERITIES, type Subject } from './subject.ts';

/**
 * One checked condition, as an official reads it: what was observed, what the rule asked for, whether
 * it held. `depth` is the nesting under all/any/not, so a flat list can be shown indented.
 */
export interface Reason {
  condition: string;
  observed: string | number | null;
  threshold: string | number | null;
  pass: boolean;
  text: string;
  depth: number;
}

const yesNo = (pass: boolean) => (pass ? 'yes' : 'no');

/** Magnitudes are read with one decimal ("6.0", not "6"), as seismologists write them. */
const magnitude = (n: number) => (Number.isInteger(n) ? n.toFixed(1) : String(n));

function reason(condition: string, observed: Reason['observed'], threshold: Reason['threshold'], pass: boolean, text: string, depth: number): Reason {
  return { condition, observed, threshold, pass, text: `${text}: ${yesNo(pass)}`, depth };
}

function missing(condition: string, label: string, threshold: Reason['threshold'], depth: number): Reason {
  return reason(condition, null, threshold, false, `${label} not given`, depth);
}

/** Ordinal comparison over one of subject.ts's ordered arrays (e.g. severity Moderate < Severe). */
function atLeast<T extends string>(
  order: readonly T[],
  condition: string,
  label: string,
  observed: T | undefined,
  threshold: T,
  depth: number,
  show: (v: T) => string = (v) => v,
): Reason {
  if (observed === undefined) return missing(condition, label, threshold, depth);
  const pass = order.indexOf(observed) >= order.indexOf(threshold);
  return reason(condition, observed, threshold, pass, `${label} ${show(observed)} ≥ ${show(threshold)}`, depth);
}

function oneOf<T extends string>(condition: string, label: string, observed: T | undefined, allowed: readonly T[], depth: number): Reason {
  const threshold = allowed.join(', ');
  if (observed === undefined) return missing(condition, label, threshold, depth);
  return reason(condition, observed, threshold, allowed.includes(observed), `${label} ${observed} in [${threshold}]`, depth);
}

function numberAtLeast(condition: string, label: string, observed: unknown, threshold: number, depth: number, show: (n: number) => string = String): Reason {
  if (typeof observed !== 'number' || !Number.isFinite(observed)) return missing(condition, label, threshold, depth);
  return reason(condition, observed, threshold, observed >= threshold, `${label} ${show(observed)} ≥ ${show(threshold)}`, depth);
}

const OPS: Record<MetricOp, { sign: string; test: (a: number, b: number) => boolean }> = {
  '>=': { sign: '≥', test: (a, b) => a >= b },
  '>': { sign: '>', test: (a, b) => a > b },
  '<=': { sign: '≤', test: (a, b) => a <= b },
  '<': { sign: '<', test: (a, b) => a < b },
  '==': { sign: '=', test: (a, b) => a === b },
};

/** Rules may name a metric as the file's readers write it (wind_speed_kmh) or as subject.ts does (windSpeedKmh). */
export function readMetric(subject: Subject, name: string): number | string | undefined {
  const direct = subject.metrics[name];
  if (direct !== undefined) return direct;
  const camel = name.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
  return subject.metrics[camel];
}

const GDACS_SHOWN = (v: string) => v.charAt(0).toUpperCase() + v.slice(1);
const AWARENESS = ['', 'green', 'yellow', 'orange', 'red'];

/**
 * Check a condition tree against a subject. Returns the reasons depth-first: a combinator's own reason
 * comes before its children's, so the list reads top-down like the rule file. Every child is checked
 * (no short-circuit) so the explanation shows each value, not only the first that failed.
 */
export function checkCondition(c: Condition, subject: Subject, depth = 0): { pass: boolean; reasons: Reason[] } {
  if ('all' in c || 'any' in c) {
    const isAll = 'all' in c;
    const children = (isAll ? c.all : c.any).map((child) => checkCondition(child, subject, depth + 1));
    const held = children.filter((r) => r.pass).length;
    const pass = isAll ? held === children.length : held > 0;
    const head = reason(
      isAll ? 'all' : 'any',
      held,
      isAll ? children.length : 1,
      pass,
      isAll ? `all of ${children.length} conditions (${held} held)` : `any of ${children.length} conditions (${held} held)`,
      depth,
    );
    return { pass, reasons: [head, ...children.flatMap((r) => r.reasons)] };
  }
  if ('not' in c) {
    const inner = checkCondition(c.not, subject, depth + 1);
    const pass = !inner.pass;
    return { pass, reasons: [reason('not', yesNo(inner.pass), 'no', pass, `not: the condition below ${inner.pass ? 'held' : 'did not hold'}`, depth), ...inner.reasons] };
  }
  const r = checkLeaf(c, subject, depth);
  return { pass: r.pass, reasons: [r] };
}

function checkLeaf(c: Exclude<Condition, { all: unknown } | { any: unknown } | { not: unknown }>, s: Subject, depth: number): Reason {
  if ('severity_at_least' in c) return atLeast(SEVERITIES, 'severity_at_least', 'severity', s.severity, c.severity_at_least, depth);
  if ('certainty_in' in c) return oneOf('certainty_in', 'certainty', s.certainty, c.certainty_in, depth);
  if ('urgency_in' in c) return oneOf('urgency_in', 'urgency', s.urgency, c.urgency_in, depth);
  if ('magnitude_at_least' in c)
    return numberAtLeast('magnitude_at_least', 'magnitude', s.metrics.magnitude, c.magnitude_at_least, depth, magnitude);
  if ('mmi_at_least' in c) return numberAtLeast('mmi_at_least', 'MMI', s.metrics.mmi, c.mmi_at_least, depth);
  if ('pager_at_least' in c) return atLeast(PAGER_LEVELS, 'pager_at_least', 'PAGER', s.metrics.pagerAlert, c.pager_at_least, depth);
  if ('gdacs_at_least' in c)
    return atLeast(GDACS_LEVELS, 'gdacs_at_least', 'GDACS', s.metrics.gdacsAlertLevel, c.gdacs_at_least, depth, GDACS_SHOWN);
  if ('awareness_at_least' in c)
    return numberAtLeast('awareness_at_least', 'awareness level', s.metrics.awarenessLevel, c.awareness_at_least, depth, (n) =>
      AWARENESS[n] ? `${n} (${AWARENESS[n]})` : String(n),
    );
  if ('metric' in c) {
    const { name, op, value } = c.metric;
    const observed = readMetric(s, name);
    const label = name;
    if (typeof observed !== 'number' || !Number.isFinite(observed)) return missing('metric', label, `${op} ${value}`, depth);
    const { sign, test } = OPS[op];
    return reason('metric', observed, `${op} ${value}`, test(observed, value), `${label} ${observed} ${sign} ${value}`, depth);
  }
  if ('declared' in c) {
    if (s.kind === 'alert') return reason('declared', 'alert', 'declared', false, 'declared by a DMA: this is an alert, not a declared event', depth);
    return reason('declared', s.status, 'declared', s.status === 'declared', s.status === 'declared' ? 'event declared by a DMA' : `event ${s.status}, not declared`, depth);
  }
  // status_in: CAP status is a property of alerts; a declared event is not a CAP message.
  if (s.kind === 'event') return reason('status_in', 'declared event', c.status_in.join(', '), true, 'status: a declared event, not a CAP message', depth);
  return oneOf('status_in', 'status', s.status, c.status_in, depth);
}

/** The default every stage carries (CAP 1.2 §3.2.1: only Actual messages concern the real world). */
export function checkActual(subject: Subject, depth = 0): Reason {
  if (subject.kind === 'event') return reason('status', 'declared event', 'Actual', true, 'status: a declared event, not a CAP message', depth);
  const pass = subject.status === 'Actual';
  return reason('status', subject.status, 'Actual', pass, pass ? 'status Actual' : `status ${subject.status} is not Actual`, depth);
}

