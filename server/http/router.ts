import { OpenAPIHono } from '@hono/zod-openapi';
import type { AppEnv } from './context.ts';
import { zodToValidationError } from './problem.ts';

/** Every router is made here, so each route's parameter errors are named the same way. */
export function newRouter() {
  return new OpenAPIHono<AppEnv>({
    defaultHook: (result) => {
      if (!result.success) throw zodToValidationError(result.error, result.target);
    },
  });
}
