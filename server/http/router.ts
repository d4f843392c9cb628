import { OpenAPIHono } from '@hono/zod-openapi';
import { ValidationError } from '../errors.ts';
import type { AppEnv } from './context.ts';
import { textProblems } from './input.ts';
import { zodToValidationError } from './problem.ts';

/**
 * Every router is made here, so each route's parameter errors are named the same way, and every string a
 * route reads (query, path, JSON body: the parts its schema declares) is refused when it is not well-formed
 * Unicode or holds NUL, whatever the schema says of it (server/http/input.ts says why).
 */
export function newRouter() {
  return new OpenAPIHono<AppEnv>({
    defaultHook: (result) => {
      // On success `data` is the parsed value (strings kept, as transforms here keep them); on failure
      // @hono/zod-validator passes the input as sent there too (untyped), so a bad string is named beside the
      // schema's own complaints.
      const { data } = result as { data?: unknown };
      const text = result.target === 'header' || result.target === 'cookie' ? [] : textProblems(data, result.target);
      if (!result.success) {
        const error = zodToValidationError(result.error, result.target);
        throw text.length > 0 ? new ValidationError(error.message, [...text, ...error.fields]) : error;
      }
      if (text.length > 0) {
        throw new ValidationError(`The request ${result.target} is invalid. ${text.map((f) => `${f.field}: ${f.message}`).join('; ')}`, text);
      }
    },
  });
}
