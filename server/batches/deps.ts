import type { Database } from '../db/client.ts';
import type { RegistryCache } from '../registry/registry-index.ts';
import { DEFAULT_APPROVAL_POLICY, type ApprovalPolicy } from './approvals.ts';
import { resolveDedupKey, type DedupKey } from './dedup-key.ts';

/** What the batch verbs need besides the database: the registry in memory, the dedup key, the approval policy. */
export interface BatchDeps {
  registry: RegistryCache;
  /** Resolved on first use, so a server without a key still serves everything but batch builds. */
  dedupKey: () => DedupKey;
  approvals: ApprovalPolicy;
}

/** The batch dependencies of an open database, from its settings (MADAD_DEDUP_KEY, MADAD_APPROVAL_HOURS). */
export function batchDeps(database: Pick<Database, 'driver' | 'location'>, registry: RegistryCache, settings: { MADAD_DEDUP_KEY?: string | undefined; MADAD_APPROVAL_HOURS?: number | undefined }): BatchDeps {
  let key: DedupKey | undefined;
  return {
    registry,
    dedupKey: () =>
      (key ??= resolveDedupKey({
        driver: database.driver,
        ...(settings.MADAD_DEDUP_KEY ? { configured: settings.MADAD_DEDUP_KEY } : {}),
        ...(database.driver === 'pglite' && database.location !== 'memory' ? { dataDir: database.location } : {}),
      })),
    approvals: { ...DEFAULT_APPROVAL_POLICY, ...(settings.MADAD_APPROVAL_HOURS ? { stepHours: settings.MADAD_APPROVAL_HOURS } : {}) },
  };
}
