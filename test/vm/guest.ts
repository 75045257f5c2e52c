// A cgroup-v2-only test guest: QEMU (TCG: these machines have no KVM)
// booting Debian's own kernel, unpacked by vagrant/provision.sh into
// /var/cache/dockling-vm/kernel, with a small initramfs built here from
// busybox-static and that kernel's modules. The guest sees the host's /
// read-only over 9p under a tmpfs overlay, so it runs this very checkout,
// node and node_modules; nothing is downloaded. Its /init (init.sh) lays
// cgroup2 out like a systemd host and runs one command in a leaf.
//
// runInGuest(command) boots a fresh guest, streams the command's output
// (stdout and stderr together: they share the serial console), and returns
// its exit status with the boot and run times and the guest's memory.
import { spawn, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import zlib from 'node:zlib';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const INIT = path.join(path.dirname(fileURLToPath(import.meta.url)), 'init.sh');
export const CACHE = process.env.DOCKLING_VM_CACHE ?? '/var/cache/dockling-vm';
const QEMU = 'qemu-system-x86_64';
const BUSYBOX = '/bin/busybox';

// The modules the guest needs, roots only: their dependencies are read
// from each .ko's modinfo and loaded first.
// Chapter 6 adds the bridge and what iptables (nf_tables backend) needs for
// its NAT and filter rules.
const ROOT_MODULES = [
  'virtio_pci', '9pnet_virtio', '9p', 'overlay', 'fuse', 'veth',
  'bridge', 'crc32c_generic', 'nf_tables', 'nft_compat', 'nft_chain_nat', 'nf_nat', 'nf_conntrack',
  'xt_addrtype', 'xt_conntrack', 'xt_MASQUERADE', 'xt_nat', 'xt_tcpudp',
];

/** Why this machine cannot boot the guest, or undefined when it can. */
export function missing(): string | undefined {
  if (spawnSync(QEMU, ['--version'], { stdio: 'ignore' }).status !== 0) return `${QEMU} is not installed (apt-get install --no-install-recommends qemu-system-x86, or run vagrant/provision.sh)`;
  if (!fs.existsSync(path.join(CACHE, 'kernel/boot'))) return `no guest kernel in ${CACHE}/kernel (run vagrant/provision.sh)`;
  if (!fs.existsSync(BUSYBOX)) return 'busybox-static is not installed';
  if (process.getuid?.() !== 0) return 'the guest is built and booted as root (its 9p shares pass ownership through)';
  return undefined;
}

const sha = (...parts: (string | Buffer)[]) => {
  const h = crypto.createHash('sha256');
  for (const p of parts) h.update(p).update('\0');
  return h.digest('hex').slice(0, 16);
};

/** Write a file under the cache atomically (another run may read it). */
function writeCached(file: string, data: Buffer): void {
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, data);
  fs.renameSync(tmp, file);
  // Builds of the same kind unused for a day are stale (not sooner: another
  // checkout on this machine may be about to boot one).
  const dir = path.dirname(file);
  const kind = path.basename(file).split('-')[0];
  for (const f of fs.readdirSync(dir)) {
    const old = path.join(dir, f);
    if (f.startsWith(`${kind}-`) && f !== path.basename(file) && Date.now() - fs.statSync(old).atimeMs > 86_400_000) fs.rmSync(old, { force: true });
  }
}

// #region vmlinux
/**
 * The kernel QEMU boots: the ELF vmlinux inside Debian's vmlinuz (an xz
 * stream after the bzImage's setup code). QEMU boots an ELF with a PVH
 * note directly, which skips the decompressor run under TCG: ~2.5 s less
 * per boot.
 */
function kernelImage(kernelDir: string, buildDir: string): string {
  const boot = path.join(kernelDir, 'boot');
  const vmlinuz = fs.readdirSync(boot).find((f) => f.startsWith('vmlinuz-'));
  if (!vmlinuz) throw new Error(`no vmlinuz in ${boot}`);
  const image = fs.readFileSync(path.join(boot, vmlinuz));
  const out = path.join(buildDir, `vmlinux-${sha(image)}`);
  if (fs.existsSync(out)) return out;
  const at = image.indexOf(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]));
  if (at < 0) return path.join(boot, vmlinuz); // not xz: let QEMU boot the bzImage
  const r = spawnSync('xz', ['-dc', '--single-stream'], { input: image.subarray(at), maxBuffer: 1 << 30 });
  if (r.status !== 0 || r.stdout.subarray(0, 4).toString('latin1') !== '\x7fELF') return path.join(boot, vmlinuz);
  writeCached(out, r.stdout);
  return out;
}
// #endregion vmlinux

// #region modules
/** The modules to load, dependencies first, from each .ko's `depends=`. */
function moduleOrder(kernelDir: string): { name: string; file: string }[] {
  const files = new Map<string, string>();
  const root = path.join(kernelDir, 'lib/modules');
  for (const e of fs.readdirSync(root, { recursive: true, withFileTypes: true })) {
    if (e.isFile() && e.name.endsWith('.ko')) files.set(e.name.slice(0, -3).replace(/-/g, '_'), path.join(e.parentPath, e.name));
  }
  const order: { name: string; file: string }[] = [];
  const seen = new Set<string>();
  const visit = (name: string) => {
    if (seen.has(name)) return;
    seen.add(name);
    const file = files.get(name);
    if (!file) return; // built into the kernel
    // modinfo is NUL-separated key=value strings in the .modinfo section.
    const info = fs.readFileSync(file).toString('latin1');
    const m = /\0depends=([^\0]*)\0/.exec(info);
    for (const dep of (m?.[1] ?? '').split(',').filter(Boolean)) visit(dep);
    // A soft dependency to load first (libcrc32c needs the crc32c cipher,
    // which nf_conntrack's users reach through it): "softdep=pre: crc32c".
    const soft = /\0softdep=pre: ?([^\0]*?)(?: post:[^\0]*)?\0/.exec(info);
    for (const dep of (soft?.[1] ?? '').split(/\s+/).filter(Boolean)) visit(dep.replace(/-/g, '_'));
    order.push({ name, file });
  };
  for (const name of ROOT_MODULES) visit(name);
  return order;
}
// #endregion modules

// #region cpio
/** A gzipped newc cpio archive, the format the kernel unpacks as initramfs. */
function cpio(entries: { name: string; mode: number; data?: Buffer<ArrayBufferLike>; rdev?: [number, number] }[]): Buffer {
  const chunks: Buffer[] = [];
  const pad = (n: number) => Buffer.alloc((4 - (n % 4)) % 4);
  let ino = 1;
  const add = (name: string, mode: number, data: Buffer<ArrayBufferLike> = Buffer.alloc(0), rdev: [number, number] = [0, 0]) => {
    const fields = [ino++, mode, 0, 0, 1, 0, data.length, 0, 0, rdev[0], rdev[1], name.length + 1, 0];
    const header = '070701' + fields.map((f) => f.toString(16).padStart(8, '0')).join('') + name + '\0';
    chunks.push(Buffer.from(header, 'latin1'), pad(header.length), data, pad(data.length));
  };
  for (const e of entries) add(e.name, e.mode, e.data, e.rdev);
  add('TRAILER!!!', 0);
  return zlib.gzipSync(Buffer.concat(chunks), { level: 6 });
}
// #endregion cpio

/** The kernel and initramfs to boot, built once per content (cached). */
export function image(): { kernel: string; initrd: string; modules: string[] } {
  const kernelDir = path.join(CACHE, 'kernel');
  const buildDir = path.join(CACHE, 'build');
  fs.mkdirSync(buildDir, { recursive: true });
  const kernel = kernelImage(kernelDir, buildDir);
  const modules = moduleOrder(kernelDir);
  const init = fs.readFileSync(INIT);
  const busybox = fs.readFileSync(BUSYBOX);
  const blobs = modules.map((m) => fs.readFileSync(m.file));
  const initrd = path.join(buildDir, `initrd-${sha(init, busybox, ...modules.map((m) => m.name), ...blobs)}.gz`);
  if (!fs.existsSync(initrd)) {
    const dirs = ['bin', 'dev', 'proc', 'sys', 'lib', 'lib/modules', 'mnt', 'run', 'tmp'];
    writeCached(
      initrd,
      cpio([
        ...dirs.map((name) => ({ name, mode: 0o40755 })),
        // The kernel opens /dev/console for init's stdio before devtmpfs is mounted.
        { name: 'dev/console', mode: 0o20600, rdev: [5, 1] as [number, number] },
        { name: 'init', mode: 0o100755, data: init },
        { name: 'bin/busybox', mode: 0o100755, data: busybox },
        { name: 'modules', mode: 0o100644, data: Buffer.from(modules.map((m) => m.name).join('\n') + '\n') },
        ...modules.map((m, i) => ({ name: `lib/modules/${m.name}.ko`, mode: 0o100644, data: blobs[i] })),
      ]),
    );
  }
  return { kernel, initrd, modules: modules.map((m) => m.name) };
}

export interface GuestResult {
  /** the command's exit status; undefined when the guest never reported one */
  status: number | undefined;
  /** what the command printed (stdout and stderr, interleaved) */
  output: string;
  /** the console before the command started: kernel and init messages, for failures */
  console: string;
  /** launch to the command's start, and the command's own run, in ms */
  bootMs: number;
  runMs: number;
  timedOut: boolean;
  /** guest memory: MemTotal - MemAvailable at the end, the command's leaf's memory.peak, QEMU's peak RSS (KiB) */
  memory: { usedKiB?: number; sessionPeakKiB?: number; qemuPeakKiB?: number };
}

export interface GuestOptions {
  /** the working directory in the guest (default: the checkout's root) */
  cwd?: string;
  /** seconds before the guest is killed (default 900) */
  timeoutS?: number;
  /** variables for the command, on top of PATH, HOME and TERM */
  env?: Record<string, string>;
  /** called with the command's output as it comes */
  onOutput?: (text: string) => void;
}

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

// #region boot
/** Boot a fresh guest, run `command` (sh syntax) in it, and power it off. */
export async function runInGuest(command: string, opts: GuestOptions = {}): Promise<GuestResult> {
  const why = missing();
  if (why) throw new Error(`cannot boot the test guest: ${why}`);
  const { kernel, initrd } = image();
  const timeoutS = opts.timeoutS ?? 900;
  // The results share: the command in, its output, status and memory out.
  const share = fs.mkdtempSync(path.join(os.tmpdir(), 'dockling-vm-'));
  const env = Object.entries(opts.env ?? {}).map(([k, v]) => `export ${k}=${quote(v)}\n`);
  fs.writeFileSync(path.join(share, 'env'), env.join(''));
  fs.writeFileSync(path.join(share, 'command'), `cd ${quote(opts.cwd ?? REPO)} || exit 127\n${command}\n`);
  const append = ['console=ttyS0', 'panic=-1', 'quiet', 'loglevel=1', 'cgroup_no_v1=all', `dockling.repo=${REPO}`].join(' ');
  if (/\s/.test(REPO)) throw new Error(`the checkout's path has white space, which the kernel command line cannot carry: ${REPO}`);
  const virtfs = (p: string, tag: string, ro: boolean) => ['-virtfs', `local,path=${p},mount_tag=${tag},security_model=passthrough,multidevs=remap${ro ? ',readonly=on' : ''}`];
  const qemu = [
    QEMU, '-machine', 'q35', '-accel', 'tcg,thread=multi,tb-size=512', '-cpu', 'max', '-smp', '2', '-m', '4096',
    '-nographic', '-no-reboot', '-nic', 'none', '-kernel', kernel, '-initrd', initrd, '-append', append,
    ...virtfs('/', 'hostroot', true), ...virtfs(REPO, 'checkout', true), ...virtfs(share, 'results', false),
  ];
  // timeout(1) bounds QEMU even if this process dies without cleaning up.
  const child = spawn('timeout', ['--kill-after=10', String(timeoutS), ...qemu], { stdio: ['ignore', 'pipe', 'pipe'] });
  const abort = (signal: NodeJS.Signals) => {
    try { process.kill(child.pid!, 'SIGTERM'); } catch { /* already gone */ }
    fs.rmSync(share, { recursive: true, force: true });
    process.exit(128 + os.constants.signals[signal]);
  };
  process.once('SIGINT', abort).once('SIGTERM', abort);
  const t0 = performance.now();
  let tStart = 0;
  let tEnd = 0;
  let consoleText = '';
  let pending = '';
  let phase: 'boot' | 'run' | 'done' = 'boot';
  const START = '\x01dockling-vm: start\n';
  const END = '\x01dockling-vm: end\n';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => {
    pending += d;
    if (phase === 'boot') {
      const i = pending.indexOf(START);
      if (i < 0) return;
      consoleText = pending.slice(0, i);
      pending = pending.slice(i + START.length);
      phase = 'run';
      tStart = performance.now();
    }
    if (phase === 'run') {
      const i = pending.indexOf(END);
      // Hold back what could be the start of the end marker.
      const upto = i >= 0 ? i : Math.max(0, pending.length - END.length);
      opts.onOutput?.(pending.slice(0, upto));
      pending = pending.slice(upto);
      if (i >= 0) {
        phase = 'done';
        tEnd = performance.now();
        pending = '';
      }
    }
  });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  // QEMU's peak RSS, read while it runs (the host's share of "guest memory").
  let qemuPeakKiB: number | undefined;
  const poll = setInterval(() => {
    try {
      for (const pid of fs.readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean)) {
        const m = /VmHWM:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
        if (m) qemuPeakKiB = Math.max(qemuPeakKiB ?? 0, Number(m[1]));
      }
    } catch { /* between reads */ }
  }, 500);
  const code = await new Promise<number>((resolve) => child.on('close', (c, s) => resolve(c ?? 128 + os.constants.signals[s!])));
  clearInterval(poll);
  process.off('SIGINT', abort).off('SIGTERM', abort);
  const tDone = performance.now();
  try {
    if (phase === 'boot') consoleText = pending;
    const read = (f: string) => (fs.existsSync(path.join(share, f)) ? fs.readFileSync(path.join(share, f), 'utf8') : undefined);
    const status = read('status');
    const meminfo = read('meminfo') ?? '';
    const kib = (key: string) => {
      const m = new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(meminfo);
      return m ? Number(m[1]) : undefined;
    };
    const total = kib('MemTotal');
    const avail = kib('MemAvailable');
    const peak = /^SessionPeak: (\d+)/m.exec(meminfo);
    if (status === undefined && stderr) consoleText += `\n[qemu] ${stderr}`;
    return {
      status: status === undefined ? undefined : Number(status.trim()),
      output: read('output') ?? '',
      console: consoleText,
      bootMs: Math.round((tStart || tDone) - t0),
      runMs: tStart ? Math.round((tEnd || tDone) - tStart) : 0,
      timedOut: code === 124 || code === 137,
      memory: { usedKiB: total && avail ? total - avail : undefined, sessionPeakKiB: peak ? Math.round(Number(peak[1]) / 1024) : undefined, qemuPeakKiB },
    };
  } finally {
    fs.rmSync(share, { recursive: true, force: true });
  }
}
// #endregion boot
