// What a container's state really is. config.v2.json says what dockling
// last wrote; the processes say what is true now. A detached container's
// exit is recorded by its monitor in exit.json (no CLI may be there to
// write config.v2.json), so every reader first folds that record in, then
// checks the processes:
//
//   config says  | PID 1 | monitor | exit.json | the truth
//   running      | alive |    *    |     -     | Up
//   running      | gone  |  alive  |     -     | Up (the monitor is recording the exit right now)
//   running      | gone  |    *    |  newer    | Exited (code)
//   running      | gone  |  gone   |     -     | Dead: nobody recorded how it ended
//
// A monitor does not die alone: nsexec and PID 1 die with it (nsexec.c), and
// the next command (run, start, ps, rm) records such a container as
// "Exited (137)" and releases what it held, or removes it if it was --rm
// (reapAbandoned, core/pipeline.ts). So "Dead" is seen only in between, by
// commands that do not reap (inspect, logs), and "Up" with its monitor gone
// only for the moment the kernel takes to kill PID 1.
import fs from 'node:fs';
import path from 'node:path';
import { alive, readConfig, updateConfig, type ContainerConfig } from '../core/containers.js';
import { ago, humanDuration } from '../core/format.js';
import type { FlagValue } from '../core/flags.js';
import { isFrozen } from '../cgroups/freezer.js';

export interface ExitRecord {
  ExitCode: number;
  FinishedAt: string;
  Signal: number;
}

export function readExit(dir: string): ExitRecord | null {
  try {
    return JSON.parse(fs.readFileSync(path.join(dir, 'exit.json'), 'utf8')) as ExitRecord;
  } catch {
    return null; // no exit record: no monitor has written one (yet)
  }
}

export const containerDir = (root: string, id: string) => path.join(root, 'containers', id);

// #region refresh-state
/** The container's config with the monitor's exit record folded in (and saved). */
export function refreshState(root: string, c: ContainerConfig): ContainerConfig {
  const dir = containerDir(root, c.ID);
  const exit = readExit(dir);
  if (c.State.Status === 'running' && exit && Date.parse(exit.FinishedAt) >= Date.parse(c.State.StartedAt) && !alive(c.State.Pid)) {
    const rec = { id: c.ID, name: c.Name.slice(1), dir };
    updateConfig(rec, (x) => {
      x.State = { ...x.State, Status: 'exited', Running: false, Pid: 0, ExitCode: exit.ExitCode, FinishedAt: exit.FinishedAt };
    });
    return readConfig(dir) ?? c;
  }
  return c;
}
// #endregion refresh-state

export type LiveStatus = 'created' | 'running' | 'exited' | 'dead';

/** What the container is now, from the processes (after refreshState). */
export function liveStatus(c: ContainerConfig): LiveStatus {
  if (c.State.Status === 'running') {
    if (alive(c.State.Pid)) return 'running';
    return alive(c.MonitorPid) ? 'running' : 'dead';
  }
  return c.State.Status;
}

export const monitorGone = (c: ContainerConfig) => c.State.Status === 'running' && !alive(c.MonitorPid);

// #region state-rules
// Which state allows which verb, asked here only (youki's container/state.rs:
// can_start, can_kill), so that ps, start, stop, kill, exec, attach, rm and
// prune cannot disagree on what "running" means. Call them after
// refreshState. (Chapters 2 and 4, which know no monitor, ask core's
// isRunning: PID 1 alive.)

/** Running: its PID 1 is alive, or it just exited and its monitor is recording the end. */
export const isRunning = (c: ContainerConfig): boolean => liveStatus(c) === 'running';

/**
 * Paused: running, with its cgroup frozen (`pause`, or a `commit` packing
 * it: Docker shows that as paused too). The kernel's freezer state is the
 * record (pause.ts says why); a paused container is still running.
 */
export const isPaused = (c: ContainerConfig): boolean => isRunning(c) && isFrozen(c.CgroupPaths);

/** Over: it is not running and its monitor is done (the exit recorded, what it held released). */
export const hasEnded = (c: ContainerConfig): boolean => !isRunning(c) && !alive(c.MonitorPid);

/** start: a running container is not started again (`start` skips it, as Docker does). */
export const canStart = (c: ContainerConfig): boolean => !isRunning(c);

/** stop, kill: only a running container has a PID 1 to signal (stopping a stopped one does nothing). */
export const canStop = (c: ContainerConfig): boolean => isRunning(c);

/**
 * rm: a container that is not running; a running one only with -f, which
 * kills it first. (Docker's refusal otherwise: chapter 4's removeRunningRefusal.)
 */
export const canRemove = (c: ContainerConfig, force: boolean): boolean => force || !isRunning(c);
// #endregion state-rules

/** The STATUS column of `ps`, as Docker words it. */
export function statusText(c: ContainerConfig, now = Date.now()): string {
  switch (liveStatus(c)) {
    case 'running':
      return `Up ${humanDuration(now - Date.parse(c.State.StartedAt))}${isPaused(c) ? ' (Paused)' : ''}${monitorGone(c) ? ' (monitor gone: output is lost, the exit will not be recorded)' : ''}`;
    case 'exited':
      return `Exited (${c.State.ExitCode}) ${ago(c.State.FinishedAt, now)}`;
    case 'dead':
      return 'Dead (its monitor was killed: how it ended was not recorded)';
    default:
      return 'Created';
  }
}

/** What chapter 5 keeps beside the HostConfig to start a container again: the flags of its `run`. */
export interface SavedRun {
  flags: Record<string, FlagValue>;
  image: string;
  command: string[];
  restartCount: number;
}

export const hostconfigFile = (dir: string) => path.join(dir, 'hostconfig.json');

export function readSavedRun(dir: string): { HostConfig: Record<string, unknown>; Run: SavedRun } | null {
  try {
    return JSON.parse(fs.readFileSync(hostconfigFile(dir), 'utf8'));
  } catch {
    return null; // no hostconfig.json: a container made before chapter 5
  }
}

