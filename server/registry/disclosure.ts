import type { ExposureCounts } from './registry-index.ts';

/**
 * Small-cell protection of the aggregates shown to roles without identity access (responders, DMA
 * officers, auditors, admins). A count of households under `minCell` (MADAD_MIN_CELL, 10 by default)
 * is not shown (null: "fewer than 10"), and every other count is rounded to a multiple of `minCell`.
 *
 * Suppression alone is not enough: a tiny polygon around one household, and a binary search on the PMT
 * cut-off, gave that household's exact score in 12 calls; and in one answer, a total minus the parts it
 * shows gives the part it hides. Rounding every count the same way closes the second and makes the first
 * need areas that sit exactly on a rounding edge at every step. Programme managers and finance officers,
 * who may read the households themselves, get exact figures.
 */
export interface Disclosure {
  minCell: number;
  roundedTo: number;
}

/** How figures are shown to a reader: exact (null), or protected with the smallest cell `minCell`. */
export function disclosureFor(seesIdentity: boolean, minCell: number): Disclosure | null {
  return seesIdentity || minCell <= 1 ? null : { minCell, roundedTo: minCell };
}

/** A count of households as the reader may see it: null under the smallest cell, else rounded. */
export function protectCount(n: number, d: Disclosure | null): number | null {
  if (!d) return n;
  if (n < d.minCell) return null;
  return Math.round(n / d.roundedTo) * d.roundedTo;
}

/**
 * A figure that grows with the households behind it (members, rupees): null when those households are
 * too few to show, else rounded to `unit` times the rounding of counts, so it does not give the count back.
 */
export function protectAmount(amount: number, households: number, unit: number, d: Disclosure | null): number | null {
  if (!d) return amount;
  if (households < d.minCell) return null;
  const step = Math.max(1, unit) * d.roundedTo;
  return Math.round(amount / step) * step;
}

/** Households per H3 cell as the reader may see them. */
export function protectDensity(cells: { cell: string; households: number }[], d: Disclosure | null): { cell: string; households: number | null }[] {
  return cells.map((c) => ({ cell: c.cell, households: protectCount(c.households, d) }));
}

type Count = { code: string; households: number };

/** Exposure as the reader may see it; area lists keep their order with hidden counts last. */
export function protectExposure(e: ExposureCounts, d: Disclosure | null) {
  const list = (xs: Count[]) =>
    xs.map((x) => ({ code: x.code, households: protectCount(x.households, d) })).sort((a, b) => (b.households ?? -1) - (a.households ?? -1) || a.code.localeCompare(b.code));
  // Members are at least one a household, so rounding them to the count's step hides no less.
  return {
    households: protectCount(e.households, d),
    members: protectAmount(e.members, e.households, 1, d),
    pmtCutoff: e.pmtCutoff,
    atOrUnderCutoff: protectCount(e.atOrUnderCutoff, d),
    byPmtBand: e.byPmtBand.map((b) => ({ band: b.band, households: protectCount(b.households, d) })),
    byProvince: list(e.byProvince),
    byDistrict: list(e.byDistrict),
    byTehsil: list(e.byTehsil),
    disclosure: d,
  };
}
