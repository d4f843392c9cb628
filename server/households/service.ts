import { createHash } from 'node:crypto';
import { and, asc, between, sql, type SQL } from 'drizzle-orm';
import { canSeeIdentity } from '../access/principal.ts';
import { maskCnic } from '../access/personal-data.ts';
import { householdArea, householdScope, prefixPattern } from '../access/scope.ts';
import { recordAuditAlone } from '../audit/service.ts';
import type { Ctx } from '../context.ts';
import { households } from '../db/schema/index.ts';

export interface HouseholdQuery {
  area?: string;
  bbox?: [number, number, number, number];
  page: number;
  pageSize: number;
}

/** Households whose finest area lies inside `code` (P-codes nest by prefix). */
function insideArea(code: string): SQL {
  return sql`${householdArea} like ${prefixPattern(code.toUpperCase())}`;
}

/** An identity read lists its ids in the audit entry up to this many; past it, the hash and the count say them. */
export const MAX_IDS_LISTED = 100;

/** sha256 (hex) of household ids in ascending order, one per line: `printf '1\n2\n3' | sha256sum` gives the same. */
export function idListHash(sortedIds: readonly number[]): string {
  return createHash('sha256').update(sortedIds.join('\n')).digest('hex');
}

/** P-code prefix lengths of the levels: country, province, district, tehsil (PK, PK7, PK701, PK70101). */
const LEVEL_LENGTHS = [2, 3, 5, 7];

/**
 * The jurisdiction an identity read concerns: the smallest area, at a P-code level, that holds every household
 * read, and never wider than what bounded the query (the caller's jurisdiction, the area asked), so that the
 * auditors of that area see the entry. A read by bounding box is bounded by the caller's scope only; its rows
 * say where it actually fell (a federal read over one district is that district's business).
 */
function jurisdictionRead(rows: HouseholdCodesRow[], bounds: string[]): string {
  let common = finestCodeOf(rows[0]!);
  for (const row of rows) {
    const code = finestCodeOf(row);
    let n = 0;
    while (n < common.length && n < code.length && common[n] === code[n]) n++;
    common = common.slice(0, n);
  }
  const level = common.slice(0, Math.max(...LEVEL_LENGTHS.filter((l) => l <= common.length)));
  return [level, ...bounds].filter((c) => common.startsWith(c)).reduce((a, b) => (b.length > a.length ? b : a), 'PK');
}

type HouseholdCodesRow = Pick<typeof households.$inferSelect, 'tehsil' | 'district' | 'province'>;
const finestCodeOf = (r: HouseholdCodesRow) => r.tehsil ?? r.district ?? r.province ?? 'PK';

/** The pseudonymous view every role may see: no name, CNIC, phone or account. */
function pseudonymous(r: typeof households.$inferSelect) {
  return {
    id: `hh-${r.id}`,
    lat: r.lat,
    lon: r.lon,
    size: r.size,
    province: r.province,
    district: r.district,
    tehsil: r.tehsil,
    flags: { femaleHeaded: r.femaleHeaded, disabled: r.hasDisabled, elderly: r.hasElderly, childrenUnder5: r.childrenUnder5 },
  };
}

/**
 * Households of an area within the caller's jurisdiction. Roles whose work needs identity get the
 * head's name, masked CNIC, phone and payment channel, and the read is audited; everyone else gets the
 * pseudonymous view.
 */
export async function listHouseholds(ctx: Ctx, query: HouseholdQuery) {
  const conditions: SQL[] = [householdScope.where(ctx.actor)];
  if (query.area) conditions.push(insideArea(query.area));
  if (query.bbox) {
    const [w, s, e, n] = query.bbox;
    conditions.push(between(households.lon, w, e), between(households.lat, s, n));
  }
  const where = and(...conditions);
  const [rows, [total]] = await Promise.all([
    ctx.db.select().from(households).where(where).orderBy(asc(households.id)).limit(query.pageSize).offset((query.page - 1) * query.pageSize),
    ctx.db.select({ n: sql<number>`count(*)::int` }).from(households).where(where),
  ]);
  const identity = canSeeIdentity(ctx.actor);
  if (identity && rows.length > 0) {
    const ids = rows.map((r) => r.id).sort((a, b) => a - b);
    await recordAuditAlone(ctx, {
      action: 'identity.read',
      subject: `households:${query.area ?? ctx.actor.jurisdiction}`,
      jurisdiction: jurisdictionRead(rows, [ctx.actor.jurisdiction, ...(query.area ? [query.area.toUpperCase()] : [])]),
      summary: {
        households: ids.length,
        page: query.page,
        pageSize: query.pageSize,
        ...(query.area ? { area: query.area.toUpperCase() } : {}),
        ...(query.bbox ? { bbox: query.bbox } : {}),
        // Every id read, as a hash an auditor can check a list against, and the ids themselves while few.
        idsSha256: idListHash(ids),
        ...(ids.length <= MAX_IDS_LISTED ? { ids } : {}),
        fields: ['head_name', 'cnic (masked)', 'phone', 'payment_channel'],
      },
    });
  }
  return {
    total: total?.n ?? 0,
    page: query.page,
    identity,
    items: rows.map((r) =>
      identity
        ? { ...pseudonymous(r), source: r.source, householdId: r.householdId, pmt: r.pmt, cnic: maskCnic(r.cnic), headName: r.headName, phone: r.phone, paymentChannel: r.paymentChannel, enrolments: r.enrolments }
        : pseudonymous(r),
    ),
  };
}

