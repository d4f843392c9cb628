import { eq } from 'drizzle-orm';
import type { Db } from './db/client.ts';
import { settings } from './db/schema/index.ts';

/** The id of this installation, made on first start and kept in the database: a second start reuses it. */
export async function ensureInstallId(db: Db): Promise<{ installId: string; created: boolean }> {
  const inserted = await db
    .insert(settings)
    .values({ key: 'install_id', value: crypto.randomUUID() })
    .onConflictDoNothing()
    .returning({ value: settings.value });
  if (inserted[0]) return { installId: String(inserted[0].value), created: true };
  const [row] = await db.select({ value: settings.value }).from(settings).where(eq(settings.key, 'install_id'));
  return { installId: String(row?.value), created: false };
}
