import type { MiddlewareHandler } from 'hono';
import { matchedRoutes } from 'hono/route';
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Prometheus metrics of one app instance: its own registry, so several apps in one process do not collide. */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'madad_' });
  const requests = new Counter({
    name: 'madad_http_requests_total',
    help: 'HTTP requests by method, matched route and status',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [registry],
  });
  const latency = new Histogram({
    name: 'madad_http_request_duration_seconds',
    help: 'HTTP request latency by method and matched route',
    labelNames: ['method', 'route'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });

  const middleware: MiddlewareHandler = async (c, next) => {
    const start = performance.now();
    await next();
    // The matched route pattern, not the raw path, keeps label cardinality bounded.
    const handlers = matchedRoutes(c).filter((r) => r.method !== 'ALL');
    const route = handlers.at(-1)?.path ?? 'unmatched';
    const seconds = (performance.now() - start) / 1000;
    requests.inc({ method: c.req.method, route, status: String(c.res.status) });
    latency.observe({ method: c.req.method, route }, seconds);
  };

  return { registry, middleware };
}

/**
 * Requests refused by a limit that protects the server, by limit (`polygon_vertices`, `spatial_budget`, …).
 * Got or made by name, so every part of the app that refuses counts into the one metric of its registry.
 */
export function limitRefusals(registry: Registry): Counter<'limit'> {
  const name = 'madad_limit_refusals_total';
  return (registry.getSingleMetric(name) as Counter<'limit'> | undefined) ??
    new Counter({ name, help: 'Requests refused by a limit that protects the server, by limit', labelNames: ['limit'] as const, registers: [registry] });
}

