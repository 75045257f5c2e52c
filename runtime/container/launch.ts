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
import { alive } from '../core/containers.js';
import { FRAME, attach, waitForSocket } from './attach.js';
import type { RestartPolicy } from './command.js';

export const MONITOR = fileURLToPath(new URL('./monitor', import.meta.url));
/** the CLI itself (bin/dockling.js beside dist/), for the monitor to run `start` again (restart policies) */
export const DOCKLING_BIN = fileURLToPath(new URL('../bin/dockling.js', import.meta.url));

export interface MonitorOptions {
  dir: string;
  detached: boolean;
  restart: RestartPolicy;
  restartCount: number;
  /** called with the monitor's PID as soon as it is started */
  onMonitor(pid: number): void;
}

// #region launch-monitored
export function monitorLauncher(m: MonitorOptions) {
  return async (opts: LaunchOptions): Promise<LaunchedInit> => {
    const policy = m.restart.Name === 'on-failure' && m.restart.MaximumRetryCount ? `on-failure:${m.restart.MaximumRetryCount}` : m.restart.Name;
    const argv = [MONITOR, ...(opts.terminal ? ['--tty'] : []), ...(opts.stdin ? ['--stdin'] : []), '--restart', policy, '--restart-count', String(m.restartCount), m.dir, '--'];
    const init = await launchInit({ ...opts, monitor: argv });
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
    const a = await attach(m.dir, { stdout: process.stdout, stderr: process.stderr });
    // This CLI will clean up after the container; if it is killed, the
    // monitor sees it gone and does the release steps itself.
    a.send(FRAME.owner, '');
    if (opts.stdin) {
      process.stdin.on('data', (d: Buffer) => a.send(FRAME.stdin, d));
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
    (init as { exited: LaunchedInit['exited'] }).exited = a.exit.then((code) => {
      process.off('SIGWINCH', resize);
      process.stdin.pause();
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

/** Is the monitor built? (`npm run build` compiles monitor.c) */
export function haveMonitor(): boolean {
  try {
    fs.accessSync(MONITOR, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export { alive };
