import { describe, expect, it } from 'vitest';
import { CHOROPLETH_RAMP, classBreaks, stepColour } from '../../web/src/map-style.ts';

describe('choropleth classes', () => {
  it('breaks values into up to five rising classes, ignoring zeros', () => {
    expect(classBreaks([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10])).toEqual([1, 3, 5, 7, 9]);
    expect(classBreaks([4, 4, 4])).toEqual([4]);
    expect(classBreaks([])).toEqual([]);
  });

  it('colours one class with a plain colour: a step with no stops is not a valid MapLibre expression', () => {
    expect(stepColour('households', [1563], CHOROPLETH_RAMP)).toBe(CHOROPLETH_RAMP.at(-1));
  });

  it('colours several classes with a step whose stops are the class breaks, darkest last', () => {
    expect(stepColour('households', [1, 3, 5], CHOROPLETH_RAMP)).toEqual(['step', ['get', 'households'], CHOROPLETH_RAMP[2], 3, CHOROPLETH_RAMP[3], 5, CHOROPLETH_RAMP[4]]);
  });
});
