import { request as httpRequest, STATUS_CODES, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import { checkLiteralHost, guardedLookup, type PrivateAddressPolicy } from './address.ts';

/** Redirects followed for one poll; each is checked as the first request was. */
export const MAX_REDIRECTS = 5;

export interface FeedRequest {
  url: string;
  headers: Record<string, string>;
  timeoutMs: number;
  maxBytes: number;
  allowPrivate: PrivateAddressPolicy;
}

export interface FeedResponse {
  status: number;
  /** Empty unless the status is 2xx. */
  body: Uint8Array;
  headers: IncomingMessage['headers'];
}

/** A poll that failed for a reason the feed's status may show: our own words, never the server's text. */
export class FetchFailure extends Error {
  constructor(
    message: string,
    readonly httpStatus?: number,
  ) {
    super(message);
  }
}

/**
 * A GET of a feed, with node:http rather than fetch so that every connection goes through `guardedLookup`
 * (fetch resolves the host itself, after any check we could make). Redirects are followed here, up to
 * MAX_REDIRECTS, each to an http(s) URL checked like the first: a public host that redirects to
 * http://169.254.169.254/ is refused. The timeout covers every hop and the body.
 */
export async function requestFeed(req: FeedRequest): Promise<FeedResponse> {
  const signal = AbortSignal.timeout(req.timeoutMs);
  let url = new URL(req.url);
  for (let hops = 0; ; hops++) {
    const res = await getOnce(url, req, signal);
    const location = res.headers.location;
    const status = res.statusCode ?? 0;
    if (![301, 302, 303, 307, 308].includes(status) || !location) {
      // Only a success's body is read: an error page or a 304 is not needed, and is not kept.
      if (status < 200 || status > 299) {
        res.destroy();
        return { status, headers: res.headers, body: new Uint8Array() };
      }
      return { status, headers: res.headers, body: await readBody(res, req.maxBytes) };
    }
    res.destroy();
    if (hops >= MAX_REDIRECTS) throw new FetchFailure(`more than ${MAX_REDIRECTS} redirects`, res.statusCode);
    try {
      url = new URL(location, url);
    } catch {
      throw new FetchFailure(`HTTP ${res.statusCode} redirect to a malformed location`, res.statusCode);
    }
  }
}

function getOnce(url: URL, req: FeedRequest, signal: AbortSignal): Promise<IncomingMessage> {
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return Promise.reject(new FetchFailure(`a redirect to a ${url.protocol} URL is not followed`));
  checkLiteralHost(url, req.allowPrivate);
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const request = send(url, { method: 'GET', headers: { ...req.headers, 'accept-encoding': 'gzip, deflate, br' }, lookup: guardedLookup(req.allowPrivate), signal, agent: false }, resolve);
    request.on('error', reject);
    request.end();
  });
}

/** The body, decoded, refused past `maxBytes` (declared or decoded: a small compressed body may unpack large). */
async function readBody(res: IncomingMessage, maxBytes: number): Promise<Uint8Array> {
  const status = res.statusCode;
  const tooLarge = () => new FetchFailure(`the body is larger than the limit of ${maxBytes} bytes`, status);
  if (Number(res.headers['content-length']) > maxBytes) {
    res.destroy();
    throw tooLarge();
  }
  const encoding = String(res.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
  const decoder = encoding === 'gzip' || encoding === 'x-gzip' ? createGunzip() : encoding === 'deflate' ? createInflate() : encoding === 'br' ? createBrotliDecompress() : undefined;
  if (!decoder && encoding !== 'identity') {
    res.destroy();
    throw new FetchFailure(`the body is in an encoding Madad does not read (${encoding.replace(/[^\w-]/g, '').slice(0, 20)})`, status);
  }
  const stream = decoder ? res.pipe(decoder) : res;
  if (decoder) res.on('error', (error) => decoder.destroy(error));
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > maxBytes) throw tooLarge();
      chunks.push(chunk);
    }
  } catch (error) {
    res.destroy();
    if (error instanceof FetchFailure) throw error;
    if (decoder && !(error instanceof Error && (error.name === 'AbortError' || error.name === 'TimeoutError'))) throw new FetchFailure(`the ${encoding} body could not be decoded`, status);
    throw error;
  }
  return Buffer.concat(chunks, size);
}

/** The standard phrase of a status, not the server's own (a reason phrase is the server's text). */
export function statusText(status: number): string {
  return STATUS_CODES[status] ?? '';
}
