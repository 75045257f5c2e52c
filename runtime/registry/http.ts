// One HTTP request to a registry, over node:http or node:https.
//
// Everything a registry says travels over plain HTTP/1.1: GET a manifest,
// HEAD a blob, POST/PATCH/PUT an upload. This file sends one request and
// follows redirects (a registry may send blob downloads to a storage
// server), and turns the network's failures into the sentences Docker
// prints, so that "connection refused" reads as such and not as an
// ECONNREFUSED stack trace.
import http from 'node:http';
import https from 'node:https';
import type { Readable } from 'node:stream';
import { RunError } from '../core/pipeline.js';

export interface SendOptions {
  method?: string;
  headers?: Record<string, string>;
  /** a Buffer, or a function that opens the body anew (a redirect re-sends it) */
  body?: Buffer | (() => Readable);
  /** CA certificates to trust (certs.d), or skip verification (an insecure registry) */
  tls?: { ca?: Buffer[]; insecure?: boolean };
}

export interface Response {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** the body, to read or to drain (`discard`) */
  body: http.IncomingMessage;
  /** where the answer came from, after redirects */
  url: URL;
}

/** A request that got no answer: the network's error, said as Go's net/http says it. */
export class NetworkError extends RunError {
  constructor(message: string, readonly errno: string | undefined, options?: ErrorOptions) {
    super(1, message, options);
  }
}

// Kept-alive connections: a pull makes dozens of requests to one host.
const agents = { http: new http.Agent({ keepAlive: true, maxSockets: 8 }), https: new https.Agent({ keepAlive: true, maxSockets: 8 }) };

// #region send
/** Send one request and return the answer's head; follows up to 10 redirects. */
export async function send(url: URL, o: SendOptions = {}): Promise<Response> {
  let method = o.method ?? 'GET';
  let headers = { ...o.headers };
  let body = o.body;
  for (let hops = 0; ; hops++) {
    const res = await sendOnce(url, method, headers, body, o.tls);
    const location = res.headers.location;
    if (![301, 302, 303, 307, 308].includes(res.status) || !location || hops === 10) return res;
    discard(res);
    const next = new URL(location, url);
    // The credentials were for the registry: a storage server elsewhere
    // gets the request without them (its URL carries its own signature).
    if (next.host !== url.host) delete headers.Authorization;
    // 303 (and, by browsers' custom, 301/302 for a POST) becomes a GET without body.
    if (res.status === 303 || ((res.status === 301 || res.status === 302) && method === 'POST')) {
      method = 'GET';
      body = undefined;
      headers = Object.fromEntries(Object.entries(headers).filter(([k]) => !/^content-/i.test(k)));
    }
    url = next;
  }
}

function sendOnce(url: URL, method: string, headers: Record<string, string>, body: SendOptions['body'], tls: SendOptions['tls']): Promise<Response> {
  const secure = url.protocol === 'https:';
  const options: https.RequestOptions = {
    method,
    headers: { 'User-Agent': 'dockling/0.1 (docker-compatible)', ...headers },
    agent: secure ? agents.https : agents.http,
    timeout: 60_000,
  };
  if (secure && tls?.insecure) options.rejectUnauthorized = false;
  if (secure && tls?.ca?.length) {
    options.ca = tls.ca;
    options.agent = undefined; // an agent's pooled sockets were made with other CAs
  }
  return new Promise((resolve, reject) => {
    const req = (secure ? https : http).request(url, options, (res) => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: res, url }));
    req.on('timeout', () => req.destroy(Object.assign(new Error('timeout awaiting response headers'), { code: 'ETIMEDOUT' })));
    req.on('error', (e) => reject(networkError(method, url, e)));
    if (body === undefined) req.end();
    else if (Buffer.isBuffer(body)) req.end(body);
    else {
      const stream = body();
      stream.on('error', (e) => req.destroy(e));
      stream.pipe(req);
    }
  });
}
// #endregion send

// #region network-errors
/** Go's wording for what went wrong, which is what a learner will search for. */
export function networkError(method: string, url: URL, e: Error & { code?: string }): NetworkError {
  const op = `${method.charAt(0)}${method.slice(1).toLowerCase()} "${url.href}"`;
  const host = url.host;
  const why = (() => {
    switch (e.code) {
      case 'ENOTFOUND':
      case 'EAI_AGAIN':
        return `dial tcp: lookup ${url.hostname}: no such host`;
      case 'ECONNREFUSED':
        return `dial tcp ${host}: connect: connection refused`;
      case 'ETIMEDOUT':
        return `dial tcp ${host}: i/o timeout`;
      case 'ECONNRESET':
        return 'read: connection reset by peer';
      case 'EHOSTUNREACH':
      case 'ENETUNREACH':
        return `dial tcp ${host}: connect: network is unreachable`;
      case 'DEPTH_ZERO_SELF_SIGNED_CERT':
      case 'SELF_SIGNED_CERT_IN_CHAIN':
      case 'UNABLE_TO_VERIFY_LEAF_SIGNATURE':
      case 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY':
        return 'x509: certificate signed by unknown authority';
      case 'CERT_HAS_EXPIRED':
        return 'x509: certificate has expired or is not yet valid';
      case 'ERR_TLS_CERT_ALTNAME_INVALID':
        return `x509: certificate is not valid for ${url.hostname}`;
      case 'EPROTO':
      case 'ERR_SSL_WRONG_VERSION_NUMBER':
        // A TLS hello answered in plain HTTP.
        return 'http: server gave HTTP response to HTTPS client';
      default:
        return e.message;
    }
  })();
  return new NetworkError(`${op}: ${why}`, e.code, { cause: e });
}
// #endregion network-errors

/** Read a whole (small) body, at most `limit` bytes. */
export async function readBody(res: Response, limit = 16 << 20): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of res.body) {
    n += (c as Buffer).length;
    if (n > limit) {
      res.body.destroy();
      throw new NetworkError(`${res.url.href}: the answer is larger than ${limit} bytes`, undefined);
    }
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks);
}

/** Throw a body away, so that its connection can be used again. */
export function discard(res: Response): void {
  res.body.resume();
  res.body.on('error', () => {});
}
