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
    await recordAuditAlone(ctx, {
      action: 'identity.read',
      subject: `households:${query.area ?? ctx.actor.jurisdiction}`,
      jurisdiction: query.area?.toUpperCase() ?? ctx.actor.jurisdiction,
      summary: { households: rows.length, page: query.page, ids: rows.slice(0, 100).map((r) => r.id), fields: ['head_name', 'cnic (masked)', 'phone', 'payment_channel'] },
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

