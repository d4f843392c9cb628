import { Gauge, type Registry } from 'prom-client';
import type { Db } from '../db/client.ts';
import { outboxCounts } from './drain.ts';

/** Outbox depth on every scrape: rows waiting, retrying and given up (alert on `madad_outbox_failed` > 0). */
export function outboxMetrics(registry: Registry, db: Db, clock: () => Date): void {
  const gauge = new Gauge({
    name: 'madad_outbox_rows',
    help: 'Outbox rows not yet handled, by state: pending (incl. retrying), retrying, late (first try overdue by a minute), failed (given up)',
    labelNames: ['state'] as const,
    registers: [registry],
    async collect() {
      const s = await outboxCounts(db, clock());
      this.set({ state: 'pending' }, s.pending);
      this.set({ state: 'retrying' }, s.retrying);
      this.set({ state: 'late' }, s.late);
      this.set({ state: 'failed' }, s.failed);
    },
  });
  void gauge;
}
