// `dockling logs`: the container's json-file log, written by its monitor.
// One JSON object per line, as Docker's json-file driver writes them:
//   {"log":"hi\n","stream":"stdout","time":"2026-11-28T07:00:00.123456789Z"}
// so `logs` can split the streams again, show times (-t), start at a time
// (--since) or near the end (--tail), and follow (-f) while the container runs.
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from '../core/layer.js';
import { RunError } from '../core/pipeline.js';
import { alive } from '../core/containers.js';
import { findContainer } from './lifecycle.js';
import { containerDir, liveStatus, refreshState } from './state.js';

export interface LogEntry {
  log: string;
  stream: 'stdout' | 'stderr';
  time: string;
}

export const logFile = (dir: string, id: string) => path.join(dir, `${id}-json.log`);

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
  ],
  minArgs: 1,
  async run(inv) {
    const c = findContainer(inv.stateRoot, inv.args[0]);
    const dir = containerDir(inv.stateRoot, c.ID);
    const file = logFile(dir, c.ID);
    const since = inv.flags.has('since') ? parseSince(inv.flags.get('since') as string) : -Infinity;
    const until = inv.flags.has('until') ? parseSince(inv.flags.get('until') as string) : Infinity;
    const tail = (inv.flags.get('tail') as string | undefined) ?? 'all';
    if (tail !== 'all' && !/^-?\d+$/.test(tail)) throw new RunError(1, `invalid value for "tail": "${tail}" (a number or "all")`);
    const show = (e: LogEntry) => {
      if (at(e) < since || at(e) > until) return;
      const text = inv.flags.get('timestamps') ? `${e.time} ${e.log}` : e.log;
      (e.stream === 'stderr' ? process.stderr : process.stdout).write(text);
    };
    let offset = 0;
    let pending = '';
    const readNew = (): LogEntry[] => {
      let fd: number;
      try {
        fd = fs.openSync(file, 'r');
      } catch {
        return []; // no output yet
      }
      try {
        const size = fs.fstatSync(fd).size;
        if (size <= offset) return [];
        const buf = Buffer.alloc(size - offset);
        fs.readSync(fd, buf, 0, buf.length, offset);
        offset = size;
        const { entries, rest } = parseLog(pending + buf.toString('utf8'));
        pending = rest;
        return entries;
      } finally {
        fs.closeSync(fd);
      }
    };
    let first = readNew();
    if (tail !== 'all' && Number(tail) >= 0) first = Number(tail) === 0 ? [] : first.slice(-Number(tail));
    first.forEach(show);
    if (!inv.flags.get('follow')) return 0;
    // -f: until the container has exited and its monitor has written the last line.
    for (;;) {
      await new Promise((r) => setTimeout(r, 100));
      readNew().forEach(show);
      let now;
      try {
        now = refreshState(inv.stateRoot, findContainer(inv.stateRoot, c.ID));
      } catch {
        break; // removed
      }
      if (liveStatus(now) !== 'running' && !alive(now.MonitorPid)) {
        readNew().forEach(show);
        break;
      }
    }
    return 0;
  },
};
