import { z } from '@hono/zod-openapi';
import { CERTAINTIES, HAZARDS, SEVERITIES, URGENCIES, type AlertStatus } from '../../triggers/subject.ts';
import { geometrySchema, isoDate, isoInstant, pcodeSchema, pageQuery } from '../http/schemas.ts';
import type { AlertState } from './lifecycle.ts';
import type { AlertSource, MsgType, Scope } from './parse/types.ts';

const ALERT_STATUSES = ['Actual', 'Exercise', 'System', 'Test', 'Draft'] as const satisfies readonly AlertStatus[];
const MSG_TYPES = ['Alert', 'Update', 'Cancel', 'Ack', 'Error'] as const satisfies readonly MsgType[];
const SCOPES = ['Public', 'Restricted', 'Private'] as const satisfies readonly Scope[];
const SOURCES = ['cap', 'gdacs', 'usgs', 'madad'] as const satisfies readonly AlertSource[];
const ALERT_STATES = ['active', 'superseded', 'cancelled', 'ended', 'expired'] as const satisfies readonly AlertState[];

const namedValueSchema = z.object({ valueName: z.string(), value: z.string() });

/** One language's text of an alert (a CAP `<info>` block, or the one text a feed gives). */
export const alertInfoSchema = z
  .object({
    language: z.string().openapi({ description: 'RFC 3066 tag as given; `en-US` when the source gives none' }),
    event: z.string(),
    headline: z.string().optional(),
    description: z.string().optional(),
    instruction: z.string().optional(),
    web: z.string().optional(),
    senderName: z.string().optional(),
    eventCodes: z.array(namedValueSchema),
    parameters: z.array(namedValueSchema),
  })
  .openapi('AlertInfo');

/** An alert as it leaves the API: public warning data, no identity. Matches `alertView` in service.ts. */
export const alertSchema = z
  .object({
    id: z.uuid(),
    chainId: z.uuid().openapi({ description: 'Shared by every message about the same hazard (updates and cancels)' }),
    sender: z.string(),
    identifier: z.string(),
    source: z.enum(SOURCES),
    format: z.string().openapi({ example: 'cap-1.2' }),
    sent: isoDate,
    status: z.enum(ALERT_STATUSES),
    actual: z.boolean(),
    msgType: z.enum(MSG_TYPES),
    scope: z.enum(SCOPES),
    hazard: z.enum(HAZARDS),
    severity: z.enum(SEVERITIES),
    urgency: z.enum(URGENCIES),
    certainty: z.enum(CERTAINTIES),
    metrics: z.record(z.string(), z.union([z.number(), z.string()])).openapi({ example: { magnitude: 6.9, pagerAlert: 'orange' } }),
    headline: z.string(),
    language: z.string().nullable(),
    infos: z.array(alertInfoSchema),
    effective: isoDate.nullable(),
    onset: isoDate.nullable(),
    expires: isoDate.nullable(),
    state: z.enum(ALERT_STATES),
    stateReason: z.string().nullable(),
    active: z.boolean().openapi({ description: 'In force now: state active and not past its expiry' }),
    // As the sender wrote them: a reference's `sent` is the sender's text, not a time we produced.
    references: z.array(z.object({ sender: z.string(), identifier: z.string(), sent: z.string() })),
    incidents: z.array(z.string()),
    responseType: z.array(z.string()),
    // The generator drops `null` from a custom schema's declared type, so it is spelled out here.
    geometry: geometrySchema.nullable().openapi({ type: ['object', 'null'] }),
    areaDescriptions: z.array(z.string()),
    geocodes: z.array(namedValueSchema),
    areaCodes: z.array(pcodeSchema).openapi({ description: 'Gazetteer codes the area resolved to' }),
    unresolved: z.array(namedValueSchema).openapi({ description: 'Geocodes that matched no area' }),
    notes: z.array(z.string()),
    version: z.number().int(),
    receivedAt: isoDate,
  })
  .openapi('Alert');

/** Each message of an alert's chain, oldest first. */
export const alertVersionSchema = z.object({
  id: z.uuid(),
  identifier: z.string(),
  sender: z.string(),
  msgType: z.enum(MSG_TYPES),
  sent: isoDate,
  state: z.enum(ALERT_STATES),
  stateReason: z.string().nullable(),
});

export const alertDetailSchema = alertSchema.extend({ chain: z.array(alertVersionSchema) }).openapi('AlertDetail');

export const alertListSchema = z.object({ total: z.number().int(), items: z.array(alertSchema) }).openapi('AlertList');

export const alertListQuery = z.object({
  active: z.enum(['true', 'false']).optional(),
  hazard: z.enum(HAZARDS).optional(),
  area: pcodeSchema.optional().openapi({ description: 'Alerts whose area lies within or contains this P-code' }),
  since: isoInstant.optional(),
  ...pageQuery,
});

export const ingestItemSchema = z.object({
  result: z.enum(['created', 'updated', 'unchanged', 'rejected']),
  sender: z.string().optional(),
  identifier: z.string().optional(),
  id: z.uuid().optional(),
  state: z.enum(ALERT_STATES).optional(),
  reason: z.string().optional(),
  warnings: z.array(z.string()),
  unresolved: z.array(namedValueSchema).optional(),
});

/** What happened to each message of a pushed body. */
export const ingestReportSchema = z.object({ format: z.string(), items: z.array(ingestItemSchema) }).openapi('IngestReport');

export type AlertInfo = z.infer<typeof alertInfoSchema>;
export type Alert = z.infer<typeof alertSchema>;
export type AlertVersion = z.infer<typeof alertVersionSchema>;
export type AlertDetail = z.infer<typeof alertDetailSchema>;
export type AlertList = z.infer<typeof alertListSchema>;
export type AlertListQuery = z.input<typeof alertListQuery>;
export type IngestItem = z.infer<typeof ingestItemSchema>;
export type IngestReport = z.infer<typeof ingestReportSchema>;
