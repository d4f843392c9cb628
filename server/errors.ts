/**
 * Domain errors. Services throw these; they know nothing of HTTP. The one error mapper in
 * server/http/problem.ts turns them into RFC 9457 problem+json.
 */
export class DomainError extends Error {
  constructor(
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** The thing does not exist, or the caller may not know that it exists. */
export class NotFoundError extends DomainError {}
/** The request conflicts with the current state (duplicate, wrong status). */
export class ConflictError extends DomainError {}
/** The caller is known but its role does not allow the action. */
export class ForbiddenError extends DomainError {}
/** The caller is not authenticated. */
export class UnauthorizedError extends DomainError {}
/** Too many attempts; `retryAfterSeconds` tells when to try again. */
export class TooManyRequestsError extends DomainError {
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    super(message);
  }
}

export interface FieldProblem {
  /** Dotted path of the field, e.g. `body.areas.2` or `query.page`. */
  field: string;
  message: string;
}

/** Input that cannot be accepted; `fields` names each bad field. */
export class ValidationError extends DomainError {
  constructor(
    message: string,
    readonly fields: FieldProblem[] = [],
  ) {
    super(message, { fields });
  }
}

/** The body is larger than the configured limit. */
export class PayloadTooLargeError extends DomainError {}

/** A dependency (the database) does not answer. */
export class UnavailableError extends DomainError {}
