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
export type TraceSide = 'host' | 'init';

export type TraceEvent =
  // A fresh process was started (util-linux unshare, an init, a helper).
  | { op: 'spawn'; argv: string[] }
  // New namespaces for a process: which clone flags, made by whom.
  | { op: 'unshare'; flags: string[]; by: string }
  | { op: 'mount'; source: string; target: string; fstype: string; flags: string[]; data: string }
  | { op: 'umount'; target: string; flags: string[] }
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
  | { op: 'exit'; code: number; signal: string | null };

export type TraceOp = TraceEvent['op'];

/** An event as it travels: the step plus when, where and from which layer. */
export type TraceRecord = TraceEvent & {
  /** milliseconds since the dockling command started */
  t: number;
  side: TraceSide;
  /** the chapter whose layer took the step (0 = the core) */
  chapter: number;
};

const OPS: ReadonlySet<string> = new Set<TraceOp>([
  'spawn', 'unshare', 'mount', 'umount', 'pivot_root', 'chdir', 'mknod', 'symlink', 'mkdir',
  'rmdir', 'remove', 'write', 'sethostname', 'ifup', 'pty', 'exec', 'signal', 'exit',
]);

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
    return null;
  }
  if (typeof v !== 'object' || v === null) return null;
  const o = v as Record<string, unknown>;
  if (typeof o.op !== 'string' || !OPS.has(o.op)) return null;
  if (typeof o.t !== 'number' || !Number.isFinite(o.t)) return null;
  if (o.side !== 'host' && o.side !== 'init') return null;
  if (typeof o.chapter !== 'number' || !Number.isInteger(o.chapter)) return null;
  return o as unknown as TraceRecord;
}
