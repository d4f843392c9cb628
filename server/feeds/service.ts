import { asc, eq, lte } from 'drizzle-orm';
import { actorOf } from '../access/principal.ts';
import { recordAudit } from '../audit/service.ts';
import { withTransaction, type Ctx } from '../context.ts';
import { feeds } from '../db/schema/index.ts';
import { ConflictError, NotFoundError } from '../errors.ts';
import { feedSenders, parseEvery, type NewFeed } from './schema.ts';

export type Feed = typeof feeds.$inferSelect;

/**
 * Adds a feed, due at once: the next run of the poller fetches it. Feeds are national, audited as `PK`, and
 * publish over the whole country as the senders configured here (the poller gives them to the ingest).
 */
export async function addFeed(ctx: Ctx, input: NewFeed): Promise<Feed> {
  const url = new URL(input.url).toString();
  const everySeconds = parseEvery(input.every)!;
  const senders = feedSenders(input.format, input.senders);
  return withTransaction(ctx, async (t) => {
    const [created] = await t.tx
      .insert(feeds)
      .values({ url, format: input.format, everySeconds, senders, nextPollAt: ctx.now, createdBy: actorOf(ctx.actor), createdAt: ctx.now })
      .onConflictDoNothing({ target: feeds.url })
      .returning();
    if (!created) throw new ConflictError(`A feed with the URL ${url} already exists.`);
    await recordAudit(t.tx, t, {
      action: 'feed.create',
      subject: `feed:${created.id}`,
      jurisdiction: 'PK',
      summary: { after: { url, format: input.format, everySeconds, senders } },
    });
    return created;
  });
}

export function listFeeds(ctx: Ctx): Promise<Feed[]> {
  return ctx.db.select().from(feeds).orderBy(asc(feeds.createdAt), asc(feeds.url));
}

export async function getFeed(ctx: Ctx, id: string): Promise<Feed> {
  const [row] = await ctx.db.select().from(feeds).where(eq(feeds.id, id));
  if (!row) throw new NotFoundError(`No feed ${id}.`);
  return row;
}

/** Feeds whose next poll is due at `now`, the longest-waiting first. */
export function dueFeeds(ctx: Ctx): Promise<Feed[]> {
  return ctx.db.select().from(feeds).where(lte(feeds.nextPollAt, ctx.now)).orderBy(asc(feeds.nextPollAt));
}
