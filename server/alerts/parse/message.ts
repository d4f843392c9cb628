/** Runs one message's parser so that a bad message becomes a rejection and the rest of the body still parses. */
import { CERTAINTIES, SEVERITIES, URGENCIES, type AlertStatus, type Certainty, type Severity, type Urgency } from '../../../triggers/subject.ts';
import { MessageRejected } from './error.ts';
import type { MessageResult, MsgType, NormalizedAlert, Scope } from './types.ts';

export function runMessage(identifier: string | undefined, build: (warnings: string[]) => NormalizedAlert): MessageResult {
  const warnings: string[] = [];
  try {
    const alert = build(warnings);
    return { ok: true, alert: { ...alert, notes: warnings }, warnings };
  } catch (e) {
    if (e instanceof MessageRejected) return { ok: false, identifier: e.identifier ?? identifier, reason: e.reason };
    // An unexpected shape inside one message must not cost the others; the reason still names it.
    const detail = e instanceof Error ? e.message : String(e);
    return { ok: false, identifier, reason: `This message could not be read: ${detail}` };
  }
}

const STATUSES: readonly AlertStatus[] = ['Actual', 'Exercise', 'System', 'Test', 'Draft'];
const MSG_TYPES: readonly MsgType[] = ['Alert', 'Update', 'Cancel', 'Ack', 'Error'];
const SCOPES: readonly Scope[] = ['Public', 'Restricted', 'Private'];

/** The vocabulary value spelled as given, ignoring case; undefined when it is not one. */
function pick<T extends string>(values: readonly T[], text: string | undefined): T | undefined {
  const t = text?.trim().toLowerCase();
  return t ? values.find((v) => v.toLowerCase() === t) : undefined;
}

export const pickStatus = (t: string | undefined) => pick(STATUSES, t);
export const pickMsgType = (t: string | undefined) => pick(MSG_TYPES, t);
export const pickScope = (t: string | undefined) => pick(SCOPES, t);

/** CAP severity/urgency/certainty; a missing or unknown value is 'Unknown' (CAP's own word for it) with a warning. */
export function pickSeverity(t: string | undefined, warnings: string[]): Severity {
  return pickOrUnknown(SEVERITIES, t, 'severity', warnings);
}
export function pickUrgency(t: string | undefined, warnings: string[]): Urgency {
  return pickOrUnknown(URGENCIES, t, 'urgency', warnings);
}
export function pickCertainty(t: string | undefined, warnings: string[]): Certainty {
  // CAP 1.0 had "Very Likely"; CAP 1.1 §3.2.2 deprecates it and says to treat it as "Likely".
  if (t && /^very\s*likely$/i.test(t.trim())) {
    warnings.push('certainty "Very Likely" (CAP 1.0) is read as "Likely".');
    return 'Likely';
  }
  return pickOrUnknown(CERTAINTIES, t, 'certainty', warnings);
}

function pickOrUnknown<T extends string>(values: readonly T[], t: string | undefined, name: string, warnings: string[]): T {
  const v = pick(values, t);
  if (v) return v;
  if (t) warnings.push(`${name} "${t}" is not a CAP value; read as Unknown.`);
  return 'Unknown' as T;
}

export function requireText(value: string | undefined, field: string, identifier?: string): string {
  if (!value) throw new MessageRejected(`The message has no ${field}; it is required.`, identifier);
  return value;
}
