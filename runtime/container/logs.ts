// `dockling logs`: the container's json-file log, written by its monitor.
// One JSON object per line, as Docker's json-file driver writes them:
//   {"log":"hi\n","stream":"stdout","time":"2026-11-28T07:00:00.123456789Z"}
// so `logs` can split the streams again, show times (-t), start at a time
// (--since) or near the end (--tail), and follow (-f) while the container runs.
//
// A log can be gigabytes (a container running `yes` writes 100 MB a second),
// so nothing here holds the whole of it: --tail finds where its lines start
// by reading BACKWARDS from the end, and the rest is read forwards in chunks,
// an entry at a time, each written out before the next is read (waiting when
// our stdout is full). Memory stays the same whatever the log's size.
// With rotation (--log-opt max-size, monitor-log.c) the log is several
// files: <id>-json.log.N (oldest) … <id>-json.log.1, <id>-json.log (newest).
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from '../core/layer.js';
import { RunError } from '../core/pipeline.js';
import type { ContainerConfig } from '../core/containers.js';
import { findContainer } from './lifecycle.js';
import { containerDir, hasEnded, refreshState } from './state.js';
import { brokenPipe, writeOut } from '../core/stdio.js';

export interface LogEntry {
  log: string;
  stream: 'stdout' | 'stderr';
  time: string;
}

export const logFile = (dir: string, id: string) => path.join(dir, `${id}-json.log`);

/** The log's files, oldest first: the rotated ones by number, highest first, then the live one. */
export function logFiles(dir: string, id: string): string[] {
  const base = `${id}-json.log`;
  let names: string[] = [];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return []; // no directory: the container is removed, so is its log
  }
  const rotated = names
    .map((n) => (n.startsWith(`${base}.`) && /^\d+$/.test(n.slice(base.length + 1)) ? Number(n.slice(base.length + 1)) : 0))
    .filter((k) => k > 0)
    .sort((a, b) => b - a)
    .map((k) => path.join(dir, `${base}.${k}`));
  return [...rotated, path.join(dir, base)];
}

/** Parse complete lines; a partial last line (still being written) is left for later. */
export function parseLog(text: string): { entries: LogEntry[]; rest: string } {
  const lines = text.split('\n');
  const rest = lines.pop() ?? '';
  const entries: LogEntry[] = [];
  for (const l of lines) {
    if (!l) continue;
    try {
      entries.push(JSON.parse(l) as LogEntry);
    } catch {
      /* a damaged line: skipped, as Docker does */
    }
  }
  return { entries, rest };
}

// #region since
/**
 * --since/--until: an RFC 3339 time, Unix seconds ("1700000000.5"), or a
 * duration before now in Go's syntax ("10m", "1h30m", "2.5s").
 */
export function parseSince(s: string, now = Date.now()): number {
  if (/^\d+(\.\d+)?$/.test(s)) return Number(s) * 1000;
  const units: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  const dur = /^((\d+(\.\d+)?)(ns|us|µs|ms|s|m|h))+$/.test(s);
  if (dur) {
    let ms = 0;
    for (const m of s.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)) ms += Number(m[1]) * units[m[2]];
    return now - ms;
  }
  const t = Date.parse(s);
  if (Number.isNaN(t)) throw new RunError(1, `invalid value for "since": failed to parse value as time or duration: "${s}"`);
  return t;
}
// #endregion since

/** Docker's time stamps keep nanoseconds; compare them through milliseconds. */
const at = (e: LogEntry) => Date.parse(e.time);

const CHUNK = 64 * 1024;
const NL = 0x0a;

/** An open log file, and how far into it we have read. */
interface Part {
  fd: number;
  offset: number;
}

// #region tail-from-end
/**
 * Where the last `n` complete lines begin, across the files (oldest first):
 * read back from the end a chunk at a time, counting newlines. The (n+1)th
 * newline from the end is the one just before them. An unfinished last
 * line (still being written) is not a line yet, as in parseLog.
 */
export function tailStart(fds: number[], n: number): { index: number; offset: number } {
  const buf = Buffer.alloc(CHUNK);
  let seen = 0;
  for (let index = fds.length - 1; index >= 0; index--) {
    let pos = fs.fstatSync(fds[index]).size;
    while (pos > 0) {
      const len = Math.min(CHUNK, pos);
      pos -= len;
      fs.readSync(fds[index], buf, 0, len, pos);
      for (let i = len - 1; i >= 0; i--) {
        if (buf[i] === NL && ++seen === n + 1) return { index, offset: pos + i + 1 };
      }
    }
  }
  return { index: 0, offset: 0 }; // fewer than n lines: all of them
}
// #endregion tail-from-end

// #region stream-entries
/**
 * Read a file on from part.offset a chunk at a time and hand over each
 * complete entry, awaiting `show` (which waits while stdout is full) before
 * going on. What follows the last newline stays in `pending` for the next
 * read (-f); the monitor writes entries whole, so only a line being written
 * right now is ever there.
 */
async function readEntries(part: Part, pending: { rest: Buffer }, show: (e: LogEntry) => Promise<void> | undefined): Promise<void> {
  const buf = Buffer.alloc(CHUNK);
  for (;;) {
    const k = fs.readSync(part.fd, buf, 0, CHUNK, part.offset);
    if (k === 0 || brokenPipe()) return;
    part.offset += k;
    let data = pending.rest.length ? Buffer.concat([pending.rest, buf.subarray(0, k)]) : buf.subarray(0, k);
    let start = 0;
    for (let nl = data.indexOf(NL); nl >= 0; nl = data.indexOf(NL, start)) {
      const line = data.toString('utf8', start, nl);
      start = nl + 1;
      if (!line) continue;
      let e: LogEntry;
      try {
        e = JSON.parse(line) as LogEntry;
      } catch {
        continue; // a damaged line: skipped, as Docker does
      }
      const wait = show(e);
      if (wait) {
        // buf is reused by the next read: keep what is left of it first.
        data = Buffer.from(data.subarray(start));
        start = 0;
        await wait;
      }
    }
    pending.rest = Buffer.from(data.subarray(start));
  }
}
// #endregion stream-entries

const inodeOf = (file: string): number | null => {
  try {
    return fs.statSync(file).ino;
  } catch {
    return null; // not there yet, or moved on by a rotation just now
  }
};

/**
 * Open every file of the log, oldest first. A rotation between listing the
 * names and opening them would shift the names under us (we would open a
 * file twice and miss another), so the opened files are checked against
 * the names afterwards, and on a difference we start again. Once open, a
 * file is ours to read to its end whatever it is renamed to, or if it is
 * dropped.
 */
function openLog(dir: string, id: string): { fd: number; ino: number }[] {
  for (;;) {
    const opened: { fd: number; ino: number; file: string }[] = [];
    for (const file of logFiles(dir, id)) {
      try {
        const fd = fs.openSync(file, 'r');
        opened.push({ fd, ino: fs.fstatSync(fd).ino, file });
      } catch {
        /* no output yet, or dropped by a rotation: checked below */
      }
    }
    const names = logFiles(dir, id);
    const same = names.length === opened.length && opened.every((o, i) => o.file === names[i] && inodeOf(o.file) === o.ino);
    if (same || (opened.length === 0 && inodeOf(logFile(dir, id)) === null)) return opened;
    for (const o of opened) fs.closeSync(o.fd);
  }
}

// #region log-details
/**
 * What `logs --details` prints before each line: the container's labels
 * and environment variables that --log-opt labels=, labels-regex=, env=
 * and env-regex= name (dockerd's json-file stores them with every line;
 * they cannot change in a container's life, so dockling reads them from
 * its config), as key=value pairs sorted by key, joined by commas and
 * escaped as a URL query is. Without such options it is empty, and
 * docker's lines still get the space that follows it.
 */
export function logAttributes(c: ContainerConfig): string {
  const opts = (c.HostConfig as { LogConfig?: { Config?: Record<string, string> } } | undefined)?.LogConfig?.Config ?? {};
  const labels = (c.Config as { Labels?: Record<string, string> | null }).Labels ?? {};
  const env = new Map<string, string>();
  for (const kv of c.Config.Env ?? []) {
    const eq = kv.indexOf('=');
    if (eq > 0) env.set(kv.slice(0, eq), kv.slice(eq + 1));
  }
  const attrs = new Map<string, string>();
  const pick = (names: string | undefined, from: Map<string, string>) => {
    for (const n of names ? names.split(',') : []) if (from.has(n)) attrs.set(n, from.get(n)!);
  };
  const match = (pattern: string | undefined, from: Map<string, string>) => {
    if (!pattern) return;
    let re: RegExp;
    try {
      re = new RegExp(pattern);
    } catch {
      return; // run refused no such pattern before this was written: nothing matches one that will not compile
    }
    for (const [k, v] of from) if (re.test(k)) attrs.set(k, v);
  };
  const labelMap = new Map(Object.entries(labels));
  pick(opts.labels, labelMap);
  match(opts['labels-regex'], labelMap);
  pick(opts.env, env);
  match(opts['env-regex'], env);
  return [...attrs].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, v]) => `${queryEscape(k)}=${queryEscape(v)}`).join(',');
}

/** Go's url.QueryEscape: letters, digits and -_.~ stay, a space is +, the rest %XX. */
const queryEscape = (s: string) => encodeURIComponent(s).replace(/[!'()*]/g, (ch) => `%${ch.charCodeAt(0).toString(16).toUpperCase()}`).replace(/%20/g, '+');
// #endregion log-details

export const logsCommand: Command = {
  name: 'logs',
  aliases: ['container logs'],
  summary: 'Fetch the logs of a container',
  usage: 'logs [OPTIONS] CONTAINER',
  flags: [
    { name: 'follow', short: 'f', kind: 'bool', usage: 'Follow log output' },
    { name: 'tail', short: 'n', kind: 'string', usage: 'Number of lines to show from the end of the logs (default "all")' },
    { name: 'timestamps', short: 't', kind: 'bool', usage: 'Show timestamps' },
    { name: 'since', kind: 'string', usage: 'Show logs since timestamp (e.g. "2013-01-02T13:23:37Z") or relative (e.g. "42m" for 42 minutes)' },
    { name: 'until', kind: 'string', usage: 'Show logs before a timestamp or relative' },
    { name: 'details', kind: 'bool', usage: 'Show extra details provided to logs' },
  ],
  minArgs: 1,
  async run(inv) {
    const c = findContainer(inv.stateRoot, inv.args[0]);
    const dir = containerDir(inv.stateRoot, c.ID);
    if ((c.HostConfig as { LogConfig?: { Type?: string } } | undefined)?.LogConfig?.Type === 'none') {
      throw new RunError(1, 'configured logging driver does not support reading');
    }
    const since = inv.flags.has('since') ? parseSince(inv.flags.get('since') as string) : -Infinity;
    const until = inv.flags.has('until') ? parseSince(inv.flags.get('until') as string) : Infinity;
    const tail = (inv.flags.get('tail') as string | undefined) ?? 'all';
    if (tail !== 'all' && !/^-?\d+$/.test(tail)) throw new RunError(1, `invalid value for "tail": "${tail}" (a number or "all")`);
    // --details: the attributes the log options asked for, then a space,
    // before each line; the time stamp, if asked for, comes before both.
    const details = inv.flags.get('details') ? `${logAttributes(c)} ` : '';
    const show = (e: LogEntry) => {
      if (at(e) < since || at(e) > until) return undefined;
      const text = inv.flags.get('timestamps') ? `${e.time} ${details}${e.log}` : details + e.log;
      return writeOut(e.stream === 'stderr' ? process.stderr : process.stdout, text);
    };
    // Every file opened first: a rotation while we read renames them, and
    // an open file is the same file whatever its name becomes.
    const fds = openLog(dir, c.ID).map((o) => o.fd);
    try {
      const parts: Part[] = fds.map((fd) => ({ fd, offset: 0 }));
      const pending = { rest: Buffer.alloc(0) };
      if (tail !== 'all' && Number(tail) >= 0 && parts.length) {
        const n = Number(tail);
        const start = n === 0 ? { index: parts.length - 1, offset: fs.fstatSync(fds[fds.length - 1]).size } : tailStart(fds, n);
        parts.splice(0, start.index);
        parts[0].offset = start.offset;
      }
      for (const part of parts) await readEntries(part, pending, show);
      if (!inv.flags.get('follow')) return 0;
      await follow(inv.stateRoot, c.ID, dir, parts.at(-1) ?? null, pending, show);
      return 0;
    } finally {
      for (const fd of fds) fs.closeSync(fd);
    }
  },
};

// #region follow
/**
 * -f: read on as the monitor writes, until the container has exited and its
 * monitor has written the last line. We look every 100 ms (a poll is simple
 * and cannot miss a change; dockerd's follower uses inotify). When the live
 * file's name points at another file than ours, the monitor rotated: ours
 * is read to its end, then the files that came after it, found by inode
 * (more than one rotation may have happened since we looked); if ours was
 * dropped already, all the files left.
 */
async function follow(
  stateRoot: string,
  id: string,
  dir: string,
  part: Part | null,
  pending: { rest: Buffer },
  show: (e: LogEntry) => Promise<void> | undefined,
): Promise<void> {
  const opened: number[] = [];
  let over = false;
  try {
    for (;;) {
      if (part) await readEntries(part, pending, show);
      if (brokenPipe()) return;
      const live = inodeOf(logFile(dir, id));
      if (live !== null && (!part || fs.fstatSync(part.fd).ino !== live)) {
        if (part) await readEntries(part, pending, show); // what was written before the rotation
        const files = openLog(dir, id);
        const ours = part ? files.findIndex((f) => f.ino === fs.fstatSync(part!.fd).ino) : -1;
        for (const [i, f] of files.entries()) {
          opened.push(f.fd);
          if (i <= ours) continue; // ours, and older ones: read already
          part = { fd: f.fd, offset: 0 };
          pending.rest = Buffer.alloc(0);
          if (i < files.length - 1) await readEntries(part, pending, show);
        }
        continue;
      }
      if (over) return; // and read to the end of the newest file
      let now;
      try {
        now = refreshState(stateRoot, findContainer(stateRoot, id));
      } catch {
        return; // removed
      }
      // Over: the monitor has written its last line. One more round reads
      // it, across any rotation since the last look.
      if (hasEnded(now)) over = true;
      else await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    for (const fd of opened) fs.closeSync(fd);
  }
}
// #endregion follow
