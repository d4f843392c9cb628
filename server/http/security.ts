import type { MiddlewareHandler } from 'hono';
import { secureHeaders } from 'hono/secure-headers';
import type { AppEnv } from './context.ts';

/**
 * The one Content-Security-Policy, on every response: the web app and the docs page may load code, fonts
 * and data from this server only, so a leaked token or an injected script has nowhere to send identity
 * data. No inline script anywhere (web/index.html loads its bundle, /docs loads /docs/init.js); MapLibre
 * starts its workers from blob: URLs; inline style attributes are allowed because MapLibre, the legend and
 * Swagger UI set them; images may be data: (the favicon, Swagger UI's icons) or blob: (map sprites).
 */
export const CONTENT_SECURITY_POLICY = {
  defaultSrc: ["'self'"],
  scriptSrc: ["'self'"],
  workerSrc: ["'self'", 'blob:'],
  connectSrc: ["'self'"],
  imgSrc: ["'self'", 'data:', 'blob:'],
  fontSrc: ["'self'"],
  styleSrc: ["'self'", "'unsafe-inline'"],
  objectSrc: ["'none'"],
  baseUri: ["'self'"],
  frameAncestors: ["'none'"],
  formAction: ["'self'"],
};

/** One year, as RFC 6797 §11.2 and the HSTS preload list suggest for a site that is https for good. */
const HSTS = 'max-age=31536000; includeSubDomains';

/** Whether the caller reached us over https, directly or through a proxy that says so. */
const overHttps = (url: string, forwardedProto: string | undefined) => new URL(url).protocol === 'https:' || forwardedProto?.split(',')[0]?.trim() === 'https';

/**
 * Security headers on every response, error pages included: hono/secure-headers' set (nosniff, no
 * referrer, frames refused by X-Frame-Options and frame-ancestors, same-origin opener and resource
 * policies) with our CSP, keeping any such header a handler chose itself. Its HSTS is off: HSTS is sent only
 * over https (a browser ignores it over http anyway, RFC 6797 §8.1, so a forged x-forwarded-proto gains
 * nothing). API responses that set no caching of their own get `no-store`: they may carry identity (names,
 * CNICs, phones) and must not stay in a browser's or a proxy's cache.
 */
export function securityHeaders(): MiddlewareHandler<AppEnv> {
  const standard = secureHeaders({
    contentSecurityPolicy: CONTENT_SECURITY_POLICY,
    xFrameOptions: 'DENY',
    referrerPolicy: 'no-referrer',
    strictTransportSecurity: false,
    overwrite: false,
  });
  return async (c, next) => {
    await standard(c, async () => {
      await next();
      if (overHttps(c.req.url, c.req.header('x-forwarded-proto'))) c.res.headers.set('strict-transport-security', HSTS);
      if (c.req.path.startsWith('/api/') && !c.res.headers.has('cache-control')) c.res.headers.set('cache-control', 'no-store');
    });
  };
}
