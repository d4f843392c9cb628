import { z } from '@hono/zod-openapi';

/**
 * A household as every role may see it: no name, CNIC, phone or payment account. Parsing a list with this
 * schema drops any identity field a service might add by mistake, so the contract also guards privacy.
 */
export const householdSchema = z
  .object({
    id: z.string().openapi({ description: 'Pseudonymous: `hh-` and the database id, never the programme’s household id', example: 'hh-1042' }),
    lat: z.number(),
    lon: z.number(),
    size: z.number().int(),
    province: z.string().nullable(),
    district: z.string().nullable(),
    tehsil: z.string().nullable(),
    flags: z.object({ femaleHeaded: z.boolean(), disabled: z.boolean(), elderly: z.boolean(), childrenUnder5: z.boolean() }),
  })
  .openapi('Household');

/** A household with the head's identity, for programme managers and finance officers (each read is audited). */
export const identifiedHouseholdSchema = householdSchema
  .extend({
    source: z.string(),
    householdId: z.string(),
    pmt: z.number(),
    cnic: z.string().openapi({ description: 'Masked: only the first five digits and the last are shown', example: '42101-*****-3' }),
    headName: z.string(),
    phone: z.string().nullable(),
    paymentChannel: z.string().nullable(),
    enrolments: z.array(z.string()),
  })
  .openapi('IdentifiedHousehold');

const page = { total: z.number().int(), page: z.number().int() };

/** One page of households; `identity` says which of the two views the items are. */
export const householdListSchema = z
  .discriminatedUnion('identity', [
    z.object({ ...page, identity: z.literal(false), items: z.array(householdSchema) }),
    z.object({ ...page, identity: z.literal(true), items: z.array(identifiedHouseholdSchema) }),
  ])
  .openapi('HouseholdList');

/**
 * Households per H3 cell: counts only, no identity. For roles without identity access a cell under
 * `disclosure.minCell` households says null ("fewer than 10") and the others are rounded
 * (server/registry/disclosure.ts); `disclosure` is null when the counts are exact.
 */
export const densitySchema = z
  .object({
    res: z.number().int(),
    cells: z.array(
      z.object({
        cell: z.string().openapi({ description: 'H3 cell index' }),
        households: z.number().int().nullable().openapi({ description: 'Households; null when fewer than disclosure.minCell' }),
      }),
    ),
    disclosure: z.object({ minCell: z.number().int(), roundedTo: z.number().int() }).nullable(),
  })
  .openapi('HouseholdDensity');

export type Household = z.infer<typeof householdSchema>;
export type IdentifiedHousehold = z.infer<typeof identifiedHouseholdSchema>;
export type HouseholdList = z.infer<typeof householdListSchema>;
export type Density = z.infer<typeof densitySchema>;
