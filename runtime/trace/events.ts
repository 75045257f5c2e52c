// The trace: every step that changes the host is an event.
//
// The runtime describes what it is about to do to the kernel as data before
// (or as) it does it. The CLI prints these events with --trace, the Ink
// walkthrough shows them beside the container's output, and the tests assert
// on them. One stream, three readers: teaching is not a second code path.
//
// The events are shaped after the system calls and files they stand for, so
// that a learner can hold `--trace` output next to `man 2 mount` or strace.

/** Where the step ran: the dockling CLI on the host, or the container's init. */
export type TraceSide = 'host' | 'init' | 'fuse';

export type TraceEvent =
  // A stage of the run pipeline begins (core/layer.ts, STAGES). Not a change
  // to the host, but where the changes that follow belong: `--trace` prints
  // it as a heading.
  | { op: 'stage'; name: string }
  // A fresh process was started (nsexec and the init, a helper).
  | { op: 'spawn'; argv: string[] }
  // New namespaces for a process: which clone flags, made by whom.
  | { op: 'unshare'; flags: string[]; by: string }
  | { op: 'mount'; source: string; target: string; fstype: string; flags: string[]; data: string }
  | { op: 'umount'; target: string; flags: string[] }
  // mount_setattr(2): attributes set on a mount and, with AT_RECURSIVE, on every mount under it (chapter 7's :ro)
  | { op: 'mount_setattr'; target: string; set: string[]; flags: string[] }
  | { op: 'pivot_root'; newRoot: string; putOld: string }
  | { op: 'chdir'; path: string }
  | { op: 'mknod'; path: string; kind: 'c' | 'b'; major: number; minor: number; mode: number }
  | { op: 'symlink'; target: string; path: string }
  | { op: 'mkdir'; path: string; mode: number }
  | { op: 'rmdir'; path: string }
  | { op: 'remove'; path: string }
  | { op: 'write'; path: string; value: string }
  | { op: 'sethostname'; name: string }
  | { op: 'ifup'; name: string }
  | { op: 'pty'; master: string; slave: string }
  | { op: 'exec'; path: string; argv: string[]; cwd: string }
  | { op: 'signal'; pid: number; signal: string }
  | { op: 'exit'; code: number; signal: string | null }
  // A layer tar unpacked into a directory (chapters 3-4): the tar's digest
  // (the layer's diffID) and how many entries it had.
  | { op: 'extract'; digest: string; path: string; entries: number }
  // A directory packed into a layer tar (commit, diff, save, export).
  | { op: 'pack'; path: string; digest: string; entries: number }
  // An extended attribute set on a file (overlayfs's trusted.overlay.opaque).
  | { op: 'setxattr'; path: string; name: string; value: string }
  // A symlink or file renamed into place / a hard link made (atomic steps).
  | { op: 'rename'; from: string; to: string }
  // Chapter 11: a process-wide setting (PR_SET_NO_NEW_PRIVS, PR_CAPBSET_DROP
  // CAP_SYS_ADMIN, PR_CAP_AMBIENT_CLEAR_ALL): the option and its argument.
  | { op: 'prctl'; option: string; arg: string }
  // capset(2): the effective, permitted and inheritable sets, by name.
  | { op: 'capset'; effective: string[]; permitted: string[]; inheritable: string[] }
  // setgroups(2), setgid(2), setuid(2): the container's user (chapter 5)
  | { op: 'setid'; call: string; arg: string }
  // setrlimit(2)
  | { op: 'setrlimit'; resource: string; soft: number; hard: number }
  // seccomp(SECCOMP_SET_MODE_FILTER): a classic BPF program of N instructions.
  | { op: 'seccomp'; instructions: number; flags: string[] }
  // bpf(2): a program loaded (BPF_PROG_LOAD) or attached (BPF_PROG_ATTACH) to a target.
  | { op: 'bpf'; cmd: string; prog: string; target: string; instructions: number }
  // Chapter 11 (user namespaces): lchown(2): a file made the remapped root's (user namespaces)
  | { op: 'chown'; path: string; uid: number; gid: number }
  | { op: 'chmod'; path: string; mode: number }
  // Chapter 6 (networking): iproute2 and netfilter commands, as run; `netns`
  // is whose network namespace they ran in ('' = the host's, else the
  // container's init PID); a sysctl write; an address leased or freed.
  | { op: 'ip'; argv: string[]; netns: string }
  | { op: 'iptables'; argv: string[]; netns: string }
  | { op: 'sysctl'; key: string; value: string; netns: string }
  | { op: 'lease'; network: string; address: string; action: string }
  // Chapter 8 (registries): one request to a registry or token service and
  // the status it got (not a change to this host, but the conversation a
  // pull or push is made of); `auth` says what credentials went with it.
  | { op: 'http'; method: string; url: string; status: number; auth: string }
  // Chapter 3's FUSE server: a request the kernel sent and our answer (ok
  // or an errno); a file copied up to the writable branch; a whiteout made.
  | { op: 'fuse'; request: string; path: string; reply: string }
  | { op: 'copy-up'; path: string; from: string; to: string }
  | { op: 'whiteout'; path: string };

export type TraceOp = TraceEvent['op'];

/** An event as it travels: the step plus when, where and from which layer. */
export type TraceRecord = TraceEvent & {
  /** milliseconds since the dockling command started */
  t: number;
  side: TraceSide;
  /** the chapter whose layer took the step (0 = the core) */
  chapter: number;
};

// The fields each op carries and their types (s: string, n: number,
// a: string[], S: string or null), so that a record read back from the wire
// is known to be whole before anyone formats it.
const FIELDS: Record<TraceOp, Record<string, 's' | 'n' | 'a' | 'S'>> = {
  stage: { name: 's' },
  spawn: { argv: 'a' },
  unshare: { flags: 'a', by: 's' },
  mount: { source: 's', target: 's', fstype: 's', flags: 'a', data: 's' },
  umount: { target: 's', flags: 'a' },
  mount_setattr: { target: 's', set: 'a', flags: 'a' },
  pivot_root: { newRoot: 's', putOld: 's' },
  chdir: { path: 's' },
  mknod: { path: 's', kind: 's', major: 'n', minor: 'n', mode: 'n' },
  symlink: { target: 's', path: 's' },
  mkdir: { path: 's', mode: 'n' },
  rmdir: { path: 's' },
  remove: { path: 's' },
  write: { path: 's', value: 's' },
  sethostname: { name: 's' },
  ifup: { name: 's' },
  pty: { master: 's', slave: 's' },
  exec: { path: 's', argv: 'a', cwd: 's' },
  signal: { pid: 'n', signal: 's' },
  exit: { code: 'n', signal: 'S' },
  extract: { digest: 's', path: 's', entries: 'n' },
  pack: { path: 's', digest: 's', entries: 'n' },
  setxattr: { path: 's', name: 's', value: 's' },
  rename: { from: 's', to: 's' },
  prctl: { option: 's', arg: 's' },
  capset: { effective: 'a', permitted: 'a', inheritable: 'a' },
  setid: { call: 's', arg: 's' },
  setrlimit: { resource: 's', soft: 'n', hard: 'n' },
  seccomp: { instructions: 'n', flags: 'a' },
  bpf: { cmd: 's', prog: 's', target: 's', instructions: 'n' },
  chown: { path: 's', uid: 'n', gid: 'n' },
  chmod: { path: 's', mode: 'n' },
  ip: { argv: 'a', netns: 's' },
  iptables: { argv: 'a', netns: 's' },
  sysctl: { key: 's', value: 's', netns: 's' },
  lease: { network: 's', address: 's', action: 's' },
  http: { method: 's', url: 's', status: 'n', auth: 's' },
  fuse: { request: 's', path: 's', reply: 's' },
  'copy-up': { path: 's', from: 's', to: 's' },
  whiteout: { path: 's' },
};

function fieldOk(v: unknown, kind: 's' | 'n' | 'a' | 'S'): boolean {
  switch (kind) {
    case 's':
      return typeof v === 'string';
    case 'S':
      return typeof v === 'string' || v === null;
    case 'n':
      return typeof v === 'number' && Number.isFinite(v);
    case 'a':
      return Array.isArray(v) && v.every((x) => typeof x === 'string');
  }
}

/** Serialize a record as one line of JSON (the wire format between init and CLI). */
export function encodeRecord(r: TraceRecord): string {
  return JSON.stringify(r);
}

/**
 * Parse one JSON line back into a record, or return null when the line is not
 * a trace record. The init and the CLI share a channel with other messages,
 * so being strict here keeps a stray line from being shown as a kernel step.
 */
export function decodeRecord(line: string): TraceRecord | null {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    return null; // not JSON: a stray line, not a record
  }
  if (typeof v !== 'object' || v === null) return null;
  const o = v as Record<string, unknown>;
  if (typeof o.op !== 'string' || !Object.hasOwn(FIELDS, o.op)) return null;
  for (const [name, kind] of Object.entries(FIELDS[o.op as TraceOp])) if (!fieldOk(o[name], kind)) return null;
  if (typeof o.t !== 'number' || !Number.isFinite(o.t)) return null;
  if (o.side !== 'host' && o.side !== 'init' && o.side !== 'fuse') return null;
  if (typeof o.chapter !== 'number' || !Number.isInteger(o.chapter)) return null;
  return o as unknown as TraceRecord;
}
