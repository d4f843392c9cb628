import { DrizzleQueryError } from 'drizzle-orm/errors';
import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { core, ZodError } from 'zod';
import { AreaInputError } from '../../geodata/area-input.ts';
import { TriggerInputError } from '../../triggers/input-error.ts';
import { RuleError } from '../../triggers/rule-schema.ts';
import {
  ConflictError,
  ForbiddenError,
  NotFoundError,
  PayloadTooLargeError,
  TooManyRequestsError,
  UnauthorizedError,
  UnavailableError,
  ValidationError,
  type FieldProblem,
} from '../errors.ts';
import type { AppEnv } from './context.ts';
import type { Problem } from './openapi.ts';
import { AREA_ISSUE } from './schemas.ts';

/**
 * Every problem's `code`, a closed list a client may switch on (unkey's `pkg/errors` codes are the model):
 * adding one is a change of the API, so it is listed in the OpenAPI document. `type` says the same as a URL.
 */
export const PROBLEM_CODES = [
  'invalid_request',
  'invalid_area',
  'invalid_rule',
  'invalid_value',
  'unauthorized',
  'forbidden',
  'not_found',
  'conflict',
  'method_not_allowed',
  'payload_too_large',
  'unsupported_media_type',
  'too_many_requests',
  'unavailable',
  'internal',
] as const;
export type ProblemCode = (typeof PROBLEM_CODES)[number];

const TYPE_BASE = 'https://madad.app/problems/';

/** A request whose affected area cannot be read, found while validating it, so each field is its body path. */
class RequestAreaError extends ValidationError {}

interface Kind<E> {
  type: abstract new (...args: never[]) => E;
  status: ContentfulStatusCode;
  code: ProblemCode;
  title: string;
  fields?: (err: E) => FieldProblem[];
}
const kind = <E>(k: Kind<E>) => k;

/** First match wins, so a subclass comes before the class it extends. */
const kinds = [
  kind({ type: RequestAreaError, status: 400, code: 'invalid_area', title: 'Unusable area', fields: (e) => e.fields }),
  // Thrown past validation (a core reading an area it was handed): the message names where in the area,
  // not where in the request, so the field is the body as a whole.
  kind({ type: AreaInputError, status: 400, code: 'invalid_area', title: 'Unusable area', fields: (e) => [{ field: 'json', message: e.message }] }),
  kind({ type: RuleError, status: 400, code: 'invalid_rule', title: 'Invalid rule', fields: (e) => e.issues.map((i) => ({ field: i.path, message: i.message })) }),
  // Only the core's own input error: a plain RangeError is a bug and stays a 500.
  kind({ type: TriggerInputError, status: 400, code: 'invalid_value', title: 'Invalid value' }),
  kind({ type: ValidationError, status: 400, code: 'invalid_request', title: 'Invalid request', fields: (e) => e.fields }),
  kind({ type: UnauthorizedError, status: 401, code: 'unauthorized', title: 'Authentication required' }),
  kind({ type: ForbiddenError, status: 403, code: 'forbidden', title: 'Not allowed' }),
  kind({ type: NotFoundError, status: 404, code: 'not_found', title: 'Not found' }),
  kind({ type: ConflictError, status: 409, code: 'conflict', title: 'Conflict' }),
  kind({ type: PayloadTooLargeError, status: 413, code: 'payload_too_large', title: 'Payload too large' }),
  kind({ type: TooManyRequestsError, status: 429, code: 'too_many_requests', title: 'Too many requests' }),
  kind({ type: UnavailableError, status: 503, code: 'unavailable', title: 'Service unavailable' }),
] as Kind<Error>[];

/** Hono's own client errors (its middleware throws HTTPException), by status. */
const httpKinds: Record<number, [ProblemCode, string]> = {
  400: ['invalid_request', 'Invalid request'],
  401: ['unauthorized', 'Authentication required'],
  403: ['forbidden', 'Not allowed'],
  404: ['not_found', 'Not found'],
  405: ['method_not_allowed', 'Method not allowed'],
  409: ['conflict', 'Conflict'],
  413: ['payload_too_large', 'Payload too large'],
  415: ['unsupported_media_type', 'Unsupported media type'],
  429: ['too_many_requests', 'Too many requests'],
};

export function problemResponse(c: Context<AppEnv>, status: ContentfulStatusCode, code: ProblemCode, title: string, detail: string, errors?: FieldProblem[]) {
  const body: Problem = {
    type: TYPE_BASE + code.replaceAll('_', '-'),
    code,
    title,
    status,
    detail,
    instance: c.req.path,
    requestId: c.get('requestId') ?? '',
    ...(errors && errors.length > 0 ? { errors } : {}),
  };
  return c.body(JSON.stringify(body), status, { 'content-type': 'application/problem+json' });
}

/**
 * The database error behind `err`, if there is one: drizzle's DrizzleQueryError (whose message is the SQL
 * and its parameters), or the driver's own (postgres.js `PostgresError`, PGlite's `DatabaseError`: both carry
 * a SQLSTATE `code` and a `severity`), thrown as it is or as the cause of another error.
 */
export function databaseErrorOf(err: unknown): { sqlState?: string } | undefined {
  for (let e = err, depth = 0; e && typeof e === 'object' && depth < 8; e = (e as { cause?: unknown }).cause, depth++) {
    const { code, severity } = e as { code?: unknown; severity?: unknown };
    if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) && typeof severity === 'string') return { sqlState: code };
    if (e instanceof DrizzleQueryError) return databaseErrorOf(e.cause) ?? {};
  }
  return undefined;
}

/**
 * What a caller may be told of a failure that is not theirs (one message of a bulk push that could not be
 * stored, say): its kind and SQLSTATE, never its message, which for a database error is the SQL and its
 * parameters (someone else's data among them).
 */
export function faultSummary(err: unknown): string {
  const db = databaseErrorOf(err);
  if (db) return `a database error on our side${db.sqlState ? ` (SQLSTATE ${db.sqlState})` : ''}`;
  return `an error on our side${err instanceof Error ? ` (${err.name})` : ''}`;
}

/** Text of drizzle's query errors (`Failed query: <sql>\nparams: <values>`), wherever a message copied it. */
const QUERY_TEXT = /Failed query: |\nparams: /;

const internal = (c: Context<AppEnv>) =>
  problemResponse(c, 500, 'internal', 'Internal server error', `Something went wrong on our side. Quote request id ${c.get('requestId')} when reporting it.`);

/** The one error mapper: every error that leaves the API goes through here. */
export function onError(err: unknown, c: Context<AppEnv>) {
  // A database error is ours, whatever wraps it: a 500 that says nothing of the query, logged in full.
  const db = databaseErrorOf(err);
  if (db) {
    c.get('log')?.error({ err, sqlState: db.sqlState }, 'database error');
    return internal(c);
  }
  const k = err instanceof Error ? kinds.find((k) => err instanceof k.type) : undefined;
  if (k && err instanceof Error) {
    const fields = k.fields?.(err);
    // A message built from a query's error (a reason copied into a ValidationError) is not the caller's
    // to read either: the answer is the same 500, and the log keeps what it said.
    if (QUERY_TEXT.test(err.message) || fields?.some((f) => QUERY_TEXT.test(f.message))) {
      c.get('log')?.error({ err, fields }, 'database error text in a problem');
      return internal(c);
    }
    if (err instanceof TooManyRequestsError) c.header('retry-after', String(err.retryAfterSeconds));
    return problemResponse(c, k.status, k.code, k.title, err.message, fields);
  }
  if (err instanceof HTTPException && err.status < 500) {
    const [code, title] = httpKinds[err.status] ?? ['invalid_request', 'Client error'];
    return problemResponse(c, err.status as ContentfulStatusCode, code, title, err.message || title);
  }
  c.get('log')?.error({ err }, 'unhandled error');
  return internal(c);
}

export function notFound(c: Context<AppEnv>) {
  return problemResponse(c, 404, 'not_found', 'Not found', `No route for ${c.req.method} ${c.req.path}.`);
}

const isAreaIssue = (issue: core.$ZodIssue) => issue.code === 'custom' && issue.params?.problem === AREA_ISSUE;

/**
 * The bad fields of a request. A union that matched no branch says only "Invalid input"; when one branch
 * got as far as reading an area, that is the branch the caller meant, so its own issues are named instead.
 */
function fieldsOf(issues: readonly core.$ZodIssue[], prefix: PropertyKey[]): (FieldProblem & { area: boolean })[] {
  return issues.flatMap((issue) => {
    const path = [...prefix, ...issue.path];
    if (issue.code === 'invalid_union') {
      const meant = issue.errors.find((branch) => branch.some(isAreaIssue));
      if (meant) return fieldsOf(meant, path);
    }
    return [{ field: path.map(String).join('.'), message: issue.message, area: isAreaIssue(issue) }];
  });
}

/**
 * Turns a zod error on one part of the request into a ValidationError naming each bad field; when every
 * bad field is an area that cannot be read, the problem is `invalid_area`.
 */
export function zodToValidationError(error: ZodError, target: string): ValidationError {
  const named = fieldsOf(error.issues, [target]);
  const fields = named.map(({ field, message }) => ({ field, message }));
  const summary = fields.map((f) => `${f.field}: ${f.message}`).join('; ');
  return named.length > 0 && named.every((f) => f.area)
    ? new RequestAreaError(`The area in the request ${target} cannot be used. ${summary}`, fields)
    : new ValidationError(`The request ${target} is invalid. ${summary}`, fields);
}
