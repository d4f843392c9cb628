import { z } from '@hono/zod-openapi';
import { sendersSchema } from '../access/senders.ts';
import { iso, isoDate } from '../http/schemas.ts';

/** What a feed carries; stored for people and logs, while the parser sniffs each body anyway. */
export const FEED_FORMATS = ['cap-rss', 'cap-atom', 'gdacs-rss', 'gdacs-api', 'usgs'] as const;
export type FeedFormat = (typeof FEED_FORMATS)[number];

/** No feed is polled more often than this; GDACS and USGS publish every few minutes at most. */
export const MIN_EVERY_SECONDS = 30;
export const MAX_EVERY_SECONDS = 24 * 3600;

const UNIT_SECONDS = { s: 1, m: 60, h: 3600 } as const;
const EVERY = /^(\d{1,6})([smh])$/;

/** `30s` / `5m` / `1h` → seconds; undefined when the text is not such a duration. */
export function parseEvery(text: string): number | undefined {
  const m = EVERY.exec(text.trim());
  return m ? Number(m[1]) * UNIT_SECONDS[m[2] as keyof typeof UNIT_SECONDS] : undefined;
}

/** Seconds → the shortest of `1h`, `5m`, `45s` that says it exactly. */
export function formatEvery(seconds: number): string {
  if (seconds % 3600 === 0) return `${seconds / 3600}h`;
  if (seconds % 60 === 0) return `${seconds / 60}m`;
  return `${seconds}s`;
}

export const everySchema = z
  .string()
  .regex(EVERY, 'expected a duration such as 30s, 5m or 1h')
  .refine((t) => parseEvery(t)! >= MIN_EVERY_SECONDS, `expected at least ${MIN_EVERY_SECONDS}s`)
  .refine((t) => parseEvery(t)! <= MAX_EVERY_SECONDS, 'expected at most 24h')
  .openapi({ example: '5m' });

// Only http and https: a feed URL is fetched by the server, so file:, ftp: or data: must never reach fetch.
export const feedUrlSchema = z
  .url({ protocol: /^https?$/, error: 'expected an http:// or https:// URL' })
  .max(2000)
  .openapi({ example: 'https://www.gdacs.org/xml/rss.xml' });

/**
 * The sender each aggregator's messages carry, as its parser sets it (server/alerts/parse/gdacs.ts and
 * usgs.ts): a feed of that format publishes as it unless told otherwise. A CAP feed carries its
 * publishers' own senders, which only the person adding it knows.
 */
export const FORMAT_SENDERS: Partial<Record<FeedFormat, string[]>> = {
  'gdacs-rss': ['gdacs.org'],
  'gdacs-api': ['gdacs.org'],
  usgs: ['earthquake.usgs.gov'],
};

/** The senders a feed publishes as: those given, or its format's own. */
export const feedSenders = (format: FeedFormat, given: readonly string[] | undefined): string[] => [...new Set(given?.length ? given : (FORMAT_SENDERS[format] ?? []))];

export const newFeedSchema = z
  .object({
    url: feedUrlSchema,
    format: z.enum(FEED_FORMATS, { error: `expected one of ${FEED_FORMATS.join(', ')}` }),
    every: everySchema.default('5m'),
    senders: sendersSchema.optional().openapi({
      description: 'The CAP senders its messages may carry; a message from any other is refused. Required for CAP feeds; GDACS and USGS feeds default to gdacs.org and earthquake.usgs.gov',
      example: ['ffd@pmd.gov.pk'],
    }),
  })
  .superRefine((f, ctx) => {
    if (!f.senders?.length && !FORMAT_SENDERS[f.format]) {
      ctx.addIssue({ code: 'custom', path: ['senders'], message: `expected the senders a ${f.format} feed publishes as, e.g. ["ffd@pmd.gov.pk"]` });
    }
  })
  .openapi('NewFeed');
export type NewFeed = z.infer<typeof newFeedSchema>;

export const feedSchema = z
  .object({
    id: z.uuid(),
    url: z.string(),
    format: z.enum(FEED_FORMATS),
    every: z.string(),
    everySeconds: z.number().int(),
    /** `new` before its first poll, `ok` after a good one, `failing` while the last poll failed. */
    status: z.enum(['new', 'ok', 'failing']),
    lastPolledAt: isoDate.nullable(),
    lastSuccessAt: isoDate.nullable(),
    lastError: z.string().nullable(),
    lastErrorAt: isoDate.nullable(),
    consecutiveFailures: z.number().int(),
    nextPollAt: isoDate,
    itemsSeen: z.number().int(),
    senders: z.array(z.string()).openapi({ description: 'The CAP senders its messages may carry' }),
    createdBy: z.string(),
    createdAt: isoDate,
  })
  .openapi('Feed');
export type FeedView = z.infer<typeof feedSchema>;

export interface FeedRow {
  id: string;
  url: string;
  format: string;
  everySeconds: number;
  lastPolledAt: Date | null;
  lastSuccessAt: Date | null;
  lastError: string | null;
  lastErrorAt: Date | null;
  consecutiveFailures: number;
  nextPollAt: Date;
  itemsSeen: number;
  senders: string[];
  createdBy: string;
  createdAt: Date;
}

export const toFeed = (row: FeedRow): FeedView =>
  feedSchema.parse({
    id: row.id,
    url: row.url,
    format: row.format,
    every: formatEvery(row.everySeconds),
    everySeconds: row.everySeconds,
    status: row.consecutiveFailures > 0 ? 'failing' : row.lastSuccessAt ? 'ok' : 'new',
    lastPolledAt: iso(row.lastPolledAt),
    lastSuccessAt: iso(row.lastSuccessAt),
    lastError: row.lastError,
    lastErrorAt: iso(row.lastErrorAt),
    consecutiveFailures: row.consecutiveFailures,
    nextPollAt: iso(row.nextPollAt),
    itemsSeen: row.itemsSeen,
    senders: row.senders,
    createdBy: row.createdBy,
    createdAt: iso(row.createdAt),
  });
