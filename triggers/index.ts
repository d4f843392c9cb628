/** The pure core of pre-agreed triggers: what the server imports. No I/O, no clock (`now` is passed in). */
export * from './subject.ts';
export { ALERT_STATUSES, CONDITION_KEYS, METRIC_OPS, type Condition, type MetricOp } from './condition-schema.ts';
export {
  AREA_LEVELS,
  HOUSEHOLD_FLAGS,
  STAGES,
  ACTION_SPREADS,
  PLAN_SECTORS,
  PLAN_STAGES,
  RuleError,
  parseRule,
  ruleSchema,
  type ApprovalTier,
  type AreaLevel,
  type Benefit,
  type Eligibility,
  type Funding,
  type HouseholdFlag,
  type Payer,
  type PlanSector,
  type PlanStage,
  type Rule,
  type RuleAction,
  type RuleIssue,
  type Stage,
} from './rule-schema.ts';
export { evaluate, type Decision, type Reason, type StageResult } from './evaluate.ts';
export { coveragePercent, percentileCutoffs, selectEligible, type Cutoff, type EligibilityContext, type EligibilityResult, type Household } from './eligibility.ts';
export { benefitAmount, benefitInstalments, splitInstalments } from './benefit.ts';
export { netOff } from './net-off.ts';
export { dedupe, type CandidateLine, type DedupResult, type ExistingPayment, type PaidBy } from './dedup.ts';
export { applyCeiling, fitBudgets, resolvePayers, splitByShares, type CeilingResult, type FitResult, type PayerShare } from './funding.ts';
export { approvalTier } from './approvals.ts';
export {
  caseload,
  type AreaTotal,
  type CaseloadHouseholds,
  type CaseloadLine,
  type CaseloadResult,
  type CaseloadTotals,
  type Committed,
  type LinePayer,
  type PayerTotal,
} from './caseload.ts';
export { TriggerInputError } from './input-error.ts';
export { pkrText } from './money-text.ts';
