import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { ZodError } from 'zod';
import {
  ConflictError,
  DomainError,
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

/** RFC 9457 problem details, plus the request id so a person can quote it to support. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance: string;
  requestId: string;
  errors?: FieldProblem[];
}

const TYPE_BASE = 'https://madad.app/problems/';

const kinds: { match: (e: unknown) => boolean; status: ContentfulStatusCode; slug: string; title: string }[] = [
  { match: (e) => e instanceof ValidationError, status: 400, slug: 'invalid-request', title: 'Invalid request' },
  { match: (e) => e instanceof UnauthorizedError, status: 401, slug: 'unauthorized', title: 'Authentication required' },
  { match: (e) => e instanceof ForbiddenError, status: 403, slug: 'forbidden', title: 'Not allowed' },
  { match: (e) => e instanceof NotFoundError, status: 404, slug: 'not-found', title: 'Not found' },
  { match: (e) => e instanceof ConflictError, status: 409, slug: 'conflict', title: 'Conflict' },
  { match: (e) => e instanceof PayloadTooLargeError, status: 413, slug: 'payload-too-large', title: 'Payload too large' },
  { match: (e) => e instanceof TooManyRequestsError, status: 429, slug: 'too-many-requests', title: 'Too many requests' },
  { match: (e) => e instanceof UnavailableError, status: 503, slug: 'unavailable', title: 'Service unavailable' },
];

const httpTitles: Record<number, [string, string]> = {
  400: ['invalid-request', 'Invalid request'],
  401: ['unauthorized', 'Authentication required'],
  403: ['forbidden', 'Not allowed'],
  404: ['not-found', 'Not found'],
  405: ['method-not-allowed', 'Method not allowed'],
  413: ['payload-too-large', 'Payload too large'],
  415: ['unsupported-media-type', 'Unsupported media type'],
};

export function problemResponse(c: Context<AppEnv>, status: ContentfulStatusCode, slug: string, title: string, detail: string, errors?: FieldProblem[]) {
  const body: Problem = {
    type: TYPE_BASE + slug,
    title,
    status,
    detail,
    instance: c.req.path,
    requestId: c.get('requestId') ?? '',
    ...(errors && errors.length > 0 ? { errors } : {}),
  };
  return c.body(JSON.stringify(body), status, { 'content-type': 'application/problem+json' });
}

/** The one error mapper: every error that leaves the API goes through here. */
export function onError(err: unknown, c: Context<AppEnv>) {
  const kind = kinds.find((k) => k.match(err));
  if (kind && err instanceof DomainError) {
    if (err instanceof TooManyRequestsError) c.header('retry-after', String(err.retryAfterSeconds));
    return problemResponse(c, kind.status, kind.slug, kind.title, err.message, err instanceof ValidationError ? err.fields : undefined);
  }
  if (err instanceof HTTPException && err.status < 500) {
    const [slug, title] = httpTitles[err.status] ?? ['client-error', 'Client error'];
    return problemResponse(c, err.status as ContentfulStatusCode, slug, title, err.message || title);
  }
  c.get('log')?.error({ err }, 'unhandled error');
  return problemResponse(c, 500, 'internal', 'Internal server error', `Something went wrong on our side. Quote request id ${c.get('requestId')} when reporting it.`);
}

export function notFound(c: Context<AppEnv>) {
  return problemResponse(c, 404, 'not-found', 'Not found', `No route for ${c.req.method} ${c.req.path}.`);
}

/** Turns a zod error on one part of the request into a ValidationError naming each bad field. */
export function zodToValidationError(error: ZodError, target: string): ValidationError {
  const fields = error.issues.map((issue) => ({
    field: [target, ...issue.path.map(String)].join('.'),
    message: issue.message,
  }));
  const summary = fields.map((f) => `${f.field}: ${f.message}`).join('; ');
  return new ValidationError(`The request ${target} is invalid. ${summary}`, fields);
}
