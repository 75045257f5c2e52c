// A container's life after `run`: stop, start, restart, kill, wait, rm,
// rename, prune. The CLI never holds a running container itself any more:
// it signals PID 1, and reads what the monitor recorded.
import fs from 'node:fs';
import path from 'node:path';
import { newRunContext, Slot, type Layer, type RunContext } from '../core/layer.js';
import { containerSource, stdinNotSent, type PreparedContainer } from '../process/slots.js';
import { imageOf } from '../image/layer.js';
import { RunError, runPipeline } from '../core/pipeline.js';
import { reportFailure } from '../core/failure.js';
import { alive, containersDir, listContainers, resolveContainer, updateConfig, type ContainerConfig } from '../core/containers.js';
import { validateName } from '../core/ids.js';
import { withLock, writeFileAtomic } from '../core/files.js';
import { trace } from '../trace/trace.js';
import { signalName } from '../trace/format.js';
import { canRemove, canStop, containerDir, hasEnded, isPaused, isRunning, liveStatus, refreshState } from './state.js';
import { containerOrFail, removeContainer, removeRunningRefusal } from '../image/container-commands.js';
import { readSavedRun } from './state.js';
import { signalNumber } from './signals.js';
import { thawAbandoned } from '../cgroups/freezer.js';
import { processEnv } from '../process/env.js';
import { thawAfterSignal } from './pause.js';

const CH = 5;

/** A container by name, ID or ID prefix, with its state brought up to date. */
export function findContainer(root: string, ref: string): ContainerConfig {
  return refreshState(root, containerOrFail(root, ref));
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Send a signal to the container's PID 1 (the kernel delivers it inside the PID namespace). */
export function signalContainer(c: ContainerConfig, sig: string | number): void {
  trace.emit(CH, { op: 'signal', pid: c.State.Pid, signal: signalName(sig) });
  process.kill(c.State.Pid, sig);
}

/**
 * Wait until the container has exited and its monitor is done (the exit is
 * recorded and what it held is released), or until the deadline.
 */
export async function waitUntilDone(root: string, id: string, timeoutMs: number): Promise<ContainerConfig | null> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    let c: ContainerConfig;
    try {
      c = refreshState(root, resolveContainer(root, id));
    } catch {
      return null; // removed (--rm)
    }
    if (hasEnded(c)) return c;
    if (liveStatus(c) === 'dead') return c; // its monitor lives on, lost
    if (Date.now() > end) return c;
    await sleep(20);
  }
}

// #region stop
/**
 * Docker's stop: the container's stop signal (SIGTERM unless the image or
 * --stop-signal says otherwise), then SIGKILL after the grace period. The
 * "stopped" mark tells the monitor that this exit is wanted: no restart.
 */
export async function stopContainer(root: string, c: ContainerConfig, graceSec: number): Promise<void> {
  if (!canStop(c)) return;
  thawAbandoned(c.CgroupPaths, containerDir(root, c.ID)); // as in removeOne
  fs.writeFileSync(path.join(containerDir(root, c.ID), 'stopped'), '');
  const sig = ((c.Config as Record<string, unknown>).StopSignal as string | undefined) ?? 'SIGTERM';
  try {
    signalContainer(c, signalNumber(sig) ?? 'SIGTERM');
  } catch {
    /* already gone */
  }
  thawAfterSignal(c); // a paused container acts on the signal once thawed (pause.ts)
  const first = Math.min(graceSec, 1);
  let after = await waitUntilDone(root, c.ID, first * 1000);
  if (after && isRunning(after) && graceSec > first) {
    if (process.stderr.isTTY) process.stderr.write(stopHint(c, sig, graceSec - first));
    after = await waitUntilDone(root, c.ID, (graceSec - first) * 1000);
  }
  if (after && isRunning(after) && alive(after.State.Pid)) {
    // PID 1 ignored the signal (no handler: the kernel drops it for PID 1).
    try {
      signalContainer(after, 'SIGKILL');
    } catch {
      /* gone */
    }
    await waitUntilDone(root, c.ID, 10_000);
  }
}

/**
 * Said on a terminal while `stop` waits: a learner otherwise sees nothing
 * for ten seconds. Docker says nothing; a script's stderr is no terminal.
 */
function stopHint(c: ContainerConfig, sig: string, leftSec: number): string {
  return `dockling: ${c.Name.slice(1)}: PID 1 did not exit on ${sig} (PID 1 ignores a signal it has no handler for); ` +
    `SIGKILL in ${leftSec} s. To stop at once: run it with --init, or use stop -t / --stop-timeout\n`;
}
// #endregion stop

/**
 * Start an existing container: the same pipeline as `run`, with the flags
 * it was run with, on its kept writable layer.
 */
export async function startContainer(root: string, chapter: number, layers: Layer[], c: ContainerConfig, opts: { attach: boolean; interactive?: boolean; restartAttempt?: boolean }): Promise<number> {
  const saved = readSavedRun(containerDir(root, c.ID));
  if (!saved) throw new RunError(1, `container ${c.Name.slice(1)} was made before chapter 5 (no hostconfig.json): it cannot be started again`);
  // #region restart-count
  // The monitor's restart counts; a start by hand (start, restart) begins
  // the policy again from nothing, as Docker's does (its restart manager
  // is reset and RestartCount set to 0), and so does its back-off.
  const count = opts.restartAttempt ? saved.Run.restartCount + 1 : 0;
  if (!opts.restartAttempt) fs.rmSync(path.join(containerDir(root, c.ID), 'restart-delay'), { force: true });
  if (count !== saved.Run.restartCount) {
    saved.Run.restartCount = count;
    writeFileAtomic(path.join(containerDir(root, c.ID), 'hostconfig.json'), JSON.stringify(saved));
    updateConfig({ id: c.ID, name: c.Name.slice(1), dir: containerDir(root, c.ID) }, (x) => ((x as unknown as Record<string, unknown>).RestartCount = count));
  }
  // #endregion restart-count
  const flags = new Map(Object.entries(saved.Run.flags));
  flags.delete('name');
  if (opts.attach) flags.delete('detach');
  else flags.set('detach', true);
  // #region keep-stdin
  // -i stays: the monitor keeps the container's stdin open whoever is
  // attached (none, with a plain `start`), so a later `attach` can type
  // into it. Whether this CLI sends its own stdin is `start -i`'s choice.
  const ctx = newRunContext({ chapter, stateRoot: root, flags, image: saved.Run.image, command: saved.Run.command });
  if (!(opts.attach && opts.interactive)) stdinNotSent.set(ctx, true);
  // #endregion keep-stdin
  // #region start-existing
  // The pipeline of `run`, told that the container exists: chapter 1
  // takes it as it is instead of making a new one, chapter 4 mounts its
  // kept layers, and it is kept at the end whatever happens.
  existingContainer.set(ctx, c);
  containerSource.set(ctx, reuseContainer);
  if (c.Image) imageOf.set(ctx, { id: c.Image });
  ctx.outcome = 'keep';
  // #endregion start-existing
  const code = await runPipeline(ctx, layers);
  if (ctx.failure) reportFailure(ctx.failure);
  return code;
}

/** `start`: the container that is started again. */
export const existingContainer = new Slot<ContainerConfig>('existing');

/** The container as it was made: run again what it was made to run. */
function reuseContainer(ctx: RunContext): PreparedContainer {
  const c = existingContainer.get(ctx)!;
  const rec = { id: c.ID, name: c.Name.slice(1), dir: path.join(containersDir(ctx.stateRoot), c.ID) };
  updateConfig(rec, (x) => {
    x.State = { ...x.State, Status: 'created', Running: false, Pid: 0 };
    x.MonitorPid = process.pid;
  });
  const command = [...(c.Config.Entrypoint ?? []), ...c.Config.Cmd];
  // Config.Env and WorkingDir are Docker's record: the process gets them with each start's defaults (env.ts).
  return { rec, rootfs: c.Rootfs, command, cwd: c.Config.WorkingDir || '/', hostname: c.Config.Hostname, env: processEnv(c.Config.Env, c.Config.Hostname, c.Config.Tty) };
}

export async function removeOne(root: string, layers: Layer[], ref: string, force: boolean, opts: { volumes?: boolean } = {}): Promise<void> {
  let c = findContainer(root, ref);
  if (!canRemove(c, force)) throw new RunError(1, isPaused(c) ? `cannot remove container "${c.Name}": container is paused and must be unpaused first` : removeRunningRefusal(c));
  if (isRunning(c)) {
    // A commit killed while it held the container frozen (chapter 4): a
    // frozen task cannot act on SIGKILL until it is thawed.
    thawAbandoned(c.CgroupPaths, containerDir(root, c.ID));
    fs.writeFileSync(path.join(containerDir(root, c.ID), 'stopped'), '');
    try {
      signalContainer(c, 'SIGKILL');
    } catch {
      /* gone */
    }
    thawAfterSignal(c); // as stop: a frozen task dies of SIGKILL only once thawed (v1)
    c = (await waitUntilDone(root, c.ID, 10_000)) ?? c;
  }
  if (!fs.existsSync(containerDir(root, c.ID))) return; // --rm got there first
  removeContainer(root, layers, c, opts);
}

// #region rename
export function renameContainer(root: string, ref: string, wanted: string): void {
  let name: string;
  try {
    name = validateName(wanted);
  } catch (e) {
    throw new RunError(1, (e as Error).message, { cause: e });
  }
  // Found once before the lock too: on a state root with no container yet
  // there is no containers/ directory to hold the lock, only the error.
  findContainer(root, ref);
  withLock(path.join(containersDir(root), '.lock'), () => {
    const c = findContainer(root, ref);
    if (c.Name === '/' + name) throw new RunError(1, `Renaming a container with the same name as its current name`);
    const holder = listContainers(root).find((x) => x.Name === '/' + name);
    if (holder) throw new RunError(1, `Error when allocating new name: Conflict. The container name "/${name}" is already in use by container "${holder.ID}". You have to remove (or rename) that container to be able to reuse that name.`);
    updateConfig({ id: c.ID, name: c.Name.slice(1), dir: containerDir(root, c.ID) }, (x) => (x.Name = '/' + name));
  });
}
// #endregion rename

