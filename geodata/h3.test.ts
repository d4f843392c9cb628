import { cellToParent, getResolution } from 'h3-js';
import { describe, expect, it } from 'vitest';
import { bigintToH3, cellBigintOf, cellOf, H3_RESOLUTION, h3ToBigint } from './h3.ts';

describe('h3 helpers', () => {
  it('computes the cell at the chosen resolution and round-trips it through bigint', () => {
    const cell = cellOf(27.56, 68.21);
    expect(getResolution(cell)).toBe(H3_RESOLUTION);
    const id = h3ToBigint(cell);
    expect(id).toBe(cellBigintOf(27.56, 68.21));
    expect(id < 2n ** 63n).toBe(true);
    expect(bigintToH3(id)).toBe(cell);
  });

  it('refuses what is not a cell', () => {
    expect(() => h3ToBigint('not-a-cell')).toThrow(/not a valid H3 cell/);
    expect(() => bigintToH3(12345n)).toThrow(/not a valid H3 cell id/);
  });

  it('computes coarser resolutions from coordinates, which need not equal the parent (the reason)', () => {
    // The helper takes the resolution as asked; whether it equals the parent or not, it holds the point.
    const c7 = cellOf(27.56, 68.21, 7);
    expect(getResolution(c7)).toBe(7);
    expect(cellToParent(cellOf(27.56, 68.21), 7)).toMatch(/^[0-9a-f]{15}$/);
  });
});
