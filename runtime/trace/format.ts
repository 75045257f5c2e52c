// Human-readable trace lines, written to look like the system call (or file
// write) they stand for, so `--trace` output reads like a short strace.
import type { TraceEvent, TraceRecord } from './events.js';

const q = (s: string) => JSON.stringify(s);
const flags = (f: string[]) => (f.length ? f.join('|') : '0');
const octal = (n: number) => '0' + n.toString(8);
const caps = (c: string[]) => (c.length ? c.map((n) => n.replace(/^CAP_/, '')).join('|') : '0');
const limit = (n: number) => (n < 0 ? 'unlimited' : String(n));

/** The step itself, e.g. `mount("proc", "/x/proc", "proc", MS_NOSUID, "")`. */
export function formatEvent(e: TraceEvent): string {
  switch (e.op) {
    case 'spawn':
      return `spawn ${e.argv.map(shellWord).join(' ')}`;
    case 'unshare':
      return `unshare(${flags(e.flags)})  by ${e.by}`;
    case 'mount':
      return `mount(${q(e.source)}, ${q(e.target)}, ${q(e.fstype)}, ${flags(e.flags)}, ${q(e.data)})`;
    case 'umount':
      return `umount2(${q(e.target)}, ${flags(e.flags)})`;
    case 'pivot_root':
      return `pivot_root(${q(e.newRoot)}, ${q(e.putOld)})`;
    case 'chdir':
      return `chdir(${q(e.path)})`;
    case 'mknod':
      return `mknod(${q(e.path)}, S_IF${e.kind === 'c' ? 'CHR' : 'BLK'}|${octal(e.mode)}, makedev(${e.major}, ${e.minor}))`;
    case 'symlink':
      return `symlink(${q(e.target)}, ${q(e.path)})`;
    case 'mkdir':
      return `mkdir(${q(e.path)}, ${octal(e.mode)})`;
    case 'rmdir':
      return `rmdir(${q(e.path)})`;
    case 'remove':
      return `rm -rf ${q(e.path)}`;
    case 'write':
      return `write ${q(e.value)} > ${e.path}`;
    case 'sethostname':
      return `sethostname(${q(e.name)})`;
    case 'ifup':
      return `ioctl(SIOCSIFFLAGS, ${q(e.name)}, IFF_UP)`;
    case 'pty':
      return `openpt: master ${e.master}, slave ${e.slave}`;
    case 'exec':
      return `execve(${q(e.path)}, [${e.argv.map(q).join(', ')}])  in ${e.cwd}`;
    case 'signal':
      return `kill(${e.pid}, ${e.signal})`;
    case 'exit':
      return e.signal ? `exited: killed by ${e.signal} (status ${e.code})` : `exited: status ${e.code}`;
    case 'extract':
      return `tar -x ${e.digest.slice(0, 19)}… (${e.entries} entries) -C ${e.path}`;
    case 'pack':
      return `tar -c -C ${e.path} (${e.entries} entries) = ${e.digest.slice(0, 19)}…`;
    case 'setxattr':
      return `setxattr(${q(e.path)}, ${q(e.name)}, ${q(e.value)})`;
    case 'rename':
      return `rename(${q(e.from)}, ${q(e.to)})`;
    case 'prctl':
      return `prctl(${e.option}${e.arg ? ', ' + e.arg : ''})`;
    case 'capset':
      return `capset(effective=${caps(e.effective)}, permitted=${caps(e.permitted)}, inheritable=${caps(e.inheritable)})`;
    case 'setid':
      return `${e.call}(${e.arg})`;
    case 'setrlimit':
      return `setrlimit(${e.resource}, {soft: ${limit(e.soft)}, hard: ${limit(e.hard)}})`;
    case 'seccomp':
      return `seccomp(SECCOMP_SET_MODE_FILTER, ${flags(e.flags)}, {${e.instructions} instructions})`;
    case 'bpf':
      return `bpf(${e.cmd}, ${e.prog}${e.instructions ? ` {${e.instructions} instructions}` : ''}${e.target ? ', ' + e.target : ''})`;
    case 'chown':
      return `lchown ${e.path} ${e.uid}:${e.gid}`;
    case 'chmod':
      return `chmod ${e.path} 0${e.mode.toString(8)}`;
  }
}

/** One line of `--trace` output: time, side, chapter, step. */
export function formatRecord(r: TraceRecord): string {
  const t = r.t.toFixed(1).padStart(7) + 'ms';
  const side = r.side.padEnd(4);
  const ch = r.chapter ? `ch${r.chapter}` : 'core';
  return `${t} ${side} ${ch.padEnd(4)} ${formatEvent(r)}`;
}

function shellWord(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}
