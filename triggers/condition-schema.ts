import { z } from 'zod';
import {
  CERTAINTIES,
  GDACS_LEVELS,
  PAGER_LEVELS,
  SEVERITIES,
  URGENCIES,
  type AlertStatus,
  type Certainty,
  type GdacsLevel,
  type PagerLevel,
  type Severity,
  type Urgency,
} from './subject.ts';

/** CAP 1.2 §3.2.1 status values. Only `Actual` is a real-world message; the rest never pay. */
export const ALERT_STATUSES = ['Actual', 'Exercise', 'System', 'Test', 'Draft'] as const satisfies readonly AlertStatus[];

export const METRIC_OPS = ['>=', '>', '<=', '<', '=='] as const;
export type MetricOp = (typeof METRIC_OPS)[number];

/**
 * One test in a stage's `when:`. Each YAML mapping holds exactly one key, so a signed rule reads as a list
 * of plain sentences; `all` / `any` / `not` combine them and nest to any depth.
 */
export type Condition =
  | { all: Condition[] }
  | { any: Condition[] }
  | { not: Condition }
  | { severity_at_least: Severity }
  | { certainty_in: Certainty[] }
  | { urgency_in: Urgency[] }
  | { magnitude_at_least: number }
  | { mmi_at_least: number }
  | { pager_at_least: PagerLevel }
  | { gdacs_at_least: GdacsLevel }
  | { awareness_at_least: number }
  | { metric: { name: string; op: MetricOp; value: number } }
  | { status_in: AlertStatus[] }
  | { declared: true };

export const CONDITION_KEYS = [
  'all',
  'any',
  'not',
  'severity_at_least',
  'certainty_in',
  'urgency_in',
  'magnitude_at_least',
  'mmi_at_least',
  'pager_at_least',
  'gdacs_at_least',
  'awareness_at_least',
  'metric',
  'status_in',
  'declared',
] as const;

const oneOf = (what: string, values: readonly string[]) => ({ error: `${what} must be one of: ${values.join(', ')}` });

const finite = (what: string, example: string) =>
  z.number({ error: `${what} must be a number, e.g. ${example}` }).refine(Number.isFinite, `${what} must be a finite number`);

/** GDACS writes its levels capitalised (Orange, Red); the subject holds them lower-case. Accept both. */
const lowerCase = (v: unknown) => (typeof v === 'string' ? v.toLowerCase() : v);

export const conditionSchema: z.ZodType<Condition> = z.lazy(() =>
  z
    .strictObject(
      {
        all: z.array(conditionSchema, { error: '`all:` takes a list of conditions' }).min(1, '`all:` needs at least one condition').optional(),
        any: z.array(conditionSchema, { error: '`any:` takes a list of conditions' }).min(1, '`any:` needs at least one condition').optional(),
        not: conditionSchema.optional(),
        severity_at_least: z.enum(SEVERITIES, oneOf('severity_at_least', SEVERITIES)).optional(),
        certainty_in: z.array(z.enum(CERTAINTIES, oneOf('certainty', CERTAINTIES))).min(1, 'list at least one certainty').optional(),
        urgency_in: z.array(z.enum(URGENCIES, oneOf('urgency', URGENCIES))).min(1, 'list at least one urgency').optional(),
        magnitude_at_least: finite('magnitude_at_least', '6.0').optional(),
        mmi_at_least: finite('mmi_at_least (Modified Mercalli intensity, 1-12)', '7').optional(),
        pager_at_least: z.preprocess(lowerCase, z.enum(PAGER_LEVELS, oneOf('pager_at_least', PAGER_LEVELS))).optional(),
        gdacs_at_least: z.preprocess(lowerCase, z.enum(GDACS_LEVELS, oneOf('gdacs_at_least', GDACS_LEVELS))).optional(),
        awareness_at_least: z
          .number({ error: 'awareness_at_least is a MeteoAlarm level: 1 green, 2 yellow, 3 orange, 4 red' })
          .int('awareness_at_least is a whole level from 1 to 4')
          .min(1, 'awareness_at_least is a level from 1 to 4')
          .max(4, 'awareness_at_least is a level from 1 to 4')
          .optional(),
        metric: z
          .strictObject(
            {
              name: z.string({ error: 'metric.name is the metric to read, e.g. wind_speed_kmh' }).min(1, 'metric.name is empty'),
              op: z.enum(METRIC_OPS, oneOf('metric.op', METRIC_OPS)),
              value: finite('metric.value', '118'),
            },
            { error: 'metric is {name, op, value}, e.g. {name: wind_speed_kmh, op: ">=", value: 118}' },
          )
          .optional(),
        status_in: z.array(z.enum(ALERT_STATUSES, oneOf('status', ALERT_STATUSES))).min(1, 'list at least one status').optional(),
        /** `declared: true`: a DMA has declared (notified) the event; the legal trigger in Pakistan so far. */
        declared: z.literal(true, { error: 'declared is written `declared: true`' }).optional(),
      },
      { error: 'a condition is a mapping with one test, e.g. `magnitude_at_least: 6.0`' },
    )
    .superRefine((c, ctx) => {
      const keys = Object.keys(c).filter((k) => (c as Record<string, unknown>)[k] !== undefined);
      if (keys.length === 0) ctx.addIssue({ code: 'custom', message: `a condition needs one test: one of ${CONDITION_KEYS.join(', ')}` });
      if (keys.length > 1)
        ctx.addIssue({
          code: 'custom',
          message: `a condition holds one test, found ${keys.join(' and ')}: put them in a list under \`all:\` (every one must hold) or \`any:\` (one is enough)`,
        });
    })
    .transform((c) => c as Condition),
);

/** A stage's `when:` may be a single condition or a list, which reads as "all of these". */
export const whenSchema: z.ZodType<Condition> = z.preprocess(
  (v) => (Array.isArray(v) ? { all: v } : v),
  conditionSchema,
) as z.ZodType<Condition>;

/** Every status a condition tree names, at any depth (the activation stage may only name Actual). */
export function statusesNamed(c: Condition): AlertStatus[] {
  if ('all' in c) return c.all.flatMap(statusesNamed);
  if ('any' in c) return c.any.flatMap(statusesNamed);
  if ('not' in c) return statusesNamed(c.not);
  if ('status_in' in c) return c.status_in;
  return [];
}

/** Whether the tree names status at all: if not, the evaluator adds the default "status is Actual". */
export function namesStatus(c: Condition): boolean {
  if ('all' in c) return c.all.some(namesStatus);
  if ('any' in c) return c.any.some(namesStatus);
  if ('not' in c) return namesStatus(c.not);
  return 'status_in' in c;
}
