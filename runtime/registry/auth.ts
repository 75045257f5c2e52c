// The token dance: how a client earns the right to a repository.
//
//   client                        registry                      token service (realm)
//     │ GET /v2/lab/web/manifests/v1 │                                │
//     │─────────────────────────────>│                                │
//     │ 401 WWW-Authenticate: Bearer realm=…,service=…,scope=…        │
//     │<─────────────────────────────│                                │
//     │ GET realm?service=…&scope=repository:lab/web:pull  (Basic user:password, or anonymous)
//     │──────────────────────────────────────────────────────────────>│
//     │ 200 {"token": "<JWT naming the repository and actions>", "expires_in": 300}
//     │<──────────────────────────────────────────────────────────────│
//     │ GET /v2/lab/web/manifests/v1   Authorization: Bearer <JWT>    │
//     │─────────────────────────────>│ (checks the JWT's signature,   │
//     │ 200 the manifest             │  audience and access list)     │
//     │<─────────────────────────────│                                │
//
// The registry never sees the password: it trusts the token service's
// signature. A token is good for the scopes it names, until it expires;
// tokens are kept per scope and asked for again when they run out. A
// registry with Basic auth (htpasswd) skips the dance: the user and
// password go with every request.
import { RunError } from '../core/pipeline.js';
import { trace } from '../trace/trace.js';
import type { Credentials } from './credentials.js';
import { readBody, send, type SendOptions } from './http.js';
import { parseChallenges, type Challenge } from './www-authenticate.js';

const CH = 8;

/** Refused credentials, or a token service that would not give a token. */
export class AuthError extends RunError {
  constructor(message: string, options?: ErrorOptions) {
    super(1, message, options);
  }
}

export class Authorizer {
  private challenge: Challenge | null = null;
  private tokens = new Map<string, { token: string; expires: number }>();

  constructor(readonly creds: Credentials | null, private tls: SendOptions['tls']) {}

  /** Has a 401 told us how to authenticate? */
  get scheme(): string | null {
    return this.challenge?.scheme ?? null;
  }

  /**
   * Read a 401's challenges. Returns false when there is nothing new to
   * try: no challenge we can answer, or the same one again.
   */
  learn(header: string | string[] | undefined, scopes: string[]): boolean {
    const value = Array.isArray(header) ? header.join(', ') : (header ?? '');
    const usable = parseChallenges(value).find((c) => c.scheme === 'bearer' || c.scheme === 'basic');
    if (!usable) return false;
    const known = this.challenge && JSON.stringify(this.challenge) === JSON.stringify(usable);
    this.challenge = usable;
    if (usable.scheme === 'basic') return !known && this.creds !== null;
    // A Bearer 401 with a token already held for these scopes: the token
    // does not grant them (or was revoked). Asking again is pointless.
    return !this.tokens.has(scopeKey(scopes));
  }

  // #region authorization
  /** The Authorization header for a request that needs `scopes`, if we know how to make one. */
  async authorization(scopes: string[]): Promise<string | undefined> {
    const c = this.challenge;
    if (!c) return undefined;
    if (c.scheme === 'basic') {
      return this.creds ? 'Basic ' + Buffer.from(`${this.creds.username}:${this.creds.password}`).toString('base64') : undefined;
    }
    const key = scopeKey(scopes);
    const held = this.tokens.get(key);
    if (held && held.expires > Date.now()) return `Bearer ${held.token}`;
    const token = await this.fetchToken(c, scopes);
    this.tokens.set(key, token);
    return `Bearer ${token.token}`;
  }
  // #endregion authorization

  // #region fetch-token
  /** Ask the realm for a token: GET realm?service=S&scope=A&scope=B (Docker's "token" flow). */
  private async fetchToken(c: Challenge, scopes: string[]): Promise<{ token: string; expires: number }> {
    const realm = c.params.realm;
    let url: URL;
    try {
      url = new URL(realm ?? '');
    } catch {
      throw new AuthError(`the registry's Bearer challenge has no usable realm (${JSON.stringify(realm ?? '')}): it cannot say where to get a token`);
    }
    if (c.params.service) url.searchParams.set('service', c.params.service);
    for (const s of scopes) url.searchParams.append('scope', s);
    if (this.creds) url.searchParams.set('account', this.creds.username);
    const headers: Record<string, string> = {};
    if (this.creds) headers.Authorization = 'Basic ' + Buffer.from(`${this.creds.username}:${this.creds.password}`).toString('base64');
    const res = await send(url, { headers, tls: this.tls });
    trace.emit(CH, { op: 'http', method: 'GET', url: decodeURIComponent(url.href), status: res.status, auth: this.creds ? `basic ${this.creds.username}` : 'anonymous' });
    const body = await readBody(res, 1 << 20);
    if (res.status === 401 || res.status === 403) {
      throw new AuthError(`${res.status === 401 ? 'unauthorized' : 'denied'}: ${detailOf(body) ?? 'incorrect username or password'}`);
    }
    if (res.status !== 200) throw new AuthError(`token service ${url.origin}${url.pathname} answered ${res.status}: ${body.toString('utf8').slice(0, 200)}`);
    let json: { token?: unknown; access_token?: unknown; expires_in?: unknown };
    try {
      json = JSON.parse(body.toString('utf8'));
    } catch {
      throw new AuthError(`token service ${url.origin}${url.pathname} answered something that is not JSON`);
    }
    const token = typeof json.token === 'string' ? json.token : typeof json.access_token === 'string' ? json.access_token : '';
    if (!token) throw new AuthError(`token service ${url.origin}${url.pathname} gave no token`);
    // Docker's default lifetime is 60 s when none is said; a little early
    // is safer than a request that fails on a token that just expired.
    const seconds = typeof json.expires_in === 'number' && json.expires_in > 0 ? json.expires_in : 60;
    return { token, expires: Date.now() + Math.max(1, seconds - 5) * 1000 };
  }
  // #endregion fetch-token
}

const scopeKey = (scopes: string[]) => [...scopes].sort().join(' ');

/** The "details" or "message" a token service or registry puts in its JSON error. */
export function detailOf(body: Buffer): string | undefined {
  try {
    const j = JSON.parse(body.toString('utf8')) as { details?: unknown; message?: unknown; errors?: { message?: unknown }[] };
    const d = j.details ?? j.message ?? j.errors?.[0]?.message;
    return typeof d === 'string' ? d : undefined;
  } catch {
    return undefined;
  }
}

/** The scope a repository action needs: "repository:lab/web:pull,push". */
export const repositoryScope = (repo: string, actions: string[]) => `repository:${repo}:${actions.join(',')}`;
