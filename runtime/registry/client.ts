// A client for one registry endpoint: the Distribution API's requests, with
// the authentication, retries and errors every one of them needs.
//
// The API is a handful of URLs under /v2/ (the OCI distribution spec):
//
//     GET  /v2/                                 "are you a registry?" (and: who are you?)
//     GET  /v2/<name>/manifests/<tag|digest>    a manifest
//     HEAD /v2/<name>/blobs/<digest>            is this blob here?
//     GET  /v2/<name>/blobs/<digest>            a blob (config or layer)
//     POST /v2/<name>/blobs/uploads/            start an upload (or ?mount= one from another repository)
//     PATCH, PUT <upload location>              send the bytes, then commit them under their digest
//     PUT  /v2/<name>/manifests/<tag>           name the image
//     GET  /v2/_catalog                         the repositories (where allowed)
import { setTimeout as sleep } from 'node:timers/promises';
import { RunError } from '../core/pipeline.js';
import { trace } from '../trace/trace.js';
import { DEFAULT_DOMAIN } from '../image/reference.js';
import { AuthError, Authorizer } from './auth.js';
import type { Credentials } from './credentials.js';
import { isInsecure, registryCAs, type RegistrySettings } from './daemon-config.js';
import { discard, NetworkError, readBody, send, type Response, type SendOptions } from './http.js';

const CH = 8;

/** Docker Hub's registry API host: docker.io is its name for people, not a server. */
export const HUB_REGISTRY_HOST = 'registry-1.docker.io';

// #region endpoints
/** Where to send a repository's requests: a mirror or the registry itself. */
export interface Endpoint {
  /** "127.0.0.1:5000", "registry-1.docker.io" */
  host: string;
  /** a mirror's URL fixes the scheme; otherwise https, or http for an insecure registry that has no TLS */
  url?: URL;
  mirror: boolean;
  insecure: boolean;
  ca: Buffer[];
}

/**
 * The endpoints to try for a registry, in order: for Docker Hub, each
 * mirror of daemon.json first and then Hub's API host; for any other
 * registry, itself (mirrors are Docker Hub's only, as in Docker).
 */
export function endpointsFor(domain: string, settings: RegistrySettings, forPush = false): Endpoint[] {
  const own = (host: string): Endpoint => ({ host, mirror: false, insecure: isInsecure(host, settings), ca: registryCAs(host, settings) });
  if (domain !== DEFAULT_DOMAIN) return [own(domain)];
  // A push never goes to a mirror: a pull-through cache is read-only.
  const mirrors = forPush ? [] : settings.mirrors.map((u): Endpoint => ({ host: u.host, url: u, mirror: true, insecure: isInsecure(u.host, settings), ca: registryCAs(u.host, settings) }));
  return [...mirrors, own(HUB_REGISTRY_HOST)];
}
// #endregion endpoints

/** A registry's own refusal, with its status and its error code (MANIFEST_UNKNOWN…). */
export class RegistryError extends RunError {
  /** the registry's own words, without what we were doing ("unauthorized: authentication required") */
  detail = '';
  constructor(message: string, readonly status: number, readonly errorCode: string | undefined, options?: ErrorOptions) {
    super(1, message, options);
  }
}

export interface RequestOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: SendOptions['body'];
  /** the token scopes this request needs (repository:NAME:pull…) */
  scopes: string[];
}

/** How long to wait before retry n (1, 2, …): $DOCKLING_REGISTRY_RETRY_MS × n, 1 s × n by default. */
export const retryDelay = (n: number) => Number(process.env.DOCKLING_REGISTRY_RETRY_MS ?? 1000) * n;

export class RegistryClient {
  private base: URL | null;
  readonly auth: Authorizer;

  constructor(readonly endpoint: Endpoint, creds: Credentials | null) {
    this.base = endpoint.url ?? null;
    this.auth = new Authorizer(creds, this.tls());
  }

  private tls(): SendOptions['tls'] {
    return { ca: this.endpoint.ca, insecure: this.endpoint.insecure };
  }

  // #region ping
  /**
   * GET /v2/: decides the scheme (https; plain http only for an insecure
   * registry whose https fails, Docker's fallback) and learns how the
   * registry wants us to authenticate.
   */
  async ping(): Promise<void> {
    if (!this.base) {
      const https = new URL(`https://${this.endpoint.host}/`);
      try {
        this.base = https;
        const res = await this.send('GET', new URL('/v2/', https), {});
        return this.afterPing(res);
      } catch (e) {
        if (!(e instanceof NetworkError) || !this.endpoint.insecure) throw this.explain(e);
        this.base = new URL(`http://${this.endpoint.host}/`);
      }
    }
    const res = await this.send('GET', new URL('/v2/', this.base), {}).catch((e) => {
      throw this.explain(e);
    });
    return this.afterPing(res);
  }

  private afterPing(res: Response): void {
    discard(res);
    if (res.status === 401) this.auth.learn(res.headers['www-authenticate'], []);
    else if (res.status !== 200) throw new RegistryError(`${this.base!.origin}/v2/ answered ${res.status}: this is not a registry that speaks the Distribution API (v2)`, res.status, undefined);
  }

  /** A network failure, with what to do about the usual one. */
  private explain(e: unknown): unknown {
    if (!(e instanceof NetworkError)) return e;
    if (/HTTP response to HTTPS client|x509/.test(e.message) && !this.endpoint.insecure) {
      return new RunError(1, `${e.message} (a registry without a trusted certificate must be listed in "insecure-registries" of ${process.env.DOCKLING_DAEMON_CONFIG || '/etc/dockling/daemon.json'}, or its CA put in certs.d/${this.endpoint.host}/ca.crt beside it)`, { cause: e });
    }
    return new RunError(1, e.message, { cause: e });
  }
  // #endregion ping

  /** The URL of a path under the registry (after ping). */
  url(p: string): URL {
    return new URL(p, this.base!);
  }

  // #region request
  /**
   * One API request: with the Authorization the registry asked for (a 401
   * teaches the client, which asks again once), and 5xx/429 answers retried
   * with growing pauses (429's Retry-After honoured), as Docker retries.
   */
  async request(pathOrURL: string | URL, o: RequestOptions): Promise<Response> {
    if (!this.base) await this.ping();
    const url = typeof pathOrURL === 'string' ? this.url(pathOrURL) : pathOrURL;
    const method = o.method ?? 'GET';
    let relearned = false;
    for (let attempt = 1; ; attempt++) {
      const authorization = await this.auth.authorization(o.scopes);
      const headers = { ...o.headers, ...(authorization ? { Authorization: authorization } : {}) };
      let res: Response;
      try {
        res = await this.send(method, url, { headers, body: o.body });
      } catch (e) {
        throw this.explain(e);
      }
      if (res.status === 401 && !relearned && this.auth.learn(res.headers['www-authenticate'], o.scopes)) {
        discard(res);
        relearned = true;
        attempt--;
        continue;
      }
      const retriable = res.status === 429 || res.status === 502 || res.status === 503 || res.status === 504 || res.status === 500;
      if (retriable && attempt < 3 && (method !== 'PATCH' && method !== 'PUT' || Buffer.isBuffer(o.body) || o.body === undefined)) {
        discard(res);
        const after = Number(res.headers['retry-after']);
        await sleep(res.status === 429 && after > 0 ? Math.min(after * 1000, 30_000) : retryDelay(attempt));
        continue;
      }
      return res;
    }
  }
  // #endregion request

  private async send(method: string, url: URL, o: SendOptions): Promise<Response> {
    const res = await send(url, { ...o, method, tls: this.tls() });
    const auth = o.headers?.Authorization?.split(' ')[0].toLowerCase() ?? '';
    trace.emit(CH, { op: 'http', method, url: decodeURIComponent(url.pathname + url.search), status: res.status, auth: auth ? `${auth}${this.auth.creds ? ' ' + this.auth.creds.username : ''}` : '' });
    return res;
  }

  /** Turn a refusal into a RegistryError with the registry's own words. */
  async fail(res: Response, what: string): Promise<never> {
    const body = await readBody(res, 1 << 20).catch(() => Buffer.alloc(0));
    const { code, text } = registryErrorText(body, res.status);
    throw Object.assign(new RegistryError(`${what}: ${text}`, res.status, code), { detail: text });
  }
}

// #region registry-errors
/**
 * A registry's error body, `{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}`,
 * said as Docker says it: the code in lower case, then the message
 * ("manifest unknown: manifest unknown").
 */
export function registryErrorText(body: Buffer, status: number): { code?: string; text: string } {
  try {
    const j = JSON.parse(body.toString('utf8')) as { errors?: { code?: unknown; message?: unknown }[] };
    const e = j.errors?.[0];
    if (e && typeof e.code === 'string') {
      const code = e.code.toLowerCase().replace(/_/g, ' ');
      return { code: e.code, text: typeof e.message === 'string' && e.message ? `${code}: ${e.message}` : code };
    }
  } catch {
    /* not JSON: said by status below */
  }
  const plain: Record<number, string> = { 401: 'unauthorized: authentication required', 403: 'denied: requested access to the resource is denied', 404: 'not found', 429: 'toomanyrequests: too many requests' };
  return { code: status === 401 ? 'UNAUTHORIZED' : status === 403 ? 'DENIED' : undefined, text: plain[status] ?? `unexpected status ${status} from the registry` };
}
// #endregion registry-errors

export { AuthError };
