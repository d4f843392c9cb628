import type { Readable } from 'node:stream';
import { recordAuditAlone } from '../audit/service.ts';
import type { Ctx } from '../context.ts';
import type { Database } from '../db/client.ts';
import { ConflictError, ValidationError } from '../errors.ts';
import { importHouseholds } from '../households/import.ts';
import { CsvReader } from '../registry/csv.ts';
import type { ImportOptions, ImportReport } from '../registry/import.ts';
import { REGISTRY_COLUMNS } from '../registry/row.ts';
import { agreementInForce, shareOf } from './agreements.ts';
import { Problems } from './received.ts';

/** The registry columns as an agreement's fields name them (`source` is the share itself). */
const FIELD_OF: Partial<Record<(typeof REGISTRY_COLUMNS)[number], string>> = Object.fromEntries(REGISTRY_COLUMNS.filter((c) => c !== 'source').map((c) => [c, c]));
/** What the registry import cannot do without. */
const NEEDED = ['household_id', 'cnic', 'head_name', 'lat', 'lon', 'household_size', 'pmt_score'];

/**
 * Loads the other party's registry (e.g. Punjab's PSER) as its own source through the registry import,
 * under an identified agreement in force that shares it with the caller's agency. The file is read once
 * first: every row must be of the shared source, and a column the agreement does not share must be empty;
 * any problem refuses the file with row, column and reason before anything is imported.
 */
export async function importSharedRegistry(
  ctx: Ctx,
  input: { agreementId: string; source: string; database: Database; file: () => Readable; name: string },
  options: ImportOptions = {},
): Promise<ImportReport> {
  const a = await agreementInForce(ctx.db, ctx, input.agreementId, 'import a registry under it');
  const share = shareOf(a, input.source);
  if (ctx.actor.kind !== 'system' && ctx.actor.agency !== share.to) throw new ConflictError(`${share.source} is shared with ${share.to} under agreement ${a.id}, not with ${ctx.actor.agency}.`);
  if (a.linkage !== 'identified')
    throw new ConflictError(`Agreement ${a.id} is pseudonymous: it carries linkage keys, never CNICs, so ${share.source} cannot be loaded as households under it (compare exports by linkage key instead).`);
  const missing = NEEDED.filter((f) => !(share.fields as string[]).includes(f));
  if (missing.length) throw new ConflictError(`Agreement ${a.id} does not share ${missing.join(', ')} of ${share.source}, which a registry import needs.`);

  const problems = new Problems();
  const reader = new CsvReader();
  let at: number[] = [];
  let first = true;
  const check = (fields: string[], line: number) => {
    if (first) {
      first = false;
      at = REGISTRY_COLUMNS.map((c) => fields.findIndex((h) => h.trim() === c));
      return;
    }
    REGISTRY_COLUMNS.forEach((c, i) => {
      const v = at[i]! >= 0 ? (fields[at[i]!] ?? '').trim() : '';
      if (c === 'source') {
        if (v !== share.source) problems.add(line, 'source', `this row is of ${v || '(no source)'}; the agreement shares ${share.source}`);
      } else if (v !== '' && !(share.fields as string[]).includes(FIELD_OF[c]!)) problems.add(line, c, `not shared under agreement ${a.id}: the column must be empty`);
    });
  };
  for await (const chunk of input.file()) reader.read(typeof chunk === 'string' ? chunk : (chunk as Buffer).toString('utf8'), check);
  reader.finish(check);
  if (problems.count) throw new ValidationError(`The ${share.source} file has ${problems.count} problem${problems.count === 1 ? '' : 's'}; nothing was imported.`, problems.list);

  const report = await importHouseholds(ctx, { database: input.database, source: input.file(), name: input.name }, options);
  await recordAuditAlone(ctx, {
    action: 'exchange.registry_imported',
    subject: `agreement:${a.id}`,
    jurisdiction: a.jurisdiction,
    summary: { agreement: a.id, source: share.source, from: share.from, sha256: report.sha256, rows: report.rows, added: report.added, updated: report.updated, refused: report.refused },
  });
  return report;
}
