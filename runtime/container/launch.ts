// Chapter 5 starts every container under its own monitor (monitor.c): a
// small C process that holds the container's stdio or pty, writes its
// json-file log, serves `attach`, records its exit in exit.json, releases
// what it held, and restarts it if its policy says so. The CLI may exit (-d)
// or stay attached (a foreground run): the container is the monitor's
// either way, the same as a container is dockerd's, not the docker CLI's.
//
//   dockling ──spawn──▶ monitor ──fork/exec──▶ nsexec ──fork──▶ init (PID 1) ──exec──▶ command
//      │                   ▲ attach.sock (frames)
//      └───────────────────┘
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchInit, type LaunchOptions, type LaunchedInit } from '../process/launch.js';
import { FRAME, attach, waitForSocket } from './attach.js';
import type { RestartPolicy } from './restart-policy.js';
import { ownerLock } from '../core/containers.js';
import { holdLock } from '../core/files.js';

export const MONITOR = fileURLToPath(new URL('./monitor', import.meta.url));
/** the CLI itself (bin/dockling.js beside dist/), for the monitor to run `start` again (restart policies) */
export const DOCKLING_BIN = fileURLToPath(new URL('../bin/dockling.js', import.meta.url));

export interface MonitorOptions {
  dir: string;
  detached: boolean;
  restart: RestartPolicy;
  restartCount: number;
  /** the log's config, as the monitor's options (log-config.ts) */
  log?: string[];
  /** called with the monitor's PID as soon as it is started */
  onMonitor(pid: number): void;
  /** run -it: the keys that detach the terminal and leave the container running */
  detachKeys?: Buffer;
  /** called when they are typed: the container is its monitor's from then on */
  onDetach?(): void;
  /** send this CLI's stdin to the container (a foreground run -i, start -a -i); the monitor keeps its stdin open either way */
  sendStdin: boolean;
  /** a foreground run took the owner lock: call letGo once its cleanup is over */
  onOwner?(letGo: () => void): void;
  /** where a foreground run's output goes (default: this CLI's stdout and stderr; see attachOutput) */
  output?: { stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream };
}

// #region launch-monitored
export function monitorLauncher(m: MonitorOptions) {
  return async (opts: LaunchOptions): Promise<LaunchedInit> => {
    const policy = m.restart.Name === 'on-failure' && m.restart.MaximumRetryCount ? `on-failure:${m.restart.MaximumRetryCount}` : m.restart.Name;
    const argv = [MONITOR, ...(opts.terminal ? ['--tty'] : []), ...(opts.stdin ? ['--stdin'] : []), '--restart', policy, '--restart-count', String(m.restartCount), ...(m.log ?? []), m.dir, '--'];
    const init = await launchInit({ ...opts, supervisor: argv });
    // From now on the monitor answers for the container: if this CLI dies,
    // the container is not "abandoned" while its monitor lives.
    m.onMonitor(init.child.pid ?? 0);
    // The monitor makes attach.sock before it starts nsexec.
    await waitForSocket(m.dir, () => init.child.exitCode === null && init.child.signalCode === null);
    if (m.detached) {
      // Nobody waits here: `exited` never resolves for this CLI.
      (init as { exited: LaunchedInit['exited'] }).exited = new Promise(() => {});
      return init;
    }
    // A foreground run attaches before the command starts, so no output
    // is missed, and takes the exit status from the monitor.
    const a = await attach(m.dir, m.output ?? { stdout: process.stdout, stderr: process.stderr });
    // This CLI will clean up after the container; if it is killed, the
    // monitor sees it gone and does the release steps itself, or (killed
    // after the monitor left) the next command reaps it. The owner lock,
    // taken before the monitor hears of us, tells that command to wait
    // while we live.
    try {
      m.onOwner?.(holdLock(ownerLock(m.dir)));
    } catch {
      /* the container is gone already: its monitor released it */
    }
    a.send(FRAME.owner, '');
    let detached = false;
    if (opts.stdin && m.sendStdin) {
      const keys = opts.terminal ? m.detachKeys : undefined;
      const typed = keys ? detachKeyFilter(keys, () => {
        // ctrl-p ctrl-q: let go of the terminal, leave the container to its
        // monitor (which now does the release when it ends), exit 0.
        detached = true;
        m.onDetach?.();
        a.close();
      }) : (d: Buffer) => d;
      process.stdin.on('data', (d: Buffer) => {
        const out = typed(d);
        if (out.length && !detached) a.send(FRAME.stdin, out);
      });
      process.stdin.on('end', () => a.send(FRAME.closeStdin, ''));
      process.stdin.resume();
    }
    const resize = () => {
      if (process.stdout.isTTY) a.send(FRAME.resize, `${process.stdout.rows} ${process.stdout.columns}`);
    };
    if (opts.terminal) {
      resize();
      process.on('SIGWINCH', resize);
    }
    // Whether the command was let go: a run whose set-up failed before
    // that ends its init on purpose, and its own error says why.
    let started = false;
    const start = init.start.bind(init);
    init.start = (spec) => ((started = true), start(spec));
    (init as { exited: LaunchedInit['exited'] }).exited = a.exit.then((code) => {
      process.off('SIGWINCH', resize);
      process.stdin.pause();
      if (detached) return { code: 0, signal: null };
      if (code === null && !started) return { code: 125, signal: null };
      if (code === null) {
        process.stderr.write(`dockling: the container's monitor went away: its exit status is unknown (see ${path.join(m.dir, 'monitor.log')})\n`);
        return { code: 125, signal: null };
      }
      return { code, signal: null };
    });
    return init;
  };
}
// #endregion launch-monitored

// #region detach-keys
/**
 * Look for the detach keys in what is typed, across reads. Returns what to
 * send on: the bytes of a sequence that did not complete are passed along,
 * a completed one calls `onDetach` instead.
 */
export function detachKeyFilter(keys: Buffer, onDetach: () => void): (d: Buffer) => Buffer {
  let matched = 0;
  return (d) => {
    const out: number[] = [];
    for (const b of d) {
      if (b === keys[matched]) {
        if (++matched === keys.length) {
          matched = 0;
          onDetach();
          return Buffer.from(out);
        }
        continue;
      }
      if (matched) out.push(...keys.subarray(0, matched));
      matched = 0;
      if (b === keys[0]) matched = 1;
      else out.push(b);
    }
    return Buffer.from(out);
  };
}
// #endregion detach-keys

/** Is the monitor built? (`npm run build` compiles monitor.c) */
export function haveMonitor(): boolean {
  try {
    fs.accessSync(MONITOR, fs.constants.X_OK);
    return true;
  } catch {
    return false; // not there, or not executable: not built
  }
}

