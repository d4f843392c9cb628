import { createRoute, z } from '@hono/zod-openapi';
import { allow } from '../http/guards.ts';
import { RateLimiter } from '../access/rate-limit.ts';
import { roleSchema } from '../access/roles.ts';
import { sendersSchema } from '../access/senders.ts';
import { ctxOf, type RouteDeps } from '../http/deps.ts';
import { errorResponses, json, tooLargeResponse, tooManyRequestsResponse } from '../http/openapi.ts';
import { newRouter } from '../http/router.ts';
import { idParam, iso, isoDate, isoInstant, jurisdictionSchema } from '../http/schemas.ts';
import { createToken, listTokens, revokeToken } from './service.ts';

const tags = ['API tokens'];

const tokenSchema = z
  .object({
    id: z.uuid(),
    name: z.string(),
    prefix: z.string().openapi({ description: 'The first characters of the token, to tell tokens apart' }),
    role: roleSchema,
    agency: z.string(),
    jurisdiction: z.string(),
    senders: z.array(z.string()).openapi({ description: 'The CAP senders it may publish alerts as' }),
    createdBy: z.string(),
    createdAt: isoDate,
    expiresAt: isoDate.nullable(),
    revokedAt: isoDate.nullable(),
    lastUsedAt: isoDate.nullable(),
  })
  .openapi('ApiToken');

const newTokenSchema = z
  .object({
    name: z.string().trim().min(3).max(80).openapi({ example: 'PMD CAP feed' }),
    role: roleSchema,
    agency: z.string().trim().min(2).max(80),
    jurisdiction: jurisdictionSchema,
    expiresAt: isoInstant.optional().openapi({ description: 'At most 365 days ahead; 90 days ahead when not given' }),
    senders: sendersSchema.default([]),
  })
  .openapi('NewApiToken');

const newTokenResponseSchema = tokenSchema.extend({ token: z.string().openapi({ description: 'The secret: shown here once, never again' }) }).openapi('NewApiTokenSecret');
export type ApiToken = z.infer<typeof tokenSchema>;
export type NewApiToken = z.input<typeof newTokenSchema>;

type TokenRow = Awaited<ReturnType<typeof listTokens>>[number];
const toToken = (t: TokenRow) =>
  tokenSchema.parse({ ...t, createdAt: iso(t.createdAt), expiresAt: iso(t.expiresAt), revokedAt: iso(t.revokedAt), lastUsedAt: iso(t.lastUsedAt) });

export function tokenRoutes(deps: RouteDeps) {
  const creations = new RateLimiter(20, 60 * 60_000);
  return newRouter()
    .openapi(
      createRoute({
        method: 'get',
        path: '/api/tokens',
        tags,
        summary: 'API tokens within your jurisdiction (never their secrets)',
        middleware: [allow('admin')],
        responses: { 200: json(z.object({ items: z.array(tokenSchema) }), 'Tokens'), ...errorResponses },
      }),
      async (c) => c.json({ items: (await listTokens(ctxOf(c, deps))).map(toToken) }, 200),
    )
    .openapi(
      createRoute({
        method: 'post',
        path: '/api/tokens',
        tags,
        summary: 'Create an API token; its secret is shown in this answer only',
        middleware: [allow('admin')],
        request: { body: { content: { 'application/json': { schema: newTokenSchema } }, required: true } },
        responses: {
          201: json(newTokenResponseSchema, 'Created, with the secret'),
          ...errorResponses,
          413: tooLargeResponse,
          429: tooManyRequestsResponse,
        },
      }),
      async (c) => {
        const ctx = ctxOf(c, deps);
        creations.hit(ctx.actor.id, ctx.now.getTime(), 'API tokens created');
        const body = c.req.valid('json');
        const created = await createToken(ctx, { ...body, expiresAt: body.expiresAt ? new Date(body.expiresAt) : undefined });
        return c.json({ ...toToken(created), token: created.token }, 201);
      },
    )
    .openapi(
      createRoute({
        method: 'post',
        path: '/api/tokens/{id}/revoke',
        tags,
        summary: 'Revoke an API token',
        middleware: [allow('admin')],
        request: { params: idParam },
        responses: { 200: json(tokenSchema, 'The revoked token'), ...errorResponses },
      }),
      async (c) => c.json(toToken(await revokeToken(ctxOf(c, deps), c.req.valid('param').id)), 200),
    );
}
