import { sql } from 'drizzle-orm';
import { hasRole } from '../access/principal.ts';
import { householdArea, prefixPattern, within } from '../access/scope.ts';
import { recordAudit } from '../audit/service.ts';
import { withTransaction, type Ctx } from '../context.ts';
import { queryRows, type Db } from '../db/client.ts';
import { ForbiddenError, NotFoundError, ValidationError } from '../errors.ts';

/** Households of two registries this far apart (km) are listed for review. */
export const FAR_KM = 5;
/** PMT scores that differ by this much or more are counted as differing. */
export const PMT_GAP = 5;
/** At most this many far-apart pairs are listed (the counts cover all). */
export const FAR_LISTED = 1000;

export interface OverlapArea {
  district: string;
  tehsil: string;
  both: number;
  onlyA: number;
  onlyB: number;
  pmtMeanAbsDiff: number | null;
  pmtDiffer: number;
  apart: number;
  farApart: number;
}

export interface OverlapReport {
  sources: [string, string];
  area: string;
  totals: Omit<OverlapArea, 'district' | 'tehsil'>;
  areas: OverlapArea[];
  far: { a: string; b: string; districtA: string; districtB: string; km: number; pmtA: number; pmtB: number }[];
  seconds: number;
}

const KM = (a: string, b: string) =>
  sql.raw(`2 * 6371 * asin(least(1, sqrt(power(sin(radians(${b}.lat - ${a}.lat) / 2), 2) + cos(radians(${a}.lat)) * cos(radians(${b}.lat)) * power(sin(radians(${b}.lon - ${a}.lon) / 2), 2))))`);

/**
 * Households present in two registries (the same head's CNIC, which is what their linkage keys compare) and
 * in one only, by district and tehsil within `area`; how their PMT scores and places differ, and the pairs
 * more than 5 km apart for review. One hash join in the database, nothing held per household here; the
 * report names registry household ids, never a CNIC, name or phone. The tehsil of a pair is the first
 * registry's.
 */
export async function registryOverlap(ctx: Ctx, input: { sources: [string, string]; area: string }): Promise<OverlapReport> {
  const actor = ctx.actor;
  if (actor.kind !== 'system' && !hasRole(actor, 'program_manager', 'auditor', 'admin')) throw new ForbiddenError('Only programme managers, auditors and administrators read the registries\u2019 overlap.');
  const [sa, sb] = input.sources;
  if (sa === sb) throw new ValidationError('Two different registries are compared.', [{ field: 'sources', message: 'name two different sources, e.g. NSER,PSER' }]);
  if (!within(input.area, actor.jurisdiction)) throw new NotFoundError(`No area ${input.area} within your jurisdiction.`);
  const started = process.hrtime.bigint();
  const like = prefixPattern(input.area);
  return withTransaction(ctx, async (t) => {
    const db = t.tx as unknown as Db;
    // A hash join of two registries of millions wants its hash table in memory, not in batches on disk.
    await t.tx.execute(sql`set local work_mem = '512MB'`);
    const pairs = sql`
      a as (select cnic, pmt, lat, lon, district, tehsil, household_id from households where source = ${sa} and ${householdArea} like ${like}),
      b as (select cnic, pmt, lat, lon, district, tehsil, household_id from households where source = ${sb} and ${householdArea} like ${like})`;
    const rows = await queryRows<{ district: string; tehsil: string; paired: string; n_only_a: string; n_only_b: string; pmt_abs: number | null; pmt_differ: string; apart: string; far: string }>(
      db,
      sql`with ${pairs},
      j as (
        select coalesce(a.district, b.district, '') as district, coalesce(a.tehsil, b.tehsil, '') as tehsil,
          a.cnic is not null and b.cnic is not null as paired, b.cnic is null as only_a, a.cnic is null as only_b,
          abs(a.pmt - b.pmt) as pmt_abs, case when a.cnic is not null and b.cnic is not null then ${KM('a', 'b')} end as km,
          coalesce(a.district, '') <> coalesce(b.district, '') or coalesce(a.tehsil, '') <> coalesce(b.tehsil, '') as moved
        from a full join b on a.cnic = b.cnic
      )
      select district, tehsil, count(*) filter (where paired) as paired, count(*) filter (where only_a) as n_only_a, count(*) filter (where only_b) as n_only_b,
        avg(pmt_abs) filter (where paired) as pmt_abs, count(*) filter (where paired and pmt_abs >= ${PMT_GAP}) as pmt_differ,
        count(*) filter (where paired and moved) as apart, count(*) filter (where km > ${FAR_KM}) as far
      from j group by district, tehsil order by district, tehsil`,
    );
    const far = await queryRows<{ a: string; b: string; district_a: string; district_b: string; km: number; pmt_a: number; pmt_b: number }>(
      db,
      sql`with ${pairs}
      select a.household_id as a, b.household_id as b, coalesce(a.district, '') as district_a, coalesce(b.district, '') as district_b,
        round((${KM('a', 'b')})::numeric, 2)::float8 as km, a.pmt as pmt_a, b.pmt as pmt_b
      from a join b on a.cnic = b.cnic where ${KM('a', 'b')} > ${FAR_KM}
      order by km desc, a.household_id limit ${FAR_LISTED}`,
    );
    const areas: OverlapArea[] = rows.map((r) => ({
      district: r.district,
      tehsil: r.tehsil,
      both: Number(r.paired),
      onlyA: Number(r.n_only_a),
      onlyB: Number(r.n_only_b),
      pmtMeanAbsDiff: r.pmt_abs === null ? null : Math.round(Number(r.pmt_abs) * 100) / 100,
      pmtDiffer: Number(r.pmt_differ),
      apart: Number(r.apart),
      farApart: Number(r.far),
    }));
    const both = areas.reduce((s, x) => s + x.both, 0);
    const totals = {
      both,
      onlyA: areas.reduce((s, x) => s + x.onlyA, 0),
      onlyB: areas.reduce((s, x) => s + x.onlyB, 0),
      pmtMeanAbsDiff: both ? Math.round((areas.reduce((s, x) => s + (x.pmtMeanAbsDiff ?? 0) * x.both, 0) / both) * 100) / 100 : null,
      pmtDiffer: areas.reduce((s, x) => s + x.pmtDiffer, 0),
      apart: areas.reduce((s, x) => s + x.apart, 0),
      farApart: areas.reduce((s, x) => s + x.farApart, 0),
    };
    await recordAudit(t.tx, t, {
      action: 'registry.overlap_read',
      subject: `registry:${sa}+${sb}`,
      jurisdiction: input.area,
      summary: { sources: [sa, sb], area: input.area, ...totals, listed: far.length },
    });
    return {
      sources: [sa, sb],
      area: input.area,
      totals,
      areas,
      far: far.map((f) => ({ a: f.a, b: f.b, districtA: f.district_a, districtB: f.district_b, km: Number(f.km), pmtA: Number(f.pmt_a), pmtB: Number(f.pmt_b) })),
      seconds: Number(process.hrtime.bigint() - started) / 1e9,
    };
  });
}
