// What chapter 8's tests share: a state root with the leak check, a second
// one to pull into, dockling's config and daemon.json in the file's temp
// directory (never the machine's), images with several layers, and a
// registry written for the faults a real one will not commit (a fake with
// canned answers, for bad manifests, hostile layers, 503s and 429s).
import { before } from 'node:test';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import zlib from 'node:zlib';
import crypto from 'node:crypto';
import { dockling, docklingAsync, tempRoot, type Result } from '../../helpers/dockling.ts';
import { expectCode, useStateRoot } from '../../helpers/chapter.ts';
import { useTempDir } from '../../helpers/temp.ts';
import { TarWriter } from '../../../runtime/storage/tar.ts';

export function chapter8(label: string) {
  const root = useStateRoot(label);
  const tmp = useTempDir(`dockling-ch8-${label}-`);
  const env = (): NodeJS.ProcessEnv => ({
    DOCKLING_CONFIG: path.join(tmp(), 'client'),
    DOCKLING_DAEMON_CONFIG: path.join(tmp(), 'daemon.json'),
    DOCKLING_REGISTRY_RETRY_MS: '20',
  });
  const cli = (args: string[], opts: Parameters<typeof dockling>[2] = {}): Result => dockling(root(), args, { ...opts, env: { ...env(), ...opts.env } });
  const ok = (args: string[], opts: Parameters<typeof dockling>[2] = {}) => expectCode(cli(args, opts), 0);
  /** The same, without blocking this process: for registries served from the test's own process. */
  const cliAsync = (args: string[], extraEnv: NodeJS.ProcessEnv = {}, input?: string): Promise<Result> => {
    const run = docklingAsync(root(), args, { env: { ...env(), ...extraEnv }, stdin: input === undefined ? 'ignore' : 'pipe' });
    if (input !== undefined) run.child.stdin!.end(input);
    return run.done;
  };
  /** A second, empty state root (removed with everything in it, mounts too, by `rm`). */
  const other = () => {
    const r = tempRoot(`${label}-other`);
    return {
      root: r,
      cli: (args: string[], opts: Parameters<typeof dockling>[2] = {}) => dockling(r, args, { ...opts, env: { ...env(), ...opts.env } }),
      rm: () => fs.rmSync(r, { recursive: true, force: true }),
    };
  };
  const daemonJSON = (o: object) => fs.writeFileSync(path.join(tmp(), 'daemon.json'), JSON.stringify(o));
  before(() => {
    expectCode(dockling(root(), ['image', 'inspect', 'busybox'], { env: env() }), 0); // busybox made now: part of every "before"
  });
  return { root, tmp, env, cli, cliAsync, ok, other, daemonJSON };
}

/** Make NAME from busybox with `n` more layers (a file each), by run and commit. */
export function layeredImage(cli: (a: string[]) => Result, name: string, n: number, bytes = 1000): void {
  let base = 'busybox';
  for (let i = 1; i <= n; i++) {
    const c = `layer-${process.pid}-${i}`;
    expectCode(cli(['run', '--name', c, base, 'sh', '-c', `head -c ${bytes} /dev/urandom > /file${i}`]), 0);
    const tag = i === n ? name : `${name}-step${i}`;
    expectCode(cli(['commit', c, tag]), 0);
    expectCode(cli(['rm', c]), 0);
    if (base !== 'busybox') expectCode(cli(['rmi', base]), 0);
    base = tag;
  }
}

/** The image IDs and layers a state root holds (to compare before and after). */
export function storeOf(root: string): { images: string[]; layers: string[]; tmp: string[] } {
  const ls = (d: string) => (fs.existsSync(d) ? fs.readdirSync(d).filter((n) => !n.startsWith('.')).sort() : []);
  return { images: ls(path.join(root, 'image/overlay2/imagedb/content/sha256')), layers: ls(path.join(root, 'image/overlay2/layerdb/sha256')), tmp: ls(path.join(root, 'tmp')) };
}

// #region fake-registry
export interface Canned {
  status?: number;
  headers?: Record<string, string>;
  body?: Buffer | string;
}

/**
 * A registry of canned answers on 127.0.0.1: `routes` maps "METHOD path" to
 * an answer, or to a list of answers given in turn (the last one repeats).
 * Every request is recorded. For what a real registry would never send.
 */
export async function fakeRegistry(routes: Record<string, Canned | Canned[]>, o: { basicRealm?: string } = {}): Promise<{ host: string; requests: string[]; headers: http.IncomingHttpHeaders[]; stop: () => Promise<void> }> {
  const requests: string[] = [];
  const headers: http.IncomingHttpHeaders[] = [];
  const served = new Map<string, number>();
  const server = http.createServer((req, res) => {
    const key = `${req.method} ${req.url}`;
    requests.push(key);
    headers.push(req.headers);
    // With basicRealm, like an htpasswd registry: no credentials, no answer but the challenge.
    if (o.basicRealm && !req.headers.authorization) {
      res.writeHead(401, { 'WWW-Authenticate': `Basic realm="${o.basicRealm}"`, 'Content-Length': '0' });
      res.end();
      return;
    }
    const route = routes[key] ?? routes[`${req.method} ${req.url?.split('?')[0]}`];
    const list = route === undefined ? [{ status: 404, body: '{"errors":[{"code":"NOT_FOUND","message":"not here"}]}' }] : Array.isArray(route) ? route : [route];
    const n = served.get(key) ?? 0;
    served.set(key, n + 1);
    const a = list[Math.min(n, list.length - 1)];
    const body = a.body === undefined ? Buffer.alloc(0) : Buffer.from(a.body);
    res.writeHead(a.status ?? 200, { 'Content-Length': String(body.length), ...a.headers });
    res.end(req.method === 'HEAD' ? undefined : body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return {
    host: `127.0.0.1:${port}`,
    requests,
    headers,
    stop: () => new Promise((r) => server.close(() => r())),
  };
}

export const digestOf = (b: Buffer | string) => 'sha256:' + crypto.createHash('sha256').update(b).digest('hex');

/** A layer tar (gzip) from entries, with its diffID and blob digest. */
export function layerBlob(entries: { name: string; type: 'file' | 'dir' | 'symlink'; data?: string; target?: string; mode?: number }[]) {
  const chunks: Buffer[] = [];
  const tar = new TarWriter((b) => chunks.push(Buffer.from(b)));
  for (const e of entries) {
    if (e.type === 'file') tar.add({ name: e.name, type: 'file', mode: e.mode ?? 0o644 }, Buffer.from(e.data ?? ''));
    else if (e.type === 'dir') tar.add({ name: e.name, type: 'dir', mode: e.mode ?? 0o755 });
    else tar.add({ name: e.name, type: 'symlink', mode: 0o777, linkname: e.target! });
  }
  tar.finish();
  const plain = Buffer.concat(chunks);
  const gz = zlib.gzipSync(plain);
  return { gz, diffID: digestOf(plain), digest: digestOf(gz) };
}

/** The canned routes of one image in a fake registry: manifest by tag and digest, config, layers. */
export function imageRoutes(repo: string, tag: string, layers: ReturnType<typeof layerBlob>[], o: { manifestType?: string; layerType?: string; architecture?: string } = {}) {
  const config = Buffer.from(JSON.stringify({
    architecture: o.architecture ?? 'amd64', os: 'linux', created: '2026-01-01T00:00:00Z',
    config: { Cmd: ['sh'] }, rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffID) }, history: layers.map(() => ({ created_by: 'test' })),
  }));
  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2, mediaType: o.manifestType ?? 'application/vnd.docker.distribution.manifest.v2+json',
    config: { mediaType: 'application/vnd.docker.container.image.v1+json', size: config.length, digest: digestOf(config) },
    layers: layers.map((l) => ({ mediaType: o.layerType ?? 'application/vnd.docker.image.rootfs.diff.tar.gzip', size: l.gz.length, digest: l.digest })),
  }));
  const routes: Record<string, Canned | Canned[]> = {
    'GET /v2/': { body: '{}' },
    [`GET /v2/${repo}/manifests/${tag}`]: { body: manifest, headers: { 'Content-Type': o.manifestType ?? 'application/vnd.docker.distribution.manifest.v2+json' } },
    [`GET /v2/${repo}/manifests/${digestOf(manifest)}`]: { body: manifest, headers: { 'Content-Type': o.manifestType ?? 'application/vnd.docker.distribution.manifest.v2+json' } },
    [`GET /v2/${repo}/blobs/${digestOf(config)}`]: { body: config },
  };
  for (const l of layers) routes[`GET /v2/${repo}/blobs/${l.digest}`] = { body: l.gz };
  return { routes, manifest, config, id: digestOf(config) };
}
// #endregion fake-registry
