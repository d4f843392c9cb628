import { parseDocument } from 'yaml';
import { z } from 'zod';
import { statusesNamed, whenSchema, type Condition } from './condition-schema.ts';
import { HAZARDS, SEVERITIES } from './subject.ts';

/**
 * The format of a pre-agreed trigger rule: the YAML file that NDMA/PDMA and the paying agencies sign.
 * Keys stay snake_case as written in the file, so what the server stores and shows is what was signed.
 * Every message below is addressed to the person editing the file.
 */

export const STAGES = ['readiness', 'activation', 'stop'] as const;
export type Stage = (typeof STAGES)[number];

/** Household flags a rule may select on (the registry's names are camelCase; see eligibility.ts). */
export const HOUSEHOLD_FLAGS = ['elderly', 'disabled', 'female_headed', 'children_under5'] as const;
export type HouseholdFlag = (typeof HOUSEHOLD_FLAGS)[number];

/** Administrative levels for percentile cut-offs: OCHA P-code levels 1 province, 2 district, 3 tehsil. */
export const AREA_LEVELS = [1, 2, 3] as const;
export type AreaLevel = (typeof AREA_LEVELS)[number];

const isoDate = (field: string) =>
  z
    .string({ error: `${field} is a date written YYYY-MM-DD, e.g. 2022-08-26` })
    .regex(/^\d{4}-\d{2}-\d{2}$/, `${field} is a date written YYYY-MM-DD, e.g. 2022-08-26`)
    .refine((s) => {
      const d = new Date(`${s}T00:00:00Z`);
      return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === s;
    }, `${field} is not a calendar date`);

/**
 * Money is whole rupees. A JS number holds integers exactly up to 2^53 (about 9 × 10^15), far above any
 * ceiling here (PKR 70 bn = 7 × 10^10), so `number` is safe as long as every amount is a safe integer.
 */
export const pkr = (field: string) =>
  z
    .number({ error: `${field} is an amount in whole rupees (PKR), e.g. 25000` })
    .refine(Number.isSafeInteger, `${field} must be whole rupees (PKR) with no decimals or separators, e.g. 25000`)
    .refine((n) => n >= 0, `${field} cannot be negative`);

const positivePkr = (field: string) => pkr(field).refine((n) => n > 0, `${field} must be more than 0`);

const percent = (field: string) =>
  z
    .number({ error: `${field} is a whole percentage from 1 to 100, e.g. 60` })
    .int(`${field} is a whole percentage from 1 to 100 (no decimals)`)
    .min(1, `${field} must be at least 1`)
    .max(100, `${field} cannot be more than 100`);

const areaLevel = z.union([z.literal(1), z.literal(2), z.literal(3)], {
  error: 'within_level is 1 (province), 2 (district) or 3 (tehsil)',
});

/** OCHA P-codes: PK country, PK7 province, PK701 district, PK70101 tehsil; a prefix selects everything below it. */
const areaCode = z
  .string({ error: 'an area code is an OCHA P-code such as PK7 (Sindh) or PK701 (Badin)' })
  .regex(/^PK\d*$/, 'an area code is an OCHA P-code such as PK7 (Sindh) or PK701 (Badin)');

/** `scope: anywhere` or `scope: {area_codes: [PK7, PK205]}`; parsed into 'anywhere' or the list of prefixes. */
const scopeSchema = z.preprocess(
  (v) => (v === 'anywhere' ? { anywhere: true } : v),
  z
    .strictObject(
      {
        anywhere: z.literal(true).optional(),
        area_codes: z.array(areaCode).min(1, 'area_codes needs at least one code, or write `scope: anywhere`').optional(),
      },
      { error: 'scope is `anywhere` or `area_codes: [PK7, PK205]`' },
    )
    .refine((s) => (s.anywhere ? 1 : 0) + (s.area_codes ? 1 : 0) === 1, 'scope is either `anywhere` or a list of area_codes, not both')
    .transform((s): 'anywhere' | string[] => (s.anywhere ? 'anywhere' : s.area_codes!)),
);

const stageSchema = (stage: Stage) =>
  z.strictObject(
    {
      note: z.string().optional(),
      when: whenSchema,
    },
    { error: `${stage} is a mapping with a \`when:\` holding its conditions` },
  );

const flag = z.enum(HOUSEHOLD_FLAGS, { error: `a flag is one of: ${HOUSEHOLD_FLAGS.join(', ')}` });
const names = (field: string, example: string) =>
  z.array(z.string().min(1, `${field} holds names, e.g. ${example}`), { error: `${field} is a list, e.g. [${example}]` });

const coverageTier = z.strictObject(
  {
    stage: z.enum(STAGES, { error: `stage is one of: ${STAGES.join(', ')}` }).optional(),
    severity_at_least: z.enum(SEVERITIES, { error: `severity_at_least is one of: ${SEVERITIES.join(', ')}` }).optional(),
    poorest_percent: percent('poorest_percent'),
  },
  { error: 'a coverage tier is {severity_at_least?, stage?, poorest_percent}' },
);

const eligibilitySchema = z
  .strictObject(
    {
      /** Registries the households come from (NSER, PSER, ...). */
      sources: names('sources', 'NSER').min(1, 'name at least one registry in sources, e.g. [NSER]'),
      /** NSER PMT score 0-100; lower is poorer. */
      pmt_at_most: z
        .number({ error: 'pmt_at_most is a PMT score from 0 to 100, e.g. 32' })
        .min(0, 'pmt_at_most is a PMT score from 0 to 100')
        .max(100, 'pmt_at_most is a PMT score from 0 to 100')
        .optional(),
      poorest_percent: z
        .strictObject(
          { percent: percent('poorest_percent.percent'), within_level: areaLevel.default(3) },
          { error: 'poorest_percent is {percent: 60, within_level: 3}' },
        )
        .optional(),
      /** Coverage that grows with the stage or the severity (Kenya HSNP style); replaces poorest_percent. */
      coverage: z
        .strictObject(
          { within_level: areaLevel.default(3), tiers: z.array(coverageTier).min(1, 'coverage needs at least one tier') },
          { error: 'coverage is {within_level: 3, tiers: [{severity_at_least: Moderate, poorest_percent: 25}, ...]}' },
        )
        .optional(),
      flags_all: z.array(flag).optional(),
      flags_any: z.array(flag).min(1, 'flags_any needs at least one flag').optional(),
      /** The household must be enrolled in every programme listed. */
      enrolment_required: names('enrolment_required', 'kafaalat').optional(),
      /** The household must be enrolled in none of the programmes listed. */
      enrolment_excluded: names('enrolment_excluded', 'kafaalat').optional(),
    },
    { error: 'eligibility is a mapping, e.g. {sources: [NSER], pmt_at_most: 32}' },
  )
  .refine((e) => !(e.poorest_percent && e.coverage), {
    message: 'use poorest_percent (one share) or coverage (shares by stage or severity), not both',
    path: ['coverage'],
  });

const benefitSchema = z
  .strictObject(
    {
      flat_pkr: positivePkr('flat_pkr').optional(),
      per_member_pkr: positivePkr('per_member_pkr').optional(),
      cap_pkr: positivePkr('cap_pkr').optional(),
      multiple_of_regular: z
        .strictObject(
          {
            regular_pkr: positivePkr('regular_pkr'),
            multiple: z.number({ error: 'multiple is how many regular payments, e.g. 1 or 1.5' }).positive('multiple must be more than 0'),
          },
          { error: 'multiple_of_regular is {regular_pkr: 13500, multiple: 1}' },
        )
        .optional(),
      instalments: z
        .number({ error: 'instalments is a whole number of payments, e.g. 1' })
        .int('instalments is a whole number')
        .min(1, 'instalments is at least 1')
        .max(12, 'instalments is at most 12')
        .default(1),
    },
    { error: 'benefit is a mapping, e.g. {flat_pkr: 25000}' },
  )
  .superRefine((b, ctx) => {
    const kinds = [b.flat_pkr, b.per_member_pkr, b.multiple_of_regular].filter((x) => x !== undefined).length;
    if (kinds !== 1)
      ctx.addIssue({ code: 'custom', message: 'benefit needs exactly one of flat_pkr, per_member_pkr (with cap_pkr) or multiple_of_regular' });
    if (b.cap_pkr !== undefined && b.per_member_pkr === undefined)
      ctx.addIssue({ code: 'custom', path: ['cap_pkr'], message: 'cap_pkr only applies with per_member_pkr' });
  });

/**
 * Who pays. `jurisdiction` is `federal`, a province P-code (PK1..PK7), `donor`, or `household-province`:
 * the last means "the province the household lives in", so one rule can be co-financed by whichever
 * province each household belongs to (funding.ts resolves it per household).
 */
const payerSchema = z.strictObject(
  {
    agency: z.string({ error: 'agency names who pays, e.g. BISP' }).min(1, 'agency names who pays, e.g. BISP'),
    jurisdiction: z
      .string({ error: 'jurisdiction is federal, household-province, donor or a province code PK1..PK7' })
      .regex(/^(federal|household-province|donor|PK[1-7])$/, 'jurisdiction is federal, household-province, donor or a province code PK1..PK7'),
    share_bp: z
      .number({ error: 'share_bp is the share in basis points: 10000 = 100 %, 5000 = 50 %' })
      .int('share_bp is a whole number of basis points (10000 = 100 %)')
      .min(1, 'share_bp must be more than 0')
      .max(10000, 'share_bp cannot be more than 10000 (100 %)'),
  },
  { error: 'a payer is {agency, jurisdiction, share_bp}' },
);

const fundingSchema = z
  .strictObject(
    {
      ceiling_pkr: positivePkr('ceiling_pkr'),
      payers: z.array(payerSchema, { error: 'payers is a list of {agency, jurisdiction, share_bp}' }).min(1, 'name at least one payer'),
    },
    { error: 'funding is {ceiling_pkr, payers: [...]}' },
  )
  .superRefine((f, ctx) => {
    const sum = f.payers.reduce((s, p) => s + p.share_bp, 0);
    if (sum !== 10000)
      ctx.addIssue({
        code: 'custom',
        path: ['payers'],
        message: `payer shares add up to ${sum} basis points (${sum / 100} %); they must add up to exactly 10000 (100 %)`,
      });
  });

export const APPROVAL_JURISDICTIONS = ['payer', 'federal', 'province'] as const;

/** Approval tiers, smallest first: a batch needs the roles of the first tier whose up_to_pkr covers it. */
const approvalsSchema = z
  .array(
    z.strictObject(
      {
        up_to_pkr: positivePkr('up_to_pkr').optional(),
        roles: z.array(z.string().min(1), { error: 'roles is a list, e.g. [program_manager, finance_officer]' }).min(1, 'name at least one role'),
        jurisdiction: z.enum(APPROVAL_JURISDICTIONS, { error: `jurisdiction is one of: ${APPROVAL_JURISDICTIONS.join(', ')}` }),
      },
      { error: 'an approval tier is {up_to_pkr?, roles, jurisdiction}' },
    ),
    { error: 'approvals is a list of tiers' },
  )
  .min(1, 'name at least one approval tier')
  .superRefine((tiers, ctx) => {
    tiers.forEach((t, i) => {
      const last = i === tiers.length - 1;
      if (!last && t.up_to_pkr === undefined)
        ctx.addIssue({ code: 'custom', path: [i, 'up_to_pkr'], message: 'only the last tier may leave out up_to_pkr' });
      if (last && t.up_to_pkr !== undefined)
        ctx.addIssue({ code: 'custom', path: [i, 'up_to_pkr'], message: 'the last tier has no up_to_pkr, so that every amount has someone to approve it' });
      const prev = tiers[i - 1]?.up_to_pkr;
      if (prev !== undefined && t.up_to_pkr !== undefined && t.up_to_pkr <= prev)
        ctx.addIssue({ code: 'custom', path: [i, 'up_to_pkr'], message: 'tiers go from the smallest up_to_pkr to the largest' });
    });
  });

/** Sectors of a plan action, as humanitarian clusters name them (cash, shelter, food, health, WASH, ...). */
export const PLAN_SECTORS = [
  'cash',
  'shelter',
  'food',
  'health',
  'wash',
  'nutrition',
  'protection',
  'education',
  'logistics',
  'registration',
  'communication',
  'coordination',
  'early_recovery',
] as const;
export type PlanSector = (typeof PLAN_SECTORS)[number];

/** When in the response an action belongs: readiness (before), activation (as money moves), response (after). */
export const PLAN_STAGES = ['readiness', 'activation', 'response'] as const;
export type PlanStage = (typeof PLAN_STAGES)[number];

/** How many copies an action makes when its stage fires: one for the incident, one per province or district it covers. */
export const ACTION_SPREADS = ['incident', 'province', 'district'] as const;

const count = (field: string) =>
  z
    .number({ error: `${field} is a whole number, e.g. 5000` })
    .int(`${field} is a whole number`)
    .min(0, `${field} cannot be negative`);

/**
 * The action part of a pre-agreed trigger: what each agency does when a stage fires, by when (hours after
 * the stage fired), and with whose money. When the stage fires, its actions are copied into the incident's
 * plan, frozen with the rule version. `{area}` in the title or the lead agency is the name of the province or
 * district the copy is for (with `per: province` or `per: district`).
 */
const ruleActionSchema = z.strictObject(
  {
    key: z
      .string({ error: 'key names the action in this file, e.g. notify-tehsils' })
      .regex(/^[a-z0-9]+(-[a-z0-9]+)*$/, 'key is lower-case words joined by hyphens, e.g. notify-tehsils'),
    title: z.string({ error: 'title says what is done, e.g. PDMA notifies the calamity-hit tehsils' }).min(3, 'title is too short'),
    sector: z.enum(PLAN_SECTORS, { error: `sector is one of: ${PLAN_SECTORS.join(', ')}` }),
    stage: z.enum(PLAN_STAGES, { error: `stage is one of: ${PLAN_STAGES.join(', ')}` }).default('activation'),
    lead: z.string({ error: 'lead names the agency that does it, e.g. BISP or PDMA {area}' }).min(2, 'lead names the agency that does it, e.g. BISP'),
    supporting: names('supporting', 'NDMA').default([]),
    per: z.enum(ACTION_SPREADS, { error: `per is one of: ${ACTION_SPREADS.join(', ')}` }).default('incident'),
    due_hours: z
      .number({ error: 'due_hours is the hours after the stage fires by which it is done, e.g. 48 (T+48 h)' })
      .int('due_hours is a whole number of hours')
      .min(0, 'due_hours cannot be negative: an action is not due before its trigger')
      .max(8760, 'due_hours is at most 8760 (a year)'),
    targets: z
      .strictObject({ households: count('targets.households').optional(), people: count('targets.people').optional() }, { error: 'targets is {households?, people?}' })
      .optional(),
    budget: z
      .array(z.strictObject({ funder: z.string().min(1, 'funder names who pays, e.g. NDMA'), pkr: pkr('budget.pkr') }, { error: 'a budget line is {funder, pkr}' }), {
        error: 'budget is a list of {funder, pkr}',
      })
      .default([]),
    note: z.string().optional(),
  },
  { error: 'an action is {key, title, sector, lead, due_hours, ...}' },
);

export const ruleSchema = z
  .strictObject(
    {
      id: z
        .string({ error: 'id is the rule name in kebab-case, e.g. flood-relief-2022' })
        .regex(/^[a-z0-9]+(-[a-z0-9]+)*$/, 'id is lower-case words joined by hyphens, e.g. flood-relief-2022'),
      version: z.string({ error: 'version is a label in quotes, e.g. version: "1" or "2022-08"' }).min(1, 'version is empty'),
      title: z.string({ error: 'title is a sentence saying what the rule does' }).min(3, 'title is too short'),
      status: z.enum(['precedent', 'illustrative'], {
        error: 'status is precedent (it was done before) or illustrative (an example not yet agreed)',
      }),
      description: z.string().optional(),
      references: z.array(z.string()).optional(),
      agreed_by: names('agreed_by', 'NDMA, BISP').min(1, 'name at least one agency in agreed_by'),
      agreed_on: isoDate('agreed_on'),
      valid_from: isoDate('valid_from'),
      valid_to: isoDate('valid_to').optional(),
      programme: z
        .string({ error: 'programme is the paying programme, e.g. BISP, SSPA, PSPA' })
        .regex(/^[A-Z][A-Z0-9_-]*$/, 'programme is the programme short name in capitals, e.g. BISP, SSPA, PSPA'),
      purpose: z
        .string({ error: 'purpose names what the money is for, e.g. flood_relief' })
        .regex(/^[a-z]+(_[a-z0-9]+)*$/, 'purpose is lower_case words joined by underscores, e.g. flood_relief'),
      hazards: z
        .array(z.enum(HAZARDS, { error: `a hazard is one of: ${HAZARDS.join(', ')}` }), { error: 'hazards is a list, e.g. [flood, flash_flood]' })
        .min(1, 'name at least one hazard'),
      subject: z.enum(['alert', 'event'], { error: 'subject is alert (a warning fires it) or event (a declared event fires it)' }),
      requires_declaration: z.boolean({ error: 'requires_declaration is true or false' }).default(false),
      scope: scopeSchema,
      stages: z.strictObject(
        {
          readiness: stageSchema('readiness').optional(),
          activation: stageSchema('activation'),
          stop: stageSchema('stop').optional(),
        },
        { error: 'stages holds activation (required), and optionally readiness and stop' },
      ),
      eligibility: eligibilitySchema,
      benefit: benefitSchema,
      net_off: z
        .strictObject({ same_event_and_purpose: z.boolean() }, { error: 'net_off is {same_event_and_purpose: true}' })
        .default({ same_event_and_purpose: true }),
      funding: fundingSchema,
      approvals: approvalsSchema,
      actions: z.array(ruleActionSchema, { error: 'actions is a list of {key, title, sector, lead, due_hours, ...}' }).optional(),
    },
    { error: 'a rule file is a YAML mapping with id, version, title, ...' },
  )
  .superRefine((r, ctx) => {
    if (r.requires_declaration && r.subject !== 'event')
      ctx.addIssue({ code: 'custom', path: ['subject'], message: 'requires_declaration: true needs subject: event (a DMA declaration is an event)' });
    if (r.valid_to !== undefined && r.valid_to < r.valid_from)
      ctx.addIssue({ code: 'custom', path: ['valid_to'], message: 'valid_to is before valid_from' });
    // Activation and stop move money: a Test, Exercise, Draft or System message must never do that.
    for (const stage of ['activation', 'stop'] as const) {
      const when = r.stages[stage]?.when;
      const bad = when ? statusesNamed(when).filter((s) => s !== 'Actual') : [];
      if (bad.length > 0)
        ctx.addIssue({
          code: 'custom',
          path: ['stages', stage, 'when'],
          message: `${stage} may only act on Actual messages; ${[...new Set(bad)].join(', ')} may appear under readiness (for drills)`,
        });
    }
    const keys = new Set<string>();
    (r.actions ?? []).forEach((a, i) => {
      if (keys.has(a.key)) ctx.addIssue({ code: 'custom', path: ['actions', i, 'key'], message: `key ${a.key} is used twice; each action has its own key` });
      keys.add(a.key);
      if (a.stage === 'readiness' && !r.stages.readiness)
        ctx.addIssue({ code: 'custom', path: ['actions', i, 'stage'], message: 'stage readiness needs a readiness stage under stages; use activation or response' });
      for (const field of ['title', 'lead'] as const)
        if (a.per === 'incident' && a[field].includes('{area}'))
          ctx.addIssue({ code: 'custom', path: ['actions', i, field], message: '{area} names the province or district of a copy: add per: province or per: district' });
    });
  });

export type Rule = z.output<typeof ruleSchema>;
export type RuleStage = Rule['stages']['activation'];
export type Eligibility = Rule['eligibility'];
export type Benefit = Rule['benefit'];
export type Funding = Rule['funding'];
export type Payer = Funding['payers'][number];
export type ApprovalTier = Rule['approvals'][number];
export type RuleAction = NonNullable<Rule['actions']>[number];
export type { Condition };

export interface RuleIssue {
  /** Dotted path into the file, e.g. `funding.payers` or `stages.activation.when.any.0`. */
  path: string;
  message: string;
}

/** A rule file that cannot be used, with every problem found (not only the first). */
export class RuleError extends Error {
  readonly issues: RuleIssue[];
  constructor(issues: RuleIssue[]) {
    super(`the rule file has ${issues.length} problem${issues.length === 1 ? '' : 's'}:\n${issues.map((i) => `  - ${i.path}: ${i.message}`).join('\n')}`);
    this.name = 'RuleError';
    this.issues = issues;
  }
}

function issueText(issue: z.core.$ZodIssue): string {
  // A required field left out: say so first, then how to write it.
  if ((issue.code === 'invalid_type' || issue.code === 'invalid_value') && issue.input === undefined) return `missing: ${issue.message}`;
  if (issue.code === 'unrecognized_keys')
    return `unknown field${issue.keys.length === 1 ? '' : 's'} ${issue.keys.join(', ')}: check the spelling against the rule format`;
  // A union that matched no branch: the branches' own messages are more useful than "invalid input".
  if (issue.code === 'invalid_union' && issue.errors.length > 0) {
    const first = issue.errors.flat()[0];
    if (first) return first.message;
  }
  return issue.message;
}

/** Parse a rule file's text. Throws RuleError naming each bad path; YAML syntax errors carry their line. */
export function parseRule(yamlText: string): Rule {
  const doc = parseDocument(yamlText, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new RuleError(
      doc.errors.map((e) => ({ path: e.linePos?.[0] ? `line ${e.linePos[0].line}` : '(file)', message: e.message.split('\n')[0]!.replace(/:$/, '') })),
    );
  }
  const result = ruleSchema.safeParse(doc.toJS(), { reportInput: true });
  if (!result.success) {
    throw new RuleError(
      result.error.issues.map((i) => ({ path: i.path.length > 0 ? i.path.map(String).join('.') : '(top level)', message: issueText(i) })),
    );
  }
  return result.data;
}
