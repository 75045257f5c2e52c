// Timing one whole process, spawn to exit, and keeping track of every process
// the bench starts so that Ctrl-C (or a failure) can stop them all.
//
// Each child is started in a process group of its own (detached), so that its
// whole tree — unshare's fork, dockling's init, runc's container — can be
// signalled at once by group id, and found again afterwards: a descendant
// keeps the group id even when its parent is gone.
import { spawn } from 'node:child_process';
import os from 'node:os';

export interface Cmd {
  file: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  cwd?: string;
}

export interface Timed {
  /** wall time from just before spawn() to the child's exit, in ms */
  ms: number;
  /** epoch ms (performance.timeOrigin-based) just before spawn() */
  startEpoch: number;
  /** exit status; 128+N when killed by signal N */
  code: number;
  stdout: string;
  stderr: string;
}

export class Children {
  /** process groups (= pids of the children we spawned) still running */
  readonly live = new Set<number>();
  /** every process group we ever made: checked for leftovers at the end */
  readonly all = new Set<number>();

  /** Send a signal to every live process group. */
  signalAll(sig: NodeJS.Signals): void {
    for (const pgid of this.live) {
      try {
        process.kill(-pgid, sig);
      } catch {
        /* gone already */
      }
    }
  }

  /** Wait until no child is running (or the time is up). */
  async drain(timeoutMs: number): Promise<boolean> {
    const until = Date.now() + timeoutMs;
    while (this.live.size > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    return this.live.size === 0;
  }
}

/**
 * Run one command and time it with process.hrtime.bigint() taken right
 * before spawn() and in the 'exit' handler. stdin and stdout go to /dev/null
 * unless stdout is wanted; stderr is kept for error messages.
 */
export function timeRun(cmd: Cmd, children: Children, opts: { stdout?: boolean } = {}): Promise<Timed> {
  return new Promise((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    let ms = 0;
    let code = 0;
    const startEpoch = performance.timeOrigin + performance.now();
    const t0 = process.hrtime.bigint();
    const child = spawn(cmd.file, cmd.args, {
      env: cmd.env,
      cwd: cmd.cwd,
      stdio: ['ignore', opts.stdout ? 'pipe' : 'ignore', 'pipe'],
      detached: true,
    });
    const pid = child.pid;
    if (pid !== undefined) {
      children.live.add(pid);
      children.all.add(pid);
    }
    let closeTimer: NodeJS.Timeout | undefined;
    child.on('exit', (c, signal) => {
      ms = Number(process.hrtime.bigint() - t0) / 1e6;
      code = c ?? 128 + (os.constants.signals[signal!] ?? 0);
      // A descendant that outlives the child (a leak) would hold stderr open
      // and 'close' would never come: give up waiting for it after a while.
      closeTimer = setTimeout(() => {
        child.stdout?.destroy();
        child.stderr?.destroy();
      }, 2000);
    });
    child.stdout?.on('data', (d) => (stdout += d));
    child.stderr!.on('data', (d) => (stderr += d));
    child.on('error', (e) => {
      if (pid !== undefined) children.live.delete(pid);
      reject(new Error(`cannot start ${cmd.file}: ${e.message}`));
    });
    // 'close' comes after 'exit' once stdio is drained: the timing is taken at 'exit'.
    child.on('close', () => {
      clearTimeout(closeTimer);
      if (pid !== undefined) children.live.delete(pid);
      resolve({ ms, startEpoch, code, stdout, stderr });
    });
  });
}

/** A command line as a shell would show it (for messages). */
export function shown(cmd: Cmd): string {
  return [cmd.file, ...cmd.args].map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}
