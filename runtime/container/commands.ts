// Chapter 5's commands: ps (in ps.ts), stop, start, restart, kill, wait, rm, rename,
// container prune, inspect (with logs, attach and exec in their own files).
import type { Command, Invocation } from '../core/layer.js';
import { RunError, reapAbandoned, reportRunFailure, runPipeline } from '../core/pipeline.js';
import { newRunContext } from '../core/layer.js';
import { reportFailure } from '../core/failure.js';
import { listContainers, resolveContainer, updateConfig, type ContainerConfig } from '../core/containers.js';
import { eachArgument, inspectCommandWith, isGone, removeContainer, rmCommand as chapter4Rm } from '../image/container-commands.js';
import { ago, table } from '../core/format.js';
import { canRemove, canStart, canStop, isPaused, isRunning, refreshState, statusText } from './state.js';
import { pauseCommands, thawAfterSignal } from './pause.js';
import { pruneCommands } from './prune.js';
import { findContainer, removeOne, renameContainer, signalContainer, startContainer, stopContainer, waitUntilDone } from './lifecycle.js';
import { signalNumber } from './signals.js';
import { containerInspect } from './inspect.js';
import { logsCommand } from './logs.js';
import { attachCommand, execCommand } from './exec.js';
import { psCommand } from './ps.js';
import { cpCommand } from './cp.js';

const timeFlag = { name: 'time', short: 't', kind: 'int' as const, usage: 'Seconds to wait before killing the container' };

/** -t, or the container's --stop-timeout, or Docker's 10 seconds. */
function graceOf(flag: number | undefined, c: { Config: object }): number {
  return flag ?? ((c.Config as Record<string, unknown>).StopTimeout as number | undefined) ?? 10;
}

const stopCommand: Command = {
  name: 'stop',
  aliases: ['container stop'],
  summary: 'Stop one or more running containers',
  usage: 'stop [OPTIONS] CONTAINER [CONTAINER...]',
  flags: [timeFlag, { name: 'signal', short: 's', kind: 'string', usage: 'Signal to send to the container' }],
  minArgs: 1,
  async run(inv) {
    return eachArgument(inv.args, async (ref) => {
      const c = findContainer(inv.stateRoot, ref);
      const sig = inv.flags.get('signal') as string | undefined;
      if (sig) (c.Config as Record<string, unknown>).StopSignal = sig;
      await stopContainer(inv.stateRoot, c, graceOf(inv.flags.get('time') as number | undefined, c));
    });
  },
};

/** Start a stopped container in the background; its own failure message is already printed. */
async function startOrFail(inv: Invocation, ref: string, c: ContainerConfig, restartAttempt: boolean): Promise<void> {
  const code = await startContainer(inv.stateRoot, inv.chapter, inv.layers, c, { attach: false, restartAttempt });
  if (code !== 0) throw new RunError(1, `failed to start container ${ref}`);
}

const startCommand: Command = {
  name: 'start',
  aliases: ['container start'],
  summary: 'Start one or more stopped containers',
  usage: 'start [OPTIONS] CONTAINER [CONTAINER...]',
  flags: [
    { name: 'attach', short: 'a', kind: 'bool', usage: 'Attach STDOUT/STDERR and forward signals' },
    { name: 'interactive', short: 'i', kind: 'bool', usage: "Attach container's STDIN" },
    { name: 'restart-attempt', kind: 'bool', usage: '(used by the monitor for restart policies)' },
  ],
  minArgs: 1,
  async run(inv) {
    // `start -i` attaches as `start -a -i` does (the docker CLI's rule).
    const interactive = Boolean(inv.flags.get('interactive'));
    if (inv.flags.get('attach') || interactive) {
      if (inv.args.length > 1) throw new RunError(1, 'you cannot start and attach multiple containers at once');
      const c = findContainer(inv.stateRoot, inv.args[0]);
      if (!canStart(c)) throw new RunError(1, `container ${inv.args[0]} is already running: use \`dockling attach\``);
      return startContainer(inv.stateRoot, inv.chapter, inv.layers, c, { attach: true, interactive });
    }
    // Each container that would not start is said as it comes; the docker
    // CLI then names them all in one last line.
    const failed: string[] = [];
    const code = await eachArgument(inv.args, async (ref) => {
      try {
        const c = findContainer(inv.stateRoot, ref);
        if (isPaused(c)) throw new RunError(1, 'Error response from daemon: cannot start a paused container, try unpause instead');
        if (!canStart(c)) return;
        await startOrFail(inv, ref, c, Boolean(inv.flags.get('restart-attempt')));
      } catch (e) {
        failed.push(ref);
        throw e;
      }
    });
    if (failed.length) reportFailure({ message: `failed to start containers: ${failed.join(', ')}` });
    return code;
  },
};

// #region create
/**
 * Docker's create: `run` without running. The pipeline of `run` goes up
 * to `prepare` and stops there, kept: the record, the writable layer and
 * the hostconfig are made, then cleanup unmounts the root (chapter 4) and
 * nothing else is left (the cgroup and the init come at later stages).
 * The state stays `created`, with no CLI or monitor answering for it
 * (MonitorPid 0), which tells the reaper it waits for `start` on purpose.
 */
const createCommand: Command = {
  name: 'create',
  aliases: ['container create'],
  summary: 'Create a new container',
  usage: 'create [OPTIONS] IMAGE [COMMAND] [ARG...]',
  // It takes the flags of `run` from every layer, as `run` does (cli/main.ts).
  flags: [],
  stopAtFirstArg: true,
  minArgs: 1,
  async run(inv) {
    if (inv.flags.has('detach')) throw new RunError(125, 'unknown flag: --detach (create never runs the container: start it with `dockling start`)');
    const [image, ...command] = inv.flags.has('rootfs') ? ['', ...inv.args] : inv.args;
    const flags = new Map(inv.flags);
    // Started later, it starts in the background unless `start -a` says otherwise (lifecycle.ts).
    flags.set('detach', true);
    const ctx = newRunContext({ chapter: inv.chapter, stateRoot: inv.stateRoot, flags, image, command });
    ctx.until = { stage: 'prepare', outcome: 'keep' };
    const code = await runPipeline(ctx, inv.layers);
    if (ctx.failure) {
      reportRunFailure(ctx, 'create');
      return code;
    }
    updateConfig(ctx.container, (x) => (x.MonitorPid = 0));
    process.stdout.write(ctx.container.id + '\n');
    return 0;
  },
};
// #endregion create

const restartCommand: Command = {
  name: 'restart',
  aliases: ['container restart'],
  summary: 'Restart one or more containers',
  usage: 'restart [OPTIONS] CONTAINER [CONTAINER...]',
  flags: [timeFlag],
  minArgs: 1,
  async run(inv) {
    return eachArgument(inv.args, async (ref) => {
      const c = findContainer(inv.stateRoot, ref);
      await stopContainer(inv.stateRoot, c, graceOf(inv.flags.get('time') as number | undefined, c));
      await startOrFail(inv, ref, findContainer(inv.stateRoot, c.ID), false);
    });
  },
};

const killCommand: Command = {
  name: 'kill',
  aliases: ['container kill'],
  summary: 'Kill one or more running containers',
  usage: 'kill [OPTIONS] CONTAINER [CONTAINER...]',
  flags: [{ name: 'signal', short: 's', kind: 'string', usage: 'Signal to send to the container (default "KILL")' }],
  minArgs: 1,
  async run(inv) {
    const sig = (inv.flags.get('signal') as string | undefined) ?? 'KILL';
    const n = signalNumber(sig);
    if (n === null) throw new RunError(1, `Invalid signal: ${sig}`);
    return eachArgument(inv.args, async (ref) => {
      let c: ContainerConfig;
      try {
        c = findContainer(inv.stateRoot, ref);
      } catch (e) {
        // dockerd puts every kill error after the same words
        if (e instanceof RunError) throw new RunError(e.code, `Cannot kill container: ${ref}: ${e.message}`, { cause: e });
        throw e;
      }
      if (!canStop(c)) throw new RunError(1, `Cannot kill container: ${ref}: container ${c.ID} is not running`);
      signalContainer(c, n);
      // SIGKILL or its stop signal ends a paused container: thawed to act on it (pause.ts)
      const stopSignal = signalNumber(((c.Config as Record<string, unknown>).StopSignal as string | undefined) ?? 'SIGTERM');
      if (n === 9 || n === stopSignal) thawAfterSignal(c);
    });
  },
};

const waitCommand: Command = {
  name: 'wait',
  aliases: ['container wait'],
  summary: 'Block until one or more containers stop, then print their exit codes',
  usage: 'wait CONTAINER [CONTAINER...]',
  flags: [],
  minArgs: 1,
  async run(inv) {
    return eachArgument(inv.args, async (ref) => {
      const c = findContainer(inv.stateRoot, ref);
      const done = await waitUntilDone(inv.stateRoot, c.ID, Number.MAX_SAFE_INTEGER);
      if (!done) throw new RunError(1, `No such container: ${ref} (it was removed when it exited)`);
      return String(done.State.ExitCode);
    });
  },
};

// Chapter 4's rm, on a container that has a monitor now: a running one is
// stopped through its monitor first (lifecycle.ts, removeOne), and what
// killed CLIs and monitors left is reaped before.
const rmCommand: Command = {
  ...chapter4Rm,
  replaces: 3,
  flags: [
    ...chapter4Rm.flags,
    { name: 'volumes', short: 'v', kind: 'bool', usage: 'Remove anonymous volumes associated with the container (chapter 7)' },
  ],
  async run(inv) {
    reapAbandoned(inv.stateRoot, inv.layers);
    const force = Boolean(inv.flags.get('force'));
    const volumes = Boolean(inv.flags.get('volumes'));
    return eachArgument(inv.args, async (ref) => (force && isGone(inv.stateRoot, ref) ? null : removeOne(inv.stateRoot, inv.layers, ref, force, { volumes })));
  },
};

const renameCommand: Command = {
  name: 'rename',
  aliases: ['container rename'],
  summary: 'Rename a container',
  usage: 'rename CONTAINER NEW_NAME',
  flags: [],
  minArgs: 2,
  async run(inv) {
    // The daemon's refusal, then the docker CLI's own line naming the container.
    try {
      renameContainer(inv.stateRoot, inv.args[0], inv.args[1]);
    } catch (e) {
      if (!(e instanceof RunError)) throw e;
      reportFailure(e);
      throw new RunError(1, `failed to rename container named ${inv.args[0]}`);
    }
    return 0;
  },
};

// Chapter 4's inspect, showing a container with chapter 5's fields.
const inspectCommand: Command = {
  ...inspectCommandWith((s, root, ref) => containerInspect(s, root, refreshState(root, resolveContainer(root, ref)))),
  aliases: ['container inspect'],
  replaces: 3,
};

export const containerCommands: Command[] = [
  psCommand, logsCommand, attachCommand, execCommand, createCommand, stopCommand, startCommand, restartCommand, killCommand,
  waitCommand, rmCommand, renameCommand, ...pruneCommands, inspectCommand, ...pauseCommands, cpCommand,
];


