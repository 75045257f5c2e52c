// What the chapter 5 tests share. Not a test file (no .test.ts): test/run.ts
// does not run it.
//
// Chapter 5's containers outlive the command that made them: each runs
// under its monitor (dist/monitor) until `rm -f`. So every test records what
// it made and removes it in `finally` (cleanup()), and cleanup checks more
// than the state root's leak check does: no cgroup named dockling-<id>, no
// monitor (or restart) process naming the container, no PID 1 left alive.
// Whatever rm -f failed to end is killed here, by PID (they are this test's
// own), so that a runtime bug cannot leave processes behind on the host —
// and the test fails, saying what was left.
import { before } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BIN, dockling, resolveAfter, withoutWarning, until, type Result } from '../../helpers/dockling.js';
import { expectCode, useStateRoot, type DocklingOptions } from '../../helpers/chapter.js';
import { cgroupMounts, containerCgroups } from '../../helpers/cgroups.js';
import { descendants } from '../../helpers/processes.js';
import { containerDirs, mountsInside } from '../../helpers/leaks.js';

export const ID = /^[0-9a-f]{64}$/;

/** Is the process there and not a zombie? (written here, not borrowed from the runtime) */
export function alive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat[stat.lastIndexOf(')') + 2] !== 'Z';
  } catch {
    return false;
  }
}
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
export const lines = (s: string) => s.split('\n').filter(Boolean);

/** PIDs of processes whose command line mentions `needle` (a state root, a container's directory). */
export function processesMentioning(needle: string): number[] {
  const out: number[] = [];
  for (const e of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(e) || Number(e) === process.pid) continue;
    try {
      if (fs.readFileSync(`/proc/${e}/cmdline`, 'utf8').includes(needle) && alive(Number(e))) out.push(Number(e));
    } catch {
      /* gone */
    }
  }
  return out;
}

/** The host PIDs a container's config.v2.json names (its PID 1 and its monitor), read from the file itself. */
function pidsOf(root: string, id: string): number[] {
  try {
    const c = JSON.parse(fs.readFileSync(path.join(root, 'containers', id, 'config.v2.json'), 'utf8'));
    return [c.State?.Pid, c.MonitorPid].filter((p): p is number => typeof p === 'number' && p > 0 && p !== process.pid);
  } catch {
    return [];
  }
}

function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    /* gone */
  }
}

/**
 * The table rows of `ps`, cut at the columns' starts in the header line
 * (a cell may hold runs of spaces, e.g. a --no-trunc COMMAND).
 */
export function psRows(out: string): { id: string; image: string; command: string; created: string; status: string; names: string }[] {
  const [header, ...rows] = lines(out);
  const names = ['CONTAINER ID', 'IMAGE', 'COMMAND', 'CREATED', 'STATUS', 'PORTS', 'NAMES'];
  const at = names.map((n) => header.indexOf(n));
  assert.ok(at.every((x, i) => x >= 0 && (i === 0 || x > at[i - 1])), `not a ps table header: ${header}`);
  const cell = (r: string, i: number) => r.slice(at[i], i + 1 < at.length ? at[i + 1] : undefined).trim();
  return rows.map((r) => ({ id: cell(r, 0), image: cell(r, 1), command: cell(r, 2), created: cell(r, 3), status: cell(r, 4), names: cell(r, 6) }));
}

export function chapter5(label: string) {
  const root = useStateRoot(label);
  // Without chapter 5 `run -d` is read, warned about and ignored: the
  // container would run in the foreground for as long as its command does.
  // So a file first asks whether `run` has -d at all, and fails at once if not.
  before(() => {
    const help = dockling(root(), ['run', '--help']);
    assert.match(help.stdout, /--detach\b/, 'this runtime has no `run -d` (chapter 5): every test of the file fails');
  });
  const made = new Set<string>();
  const dk = (args: string[], opts: DocklingOptions = {}): Result => dockling(root(), args, opts);
  const ok = (args: string[], opts: DocklingOptions = {}): string => expectCode(dk(args, opts), 0).stdout;
  /** `run -d ARGS…`: the new container's full ID (recorded for cleanup). */
  const runD = (args: string[]): string => {
    const r = dk(['run', '-d', ...args]);
    const id = r.stdout.trim();
    if (ID.test(id)) made.add(id);
    expectCode(r, 0);
    assert.match(id, ID, `run -d printed ${JSON.stringify(r.stdout)}, not a 64-hex ID`);
    return id;
  };
  const inspect = (ref: string, format: string): string => ok(['inspect', '-f', format, ref]).replace(/\n$/, '');
  const idOf = (ref: string): string => {
    const id = inspect(ref, '{{.Id}}');
    made.add(id);
    return id;
  };
  /** The container's STATUS column in `ps -a`, or undefined when it is not listed. */
  const status = (ref: string): string | undefined => {
    const id = ID.test(ref) ? ref : undefined;
    return psRows(ok(['ps', '-a', '--no-trunc'])).find((r) => r.names === ref || r.id === id)?.status;
  };
  const logsOf = (ref: string, args: string[] = []) => {
    const r = expectCode(dk(['logs', ...args, ref]), 0);
    return { stdout: r.stdout, stderr: r.stderr };
  };
  /**
   * Poll the container's json-file log (read directly: cheaper than a
   * `logs` per poll) until its stdout text matches; returns that text.
   */
  const untilLogs = async (ref: string, re: RegExp, timeoutMs = 10_000) => {
    const id = idOf(ref);
    const file = path.join(root(), 'containers', id, `${id}-json.log`);
    const text = () => {
      try {
        return lines(fs.readFileSync(file, 'utf8'))
          .map((l) => JSON.parse(l) as { log: string; stream: string })
          .filter((e) => e.stream === 'stdout')
          .map((e) => e.log)
          .join('');
      } catch {
        return '';
      }
    };
    let last = '';
    await until(() => re.test((last = text())), timeoutMs, `the log of ${ref} to match ${re}`).catch((e) => {
      throw new Error(`${(e as Error).message}; its stdout was:\n${last}`);
    });
    return last;
  };

  /**
   * rm -f every container of the test (those it recorded and any other in
   * the state root), then insist that nothing of them remains: no state
   * directory, no mount, no cgroup, no process naming them, no PID 1.
   */
  const cleanup = async (extraIds: Iterable<string> = []) => {
    const ids = new Set([...made, ...extraIds, ...containerDirs(root())]);
    made.clear();
    const pids = new Map<string, number[]>();
    for (const id of ids) pids.set(id, pidsOf(root(), id));
    // In parallel: one slow removal must not hold the others up.
    await Promise.all([...ids].map((id) => runAsync(root(), ['rm', '-f', id]).done));
    const problems: string[] = [];
    // The monitor finishes its own release steps and exits: give it a moment.
    const leftProcs = () => [...processesMentioning(root()), ...[...pids.values()].flat().filter(alive)];
    await until(() => leftProcs().length === 0, 5000).catch(() => {});
    const procs = [...new Set(leftProcs())];
    if (procs.length) {
      problems.push(`processes left after rm -f: ${procs.map((p) => `${p} (${cmdline(p)})`).join('; ')}`);
      procs.forEach(killQuietly);
    }
    const cgs = containerCgroups(cgroupMounts(), ids);
    if (cgs.length) problems.push(`cgroups left after rm -f: ${cgs.join(', ')}`);
    const dirs = containerDirs(root()).filter((d) => ids.has(d));
    const listing = (d: string) => fs.readdirSync(path.join(root(), 'containers', d)).join(' ');
    if (dirs.length) problems.push(`state directories left after rm -f: ${dirs.map((d) => `${d} (${listing(d)})`).join(', ')}`);
    const mounts = mountsInside(root());
    if (mounts.length) {
      problems.push(`mounts left after rm -f: ${mounts.join(', ')}`);
      // Ours, under our temp root: unmounted, so that the root can go.
      for (const m of mounts.reverse()) spawnSync('umount', ['-l', m]);
    }
    // The storage: no container's layerdb/mounts entry, no rw or init layer.
    const img = path.join(root(), 'image/overlay2');
    const ls = (d: string) => (fs.existsSync(d) ? fs.readdirSync(d) : []);
    const entries = ls(path.join(img, 'layerdb/mounts'));
    if (entries.length) problems.push(`layerdb/mounts entries left after rm -f: ${entries.join(', ')}`);
    const cacheIds = new Set(ls(path.join(img, 'layerdb/sha256')).map((c) => fs.readFileSync(path.join(img, 'layerdb/sha256', c, 'cache-id'), 'utf8').trim()));
    const stray = ls(path.join(root(), 'overlay2')).filter((d) => d !== 'l' && !cacheIds.has(d));
    if (stray.length) problems.push(`overlay2 directories no image layer owns, left after rm -f: ${stray.join(', ')}`);
    assert.deepEqual(problems, [], 'rm -f left things behind');
  };

  return { root, dk, ok, runD, inspect, idOf, status, logsOf, untilLogs, cleanup, track: (id: string) => made.add(id) };
}

function cmdline(pid: number): string {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
  } catch {
    return '?';
  }
}

/** dockling in the background, with its output collected. */
export function runAsync(root: string, args: string[], opts: { stdin?: 'pipe' | 'ignore' } = {}) {
  const child = spawn(process.execPath, ['--', BIN, '--root', root, ...args], { stdio: [opts.stdin ?? 'ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  const done = new Promise<Result>((resolve) =>
    child.on('close', (code, signal) => resolve({ code: code ?? 128 + (os.constants.signals[signal!] ?? 0), signal, stdout, stderr })),
  );
  return { child, done, stdout: () => stdout, stderr: () => stderr };
}

// --- a real terminal: util-linux script(1) ------------------------------------

export const SCRIPT = ['/usr/bin/script', '/bin/script'].find((p) => fs.existsSync(p));
const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** The shell words of `dockling --root ROOT ARGS…`. */
export const docklingLine = (root: string, args: string[]) => [process.execPath, BIN, '--root', root, ...args].map(q).join(' ');

/**
 * A shell command line run under script(1), so its stdin/stdout are a real
 * pty. `type` writes keys to it; `waitFor` waits for output; `done` gives the
 * exit status; `kill` ends script and what it runs (processes of our own).
 */
export function terminal(shell: string) {
  const child = spawn(SCRIPT!, ['-qec', shell, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, TERM: 'xterm' } });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const done = new Promise<number>((resolve) => child.on('close', (code, sig) => resolve(code ?? 128 + (os.constants.signals[sig!] ?? 0))));
  const output = () => withoutWarning(out.replace(/\r/g, ''));
  return {
    child,
    done,
    output,
    type: (keys: string) => {
      if (child.exitCode === null && child.signalCode === null) child.stdin!.write(keys);
    },
    waitFor: async (re: RegExp, timeoutMs = 10_000) => {
      await until(() => re.test(output()) || child.exitCode !== null, timeoutMs, `the terminal to show ${re}`).catch((e) => {
        throw new Error(`${(e as Error).message}; it showed:\n${output()}`);
      });
      if (!re.test(output())) throw new Error(`the terminal ended (${child.exitCode}) without showing ${re}:\n${output()}`);
    },
    /** Wait for the end, at most timeoutMs; then kill script and its descendants. */
    finish: async (timeoutMs = 10_000): Promise<number | 'timeout'> => {
      const r = await Promise.race([done, resolveAfter(timeoutMs, 'timeout' as const)]);
      if (r === 'timeout') {
        for (const p of [...descendants(child.pid!), child.pid!]) killQuietly(p);
        await done;
      }
      return r;
    },
  };
}

