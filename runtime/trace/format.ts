// Human-readable trace lines, written to look like the system call (or file
// write) they stand for, so `--trace` output reads like a short strace.
//
// Two forms. `--trace=verbose` prints every record whole, one line each
// (formatRecord): the paths and IDs as the kernel was given them, to copy
// into a shell. `--trace` prints the same lines made short for reading
// (formatShort): a heading where each stage of the run begins, the state
// root written $ROOT, every 64-hex ID cut to the 12 characters Docker shows,
// dockling's own programs by name, and colour on a terminal.
import os from 'node:os';
import path from 'node:path';
import type { TraceEvent, TraceRecord } from './events.js';

const q = (s: string) => JSON.stringify(s);
const flags = (f: string[]) => (f.length ? f.join('|') : '0');
const octal = (n: number) => '0' + n.toString(8);
const caps = (c: string[]) => (c.length ? c.map((n) => n.replace(/^CAP_/, '')).join('|') : '0');
const limit = (n: number) => (n < 0 ? 'unlimited' : String(n));

/** The step itself, e.g. `mount("proc", "/x/proc", "proc", MS_NOSUID, "")`. */
export function formatEvent(e: TraceEvent): string {
  switch (e.op) {
    case 'stage':
      return `── ${e.name} ──`;
    case 'spawn':
      return `spawn ${e.argv.map(shellWord).join(' ')}`;
    case 'unshare':
      return `unshare(${flags(e.flags)})  by ${e.by}`;
    case 'mount':
      return `mount(${q(e.source)}, ${q(e.target)}, ${q(e.fstype)}, ${flags(e.flags)}, ${q(e.data)})`;
    case 'umount':
      return `umount2(${q(e.target)}, ${flags(e.flags)})`;
    case 'mount_setattr':
      return `mount_setattr(${q(e.target)}, ${flags(e.flags)}, { attr_set: ${flags(e.set)} })`;
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
      return `kill(${e.pid}, ${signalName(e.signal)})`;
    case 'exit':
      return e.signal ? `exited: killed by ${signalName(e.signal)} (status ${e.code})` : `exited: status ${e.code}`;
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
    case 'ip':
      return `${inNetns(e.netns)}ip ${e.argv.map(shellWord).join(' ')}`;
    case 'iptables':
      return `${inNetns(e.netns)}iptables ${e.argv.map(shellWord).join(' ')}`;
    case 'sysctl':
      return `${inNetns(e.netns)}sysctl ${e.key}=${e.value}`;
    case 'lease':
      return `ipam: ${e.action} ${e.address} on ${e.network}`;
    case 'http':
      return `${e.method} ${e.url} → ${e.status}${e.auth ? ` (${e.auth})` : ''}`;
    case 'fuse':
      return `FUSE_${e.request} ${e.path} → ${e.reply}`;
    case 'copy-up':
      return `copy-up ${e.path}: ${e.from} → ${e.to}`;
    case 'whiteout':
      return `whiteout ${e.path} (.wh.${path.basename(e.path)})`;
  }
}

/** One line of `--trace` output: time, side, chapter, step. */
export function formatRecord(r: TraceRecord): string {
  const t = r.t.toFixed(1).padStart(7) + 'ms';
  const side = r.side.padEnd(4);
  const ch = r.chapter ? `ch${r.chapter}` : 'core';
  return `${t} ${side} ${ch.padEnd(4)} ${formatEvent(r)}`;
}

/** where a network command ran: in the container's namespace, it says whose */
const inNetns = (netns: string) => (netns ? `[netns of ${netns}] ` : '');

function shellWord(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

// #region signal-name
/**
 * A signal the one way the trace prints it: `SIGKILL`, whether it was
 * given as 9, "9", "KILL", "kill" or "SIGKILL" (Docker's `kill -s` takes
 * them all). The real-time signals have no names of their own: SIGRTMIN+N,
 * as kill -l prints them (SIGRTMIN is 34 with glibc). Anything else is
 * printed as given.
 */
export function signalName(sig: string | number): string {
  const text = String(sig).trim();
  const signals = os.constants.signals as Record<string, number>;
  if (/^\d+$/.test(text)) {
    const n = Number(text);
    // The first name of a number (SIGABRT before its alias SIGIOT).
    const name = Object.keys(signals).find((k) => signals[k] === n);
    if (name) return name;
    if (n >= 34 && n <= 64) return `SIGRTMIN+${n - 34}`;
    return text;
  }
  const upper = text.toUpperCase();
  const name = upper.startsWith('SIG') ? upper : 'SIG' + upper;
  return Object.hasOwn(signals, name) || /^SIGRT(MIN|MAX)([+-]\d+)?$/.test(name) ? name : text;
}
// #endregion signal-name

// #region short-form
/** What one run of dockling has to make its trace short with. */
export interface ShortForm {
  /** the state root (--root), printed as $ROOT */
  stateRoot?: string;
  /** the directory of dockling's own programs (dist/: nsexec, monitor, init.js), printed by name */
  programDir?: string;
  /** ANSI colour: only for a terminal (see wantColour) */
  colour?: boolean;
}

/**
 * What each stage does, for its heading. The stages and their order are
 * core/layer.ts's (STAGES); these words say the same as its comments, for
 * the reader of a trace (test/runtime/trace/format.test.ts checks that every
 * stage has its line).
 */
export const STAGE_ABOUT: Record<string, string> = {
  validate: 'check the flags: nothing is made until every layer accepts them',
  prepare: "the rootfs, the spec and the container's files",
  create: 'the namespaces, and the init in them waiting for its spec',
  limit: 'the init put into its cgroups',
  network: 'the network namespace wired to the host',
  start: 'the init builds the container and execs the command',
  wait: 'the command runs; its exit',
  cleanup: 'undo everything, in reverse layer order',
};

const HEX64 = /[0-9a-f]{64,}/g;

/**
 * One text of an event made short: the state root as $ROOT (only where a
 * whole path component ends), then each 64-hex ID (a container's, a layer's,
 * a digest's) cut to its first 12 characters.
 */
export function shortText(s: string, stateRoot?: string): string {
  let out = s;
  const root = stateRoot?.replace(/\/+$/, '');
  if (root) {
    const escaped = root.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    out = out.replace(new RegExp(`${escaped}(?![^/"\\s:,;=)\\]])`, 'g'), '$ROOT');
  }
  return out.replace(HEX64, (id) => id.slice(0, 12));
}

/** The event with every text in it made short (and dockling's programs by name in a spawn). */
export function shortEvent(e: TraceEvent, form: ShortForm = {}): TraceEvent {
  const short = (s: string) => shortText(s, form.stateRoot);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(e)) {
    if (k === 'op') out[k] = v;
    else if (typeof v === 'string') out[k] = short(v);
    else if (Array.isArray(v)) out[k] = v.map((x) => (typeof x === 'string' ? short(x) : x));
    else out[k] = v;
  }
  if (e.op === 'spawn') out.argv = e.argv.map((w) => programName(w, form.programDir) ?? short(w));
  return out as TraceEvent;
}

/** `/usr/bin/node` → node, `<dist>/nsexec` → nsexec: where they are installed is not the lesson. */
function programName(word: string, programDir?: string): string | undefined {
  if (word === process.execPath) return 'node';
  if (programDir && path.isAbsolute(word) && path.dirname(word) === programDir) return path.basename(word);
  return undefined;
}

const ANSI = { bold: '\x1b[1m', dim: '\x1b[2m', green: '\x1b[32m', yellow: '\x1b[33m', cyan: '\x1b[36m', reset: '\x1b[0m' };

/**
 * One line of `--trace`: a stage's heading, or "time side chapter step"
 * with the step made short.
 */
export function formatShort(r: TraceRecord, form: ShortForm = {}): string {
  const paint = (code: string, s: string) => (form.colour ? code + s + ANSI.reset : s);
  if (r.op === 'stage') {
    const about = STAGE_ABOUT[r.name];
    return paint(ANSI.bold + ANSI.cyan, `── ${shortText(r.name)} ──${about ? ' ' + about : ''}`);
  }
  const t = r.t.toFixed(1).padStart(7) + 'ms';
  const side = r.side.padEnd(4);
  const ch = (r.chapter ? `ch${r.chapter}` : 'core').padEnd(4);
  const e = shortEvent(r, form);
  // In a spawn, $ROOT stays outside the quotes: it stands for the variable.
  const step = e.op === 'spawn' ? `spawn ${e.argv.map((w) => (/^\$ROOT(\/[\w@%+=:,./-]*)?$/.test(w) ? w : shellWord(w))).join(' ')}` : formatEvent(e);
  return `${paint(ANSI.dim, t)} ${paint(r.side === 'init' ? ANSI.yellow : ANSI.green, side)} ${paint(ANSI.dim, ch)} ${step}`;
}

/**
 * Colour only for a person at a terminal: the stream is a TTY and NO_COLOR
 * (no-color.org: set and not empty) is not. Never into a pipe or a file.
 */
export function wantColour(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): boolean {
  return Boolean(stream.isTTY) && !env.NO_COLOR;
}
// #endregion short-form
