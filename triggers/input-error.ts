/**
 * A value handed to the core that it cannot work with: a negative amount, shares that do not add up,
 * no approval tier for a total. The message names the value and what was expected, so a person can act
 * on it; the server's one error mapper answers 400 with it. A plain RangeError stays what it is: a bug.
 */
export class TriggerInputError extends RangeError {
  override readonly name = 'TriggerInputError';
}
