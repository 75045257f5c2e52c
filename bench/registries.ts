// Chapter 8's rows: push and pull of a 50 MB image of 5 layers (10 MB of
// random bytes each, on busybox) to a docker-registry on 127.0.0.1 started
// by the bench, against `skopeo copy` of the same image to the same
// registry, alternating, `runs` times each, medians.
//
// Push: dockling compresses each layer's tar (chapter 4's tar-split) and
// uploads it; skopeo copies `dockling save`'s archive (uncompressed layer
// tars, docker-archive:) and compresses them too. Every push goes to a new
// repository with dockling's distribution metadata removed first, so every
// push sends every blob (no "Layer already exists", no mount).
// Pull: dockling into an empty state root (download, verify, unpack,
// register); skopeo to an OCI layout directory (download and verify only:
// it unpacks nothing), and that copy followed by `umoci unpack` of it into
// a bundle (the same work as a pull).

import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { performance } from 'node:perf_hooks';

export interface RegistryRow {
  label: string;
  medianMs: number;
  peer: string;
  peerMs: number;
}

const LAYERS = 5;
const LAYER_BYTES = 10_000_000;

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Run a command to completion; its wall time in ms. Throws with its stderr if it fails. */
function timed(file: string, args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(file, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr!.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(performance.now() - t0) : reject(new Error(`${path.basename(file)} ${args.join(' ')} failed (${code}): ${err.trim().split('\n').slice(-3).join(' | ')}`))));
  });
}

/**
 * skopeo with an empty blob-info cache. As root it keeps one in
 * /var/lib/containers/cache, which tells it that a blob is in another
 * repository of the registry already, and it mounts instead of uploading.
 * Each copy runs in a mount namespace of its own with a tmpfs over /var/lib,
 * so it starts with none (as every dockling push here does) and the
 * machine's cache is not touched.
 */
function freshSkopeo(args: string[]): [string, string[]] {
  return ['/usr/bin/unshare', ['--mount', '--propagation', 'private', '--', 'sh', '-c', 'mount -t tmpfs tmpfs /var/lib && exec /usr/bin/skopeo "$@"', 'sh', ...args]];
}

export function registryMissing(): string | null {
  const missing = ['/usr/bin/docker-registry', '/usr/bin/skopeo', '/usr/bin/umoci'].filter((f) => !fs.existsSync(f));
  return missing.length ? `no ${missing.join(', ')} (apt-get install docker-registry skopeo umoci)` : null;
}

// #region registry-rows
export async function registryRows(bin: string, stateRoot: string, env: NodeJS.ProcessEnv, scratch: string, runs: number): Promise<RegistryRow[]> {
  const dir = path.join(scratch, 'registry');
  fs.mkdirSync(dir, { recursive: true });
  const port = await freePort();
  const host = `127.0.0.1:${port}`;
  fs.writeFileSync(path.join(dir, 'config.yml'), `version: 0.1\nlog: {level: error, accesslog: {disabled: true}}\nstorage: {filesystem: {rootdirectory: ${dir}/storage}, delete: {enabled: true}}\nhttp: {addr: ${host}}\n`);
  const registry = spawn('/usr/bin/docker-registry', ['serve', path.join(dir, 'config.yml')], { stdio: 'ignore' });
  const exited = new Promise<void>((r) => registry.on('exit', () => r()));
  const dockling = (args: string[], root = stateRoot) => {
    const r = spawnSync(process.execPath, ['--', bin, '--root', root, ...args], { encoding: 'utf8', env, maxBuffer: 1 << 26 });
    if (r.status !== 0) throw new Error(`dockling ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
    return r.stdout;
  };
  const image = `${host}/bench/image:1`;
  try {
    for (let i = 0; ; i++) {
      if (await new Promise<boolean>((r) => net.connect(port, '127.0.0.1').on('connect', function (this: net.Socket) { this.destroy(); r(true); }).on('error', () => r(false)))) break;
      if (i > 200) throw new Error('docker-registry did not start');
      await new Promise((r) => setTimeout(r, 25));
    }
    // The image: busybox and five layers of 10 MB of random bytes.
    let base = 'busybox';
    for (let i = 1; i <= LAYERS; i++) {
      dockling(['run', '--name', `bench-layer${i}`, base, 'sh', '-c', `head -c ${LAYER_BYTES} /dev/urandom > /layer${i}`]);
      const tag = i === LAYERS ? image : `bench/layer:${i}`;
      dockling(['commit', `bench-layer${i}`, tag]);
      dockling(['rm', `bench-layer${i}`]);
      if (base !== 'busybox') dockling(['rmi', base]);
      base = tag;
    }
    const archive = path.join(dir, 'image.tar');
    dockling(['save', '-o', archive, image]);
    dockling(['push', image]); // the source of the pulls
    const distribution = path.join(stateRoot, 'image/overlay2/distribution');
    const push: number[] = [];
    const skopeoPush: number[] = [];
    const pull: number[] = [];
    const skopeoPull: number[] = [];
    const skopeoUnpack: number[] = [];
    const skopeoEnv = { ...env, TMPDIR: dir };
    for (let i = 0; i < runs + 1; i++) {
      // dockling push: a new repository, nothing known about where the blobs are.
      fs.rmSync(distribution, { recursive: true, force: true });
      dockling(['tag', image, `${host}/bench/push${i}:1`]);
      const p = await timed(process.execPath, ['--', bin, '--root', stateRoot, 'push', `${host}/bench/push${i}:1`], env);
      dockling(['rmi', `${host}/bench/push${i}:1`]);
      const sp = await timed(...freshSkopeo(['copy', '-q', '--dest-tls-verify=false', `docker-archive:${archive}`, `docker://${host}/bench/skopeo${i}:1`]), skopeoEnv);
      // dockling pull: into an empty state root; skopeo: into an empty OCI layout.
      const root = path.join(dir, `pull-root${i}`);
      const l = await timed(process.execPath, ['--', bin, '--root', root, 'pull', '-q', image], env);
      fs.rmSync(root, { recursive: true, force: true });
      const layout = path.join(dir, `oci${i}`);
      const sl = await timed(...freshSkopeo(['copy', '-q', '--src-tls-verify=false', `docker://${image}`, `oci:${layout}:1`]), skopeoEnv);
      // …and unpacked, as a pull unpacks: umoci's bundle of the same layers.
      const bundle = path.join(dir, `bundle${i}`);
      const un = await timed('/usr/bin/umoci', ['unpack', '--image', `${layout}:1`, bundle], skopeoEnv);
      fs.rmSync(layout, { recursive: true, force: true });
      fs.rmSync(bundle, { recursive: true, force: true });
      if (i === 0) continue; // the warm-up round
      push.push(p);
      skopeoPush.push(sp);
      pull.push(l);
      skopeoPull.push(sl);
      skopeoUnpack.push(sl + un);
    }
    const mb = (LAYERS * LAYER_BYTES) / 1e6;
    return [
      { label: `dockling push (${mb} MB, ${LAYERS} layers + busybox's, every blob sent)`, medianMs: median(push), peer: 'skopeo copy docker-archive: → docker:// (compresses too)', peerMs: median(skopeoPush) },
      { label: `dockling pull into an empty store (download, verify, unpack, register)`, medianMs: median(pull), peer: 'skopeo copy docker:// → oci: (download, verify; no unpacking)', peerMs: median(skopeoPull) },
      { label: `dockling pull into an empty store (download, verify, unpack, register)`, medianMs: median(pull), peer: 'skopeo copy docker:// → oci:, then umoci unpack (the same work)', peerMs: median(skopeoUnpack) },
    ];
  } finally {
    registry.kill('SIGTERM');
    await exited;
    spawnSync(process.execPath, ['--', bin, '--root', stateRoot, 'rmi', image], { env });
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
// #endregion registry-rows
