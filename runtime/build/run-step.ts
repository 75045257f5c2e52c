// RUN: a container of the runtime, then a commit. The step's command runs
// in a container made from the image of the step before, through the same
// pipeline as `dockling run` (chapters 1 to 7 and 11: its namespaces, its
// cgroups, its overlay2 layers, its network), attached, its output streamed
// as it comes. When it exits 0, its writable layer becomes the new image's
// top layer (a commit, as chapter 4's), and the container goes.
import fs from 'node:fs';
import path from 'node:path';
import { newRunContext, type Layer } from '../core/layer.js';
import { runPipeline, RunError } from '../core/pipeline.js';
import { readConfig } from '../core/containers.js';
import { shortId } from '../core/ids.js';
import type { Stores } from '../image/open-stores.js';
import { ownedTempDir } from '../image/leftovers.js';
import { writeTo } from '../image/busybox.js';
import { removeContainer } from '../image/container-commands.js';
import { attachOutput } from '../container/layer.js';
import { commitStep, type BuildConfig, type StageState } from './state.js';

export interface RunStepOptions {
  stateRoot: string;
  chapter: number;
  layers: Layer[];
  /** the command, as the container's Cmd: ["/bin/sh", "-c", "…"] or the exec form */
  cmd: string[];
  /** the build ARGs with values, as KEY=VALUE: in the command's environment only, never in the image */
  buildArgs: string[];
  /** RUN --network: 'default' is the bridge, as Docker's classic builder uses */
  network: 'default' | 'none' | 'host' | null;
  /** where the step's output goes (`build -q`: nowhere) */
  out: NodeJS.WritableStream;
  err: NodeJS.WritableStream;
  /** remove the container when the command failed too (--force-rm) */
  forceRm: boolean;
  /** remove it when it succeeded (--rm, the default) */
  rm: boolean;
}

/**
 * The step's container, run to its end. Docker prints ` ---> Running in
 * ID` once the container exists and before its command starts: a small
 * layer of this step's own, at the `network` stage (after chapter 6's
 * wiring, before chapter 1 lets the command go), says it.
 */
async function runContainer(st: StageState, o: RunStepOptions) {
  const flags = new Map<string, string | boolean | string[]>([
    // RUN ignores the image's ENTRYPOINT (moby's withEntrypointOverride): the command is the whole command.
    ['entrypoint', ''],
    ['env', o.buildArgs],
    ['network', o.network === 'none' ? 'none' : o.network === 'host' ? 'host' : 'bridge'],
  ]);
  const ctx = newRunContext({ chapter: o.chapter, stateRoot: o.stateRoot, flags, image: st.imageID, command: o.cmd });
  attachOutput.set(ctx, { stdout: o.out, stderr: o.err });
  const announce: Layer = {
    chapter: 9,
    name: 'build step',
    runFlags: [],
    commands: [],
    stages: { network: (c) => void o.out.write(` ---> Running in ${shortId(c.container.id)}\n`) },
  };
  const code = await runPipeline(ctx, [...o.layers, announce]);
  return { ctx, code };
}

// #region run-step
export async function runStep(s: Stores, st: StageState, o: RunStepOptions, step: { config: BuildConfig; containerConfig: BuildConfig; createdBy: string }): Promise<string> {
  const { ctx, code } = await runContainer(st, o);
  // No container at all: the run failed before one was made (a bad image, a refused flag).
  if (!ctx.container) throw new RunError(ctx.failure?.code ?? 1, ctx.failure?.message ?? 'the RUN step could not make its container');
  const c = readConfig(ctx.container.dir);
  const remove = () => {
    if (!c) return;
    o.out.write(`Removing intermediate container ${shortId(c.ID)}\n`);
    removeContainer(o.stateRoot, o.layers, c, { volumes: true }); // with its anonymous volumes (an image's VOLUME), as Docker's builder removes it
  };
  if (ctx.failure || code !== 0) {
    if (o.forceRm) remove(); // Docker keeps a failed step's container unless --force-rm
    // The container could not start its command (a USER the image does not
    // have, a missing shell): the daemon's error, and the build's status, 1.
    if (ctx.failure && ctx.failure.code >= 125) throw new RunError(1, ctx.failure.message, { cause: ctx.failure });
    throw new RunError(code || 1, `The command '${o.cmd.join(' ')}' returned a non-zero code: ${code}`);
  }
  if (!c) throw new RunError(1, 'the RUN step\'s container is gone: it was removed while the build ran');
  const m = s.layers.getMount(c.ID)!;
  const dir = ownedTempDir(s.root, 'build');
  try {
    // The container's changes as a layer tar: the same diff `commit` packs.
    const tar = path.join(dir, 'layer.tar');
    const { diffID } = await writeTo(tar, (out) => s.driver.diff(m.mountID, m.initID, out));
    const id = await s.images.lockedAsync(async () => {
      const layer = await s.layers.register(tar, m.parent);
      return commitStep(s, st, { ...step, diffID: layer.diffID === diffID ? diffID : layer.diffID, container: c.ID });
    });
    if (o.rm || o.forceRm) remove();
    return id;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
// #endregion run-step
