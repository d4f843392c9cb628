import { z } from '@hono/zod-openapi';
import { isoDate, isoInstant, jurisdictionSchema } from '../http/schemas.ts';
import { EXPORT_FIELDS, LINKAGES, PURPOSES } from './fields.ts';

const agency = z.string().trim().min(2, 'an agency such as BISP or SSPA').max(60);
const source = z.string().regex(/^[A-Z][A-Z0-9_-]{1,19}$/, 'a registry source such as NSER or PSER');

export const shareSchema = z
  .object({
    source,
    from: agency.openapi({ description: 'The party whose registry it is' }),
    to: agency.openapi({ description: 'The party that may receive it' }),
    fields: z.array(z.enum(EXPORT_FIELDS, { error: `a registry field: ${EXPORT_FIELDS.join(', ')}` })).max(EXPORT_FIELDS.length),
  })
  .strict();

export const agreementBody = z
  .object({
    title: z.string().trim().min(3).max(200),
    partyA: agency,
    partyB: agency,
    purpose: z.enum(PURPOSES, { error: `one of ${PURPOSES.join(', ')}` }),
    jurisdiction: jurisdictionSchema,
    linkage: z.enum(LINKAGES, { error: `one of ${LINKAGES.join(', ')}` }),
    shares: z.array(shareSchema).min(1).max(10),
    validFrom: isoInstant,
    validTo: isoInstant,
  })
  .strict();

export const agreementSchema = z
  .object({
    id: z.uuid(),
    title: z.string(),
    partyA: z.string(),
    partyB: z.string(),
    purpose: z.enum(PURPOSES),
    jurisdiction: z.string(),
    linkage: z.enum(LINKAGES),
    shares: z.array(shareSchema),
    validFrom: isoDate,
    validTo: isoDate,
    state: z.enum(['draft', 'signed', 'in_force', 'expired', 'revoked']),
    madeBy: z.string(),
    madeAt: isoDate,
    signatures: z.array(z.object({ party: z.string(), by: z.string(), at: isoDate })),
    revoked: z.object({ by: z.string(), at: isoDate, reason: z.string() }).nullable(),
  })
  .openapi('Agreement');

export const signBody = z.object({ party: z.enum(['A', 'B']).optional() }).strict();
export const signedSchema = z.object({
  agreement: agreementSchema,
  linkKey: z
    .string()
    .optional()
    .openapi({ description: 'The agreement\u2019s key (32 bytes, base64url), shown once to the second signer; hand it to the other party out of band' }),
});
export const revokeBody = z.object({ reason: z.string().trim().min(3, 'say why, for the trail').max(2000) }).strict();

export const exportQuery = z.object({
  source: source.optional().openapi({ description: 'The registry to export, when the agreement shares more than one' }),
  format: z.enum(['csv', 'ndjson']).default('csv'),
});

export const manifestSchema = z
  .object({
    export: z.uuid(),
    agreement: z.uuid(),
    source: z.string(),
    recipient: z.string(),
    format: z.enum(['csv', 'ndjson']),
    columns: z.array(z.string()),
    jurisdiction: z.string(),
    rows: z.number().int(),
    bytes: z.number().int(),
    sha256: z.string(),
    madeBy: z.string(),
    madeAt: isoDate,
    expiresAt: isoDate,
  })
  .openapi('ExportManifest');

export const paymentImportSchema = z.object({
  importId: z.uuid(),
  already: z.boolean(),
  rows: z.number().int(),
  matched: z.number().int(),
  unmatched: z.number().int(),
  held: z.number().int(),
  heldPkr: z.number().int(),
});

export const changeQuery = z.object({ source: source.optional() });
export const changeReportSchema = z.object({ changeSetId: z.uuid(), already: z.boolean(), rows: z.number().int(), staged: z.number().int(), unchanged: z.number().int() });

const diffValue = z.union([z.number(), z.boolean()]);
export const changeSetSchema = z
  .object({
    id: z.uuid(),
    agreement: z.uuid(),
    target: z.string(),
    sender: z.string(),
    jurisdiction: z.string(),
    madeBy: z.string(),
    madeAt: isoDate,
    rows: z.array(
      z.object({
        row: z.number().int(),
        householdId: z.string(),
        area: z.string(),
        changes: z.record(z.string(), z.object({ before: diffValue, after: diffValue })),
        decision: z.enum(['merged', 'refused']).nullable(),
        decidedBy: z.string().nullable(),
        decidedAt: isoDate.nullable(),
        reason: z.string().nullable(),
      }),
    ),
  })
  .openapi('ChangeSet');

export const decisionsBody = z
  .object({
    decisions: z
      .array(z.object({ row: z.number().int().min(2), decision: z.enum(['merge', 'refuse']), reason: z.string().trim().max(2000).optional() }).strict())
      .min(1)
      .max(10_000),
  })
  .strict();
export const decidedSchema = z.object({ merged: z.number().int(), refused: z.number().int(), waiting: z.number().int() });

export const overlapQuery = z.object({
  sources: z
    .string()
    .regex(/^[A-Z][A-Z0-9_-]{1,19},[A-Z][A-Z0-9_-]{1,19}$/, 'two registry sources separated by a comma, such as NSER,PSER')
    .openapi({ example: 'NSER,PSER' }),
  area: z.string().regex(/^PK\d{0,7}$/, 'a P-code such as PK6').default('PK'),
});

const counts = {
  both: z.number().int(),
  onlyA: z.number().int(),
  onlyB: z.number().int(),
  pmtMeanAbsDiff: z.number().nullable(),
  pmtDiffer: z.number().int(),
  apart: z.number().int(),
  farApart: z.number().int(),
};
export const overlapSchema = z
  .object({
    sources: z.tuple([z.string(), z.string()]),
    area: z.string(),
    totals: z.object(counts),
    areas: z.array(z.object({ district: z.string(), tehsil: z.string(), ...counts })),
    far: z.array(z.object({ a: z.string(), b: z.string(), districtA: z.string(), districtB: z.string(), km: z.number(), pmtA: z.number(), pmtB: z.number() })),
    seconds: z.number(),
  })
  .openapi('RegistryOverlap');
