// Chapter 5's layer: containers with a life of their own. Every container
// now runs under its monitor (launch.ts, monitor.c). `run -d` returns as
// soon as the command has started; a foreground run attaches to the
// monitor; a stopped container can be started again on its kept writable
// layer. The layer adds -d, --restart, --init, --entrypoint, --stop-signal,
// --stop-timeout, --detach-keys to `run`, and the lifecycle commands.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FlagSpec } from '../core/flags.js';
import { Slot, type Layer, type RunContext } from '../core/layer.js';
import { afterCleanup, MachineError, RunError } from '../core/pipeline.js';
import { inBackground, launcher, origin, stdinNotSent } from '../process/slots.js';
import { withEntrypointFlag } from './entrypoint.js';
import { imageOf } from '../image/layer.js';
import { existingContainer } from './lifecycle.js';
import { readConfig, updateConfig, type ContainerConfig } from '../core/containers.js';
import { writeFileAtomic } from '../core/files.js';
import { openStores } from '../image/open-stores.js';
import { parseRestartPolicy, type RestartPolicy } from './restart-policy.js';
import { DOCKLING_BIN, haveMonitor, MONITOR, monitorLauncher } from './launch.js';
import { parseDetachKeys } from './exec.js';
import { containerCommands } from './commands.js';
import { hostconfigFile, readExit, readSavedRun, type SavedRun } from './state.js';
import { signalNumber } from './signals.js';
import { monitorLogArgs, parseLogConfig, type LogConfig } from './log-config.js';
import { prepareUser, USER_FLAGS } from './run-user.js';

const CH = 5;
export const DOCKER_INIT = fileURLToPath(new URL('./dockling-init', import.meta.url));

const RUN_FLAGS: FlagSpec[] = [
  { name: 'detach', short: 'd', kind: 'bool', usage: 'Run container in background and print container ID' },
  { name: 'restart', kind: 'string', usage: 'Restart policy to apply when a container exits (no, on-failure[:max-retries], always, unless-stopped)' },
  { name: 'init', kind: 'bool', usage: 'Run an init inside the container that forwards signals and reaps processes' },
  { name: 'entrypoint', kind: 'string', usage: 'Overwrite the default ENTRYPOINT of the image' },
  { name: 'stop-signal', kind: 'string', usage: 'Signal to stop the container (default SIGTERM)' },
  { name: 'stop-timeout', kind: 'int', usage: 'Timeout (in seconds) to stop a container' },
  { name: 'detach-keys', kind: 'string', usage: 'Override the key sequence for detaching a container' },
  { name: 'log-driver', kind: 'string', usage: 'Logging driver for the container (json-file or none)' },
  { name: 'log-opt', kind: 'stringArray', usage: 'Log driver options (max-size, max-file)' },
  ...USER_FLAGS,
];

/**
 * Where a foreground run's output goes, when not to this CLI's stdout and
 * stderr: chapter 9's `build -q` runs its RUN steps without showing them.
 */
export const attachOutput = new Slot<{ stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream }>('attach-output');

/** The log's config: a new container's from its flags, a started one's as it was made. */
function logConfigOf(ctx: RunContext, c: { HostConfig?: Record<string, unknown> } | null): LogConfig {
  const kept = existingContainer.get(ctx) ? (c?.HostConfig?.LogConfig as LogConfig | undefined) : undefined;
  return kept ?? parseLogConfig(ctx.flags.get('log-driver') as string | undefined, (ctx.flags.get('log-opt') as string[] | undefined) ?? []);
}

function policyOf(ctx: RunContext): RestartPolicy {
  try {
    return parseRestartPolicy((ctx.flags.get('restart') as string | undefined) ?? 'no');
  } catch (e) {
    throw new RunError(125, (e as Error).message, { cause: e });
  }
}

function validate(ctx: RunContext): void {
  if (!haveMonitor()) throw new MachineError(125, 'the container monitor (dist/monitor) is missing: build dockling with `npm run build`');
  const policy = policyOf(ctx);
  if (policy.Name !== 'no' && ctx.flags.get('rm')) throw new RunError(125, 'Conflicting options: cannot specify both --restart and --rm');
  if (ctx.flags.get('detach')) inBackground.set(ctx, true);
  const existing = existingContainer.get(ctx);
  const entrypoint = ctx.flags.get('entrypoint') as string | undefined;
  const image = origin.get(ctx);
  if (entrypoint !== undefined && image && !existing) {
    origin.set(ctx, withEntrypointFlag(image, entrypoint));
    // Chapter 1 would blame the image for having no CMD; it may well have
    // one, which --entrypoint dropped (Docker's rule): say so.
    if (!entrypoint && ctx.command.length === 0) {
      throw new RunError(125, `No command specified: --entrypoint "" removes the image's ENTRYPOINT and, as in Docker, its CMD too: name the program to run after the image`);
    }
  } else if (entrypoint && ctx.flags.has('rootfs') && !existing) {
    ctx.command = [entrypoint, ...ctx.command];
  }
  const keys = ctx.flags.get('detach-keys') as string | undefined;
  if (keys !== undefined) parseDetachKeys(keys); // a bad one is refused before anything is made
  const sig = ctx.flags.get('stop-signal') as string | undefined;
  if (sig !== undefined && signalNumber(sig) === null) throw new RunError(125, `Invalid signal: ${sig}`);
  if (!existing) logConfigOf(ctx, null); // a bad --log-opt is refused before anything is made
}

// #region monitored-prepare
function prepare(ctx: RunContext): void {
  prepareUser(ctx); // USER or --user, and --group-add in HostConfig (run-user.ts)
  const c = readConfig(ctx.container.dir)!;
  const saved = existingContainer.get(ctx) ? readSavedRun(ctx.container.dir) : null;
  const policy = policyOf(ctx);
  const restartCount = saved?.Run.restartCount ?? 0;
  // --init: the container's PID 1 is a tiny init that passes signals on and
  // reaps orphans (init-reaper.c); the command runs as its child.
  if (ctx.flags.get('init')) {
    ctx.spec.mounts.push({ destination: '/sbin/docker-init', type: 'bind', source: DOCKER_INIT, options: ['bind', 'ro'] });
    ctx.spec.process.args = ['/sbin/docker-init', '--', ...ctx.spec.process.args];
  }
  const stopSignal = (ctx.flags.get('stop-signal') as string | undefined) ?? (c.Image ? imageStopSignal(ctx) : undefined) ?? 'SIGTERM';
  const hostConfig = {
    ...(c.HostConfig ?? {}),
    RestartPolicy: policy,
    AutoRemove: Boolean(ctx.flags.get('rm')),
    Init: Boolean(ctx.flags.get('init')),
    LogConfig: logConfigOf(ctx, c as { HostConfig?: Record<string, unknown> }),
  };
  const run: SavedRun = saved?.Run ?? { flags: Object.fromEntries(ctx.flags), image: ctx.image, command: ctx.command, restartCount: 0 };
  writeFileAtomic(hostconfigFile(ctx.container.dir), JSON.stringify({ HostConfig: hostConfig, Run: run }));
  updateConfig(ctx.container, (x) => {
    x.HostConfig = hostConfig;
    (x.Config as Record<string, unknown>).StopSignal = stopSignal;
    if (ctx.flags.has('stop-timeout')) (x.Config as Record<string, unknown>).StopTimeout = ctx.flags.get('stop-timeout');
  });
  // The restart file: how the monitor starts the container again.
  const restart = [process.execPath, '--', DOCKLING_BIN, '--root', ctx.stateRoot, '--chapter', String(ctx.chapter), 'start', '--restart-attempt', ctx.container.id];
  writeFileAtomic(path.join(ctx.container.dir, 'restart'), restart.join('\0'));
  fs.rmSync(path.join(ctx.container.dir, 'stopped'), { force: true });
  launcher.set(ctx, monitorLauncher({
    dir: ctx.container.dir, detached: Boolean(inBackground.get(ctx)),
    restart: policy, restartCount,
    log: monitorLogArgs(hostConfig.LogConfig),
    sendStdin: !stdinNotSent.get(ctx),
    output: attachOutput.get(ctx),
    onMonitor: (pid) => updateConfig(ctx.container, (x) => (x.MonitorPid = pid)),
    // A foreground run cleans up itself: it holds the owner lock until its
    // cleanup is over (runPipeline lets go), so no other command reaps the
    // container from under it.
    onOwner: (letGo) => afterCleanup.set(ctx, letGo),
    detachKeys: parseDetachKeys((ctx.flags.get('detach-keys') as string | undefined) ?? 'ctrl-p,ctrl-q'),
    // Detached from a foreground run: the container is its monitor's now,
    // so no layer's cleanup may touch it.
    onDetach: () => {
      ctx.outcome = 'leave';
      inBackground.set(ctx, true);
      afterCleanup.get(ctx)?.();
      afterCleanup.delete(ctx);
      (ctx.init as unknown as { release(): void }).release(); // and the CLI may exit while it runs
    },
  }));
}
// #endregion monitored-prepare

function imageStopSignal(ctx: RunContext): string | undefined {
  try {
    return openStores(ctx.stateRoot).images.get(imageOf.get(ctx)!.id).config.StopSignal;
  } catch {
    return undefined; // the image was removed since: Docker's default signal then
  }
}

/**
 * Steps a later layer needs the monitor to take before chapter 5's own
 * (in reverse chapter order, as cleanup would): chapter 6's `run` of
 * `dockling network release`, which frees leases and NAT rules.
 */
export const releaseFirst = new Slot<string[]>('release-first');

// #region release-steps
/**
 * The monitor's release file: what to undo when the container exits with
 * no CLI waiting for it (run -d, or a foreground CLI that was killed).
 * Each layer's part, in reverse chapter order, as cleanup would: the
 * cgroups (chapter 2), the root's unmount (chapter 4), and with --rm, the
 * container's layers and its directory. What a layer's removal deletes is
 * the storage driver's rule (aufs.ts or overlay2.ts, removalPaths): asked, not retold.
 *
 * Why in the `network` stage, which chapter 5 has nothing to wire in: it is
 * the last host stage before `start`. The file must list the cgroups, made
 * in `limit` (the stage before), and every later layer's steps, which they
 * add in `prepare`; and it must be on disk before `start`, since from then
 * on the command may end, and the monitor read it, at any moment.
 */
function writeReleaseFile(ctx: RunContext): void {
  const c = readConfig(ctx.container.dir)!;
  const steps: string[] = [...(releaseFirst.get(ctx) ?? [])];
  for (const p of Object.values(c.CgroupPaths ?? {})) steps.push(`rmdir ${p}`);
  const s = c.Driver ? openStores(ctx.stateRoot, c.Driver) : null;
  const m = s?.layers.getMount(c.ID);
  if (s && m) {
    steps.push(`umount ${s.driver.mountPoint(m.mountID)}`);
    if (ctx.flags.get('rm')) for (const p of s.layers.mountRemovalPaths(c.ID)) steps.push(`rm ${p}`);
  }
  if (ctx.flags.get('rm')) steps.push(`rm ${ctx.container.dir}`);
  writeFileAtomic(path.join(ctx.container.dir, 'release'), steps.map((l) => l + '\n').join(''));
}
// #endregion release-steps

// #region hand-to-monitor
/**
 * The command runs: the monitor holds it now. When nobody waits for it
 * here (-d, or a restart policy, which the monitor carries out), its end
 * is the monitor's: no layer's cleanup may touch it. With -d, say its ID
 * and go.
 */
function start(ctx: RunContext): void {
  const init = ctx.init as unknown as { child: { pid: number }; release(): void };
  updateConfig(ctx.container, (x) => {
    x.MonitorPid = init.child.pid;
  });
  if (ctx.flags.get('detach') || policyOf(ctx).Name !== 'no') ctx.outcome = 'leave';
  if (ctx.flags.get('detach')) {
    init.release();
    // `run -d` prints the new ID; `start` prints the name it was given.
    if (!existingContainer.get(ctx)) process.stdout.write(ctx.container.id + '\n');
    ctx.exitCode = 0;
  }
}
// #endregion hand-to-monitor

// #region monitor-killed
/**
 * A kept container whose monitor was killed: nsexec and PID 1 died with it
 * (PR_SET_PDEATHSIG, nsexec.c). How did it end? If the monitor got as far
 * as writing exit.json for this run, that says; otherwise it was killed
 * with its monitor: 137, as Docker reports a container whose shim died.
 * (The cgroups and the mount are released by chapters 2 and 4.)
 */
function release(c: ContainerConfig, stateRoot: string): number {
  const exit = readExit(path.join(stateRoot, 'containers', c.ID));
  return exit && Date.parse(exit.FinishedAt) >= Date.parse(c.State.StartedAt) ? exit.ExitCode : 137;
}
// #endregion monitor-killed

export const containersLayer: Layer = {
  chapter: CH,
  name: 'containers',
  runFlags: RUN_FLAGS,
  commands: containerCommands,
  stages: { validate, prepare, network: writeReleaseFile, start },
  release,
  // for version's Server block: the keeper of each container (containerd's
  // shim, for Docker), --init's docker-init, and the log every container gets
  version: () => ({ Monitor: MONITOR, Init: DOCKER_INIT, LoggingDriver: 'json-file' }),
};
