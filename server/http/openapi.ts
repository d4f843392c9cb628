import { z } from '@hono/zod-openapi';
import { PROBLEM_CODES } from './problem.ts';

/** RFC 9457 problem details as every error response carries them, with a `code` from a closed list. */
export const problemSchema = z
  .object({
    type: z.string(),
    code: z.enum(PROBLEM_CODES).openapi({ description: 'What went wrong, from a closed list a client may switch on' }),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    instance: z.string(),
    requestId: z.string(),
    errors: z.array(z.object({ field: z.string(), message: z.string() })).optional(),
  })
  .openapi('Problem');
export type Problem = z.infer<typeof problemSchema>;

const problem = (description: string) => ({ description, content: { 'application/problem+json': { schema: problemSchema } } });

/** The error answers every protected route can give. */
export const errorResponses = {
  400: problem('Invalid request: each bad field is named'),
  401: problem('Not signed in'),
  403: problem('Your role does not allow this'),
  404: problem('Not found, or outside your jurisdiction'),
};

/** 409: the request conflicts with the current state (a duplicate, or a status that does not allow the step). */
export const conflictResponse = problem('Conflicts with the current state: a duplicate, or a status that does not allow this');

/** 413: the body is larger than the limit (MADAD_BODY_LIMIT); the limit applies to every route with a body. */
export const tooLargeResponse = problem('The body is larger than the limit');

/** 429: too many attempts; `retry-after` says when to try again. */
export const tooManyRequestsResponse = problem('Too many attempts; try again after the seconds in retry-after');

/** A JSON response of the OpenAPI document: `200: json(userSchema, 'The user')`. */
export const json = <T extends z.ZodType>(schema: T, description: string) => ({ description, content: { 'application/json': { schema } } });
