// Where a `dockling run` spends its time, read from its own trace
// (--trace-file: JSON lines with `op` and `t`, ms since the CLI's
// performance.timeOrigin; the init's records are on the same clock).
import { decodeRecord, type TraceRecord } from '../runtime/trace/events.js';
import { BenchError } from './host.js';

export interface PhaseSample {
  /** whole process, spawn to exit, as the bench saw it */
  wall: number;
  /** t of the spawn event: CLI start-up + prepare */
  toSpawn: number;
  /** t of the first host event: Node start-up after timeOrigin, loading the CLI, parsing flags */
  cliStart: number;
  /** first host event → spawn of unshare/init: prepare (container dir, files) */
  prepare: number;
  /**
   * spawn → first init event: the namespaces (unshare(1) or a helper), a new
   * Node, init.js and koffi loaded, the hello/start round trip, and any host
   * steps the CLI takes meanwhile (cgroups from chapter 2 on)
   */
  initBoot: number;
  /** first init event → exec: namespaces, mounts, /dev, pivot_root, hostname */
  initSetup: number;
  /** exec → exit event: the command runs, the PID namespace ends, unshare and the CLI see it */
  execToExit: number;
  /** exit event → last event: the CLI's clean-up (cgroups, container directory) */
  cleanup: number;
  /** wall − t(last event): Node's boot before timeOrigin, and the CLI's exit after its last event */
  outsideTrace: number;
}

export const PHASES: { key: keyof PhaseSample; label: string }[] = [
  { key: 'toSpawn', label: 't=0 → spawn: CLI start-up + prepare' },
  { key: 'cliStart', label: '  t=0 → first host event (CLI start-up)' },
  { key: 'prepare', label: '  first host event → spawn (prepare)' },
  { key: 'initBoot', label: 'spawn → first init event (init boot: node + koffi)' },
  { key: 'initSetup', label: 'first init event → exec (mounts, pivot_root)' },
  { key: 'execToExit', label: 'exec → exit (the command; its exit reaching the CLI)' },
  { key: 'cleanup', label: 'exit → last event (clean-up)' },
  { key: 'outsideTrace', label: 'outside the trace: wall − t(last event)' },
  { key: 'wall', label: 'whole traced run (wall)' },
];

export function parseTrace(text: string): TraceRecord[] {
  return text
    .split('\n')
    .filter(Boolean)
    .map(decodeRecord)
    .filter((r): r is TraceRecord => r !== null);
}

export function phasesOf(records: TraceRecord[], wall: number): PhaseSample {
  const need = (r: TraceRecord | undefined, what: string): TraceRecord => {
    if (!r) throw new BenchError(`dockling's trace has no ${what} event (ops seen: ${[...new Set(records.map((x) => x.op))].join(' ') || 'none'})`);
    return r;
  };
  const firstHost = need(records.find((r) => r.side === 'host'), 'host');
  const firstInitAt = records.findIndex((r) => r.side === 'init');
  const firstInit = need(records[firstInitAt], 'init-side');
  // the spawn that started the init: the last one before the init spoke
  let spawnAt = -1;
  for (let i = 0; i < firstInitAt; i++) if (records[i].op === 'spawn' && records[i].side === 'host') spawnAt = i;
  const spawn = need(records[spawnAt], 'spawn');
  const exec = need(records.find((r) => r.op === 'exec' && r.side === 'init'), 'exec');
  const exit = need(records.find((r) => r.op === 'exit' && r.t >= exec.t), 'exit');
  const last = records.reduce((a, r) => (r.t > a.t ? r : a), exit);
  return {
    wall,
    toSpawn: spawn.t,
    cliStart: firstHost.t,
    prepare: spawn.t - firstHost.t,
    initBoot: firstInit.t - spawn.t,
    initSetup: exec.t - firstInit.t,
    execToExit: exit.t - exec.t,
    cleanup: last.t - exit.t,
    outsideTrace: wall - last.t,
  };
}

/** A short name for the step an event announces: its side, op and what it acts on. */
export function stepName(r: TraceRecord, scratch = ''): string {
  const o = r as unknown as Record<string, unknown>;
  let what = String(o.target ?? o.path ?? o.name ?? (Array.isArray(o.argv) ? o.argv[0] : '') ?? '');
  if (scratch && what.startsWith(scratch)) what = '$BENCH' + what.slice(scratch.length);
  what = what.replace(/\b[0-9a-f]{64}\b|\b[0-9a-f]{12}\b/g, '<id>'); // differs per run
  const parts = what.split('/');
  if (what.length > 30 && parts.length > 4) what = '…/' + parts.slice(-3).join('/');
  if (r.op === 'mount' && typeof o.fstype === 'string' && o.fstype) what += ` (${o.fstype})`;
  return `${r.side} ${r.op}${what ? ' ' + what : ''}`;
}

/**
 * The time between each two consecutive events. An event is emitted right
 * before its step, so this is mostly what the first step took — or, where
 * the CLI waits for the init (or the init for the CLI), that wait. Keyed by
 * position and both names, so that the same gap of several runs lines up.
 */
export function gaps(records: TraceRecord[], scratch = ''): Map<string, number> {
  const m = new Map<string, number>();
  for (let i = 0; i + 1 < records.length; i++) {
    m.set(`${String(i).padStart(3, '0')} ${stepName(records[i], scratch)}  →  ${stepName(records[i + 1], scratch)}`, records[i + 1].t - records[i].t);
  }
  return m;
}
