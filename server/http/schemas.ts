import { z } from '@hono/zod-openapi';

/** Timestamps leave the API as ISO 8601 strings in UTC; the web shows them in Pakistan time. */
export const isoDate = z.iso.datetime().openapi({ example: '2026-08-26T04:00:00.000Z' });

export const iso = (d: Date | null | undefined): string | null => (d ? d.toISOString() : null);

export const idParam = z.object({ id: z.uuid({ error: 'expected an id (UUID)' }) });

export const pageQuery = {
  page: z.coerce.number().int().min(1).default(1),
  pageSize: z.coerce.number().int().min(1).max(500).default(50),
};
