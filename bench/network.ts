// Chapter 6's rows: what the network costs.
//   - `run --rm busybox true` on the default bridge against `--network none`
//     (the network stage: veth pair, IPAM lease, rules), and against docker
//     on its own bridge (a dockerd this file starts, in a network namespace
//     of its own, as /work/shared/PEERS.md shows);
//   - TCP through a published port (127.0.0.1:HOSTPORT, hairpin NAT) against
//     a direct connection to the container's IP: latency of small GETs, one
//     connection each, and the throughput of a 64 MiB download;
//   - the memory a published port costs: dockling has no userland proxy (no
//     process per port), docker starts a docker-proxy per port and family.
// The docker rows are skipped, with a line saying why, when dockerd is not
// installed or does not start: the rest of the bench goes on.
import { cgroupDirs } from '../test/helpers/cgroups.js';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { findTool, mountsUnder } from './host.js';
import { median } from './stats.js';

export interface NetworkRow {
  label: string;
  value: number;
  unit: 'ms' | 'MiB' | 'MiB/s' | '% of direct';
  peer: string;
  peerValue: number;
}

// --- docker as the peer: a private dockerd --------------------------------------

const DOCKERD = ['/usr/sbin/dockerd', '/usr/bin/dockerd'].find((p) => fs.existsSync(p));
// docker.io's own client, the daemon's version (a newer CLI may come first on PATH).
const DOCKER = '/usr/bin/docker';
/** The busybox rootfs, imported into dockerd under this name. */
export const DOCKER_IMAGE = 'localhost/busybox:latest';
// The cgroup parent PEERS.md uses: dockerd makes it in every hierarchy and
// leaves it there when it stops (empty); removed by stopDocker.
const CGROUP_PARENT = 'bench-docker';
// What dockerd 20.10 writes outside the paths it is given (its trust key,
// its plugin directory, containerd's shim sockets): removed afterwards only
// where this bench's daemon made them (test/chapters/05-containers/
// docker-differential.test.ts learned the list).
const FIXED_PATHS = ['/etc/docker/key.json', '/run/docker', '/run/containerd'];

export interface DockerPeer {
  dir: string;
  /** dockerd's PID (unshare and sh exec into it) */
  pid: number;
  child: ChildProcess;
  exited: Promise<void>;
  /** `docker -H unix://…` */
  args: string[];
  /** the client's environment: its config under dir, not ~/.docker */
  env: NodeJS.ProcessEnv;
  madeHere: string[];
  log: () => string;
}

/** Why the docker rows cannot run here, or null when they can. */
export function dockerMissing(): string | null {
  const missing = [!DOCKERD && 'dockerd', !fs.existsSync(DOCKER) && DOCKER].filter(Boolean);
  return missing.length ? `no ${missing.join(', ')}: apt-get install docker.io` : null;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Start dockerd in a network namespace of its own (its docker0, NAT rules and
 * ip_forward live and die there), every path it is told about under dir, and
 * import the bench's busybox rootfs. Throws (with its log) if it does not answer.
 */
export async function startDocker(dir: string, rootfs: string, unshare: string, ip: string, env: NodeJS.ProcessEnv): Promise<DockerPeer> {
  fs.mkdirSync(dir, { recursive: true });
  const madeHere = FIXED_PATHS.filter((p) => !fs.existsSync(p));
  // dockerd finds docker-proxy, containerd and runc on PATH, some in sbin.
  const daemonEnv: NodeJS.ProcessEnv = { ...env, PATH: `${env.PATH ?? ''}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin` };
  delete daemonEnv.TMPDIR; // the bench's TMPDIR must stay empty of dockerd's files
  const child = spawn(
    unshare,
    [
      '--net',
      '--',
      'sh',
      '-c',
      `${ip} link set lo up && exec "$@"`,
      'sh',
      DOCKERD!,
      `--data-root=${dir}/data`,
      `--exec-root=${dir}/exec`,
      `--pidfile=${dir}/dockerd.pid`,
      `--host=unix://${dir}/docker.sock`,
      '--iptables=true',
      `--cgroup-parent=${CGROUP_PARENT}`,
      // its own containerd under exec-root, in namespaces of its own
      '--containerd-namespace=dockling-bench',
      '--containerd-plugins-namespace=dockling-bench-plugins',
    ],
    // a process group of its own: Ctrl-C reaches the bench, which stops
    // dockerd itself, after its containers
    { stdio: ['ignore', 'pipe', 'pipe'], env: daemonEnv, detached: true },
  );
  let log = '';
  child.stdout!.on('data', (d) => (log = (log + d).slice(-20_000)));
  child.stderr!.on('data', (d) => (log = (log + d).slice(-20_000)));
  const exited = new Promise<void>((resolve) => child.on('close', () => resolve()));
  const peer: DockerPeer = {
    dir,
    pid: child.pid!,
    child,
    exited,
    args: ['-H', `unix://${dir}/docker.sock`],
    env: { ...env, DOCKER_CONFIG: path.join(dir, 'client') },
    madeHere,
    log: () => log,
  };
  try {
    const until = Date.now() + 30_000;
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null) throw new Error('dockerd exited');
      if (docker(peer, ['version', '--format', '{{.Server.Version}}']).code === 0) break;
      if (Date.now() > until) throw new Error('dockerd did not answer within 30 s');
      await sleep(200);
    }
    // The very same busybox files as dockling's rows, as a one-layer image.
    const tar = spawnSync('tar', ['-C', rootfs, '-cf', '-', '.'], { maxBuffer: 1 << 30 });
    if (tar.status !== 0) throw new Error(`tar of ${rootfs}: ${tar.stderr}`);
    const imp = docker(peer, ['import', '-', DOCKER_IMAGE], tar.stdout);
    if (imp.code !== 0) throw new Error(`docker import: ${imp.stderr}`);
  } catch (e) {
    await stopDocker(peer);
    throw new Error(`${(e as Error).message}; dockerd's log ends:\n${log.trim().split('\n').slice(-8).join('\n')}`);
  }
  return peer;
}

function docker(p: DockerPeer, args: string[], input?: Buffer) {
  const r = spawnSync(DOCKER, [...p.args, ...args], { env: p.env, encoding: 'utf8', input, timeout: 60_000 });
  return { code: r.status ?? 128, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

/** The docker client command of a row: `docker -H unix://… ARGS`. */
export function dockerCmd(p: DockerPeer, args: string[]) {
  return { file: DOCKER, args: [...p.args, ...args], env: p.env };
}

/**
 * Stop dockerd by its PID, after its containers, and remove what it made:
 * its directory (after unmounting what it left mounted there), the fixed
 * paths it made, its cgroups. Returns what could not be removed.
 */
export async function stopDocker(p: DockerPeer): Promise<string[]> {
  const left: string[] = [];
  if (p.child.exitCode === null && p.child.signalCode === null) {
    const ids = docker(p, ['ps', '-aq']).stdout.split('\n').filter(Boolean);
    if (ids.length) docker(p, ['rm', '-f', ...ids]);
    p.child.kill('SIGTERM'); // it stops its containerd and unmounts its layers
    // an unref'd timer: a dockerd that stops at once must not keep the bench waiting 30 s
    const stopped = await Promise.race([p.exited.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 30_000).unref())]);
    if (!stopped) {
      left.push(`dockerd ${p.pid} did not stop within 30 s of SIGTERM: killed`);
      try {
        process.kill(-p.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
      await p.exited;
    }
  }
  for (const m of mountsUnder(p.dir)) {
    if (spawnSync('umount', ['--lazy', m]).status !== 0) left.push(`mount ${m} (dockerd's): could not unmount`);
  }
  if (mountsUnder(p.dir).length === 0) fs.rmSync(p.dir, { recursive: true, force: true });
  for (const f of p.madeHere) fs.rmSync(f, { recursive: true, force: true });
  for (const cg of cgroupDirs(CGROUP_PARENT)) {
    if (!removeCgroupTree(cg)) left.push(`cgroup ${cg} (dockerd's): not empty`);
  }
  return left;
}

/** rmdir a cgroup and its children, deepest first; false if one is busy. */
function removeCgroupTree(dir: string): boolean {
  let ok = true;
  try {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) ok = removeCgroupTree(path.join(dir, e.name)) && ok;
    fs.rmdirSync(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') ok = false;
  }
  return ok;
}

// --- processes and their memory ----------------------------------------------------

function rssKiB(pid: number): number {
  try {
    return Number(/^VmRSS:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
  } catch {
    return 0;
  }
}

/** Every process whose parent is ppid. */
function childrenOf(ppid: number): { pid: number; comm: string; cmdline: string }[] {
  const out = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${name}/stat`, 'utf8');
      const close = stat.lastIndexOf(')');
      if (Number(stat.slice(close + 2).split(' ')[1]) !== ppid) continue;
      const cmdline = fs.readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0').join(' ').trim();
      out.push({ pid: Number(name), comm: stat.slice(stat.indexOf('(') + 1, close), cmdline });
    } catch {
      /* exited while we looked */
    }
  }
  return out;
}

/** All processes whose command line contains s. */
function processesWith(s: string): number[] {
  const out = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (fs.readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0').join(' ').includes(s)) out.push(Number(name));
    } catch {
      /* exited */
    }
  }
  return out;
}

// --- TCP from the bench process -------------------------------------------------------

/**
 * One HTTP/1.0 GET on a new connection (busybox httpd closes it after the
 * body): time from connect() to the server's close, and the bytes received.
 */
function get(host: string, port: number, file: string): Promise<{ ms: number; bytes: number; head: string }> {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    let bytes = 0;
    let head = '';
    const s = net.connect({ host, port }, () => s.write(`GET /${file} HTTP/1.0\r\nHost: bench\r\n\r\n`));
    s.setTimeout(30_000, () => s.destroy(new Error(`GET http://${host}:${port}/${file}: no answer in 30 s`)));
    s.on('data', (d: Buffer) => {
      if (head.length < 64) head += d.subarray(0, 64).toString('latin1');
      bytes += d.length;
    });
    s.on('end', () => resolve({ ms: Number(process.hrtime.bigint() - t0) / 1e6, bytes, head }));
    s.on('error', reject);
  });
}

async function getOk(host: string, port: number, file: string, minBytes: number) {
  const r = await get(host, port, file);
  if (!/^HTTP\/1\.[01] 200/.test(r.head) || r.bytes < minBytes) throw new Error(`GET http://${host}:${port}/${file}: got ${r.bytes} bytes starting ${JSON.stringify(r.head.slice(0, 30))}`);
  return r;
}

const BIG_MIB = 64;

export interface Target {
  host: string;
  port: number;
}

export interface TcpResult {
  k: number;
  n: number;
  latency: { published: number; direct: number };
  throughput: { published: number; direct: number };
}

/**
 * (a) latency: K GETs of a 3-byte file, a new connection each, through the
 * published port and direct, alternating, after a few untimed; (b)
 * throughput: the 64 MiB file each way, alternating. Medians.
 */
export async function measureTcp(published: Target, direct: Target, runs: number): Promise<TcpResult> {
  const k = Math.max(50, runs * 10);
  const lat = { published: [] as number[], direct: [] as number[] };
  for (let i = -5; i < k; i++) {
    const a = await getOk(published.host, published.port, 'small', 3);
    const b = await getOk(direct.host, direct.port, 'small', 3);
    if (i < 0) continue;
    lat.published.push(a.ms);
    lat.direct.push(b.ms);
  }
  const n = Math.max(5, runs);
  const tput = { published: [] as number[], direct: [] as number[] };
  const mibs = (ms: number) => BIG_MIB / (ms / 1000);
  for (let i = -1; i < n; i++) {
    const a = await getOk(published.host, published.port, 'big', BIG_MIB << 20);
    const b = await getOk(direct.host, direct.port, 'big', BIG_MIB << 20);
    if (i < 0) continue;
    tput.published.push(mibs(a.ms));
    tput.direct.push(mibs(b.ms));
  }
  return {
    k,
    n,
    latency: { published: median(lat.published), direct: median(lat.direct) },
    throughput: { published: median(tput.published), direct: median(tput.direct) },
  };
}

/** Wait until GET /small answers (the container's httpd is up). */
export async function ready(t: Target): Promise<void> {
  const until = Date.now() + 30_000;
  for (;;) {
    try {
      await getOk(t.host, t.port, 'small', 3);
      return;
    } catch (e) {
      if (Date.now() > until) throw new Error(`the container's httpd did not answer within 30 s: ${(e as Error).message}`);
      await sleep(200);
    }
  }
}

/**
 * Run measureTcp in a fresh Node process (bench/tcp-client.ts), in the
 * network namespace of `netnsOf` (a PID) or the bench's own: dockling's port
 * and docker's are measured by the same code the same way.
 */
function tcpClient(netnsOf: number | null, published: Target, direct: Target, runs: number, env: NodeJS.ProcessEnv): TcpResult {
  const client = path.join(path.dirname(fileURLToPath(import.meta.url)), 'tcp-client.ts');
  const node = [process.execPath, ...process.execArgv, client, JSON.stringify([published, direct, runs])];
  let argv = node;
  if (netnsOf !== null) {
    const nsenter = findTool('nsenter');
    if (!nsenter) throw new Error('nsenter not found: apt-get install util-linux');
    argv = [nsenter, `--net=/proc/${netnsOf}/ns/net`, '--', ...node];
  }
  // tsx keeps a cache in TMPDIR: the caller's, not the bench's (which must stay empty)
  const clientEnv = { ...env, TMPDIR: process.env.TMPDIR };
  if (!clientEnv.TMPDIR) delete clientEnv.TMPDIR;
  const c = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8', env: clientEnv, timeout: 300_000 });
  if (c.status !== 0) throw new Error(`the TCP client failed (${c.status}): ${c.stderr}`);
  return JSON.parse(c.stdout) as TcpResult;
}

/** The container's command: a 64 MiB file and a tiny one, served by busybox httpd on 80. */
const SERVE = ['sh', '-c', `mkdir -p /srv && dd if=/dev/zero of=/srv/big bs=1M count=${BIG_MIB} 2>/dev/null && echo ok > /srv/small && exec httpd -f -p 80 -h /srv`];

// --- the rows --------------------------------------------------------------------

/** The `run --rm busybox true` ratios, from the main table's medians (same run). */
export function runRatioRows(med: (key: string) => number, withDocker: boolean): NetworkRow[] {
  const rows: NetworkRow[] = [
    { label: 'dockling run --rm busybox true, default bridge', value: med('dockling'), unit: 'ms', peer: 'dockling … --network none', peerValue: med('dockling-none') },
  ];
  if (withDocker) {
    rows.push(
      { label: 'dockling run --rm busybox true, default bridge', value: med('dockling'), unit: 'ms', peer: 'docker run --rm busybox true, its bridge', peerValue: med('docker-bridge') },
      { label: 'docker run --rm busybox true, its bridge', value: med('docker-bridge'), unit: 'ms', peer: 'docker … --network none', peerValue: med('docker-none') },
    );
  }
  return rows;
}

export async function networkRows(bin: string, stateRoot: string, env: NodeJS.ProcessEnv, runs: number, peer: DockerPeer | undefined): Promise<NetworkRow[]> {
  const dockling = (args: string[]) => {
    const r = spawnSync(process.execPath, ['--', bin, '--root', stateRoot, ...args], { encoding: 'utf8', env });
    if (r.status !== 0) throw new Error(`dockling ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
    return r.stdout.trim();
  };
  const rows: NetworkRow[] = [];
  let id: string | undefined;
  let dockerId: string | undefined;
  try {
    // A web server in the container, a 64 MiB file and a tiny one to serve,
    // published on an ephemeral host port (-p 80, Docker's way of picking it).
    id = dockling(['run', '-d', '-p', '80', 'busybox', ...SERVE]);
    const direct = dockling(['inspect', '-f', '{{.NetworkSettings.IPAddress}}', id]);
    const hostPort = Number(/:(\d+)\s*$/m.exec(dockling(['port', id, '80/tcp']))?.[1]);
    if (!direct || !hostPort) throw new Error(`container ${id}: no IP address (${direct}) or host port (${hostPort})`);
    await ready({ host: direct, port: 80 });
    const published = { host: '127.0.0.1', port: hostPort };
    const straight = { host: direct, port: 80 };

    const t = tcpClient(null, published, straight, runs, env);
    rows.push(
      { label: `TCP latency: GET of 3 bytes, new connection, 127.0.0.1:${hostPort} (hairpin NAT), median of ${t.k}`, value: t.latency.published, unit: 'ms', peer: `direct to ${direct}:80`, peerValue: t.latency.direct },
      { label: `TCP throughput: ${BIG_MIB} MiB GET via 127.0.0.1:${hostPort}, median of ${t.n}`, value: t.throughput.published, unit: 'MiB/s', peer: `direct to ${direct}:80`, peerValue: t.throughput.direct },
    );

    // The host side of that container: its monitor and nsexec, nothing per port.
    const monitor = Number(dockling(['inspect', '-f', '{{.MonitorPid}}', id]));
    const tree = [monitor, ...childrenOf(monitor).map((c) => c.pid)];
    const ourMiB = tree.reduce((s, p) => s + rssKiB(p), 0) / 1024;

    if (peer) {
      // The same with docker: one -p, its containerd-shim per container and
      // its docker-proxy per published port (and address family), measured
      // before any traffic went through them.
      const r = docker(peer, ['run', '-d', '-p', '80', DOCKER_IMAGE, ...SERVE]);
      if (r.code !== 0) throw new Error(`docker run -d -p 80: ${r.stderr}`);
      dockerId = r.stdout.trim();
      await sleep(500);
      const proxies = childrenOf(peer.pid).filter((c) => c.comm === 'docker-proxy');
      const shims = processesWith(`-id ${dockerId}`).filter((pid) => /containerd-shim/.test(fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8')));
      const proxyMiB = proxies.reduce((s, c) => s + rssKiB(c.pid), 0) / 1024;
      const shimMiB = shims.reduce((s, p) => s + rssKiB(p), 0) / 1024;
      rows.push(
        { label: 'memory of one published port: host processes per -p (dockling: none, hairpin NAT)', value: 0, unit: 'MiB', peer: `docker-proxy × ${proxies.length}`, peerValue: proxyMiB },
        { label: `host processes of a container with one -p: monitor + nsexec (${tree.length})`, value: ourMiB, unit: 'MiB', peer: `docker: containerd-shim (${shims.length}) + docker-proxy (${proxies.length})`, peerValue: shimMiB + proxyMiB },
      );

      // docker's published port: 127.0.0.1 goes through docker-proxy (its
      // OUTPUT rule leaves 127.0.0.0/8 alone while the userland proxy is on).
      // Measured from inside dockerd's namespace by the same code.
      const dIp = docker(peer, ['inspect', '-f', '{{.NetworkSettings.IPAddress}}', dockerId]).stdout.trim();
      const dPort = Number(/:(\d+)\s*$/m.exec(docker(peer, ['port', dockerId, '80/tcp']).stdout)?.[1]);
      if (!dIp || !dPort) throw new Error(`docker container ${dockerId}: no IP (${dIp}) or host port (${dPort})`);
      const d = tcpClient(peer.pid, { host: '127.0.0.1', port: dPort }, { host: dIp, port: 80 }, runs, env);
      rows.push(
        { label: `docker: TCP latency via 127.0.0.1:${dPort} (docker-proxy), median of ${d.k}`, value: d.latency.published, unit: 'ms', peer: `direct to ${dIp}:80`, peerValue: d.latency.direct },
        { label: `docker: TCP throughput, ${BIG_MIB} MiB via 127.0.0.1:${dPort} (docker-proxy)`, value: d.throughput.published, unit: 'MiB/s', peer: `direct to ${dIp}:80`, peerValue: d.throughput.direct },
        // Each runtime's own published/direct ratio: the two were measured one
        // after the other (and in two namespaces), so their MiB/s are not side by side.
        { label: 'TCP throughput via 127.0.0.1:HOSTPORT: dockling (hairpin NAT)', value: (100 * t.throughput.published) / t.throughput.direct, unit: '% of direct', peer: 'docker (docker-proxy)', peerValue: (100 * d.throughput.published) / d.throughput.direct },
      );
    } else {
      rows.push({ label: `host processes of a container with one -p: monitor + nsexec (${tree.length}), none per port`, value: ourMiB, unit: 'MiB', peer: 'docker skipped', peerValue: NaN });
    }
  } finally {
    if (id) spawnSync(process.execPath, ['--', bin, '--root', stateRoot, 'rm', '-f', id], { env });
    if (dockerId && peer) docker(peer, ['rm', '-f', dockerId]);
  }
  return rows;
}
