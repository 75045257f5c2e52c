// The core of dockling: a container's life as a pipeline of stages, each
// stage filled in by the layers that are switched on (chapters 1..N).
//
// Stages run in order, and within a stage the layers run in chapter order,
// each building on the ones below it. `cleanup` is the exception: it always
// runs, whatever failed, and in reverse chapter order, so that what was set
// up last is undone first (the network before the cgroup before the mounts).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { abandonment, containersDir, listContainers, ownerLock, readConfig, removeContainerDir, strandedDirs, updateConfig } from './containers.js';
import { withLockIfFree } from './files.js';
import { trace } from '../trace/trace.js';
import { Slot, STAGES, type Layer, type RunContext, type Stage } from './layer.js';
import { nowRFC3339Nano } from './time.js';
import { reportFailure } from './failure.js';

const INTERRUPTS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/**
 * A failure with the exit code Docker would give for it. Where it stands
 * for an error caught on the way (a missing file, a refused write), that
 * error is its `cause` (ES2022's `{ cause }`): the message says what the
 * user must know, the cause keeps what happened underneath, which
 * `dockling --debug` prints (core/failure.ts).
 */
export class RunError extends Error {
  constructor(public code: number, message: string, options?: ErrorOptions) {
    super(message, options);
  }
}

/**
 * A failure of the machine rather than of the command line: not root, a
 * tool not installed, dockling not built. The docker CLI's "See 'docker
 * run --help'." would send the learner to the flags; these say what to
 * install instead, and nothing follows them.
 */
export class MachineError extends RunError {}

/**
 * What the CLI lets go of once every layer's cleanup is done: a later
 * layer's hold on the container (chapter 5's owner lock, which tells other
 * dockling commands that this CLI is still tearing the container down).
 */
export const afterCleanup = new Slot<() => void>('after-cleanup');

// #region run-pipeline
export async function runPipeline(ctx: RunContext, layers: Layer[]): Promise<number> {
  const ordered = [...layers].sort((a, b) => a.chapter - b.chapter);
  ctx.layers = ordered;
  reapAbandoned(ctx.stateRoot, ordered);
  // Until the command runs, ^C (or a kill) means "stop setting up": the
  // current step finishes, then cleanup undoes everything made so far, so
  // no cgroup or state directory is left behind. From `wait` on, the
  // signals belong to the container (chapter 1 passes them on).
  let interrupted: NodeJS.Signals | undefined;
  const stop = (sig: NodeJS.Signals) => (interrupted ??= sig);
  const listen = (on: boolean) => INTERRUPTS.forEach((s) => (on ? process.on(s, stop) : process.off(s, stop)));
  listen(true);
  try {
    for (const stage of STAGES) {
      if (stage === 'cleanup') break;
      if (stage === 'wait') listen(false);
      ctx.stage = stage;
      heading(stage, ordered);
      for (const layer of ordered) {
        await layer.stages[stage]?.(ctx);
        if (interrupted && stage !== 'wait') {
          throw new RunError(128 + (os.constants.signals[interrupted] ?? 0), `${interrupted} before the container started: everything made for it is removed`);
        }
      }
      // Told to stop here (`create`): what the stages so far made is the
      // container, with the outcome asked for; cleanup still runs.
      if (ctx.until?.stage === stage) {
        ctx.outcome = ctx.until.outcome;
        ctx.exitCode = 0;
        break;
      }
    }
  } catch (e) {
    // Anything but a RunError is unexpected: 125, with the error kept as
    // the cause for --debug.
    ctx.failure = e instanceof RunError ? e : new RunError(125, (e as Error).message, { cause: e });
  } finally {
    // A signal now (a second ^C, a SIGTERM sent again) must not end the CLI
    // half-way through its cleanup, leaving cgroups and mounts behind: it is
    // only noted, as during setup, until cleanup is done.
    listen(false);
    listen(true);
    heading('cleanup', ordered);
    for (const layer of [...ordered].reverse()) {
      try {
        await layer.stages.cleanup?.(ctx);
      } catch (e) {
        // A failed cleanup must not hide the others, nor the exit code.
        process.stderr.write(`dockling: cleanup (chapter ${layer.chapter}): ${(e as Error).message}\n`);
      }
    }
    // Cleanup is over: let go of the container.
    afterCleanup.get(ctx)?.();
    listen(false);
  }
  if (ctx.failure) return ctx.failure.code;
  return ctx.exitCode ?? 125;
}
// #endregion run-pipeline

/**
 * Tell a failed `run` or `create`: its message (core/failure.ts), then, for
 * a failure of the container's creation (its flags, its name, its image:
 * the validate and prepare stages), the docker CLI's help line, which it
 * prints after whatever its daemon refuses at create and not after a
 * start's error. A machine's failure (MachineError) gets no help line: it
 * already says what to install.
 */
export function reportRunFailure(ctx: RunContext, command: string): void {
  if (!ctx.failure) return;
  reportFailure(ctx.failure);
  const creation = ctx.stage === 'validate' || ctx.stage === 'prepare';
  if (creation && !(ctx.failure instanceof MachineError)) process.stderr.write(`See 'dockling ${command} --help'.\n`);
}

/**
 * Tell the trace that a stage begins, so that `--trace` can print the
 * steps under the stage that took them. Only for a stage some layer fills:
 * at chapter 1 there is no `limit` or `network` to announce.
 */
function heading(stage: Stage, layers: Layer[]): void {
  if (layers.some((l) => l.stages[stage])) trace.emit(0, { op: 'stage', name: stage });
}

// #region reap-abandoned
/**
 * Clean up after CLIs and monitors that were killed (SIGKILL) before
 * their own cleanup (containers.ts says which containers, and what to
 * do). Each container is taken under its owner lock, and only while it is
 * free: a live CLI still tearing its container down holds it, and so does
 * another dockling reaping the same one. Then each layer undoes its part,
 * in reverse order as in `cleanup`:
 *
 * - remove: everything (cgroups, mount, layers), then the directory;
 * - release: the cgroups and the mount, and the end is recorded (with the
 *   monitor's exit record if it wrote one, else 137: killed with it).
 *
 * Errors are reported and skipped: one container must not stop the rest.
 * Every command that reads the store runs this first (run, start, ps, rm).
 */
export function reapAbandoned(stateRoot: string, layers: Layer[]): void {
  const ordered = [...layers].sort((a, b) => b.chapter - a.chapter);
  for (const found of listContainers(stateRoot)) {
    const what = abandonment(found);
    if (!what) continue;
    const dir = path.join(containersDir(stateRoot), found.ID);
    withLockIfFree(ownerLock(dir), () => {
      const c = readConfig(dir); // as it is now that we hold it
      if (!c || abandonment(c) !== what) return;
      let code: number | undefined;
      for (const layer of ordered) {
        try {
          if (what === 'remove') layer.reap?.(c, stateRoot);
          else code = layer.release?.(c, stateRoot) ?? code;
        } catch (e) {
          process.stderr.write(`dockling: reaping container ${c.ID.slice(0, 12)} (chapter ${layer.chapter}): ${(e as Error).message}\n`);
        }
      }
      if (what === 'remove') {
        trace.emit(0, { op: 'remove', path: dir });
        removeContainerDir(dir);
        return;
      }
      // Docker's words for a container whose shim died: exited, 137.
      updateConfig({ id: c.ID, name: c.Name.slice(1), dir }, (x) => {
        x.State = { ...x.State, Status: 'exited', Running: false, Pid: 0, ExitCode: code ?? 137, FinishedAt: nowRFC3339Nano() };
      });
    });
  }
  for (const dir of strandedDirs(stateRoot)) {
    trace.emit(0, { op: 'remove', path: dir });
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
// #endregion reap-abandoned
