import type { Readable } from 'node:stream';
import { recordAuditAlone } from '../audit/service.ts';
import type { Ctx } from '../context.ts';
import type { Database } from '../db/client.ts';
import { importRegistry, type ImportOptions, type ImportReport } from '../registry/import.ts';

export interface HouseholdImport {
  /** The database `ctx.db` belongs to: the import copies through the driver itself, around the ORM. */
  database: Database;
  source: Readable;
  /** What the file is called, for the audit trail (a path, or `synthetic seed 1`). */
  name: string;
}

/**
 * Imports a registry file and records who imported what: the file's name, sha256 and size, and what came
 * of its rows. A file refused at its header is recorded too, with nothing imported.
 */
export async function importHouseholds(ctx: Ctx, input: HouseholdImport, options: ImportOptions = {}): Promise<ImportReport> {
  const report = await importRegistry(input.database, input.source, options);
  await recordAuditAlone(ctx, {
    action: 'registry.import',
    subject: `registry-file:${report.sha256}`,
    jurisdiction: 'PK',
    summary: {
      file: input.name,
      sha256: report.sha256,
      bytes: report.bytes,
      rows: report.rows,
      added: report.added,
      updated: report.updated,
      unchanged: report.unchanged,
      repeated: report.repeated,
      refused: report.refused < 0 ? 'header refused' : report.refused,
      unlocated: report.unlocated,
      firstLoad: report.firstLoad,
    },
  });
  return report;
}
