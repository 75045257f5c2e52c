// The commands chapter 1 adds: `run` and `rootfs`.
import fs from 'node:fs';
import path from 'node:path';
import { newRunContext, type Command } from '../core/layer.js';
import { reportRunFailure, runPipeline, RunError } from '../core/pipeline.js';
import { makeBusyboxRootfs } from './rootfs.js';

export const runCommand: Command = {
  name: 'run',
  summary: 'Create and run a new container from an image',
  usage: 'run [OPTIONS] IMAGE [COMMAND] [ARG...]\n       dockling run [OPTIONS] --rootfs DIR COMMAND [ARG...]',
  // `run` takes the flags of every layer that is switched on: see cli/main.ts.
  flags: [],
  stopAtFirstArg: true,
  minArgs: 1,
  async run(inv) {
    // With --rootfs there is no IMAGE: every argument is the command.
    const [image, ...command] = inv.flags.has('rootfs') ? ['', ...inv.args] : inv.args;
    const ctx = newRunContext({ chapter: inv.chapter, stateRoot: inv.stateRoot, flags: inv.flags, image, command });
    const code = await runPipeline(ctx, inv.layers);
    // The container's end is known and everything is cleaned up: a signal
    // arriving now (a supervisor stopping the CLI just as the container
    // exits) has nothing left to stop, and must not turn the container's
    // status into 128+N on the way out.
    for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(sig, () => {});
    reportRunFailure(ctx, 'run');
    return code;
  },
};

// #region unhardened-warning
/**
 * Namespaces change what a process sees, not what root may do: until the
 * hardening chapter's layer (capabilities, seccomp, the devices cgroup) is
 * on, root in the container keeps every capability of root on the host, and
 * a known trick (open_by_handle_at with CAP_DAC_READ_SEARCH) reads the
 * host's files through any bind mount. Say so each time, as Docker warns
 * about --privileged: the learner must never mistake this for a sandbox.
 */
export const UNHARDENED_WARNING = 'dockling: warning: root in this container is root on the host: chapter 11 closes that';
const HARDENING_CHAPTER = 11;

/** Said once the flags are accepted and the rootfs is ready: just before the namespaces are made. */
export function warnIfUnhardened(chapter: number): void {
  if (chapter < HARDENING_CHAPTER) process.stderr.write(UNHARDENED_WARNING + '\n');
}
// #endregion unhardened-warning

export const rootfsCommand: Command = {
  name: 'rootfs',
  summary: "Make a root filesystem directory from the host's busybox",
  usage: 'rootfs busybox DIR',
  flags: [],
  minArgs: 2,
  async run(inv) {
    const [kind, dir] = inv.args;
    if (kind !== 'busybox') throw new RunError(1, `unknown rootfs kind "${kind}": only "busybox" can be made`);
    const abs = path.resolve(dir);
    if (fs.existsSync(abs) && fs.readdirSync(abs).length > 0) {
      throw new RunError(1, `${abs} exists and is not empty: choose a new directory`);
    }
    if (fs.existsSync(abs)) fs.rmdirSync(abs);
    makeBusyboxRootfs(abs);
    process.stdout.write(abs + '\n');
    return 0;
  },
};
