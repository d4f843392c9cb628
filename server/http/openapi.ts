import { z } from '@hono/zod-openapi';

/** RFC 9457 problem details as every error response carries them. */
export const problemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    instance: z.string(),
    requestId: z.string(),
    errors: z.array(z.object({ field: z.string(), message: z.string() })).optional(),
  })
  .openapi('Problem');

const problem = (description: string) => ({ description, content: { 'application/problem+json': { schema: problemSchema } } });

/** The error answers every protected route can give. */
export const errorResponses = {
  400: problem('Invalid request: each bad field is named'),
  401: problem('Not signed in'),
  403: problem('Your role does not allow this'),
  404: problem('Not found, or outside your jurisdiction'),
};

/** A JSON response of the OpenAPI document: `200: json(userSchema, 'The user')`. */
export const json = <T extends z.ZodType>(schema: T, description: string) => ({ description, content: { 'application/json': { schema } } });
