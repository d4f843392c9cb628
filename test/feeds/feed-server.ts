import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Served {
  status?: number;
  body?: string | Buffer;
  contentType?: string;
  etag?: string;
  lastModified?: string;
  /** Wait this long before answering. */
  delayMs?: number;
  /** A Location header (with a 3xx status: a redirect). */
  location?: string;
  /** The reason phrase, instead of the standard one. */
  statusText?: string;
}

export interface SeenRequest {
  path: string;
  headers: IncomingHttpHeaders;
}

/**
 * A feed publisher on 127.0.0.1: each path answers as its route says, with ETag and Last-Modified, and
 * 304 when the request's validators match (RFC 9110 §13.1). Every request is kept for assertions.
 */
export class FeedServer {
  readonly seen: SeenRequest[] = [];
  private routes = new Map<string, Served>();
  private server: Server;

  constructor() {
    this.server = createServer((req, res) => {
      const path = req.url ?? '/';
      this.seen.push({ path, headers: req.headers });
      const route = this.routes.get(path);
      const answer = () => {
        if (!route) return res.writeHead(404).end('no such feed');
        const validators = { ...(route.etag ? { etag: route.etag } : {}), ...(route.lastModified ? { 'last-modified': route.lastModified } : {}) };
        const fresh =
          (route.etag !== undefined && req.headers['if-none-match'] === route.etag) ||
          (route.etag === undefined && route.lastModified !== undefined && req.headers['if-modified-since'] === route.lastModified);
        if ((route.status ?? 200) === 200 && fresh) return res.writeHead(304, validators).end();
        const headers = { 'content-type': route.contentType ?? 'application/xml', ...validators, ...(route.location ? { location: route.location } : {}) };
        if (route.statusText) res.writeHead(route.status ?? 200, route.statusText, headers).end(route.body ?? '');
        else res.writeHead(route.status ?? 200, headers).end(route.body ?? '');
      };
      if (route?.delayMs) setTimeout(answer, route.delayMs);
      else answer();
    });
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return this;
  }

  serve(path: string, served: Served): string {
    this.routes.set(path, served);
    return this.url(path);
  }

  url(path: string): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}${path}`;
  }

  requests(path: string): SeenRequest[] {
    return this.seen.filter((r) => r.path === path);
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
