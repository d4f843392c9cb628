import { createRoute, z } from '@hono/zod-openapi';
import { allow } from '../http/guards.ts';
import { newRouter } from '../http/router.ts';
import { ctxOf, type RouteDeps } from '../http/deps.ts';
import { conflictResponse, errorResponses, json, tooLargeResponse } from '../http/openapi.ts';
import { idParam } from '../http/schemas.ts';
import { newUserSchema, toUser, userSchema } from './schema.ts';
import { createUser, disableUser, getUser, listUsers } from './service.ts';

const tags = ['Users'];

export function userRoutes(deps: RouteDeps) {
  return newRouter()
    .openapi(
      createRoute({
        method: 'get',
        path: '/api/users',
        tags,
        summary: 'Users within your jurisdiction',
        middleware: [allow('admin')],
        responses: { 200: json(z.object({ items: z.array(userSchema) }), 'Users'), ...errorResponses },
      }),
      async (c) => {
        return c.json({ items: (await listUsers(ctxOf(c, deps))).map(toUser) }, 200);
      },
    )
    .openapi(
      createRoute({
        method: 'post',
        path: '/api/users',
        tags,
        summary: 'Create a user within your jurisdiction',
        middleware: [allow('admin')],
        request: { body: { content: { 'application/json': { schema: newUserSchema } }, required: true } },
        responses: {
          201: json(userSchema, 'Created'),
          ...errorResponses,
          409: { ...conflictResponse, description: 'A user with this username exists already' },
          413: tooLargeResponse,
        },
      }),
      async (c) => c.json(toUser(await createUser(ctxOf(c, deps), c.req.valid('json'))), 201),
    )
    .openapi(
      createRoute({
        method: 'get',
        path: '/api/users/{id}',
        tags,
        summary: 'One user',
        middleware: [allow('admin')],
        request: { params: idParam },
        responses: { 200: json(userSchema, 'The user'), ...errorResponses },
      }),
      async (c) => {
        return c.json(toUser(await getUser(ctxOf(c, deps), c.req.valid('param').id)), 200);
      },
    )
    .openapi(
      createRoute({
        method: 'post',
        path: '/api/users/{id}/disable',
        tags,
        summary: 'Disable a user: their sessions stop working at once',
        middleware: [allow('admin')],
        request: { params: idParam },
        responses: {
          200: json(userSchema, 'The disabled user'),
          ...errorResponses,
          409: { ...conflictResponse, description: 'Your own account, or the last enabled federal admin' },
        },
      }),
      async (c) => c.json(toUser(await disableUser(ctxOf(c, deps), c.req.valid('param').id)), 200),
    );
}
