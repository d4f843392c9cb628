import { z } from '@hono/zod-openapi';
import { HAZARDS } from '../../triggers/subject.ts';
import { iso, isoDate, pcodeSchema } from '../http/schemas.ts';
import { AREA_LEVELS, type AreaLevelName } from './resolve.ts';
import type { EventRow, StoredNotification } from './service.ts';

export const EVENT_STATUSES = ['draft', 'declared', 'closed'] as const;

const levelSchema = z.enum(Object.keys(AREA_LEVELS) as [AreaLevelName, ...AreaLevelName[]], {
  error: `expected one of ${Object.keys(AREA_LEVELS).join(', ')}`,
});

const areaText = z.string().trim().min(1, 'expected a P-code or an area name').max(200);

/** A notification line: "Dadu", "PK709", "Tehsil Mehar", or `{ area, level }` when the sender names the level. */
export const areaLineSchema = z
  .union([areaText, z.object({ area: areaText, level: levelSchema.optional() })])
  .openapi({ example: 'D.G. Khan' });

export const newEventSchema = z
  .object({
    name: z.string().trim().min(3).max(200).openapi({ example: 'Monsoon floods, upper Sindh' }),
    hazard: z.enum(HAZARDS, { error: `expected one of ${HAZARDS.join(', ')}` }),
    status: z.enum(['draft', 'declared']).default('declared'),
    /** The notified areas as the PDMA's letter lists them: P-codes or names, one per item. */
    areas: z.array(areaLineSchema).max(2000).default([]),
    /** Alerts whose resolved areas are added to the event. */
    alertIds: z.array(z.uuid({ error: 'expected an alert id (UUID)' })).max(100).default([]),
  })
  .refine((e) => e.areas.length + e.alertIds.length > 0, { path: ['areas'], message: 'expected at least one area, or an alert id to take areas from' })
  .openapi('NewEvent');

const areaRefSchema = z.object({ code: pcodeSchema, name: z.string(), level: z.number().int(), within: z.string() });

export const notificationSchema = z.object({
  lines: z.array(
    z.object({
      submitted: z.string(),
      levelHint: levelSchema.nullable(),
      via: z.enum(['code', 'name', 'alias']),
      area: areaRefSchema,
    }),
  ),
  alerts: z.array(z.object({ id: z.uuid(), areaCodes: z.array(pcodeSchema) })),
});

export const eventSchema = z
  .object({
    id: z.uuid(),
    name: z.string(),
    hazard: z.enum(HAZARDS),
    status: z.enum(EVENT_STATUSES),
    jurisdiction: pcodeSchema.openapi({ description: 'The deepest area containing all of the event’s areas', example: 'PK7' }),
    areaCodes: z.array(pcodeSchema),
    alertIds: z.array(z.uuid()),
    notification: notificationSchema,
    createdBy: z.string(),
    declaredAt: isoDate.nullable(),
    closedAt: isoDate.nullable(),
    createdAt: isoDate,
    updatedAt: isoDate,
  })
  .openapi('Event');

export const previewBody = z
  .object({
    text: z.string({ error: 'text is the notification: one P-code or area name per line, or a CSV' }).max(500_000),
    fileName: z.string().max(255).optional().openapi({ description: 'The uploaded file\u2019s name: a .csv is read as CSV' }),
  })
  .strict()
  .openapi('NotificationText');

export const previewSchema = z
  .object({
    lines: z.array(
      z.object({
        index: z.number().int(),
        fileLine: z.number().int().openapi({ description: 'The line of the text it came from' }),
        submitted: z.string(),
        levelHint: levelSchema.nullable(),
        status: z.enum(['resolved', 'ambiguous', 'unknown']),
        via: z.enum(['code', 'name', 'alias']).optional(),
        area: areaRefSchema.optional(),
        candidates: z.array(areaRefSchema).optional().openapi({ description: 'The areas an ambiguous name fits' }),
        suggestions: z.array(areaRefSchema).optional().openapi({ description: 'Close names for an unknown line' }),
        explanation: z.string().nullable(),
      }),
    ),
  })
  .openapi('NotificationPreview');

export const eventListQuery = z.object({
  status: z.enum(EVENT_STATUSES).optional(),
  hazard: z.enum(HAZARDS).optional(),
});

/** Rows leave the API parsed, so the stored notification is checked on the way out too. */
export const toEvent = (row: EventRow) =>
  eventSchema.parse({
    ...row,
    notification: row.notification as StoredNotification,
    declaredAt: iso(row.declaredAt),
    closedAt: iso(row.closedAt),
    createdAt: iso(row.createdAt),
    updatedAt: iso(row.updatedAt),
  });
export type EventView = z.infer<typeof eventSchema>;
export type NotificationPreview = z.infer<typeof previewSchema>;
export type NewEventBody = z.input<typeof newEventSchema>;
