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
import { abandonedContainers, containersDir, removeContainerDir, strandedDirs } from './containers.js';
import { trace } from '../trace/trace.js';
import { STAGES, type Layer, type RunContext } from './layer.js';

const INTERRUPTS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/** A failure with the exit code Docker would give for it. */
export class RunError extends Error {
  constructor(public code: number, message: string) {
    super(message);
  }
}

// #region run-pipeline
export async function runPipeline(ctx: RunContext, layers: Layer[]): Promise<number> {
  const ordered = [...layers].sort((a, b) => a.chapter - b.chapter);
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
      for (const layer of ordered) {
        await layer.stages[stage]?.(ctx);
        if (interrupted && stage !== 'wait') {
          throw new RunError(128 + (os.constants.signals[interrupted] ?? 0), `${interrupted} before the container started: everything made for it is removed`);
        }
      }
    }
  } catch (e) {
    ctx.failure = e instanceof RunError ? { code: e.code, message: e.message } : { code: 125, message: (e as Error).message };
  } finally {
    listen(false);
    for (const layer of [...ordered].reverse()) {
      try {
        await layer.stages.cleanup?.(ctx);
      } catch (e) {
        // A failed cleanup must not hide the others, nor the exit code.
        process.stderr.write(`dockling: cleanup (chapter ${layer.chapter}): ${(e as Error).message}\n`);
      }
    }
  }
  if (ctx.failure) return ctx.failure.code;
  return ctx.exitCode ?? 125;
}
// #endregion run-pipeline

/**
 * Clean up after CLIs that were killed (SIGKILL) before their own cleanup:
 * each layer undoes its part, in reverse order as in `cleanup`, then the
 * container's directory goes. Errors are ignored: another dockling may be
 * reaping the same container at the same time.
 */
function reapAbandoned(stateRoot: string, ordered: Layer[]): void {
  for (const c of abandonedContainers(stateRoot)) {
    for (const layer of [...ordered].reverse()) {
      try {
        layer.reap?.(c, stateRoot);
      } catch {
        /* reaped by someone else meanwhile */
      }
    }
    const dir = path.join(containersDir(stateRoot), c.ID);
    trace.emit(0, { op: 'remove', path: dir });
    removeContainerDir(dir);
  }
  for (const dir of strandedDirs(stateRoot)) {
    trace.emit(0, { op: 'remove', path: dir });
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
