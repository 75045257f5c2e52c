// A root filesystem for chapter 1: a plain directory holding the host's
// static busybox and one symlink per applet (sh, ls, ps, …). That is all a
// container needs to be useful: one binary, no shared libraries.
//
// Chapters 3 and 4 replace this with images made of layers; the run pipeline
// does not change, only where `spec.root.path` comes from.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { RunError, MachineError } from '../core/pipeline.js';
import { trace } from '../trace/trace.js';

export const BUSYBOX_CANDIDATES = ['/bin/busybox', '/usr/bin/busybox'];

/**
 * Is this ELF file statically linked? A dynamic executable has a PT_INTERP
 * program header naming its loader (/lib64/ld-linux-x86-64.so.2), which a
 * busybox-only rootfs does not have.
 */
export function isStaticElf(file: string): boolean {
  const fd = fs.openSync(file, 'r');
  try {
    const h = Buffer.alloc(64);
    fs.readSync(fd, h, 0, 64, 0);
    if (h.readUInt32BE(0) !== 0x7f454c46 || h[4] !== 2) return false; // ELF, 64-bit
    const phoff = Number(h.readBigUInt64LE(32));
    const phentsize = h.readUInt16LE(54);
    const phnum = h.readUInt16LE(56);
    const ph = Buffer.alloc(phentsize * phnum);
    fs.readSync(fd, ph, 0, ph.length, phoff);
    for (let i = 0; i < phnum; i++) if (ph.readUInt32LE(i * phentsize) === 3) return false; // PT_INTERP
    return true;
  } finally {
    fs.closeSync(fd);
  }
}

export function findBusybox(): string {
  const found = BUSYBOX_CANDIDATES.find((p) => fs.existsSync(p));
  if (!found) throw new MachineError(125, 'busybox not found: install the static busybox with `apt-get install busybox-static`');
  if (!isStaticElf(found)) {
    throw new MachineError(125, `${found} is dynamically linked and cannot run alone in a container: install \`busybox-static\` (apt-get install busybox-static)`);
  }
  return found;
}

const DIRS: [string, number][] = [
  ['bin', 0o755], ['sbin', 0o755], ['usr/bin', 0o755], ['usr/sbin', 0o755], ['etc', 0o755],
  ['proc', 0o555], ['sys', 0o555], ['dev', 0o755], ['tmp', 0o1777], ['var/tmp', 0o1777],
  ['root', 0o700], ['home', 0o755],
];

const FILES: [string, string][] = [
  ['etc/passwd', 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\n'],
  ['etc/group', 'root:x:0:\ntty:x:5:\nnogroup:x:65534:\n'],
  // mount points for the files dockling bind-mounts per container
  ['etc/hostname', ''], ['etc/hosts', ''], ['etc/resolv.conf', ''],
];

/**
 * Make a busybox rootfs at dir. It is built in a temporary sibling and
 * renamed into place, so a second dockling making the same rootfs at the
 * same time, or a crash half-way, never leaves a half-made one behind.
 */
export function makeBusyboxRootfs(dir: string): void {
  const busybox = findBusybox();
  const tmp = `${dir}.tmp-${process.pid}`;
  trace.emit(1, { op: 'mkdir', path: dir, mode: 0o755 });
  fs.rmSync(tmp, { recursive: true, force: true });
  try {
    for (const [d, mode] of DIRS) {
      fs.mkdirSync(path.join(tmp, d), { recursive: true });
      fs.chmodSync(path.join(tmp, d), mode);
    }
    for (const [f, text] of FILES) fs.writeFileSync(path.join(tmp, f), text);
    fs.copyFileSync(busybox, path.join(tmp, 'bin/busybox'));
    fs.chmodSync(path.join(tmp, 'bin/busybox'), 0o755);
    // `busybox --list-full` names every applet with its usual path.
    const applets = execFileSync(busybox, ['--list-full'], { encoding: 'utf8' }).split('\n').filter(Boolean);
    for (const a of applets) {
      const p = path.join(tmp, a);
      if (a === 'bin/busybox' || fs.existsSync(p)) continue;
      fs.mkdirSync(path.dirname(p), { recursive: true });
      fs.symlinkSync('/bin/busybox', p);
    }
    fs.mkdirSync(path.dirname(dir), { recursive: true });
    fs.renameSync(tmp, dir);
  } catch (e) {
    fs.rmSync(tmp, { recursive: true, force: true });
    const code = (e as NodeJS.ErrnoException).code;
    if ((code === 'ENOTEMPTY' || code === 'EEXIST') && fs.existsSync(path.join(dir, 'bin/busybox'))) return; // someone else won
    throw e;
  }
}
