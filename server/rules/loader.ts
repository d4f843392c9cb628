import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { and, eq, sql } from 'drizzle-orm';
import { parseRule, RuleError, type Rule } from '../../triggers/index.ts';
import { recordAudit } from '../audit/service.ts';
import { withTransaction, type Ctx } from '../context.ts';
import { rules, ruleVersions } from '../db/schema/index.ts';
import { ValidationError, type FieldProblem } from '../errors.ts';

/** The rules shipped with Madad, beside the pure core that reads them. */
export const SHIPPED_RULES_DIR = fileURLToPath(new URL('../../triggers/rules/', import.meta.url));

export interface LoadedRule {
  id: string;
  version: string;
  versionId: string;
  file: string;
  /** new: a content never seen; reinstated: an older content is current again; unchanged: already current. */
  outcome: 'new' | 'reinstated' | 'unchanged';
}

/** One or more rule files cannot be used; every problem is named by file and path, and nothing was loaded. */
export class RuleLoadError extends ValidationError {
  constructor(fields: FieldProblem[]) {
    const files = [...new Set(fields.map((f) => f.field.split(':')[0]))];
    super(
      `No rules were loaded: ${files.length === 1 ? `${files[0]} is` : `${files.length} files are`} refused.\n${fields.map((f) => `  ${f.field}: ${f.message}`).join('\n')}`,
      fields,
    );
  }
}

interface ReadRule {
  file: string;
  text: string;
  hash: string;
  rule: Rule;
}

/** Reads and parses every `*.yaml` / `*.yml` in `dir`; throws RuleLoadError listing every problem of every file. */
export function readRuleDir(dir: string): ReadRule[] {
  let names: string[];
  try {
    if (!statSync(dir).isDirectory()) throw new Error('not a folder');
    names = readdirSync(dir).filter((n) => /\.ya?ml$/i.test(n)).sort();
  } catch {
    throw new RuleLoadError([{ field: dir, message: 'no such folder of rule files' }]);
  }
  const problems: FieldProblem[] = [];
  const read: ReadRule[] = [];
  for (const file of names) {
    const text = readFileSync(path.join(dir, file), 'utf8');
    try {
      read.push({ file, text, hash: createHash('sha256').update(text).digest('hex'), rule: parseRule(text) });
    } catch (err) {
      if (err instanceof RuleError) for (const i of err.issues) problems.push({ field: `${file}: ${i.path || '(file)'}`, message: i.message });
      else problems.push({ field: `${file}: (file)`, message: err instanceof Error ? err.message : String(err) });
    }
  }
  const seen = new Map<string, string>();
  for (const r of read) {
    const other = seen.get(r.rule.id);
    if (other) problems.push({ field: `${r.file}: id`, message: `rule id ${r.rule.id} is already used by ${other}; each rule lives in one file` });
    seen.set(r.rule.id, r.file);
  }
  if (problems.length) throw new RuleLoadError(problems);
  return read;
}

/**
 * Loads the rule files of `dir` into the database in one transaction: a rule row per id, a version row per
 * distinct file content (sha256), and the rule's current version set to the file as it is now. Loading the
 * same files again changes nothing; a changed file adds a version, and evaluations and activations keep
 * pointing at the version that made them. Rules whose file is gone stay as they were (retiring a signed
 * rule is a decision, not a side effect of a missing file). Any refused file stops the load before a write.
 */
export async function loadRules(ctx: Ctx, dir: string): Promise<LoadedRule[]> {
  const read = readRuleDir(dir);
  return withTransaction(ctx, async (t) => {
    const { tx, now } = t;
    // Two processes starting at once load in turn; the second finds every version already there.
    await tx.execute(sql`select pg_advisory_xact_lock(hashtext('rules:load'))`);
    const out: LoadedRule[] = [];
    for (const { file, text, hash, rule } of read) {
      await tx
        .insert(rules)
        .values({ id: rule.id, title: rule.title, updatedAt: now })
        .onConflictDoNothing({ target: rules.id });
      const [current] = await tx.select({ currentVersionId: rules.currentVersionId }).from(rules).where(eq(rules.id, rule.id));
      const [existing] = await tx
        .select({ id: ruleVersions.id })
        .from(ruleVersions)
        .where(and(eq(ruleVersions.ruleId, rule.id), eq(ruleVersions.contentHash, hash)));
      let versionId = existing?.id;
      let outcome: LoadedRule['outcome'] = 'unchanged';
      if (!versionId) {
        const [inserted] = await tx
          .insert(ruleVersions)
          .values({ ruleId: rule.id, contentHash: hash, versionLabel: rule.version, yaml: text, parsed: rule, sourceFile: file, loadedAt: now })
          .returning({ id: ruleVersions.id });
        versionId = inserted!.id;
        outcome = 'new';
      } else if (current?.currentVersionId !== versionId) outcome = 'reinstated';
      if (outcome !== 'unchanged') {
        await tx.update(rules).set({ title: rule.title, currentVersionId: versionId, updatedAt: now }).where(eq(rules.id, rule.id));
        await recordAudit(tx, t, {
          action: outcome === 'new' ? 'rule.version_loaded' : 'rule.version_reinstated',
          subject: `rule:${rule.id}`,
          jurisdiction: 'PK',
          summary: {
            ruleId: rule.id,
            version: rule.version,
            versionId,
            contentHash: hash,
            file,
            previousVersionId: current?.currentVersionId ?? null,
            status: rule.status,
            agreedBy: rule.agreed_by,
          },
        });
      }
      out.push({ id: rule.id, version: rule.version, versionId, file, outcome });
    }
    return out;
  });
}
