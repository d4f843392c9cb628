/**
 * The orientation sign Turf's point-in-polygon uses, reproduced decision for decision.
 * Turf 7 calls point-in-polygon-hao, which calls robust-predicates `orient2d(u1, u2, v1, v2, 0, 0)`,
 * i.e. the sign of u2·v1 − u1·v2 with Shewchuk's filter and an exact fallback. We keep the same
 * filter (so the cases it settles in floating point are settled identically) and settle the rest with
 * exact integer arithmetic on the binary values of the doubles instead of an expansion sum: the
 * result is the exact sign either way, and the fallback runs only for points on or within a few ulps
 * of an edge line.
 */
const epsilon = 1.1102230246251565e-16;
const ccwErrBoundA = (3 + 16 * epsilon) * epsilon;

/** Sign (negative, zero, positive number) of u2·v1 − u1·v2, as robust-predicates returns it. */
export function orientTurf(u1: number, u2: number, v1: number, v2: number): number {
  const detLeft = u2 * v1;
  const detRight = u1 * v2;
  const det = detLeft - detRight;
  if (detLeft === 0 || detRight === 0 || detLeft > 0 !== detRight > 0) return det;
  const detSum = Math.abs(detLeft + detRight);
  if (Math.abs(det) >= ccwErrBoundA * detSum) return det;
  return exactDiffOfProductsSign(u2, v1, u1, v2);
}

const f64 = new Float64Array(1);
const u64 = new BigUint64Array(f64.buffer);

/** A finite double as mantissa · 2^exponent, both exact. */
function decompose(x: number): [bigint, number] {
  f64[0] = x;
  const bits = u64[0]!;
  const biased = Number((bits >> 52n) & 0x7ffn);
  let mantissa = bits & 0xfffffffffffffn;
  let exponent: number;
  if (biased === 0) exponent = -1074;
  else {
    mantissa |= 1n << 52n;
    exponent = biased - 1075;
  }
  return [bits >> 63n ? -mantissa : mantissa, exponent];
}

/** Exact sign (-1, 0, 1) of a·b − c·d for finite doubles. */
export function exactDiffOfProductsSign(a: number, b: number, c: number, d: number): number {
  const [ma, ea] = decompose(a);
  const [mb, eb] = decompose(b);
  const [mc, ec] = decompose(c);
  const [md, ed] = decompose(d);
  let left = ma * mb;
  let right = mc * md;
  const el = ea + eb;
  const er = ec + ed;
  if (el > er) left <<= BigInt(el - er);
  else if (er > el) right <<= BigInt(er - el);
  return left > right ? 1 : left < right ? -1 : 0;
}
