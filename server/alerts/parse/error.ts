import { PayloadTooLargeError, ValidationError } from '../../errors.ts';

export interface ParseErrorPlace {
  /** 1-based line in the body, when the problem has one. */
  line?: number;
  column?: number;
  /** The field or element the problem is in, e.g. `alert.sent` or `features[3].properties`. */
  field?: string;
}

/**
 * The body as a whole is refused (unsafe XML, malformed XML or JSON, a format we do not read). It is a
 * ValidationError so the one HTTP error mapper answers 400 with the message, which says what to fix.
 */
export class AlertParseError extends ValidationError {
  readonly line?: number;
  readonly column?: number;
  readonly field?: string;

  constructor(message: string, place: ParseErrorPlace = {}) {
    super(message, place.field ? [{ field: place.field, message }] : []);
    this.line = place.line;
    this.column = place.column;
    this.field = place.field;
  }
}

/**
 * The body holds more messages than one body may (413): it is refused whole, before any is stored, so the
 * sender can split it and send it again without finding half of it already in.
 */
export class AlertBodyTooLargeError extends PayloadTooLargeError {}

/**
 * One message inside the body cannot be used. Thrown inside a message parser and caught per message, so
 * the other messages of a feed still parse.
 */
export class MessageRejected extends Error {
  constructor(
    readonly reason: string,
    readonly identifier?: string,
  ) {
    super(reason);
    this.name = 'MessageRejected';
  }
}
