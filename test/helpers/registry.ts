// Real registry servers for chapter 8's tests, all on 127.0.0.1 in the test
// file's own network namespace:
//
// - startRegistry: Debian's docker-registry (the Distribution project's
//   server, 2.8), plain, with htpasswd Basic auth, with Bearer tokens from
//   startTokenService, as a pull-through cache of another registry
//   (proxy.remoteurl), or over TLS with a certificate of makeCert.
// - startTokenService: a token service that answers as Docker Hub's does
//   (GET /token?service=…&scope=…, Basic credentials or none), signing JWTs
//   the registry checks against the certificate it is given.
// - startCuttingProxy: an HTTP proxy in front of a registry that drops the
//   connection in the middle of a blob, to prove a download resumes.
// - startSearchIndex: Docker Hub's v1 search API with canned results.
//
// Each returns stop(), which ends what it started (a registry by its PID).
// The servers written here run in the test's process: a test that talks to
// them must run dockling without blocking (docklingAsync).
import { spawn, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import type { SearchResult } from '../../runtime/registry/search.ts';

export const REGISTRY_BIN = '/usr/bin/docker-registry';

/** Why the registry tests cannot run here, or false. CI never skips. */
export function whyNoRegistry(): string | false {
  const missing = [!fs.existsSync(REGISTRY_BIN) && 'docker-registry', !fs.existsSync('/usr/bin/htpasswd') && 'apache2-utils (htpasswd)', !fs.existsSync('/usr/bin/openssl') && 'openssl'].filter(Boolean);
  if (!missing.length) return false;
  const why = `no ${missing.join(', ')} (apt-get install docker-registry apache2-utils openssl)`;
  if (process.env.CI) throw new Error(`chapter 8's tests need a real registry, and CI must run them: ${why}`);
  return why;
}

export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise((r) => server.close(r));
  return port;
}

/** GET a URL on loopback: its status (0 if nothing answers). */
function status(url: string): Promise<number> {
  return new Promise((resolve) => {
    const req = http.get(url, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', () => resolve(0));
    req.setTimeout(2000, () => req.destroy());
  });
}

export interface Registry {
  /** "127.0.0.1:PORT" */
  host: string;
  url: string;
  /** its filesystem storage's root directory */
  storage: string;
  pid: number;
  log(): string;
  stop(): Promise<void>;
}

export interface TokenService {
  realm: string;
  service: string;
  issuer: string;
  certFile: string;
  /** every token request: who asked (null: anonymous) and for which scopes */
  requests: { user: string | null; scopes: string[] }[];
  stop(): Promise<void>;
}

// #region registry
export async function startRegistry(o: {
  dir: string;
  htpasswd?: { user: string; password: string }[];
  token?: TokenService;
  proxy?: { remoteurl: string };
  tls?: { certFile: string; keyFile: string };
  /** the address to listen on (default 127.0.0.1) */
  address?: string;
}): Promise<Registry> {
  const address = o.address ?? '127.0.0.1';
  fs.mkdirSync(o.dir, { recursive: true });
  const port = await freePort();
  const storage = path.join(o.dir, 'storage');
  const lines = [
    'version: 0.1',
    'log: {level: warn, accesslog: {disabled: true}}',
    `storage: {filesystem: {rootdirectory: ${storage}}, delete: {enabled: true}}`,
    `http: {addr: ${address}:${port}${o.tls ? `, tls: {certificate: ${o.tls.certFile}, key: ${o.tls.keyFile}}` : ''}}`,
  ];
  if (o.htpasswd) {
    const file = path.join(o.dir, 'htpasswd');
    const entries = o.htpasswd.map(({ user, password }) => {
      const r = spawnSync('htpasswd', ['-Bbn', user, password], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`htpasswd failed: ${r.stderr}`);
      return r.stdout.trim();
    });
    fs.writeFileSync(file, entries.join('\n') + '\n');
    lines.push(`auth: {htpasswd: {realm: dockling-test, path: ${file}}}`);
  }
  if (o.token) lines.push(`auth: {token: {realm: "${o.token.realm}", service: ${o.token.service}, issuer: ${o.token.issuer}, rootcertbundle: ${o.token.certFile}}}`);
  if (o.proxy) lines.push(`proxy: {remoteurl: "${o.proxy.remoteurl}"}`);
  const config = path.join(o.dir, 'config.yml');
  fs.writeFileSync(config, lines.join('\n') + '\n');
  let log = '';
  const child = spawn(REGISTRY_BIN, ['serve', config], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.on('data', (d) => (log += d));
  child.stderr!.on('data', (d) => (log += d));
  const exited = new Promise<void>((r) => child.on('exit', () => r()));
  const url = `${o.tls ? 'https' : 'http'}://${address}:${port}`;
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(timer);
  };
  // Ready when /v2/ answers (200, or 401 with auth). TLS: the port accepting is enough.
  const end = Date.now() + 15_000;
  for (;;) {
    const ready = o.tls ? await new Promise<boolean>((r) => net.connect(port, address).on('connect', function (this: net.Socket) { this.destroy(); r(true); }).on('error', () => r(false))) : [200, 401].includes(await status(`${url}/v2/`));
    if (ready) break;
    if (Date.now() > end || child.exitCode !== null) {
      await stop();
      throw new Error(`docker-registry did not answer on ${url}: its log:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { host: `${address}:${port}`, url, storage, pid: child.pid!, log: () => log, stop };
}
// #endregion registry

/** A self-signed certificate for 127.0.0.1 and localhost (openssl). */
export function makeCert(dir: string, cn = 'dockling-test', ips: string[] = []): { certFile: string; keyFile: string } {
  fs.mkdirSync(dir, { recursive: true });
  const certFile = path.join(dir, `${cn}.crt`);
  const keyFile = path.join(dir, `${cn}.key`);
  const r = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '2', '-subj', `/CN=${cn}`, '-addext', `subjectAltName=${['127.0.0.1', ...ips].map((ip) => `IP:${ip}`).join(',')},DNS:localhost`], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`openssl failed: ${r.stderr}`);
  return { certFile, keyFile };
}

// #region token-service
/**
 * libtrust's key ID, by which docker-registry finds the key that signed a
 * token: base32 of the first 30 bytes of the sha256 of the public key's
 * DER (SubjectPublicKeyInfo), in 12 groups of 4 joined by ":".
 */
function keyID(publicKey: crypto.KeyObject): string {
  const der = publicKey.export({ type: 'spki', format: 'der' });
  const bytes = crypto.createHash('sha256').update(der).digest().subarray(0, 30);
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0;
  let value = 0;
  let out = '';
  for (const b of bytes) {
    value = (value << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += alphabet[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  return out.match(/.{4}/g)!.join(':');
}

const b64url = (b: Buffer | string) => Buffer.from(b).toString('base64url');

export async function startTokenService(o: {
  dir: string;
  users: { user: string; password: string }[];
  /** the actions granted; default: pull for anyone, pull and push for a valid user */
  grant?: (user: string | null, scope: { type: string; name: string; actions: string[] }) => string[];
}): Promise<TokenService> {
  const { certFile, keyFile } = makeCert(o.dir, 'token-signer');
  const key = crypto.createPrivateKey(fs.readFileSync(keyFile));
  const kid = keyID(crypto.createPublicKey(key));
  const service = 'dockling-test-registry';
  const issuer = 'dockling-test-token-service';
  const requests: TokenService['requests'] = [];
  const grant = o.grant ?? ((user, s) => s.actions.filter((a) => a === 'pull' || (user !== null && a === 'push') || (user !== null && s.type === 'registry')));
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const auth = req.headers.authorization;
    let user: string | null = null;
    if (auth?.startsWith('Basic ')) {
      const [u, ...p] = Buffer.from(auth.slice(6), 'base64').toString().split(':');
      if (!o.users.some((x) => x.user === u && x.password === p.join(':'))) {
        res.writeHead(401, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ details: 'incorrect username or password' }));
        return;
      }
      user = u;
    }
    const scopes = url.searchParams.getAll('scope');
    requests.push({ user, scopes });
    const access = scopes.map((s) => {
      const [type, ...rest] = s.split(':');
      const actions = (rest.pop() ?? '').split(',');
      const scope = { type, name: rest.join(':'), actions };
      return { ...scope, actions: grant(user, scope) };
    });
    const now = Math.floor(Date.now() / 1000);
    const header = b64url(JSON.stringify({ typ: 'JWT', alg: 'RS256', kid }));
    const claims = b64url(JSON.stringify({ iss: issuer, sub: user ?? '', aud: url.searchParams.get('service') ?? service, exp: now + 300, nbf: now - 10, iat: now, jti: crypto.randomUUID(), access }));
    const signature = b64url(crypto.sign('sha256', Buffer.from(`${header}.${claims}`), key));
    const token = `${header}.${claims}.${signature}`;
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ token, access_token: token, expires_in: 300, issued_at: new Date().toISOString() }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  return { realm: `http://127.0.0.1:${port}/token`, service, issuer, certFile, requests, stop: () => new Promise((r) => server.close(() => r())) };
}
// #endregion token-service

// #region cutting-proxy
/**
 * An HTTP proxy to `target` that, for the first `times` blob downloads
 * (200 or 206), sends the headers and `cutAfter` bytes of the body and then
 * drops the connection. Every request's path and Range header is recorded.
 */
export async function startCuttingProxy(target: string, o: { cutAfter: number; times: number }): Promise<{ host: string; cuts: () => number; requests: { path: string; range?: string }[]; stop(): Promise<void> }> {
  const requests: { path: string; range?: string }[] = [];
  let cuts = 0;
  const server = http.createServer((req, res) => {
    requests.push({ path: req.url ?? '', ...(req.headers.range ? { range: String(req.headers.range) } : {}) });
    const up = http.request(`http://${target}${req.url}`, { method: req.method, headers: { ...req.headers, host: target } }, (ur) => {
      const cut = /\/blobs\/sha256:/.test(req.url ?? '') && req.method === 'GET' && (ur.statusCode === 200 || ur.statusCode === 206) && cuts < o.times;
      res.writeHead(ur.statusCode ?? 502, ur.headers);
      if (!cut) {
        ur.pipe(res);
        return;
      }
      let sent = 0;
      ur.on('data', (chunk: Buffer) => {
        if (sent >= o.cutAfter) return;
        const part = chunk.subarray(0, o.cutAfter - sent);
        sent += part.length;
        res.write(part);
        if (sent >= o.cutAfter) {
          cuts++;
          ur.destroy();
          res.socket?.destroy();
        }
      });
      // A blob smaller than cutAfter goes through whole.
      ur.on('end', () => sent < o.cutAfter && res.end());
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  return {
    host: `127.0.0.1:${port}`,
    cuts: () => cuts,
    requests,
    stop: () => new Promise((r) => {
      server.closeAllConnections();
      server.close(() => r());
    }),
  };
}
// #endregion cutting-proxy

// #region search-index
/** Docker Hub's v1 search API with canned results: GET /v1/search?q=TERM&n=N. */
export async function startSearchIndex(results: SearchResult[]): Promise<{ host: string; requests: string[]; stop(): Promise<void> }> {
  const requests: string[] = [];
  const server = http.createServer((req, res) => {
    requests.push(req.url ?? '');
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/v2/') {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end('{}');
      return;
    }
    if (url.pathname !== '/v1/search') {
      res.writeHead(404);
      res.end();
      return;
    }
    const q = url.searchParams.get('q') ?? '';
    const n = Number(url.searchParams.get('n') ?? 25);
    const found = results.filter((r) => r.name.includes(q)).slice(0, n);
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ num_pages: 1, num_results: found.length, page_size: n, page: 1, query: q, results: found }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  return { host: `127.0.0.1:${port}`, requests, stop: () => new Promise((r) => server.close(() => r())) };
}
// #endregion search-index
