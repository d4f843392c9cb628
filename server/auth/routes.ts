import { createRoute, z } from '@hono/zod-openapi';
import { deleteCookie, setCookie } from 'hono/cookie';
import { clientAddress, CSRF_HEADER, SESSION_COOKIE, signedIn } from '../http/guards.ts';
import { requirePrincipal } from '../access/principal.ts';
import { roleSchema } from '../access/roles.ts';
import { anonymousCtx, ctxOf, type RouteDeps } from '../http/deps.ts';
import { errorResponses, tooLargeResponse, tooManyRequestsResponse } from '../http/openapi.ts';
import { newRouter } from '../http/router.ts';
import { login, logout } from './service.ts';

const tags = ['Sign-in'];

const meSchema = z
  .object({
    kind: z.enum(['user', 'token', 'system']),
    id: z.string(),
    name: z.string(),
    roles: z.array(roleSchema),
    agency: z.string(),
    jurisdiction: z.string(),
  })
  .openapi('Principal');

const loginSchema = z.object({ username: z.string().min(1).max(80), password: z.string().min(1).max(200) }).openapi('Login');

export function authRoutes(deps: RouteDeps) {
  return newRouter()
    .openapi(
      createRoute({
        method: 'post',
        path: '/api/auth/login',
        tags,
        summary: `Sign in; sets an HttpOnly session cookie and returns the CSRF token to send as ${CSRF_HEADER} on writes`,
        request: { body: { content: { 'application/json': { schema: loginSchema } }, required: true } },
        responses: {
          200: {
            description: 'Signed in',
            content: { 'application/json': { schema: z.object({ principal: meSchema, csrfToken: z.string(), expiresAt: z.string() }) } },
          },
          400: errorResponses[400],
          401: errorResponses[401],
          413: tooLargeResponse,
          429: tooManyRequestsResponse,
        },
      }),
      async (c) => {
        // Failures are limited per username and address and per address, in the database (./throttle.ts).
        const result = await login(anonymousCtx(c, deps), { ...c.req.valid('json'), address: clientAddress(c) });
        const https = new URL(c.req.url).protocol === 'https:' || c.req.header('x-forwarded-proto') === 'https';
        setCookie(c, SESSION_COOKIE, result.sessionToken, {
          httpOnly: true,
          sameSite: 'Strict',
          secure: https,
          path: '/',
          expires: result.expiresAt,
        });
        return c.json({ principal: result.principal, csrfToken: result.csrfToken, expiresAt: result.expiresAt.toISOString() }, 200);
      },
    )
    .openapi(
      createRoute({
        method: 'post',
        path: '/api/auth/logout',
        tags,
        summary: 'End this session',
        middleware: [signedIn],
        responses: { 204: { description: 'Signed out' }, 401: errorResponses[401] },
      }),
      async (c) => {
        const token = c.get('sessionToken');
        if (token) await logout(ctxOf(c, deps), token);
        deleteCookie(c, SESSION_COOKIE, { path: '/' });
        return c.body(null, 204);
      },
    )
    .openapi(
      createRoute({
        method: 'get',
        path: '/api/auth/me',
        tags,
        summary: 'Who you are: roles, agency and jurisdiction',
        middleware: [signedIn],
        responses: { 200: { description: 'You', content: { 'application/json': { schema: meSchema } } }, 401: errorResponses[401] },
      }),
      (c) => c.json(meSchema.parse(requirePrincipal(c.get('principal'))), 200),
    );
}
