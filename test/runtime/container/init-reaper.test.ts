// dockling-init (runtime/container/init-reaper.c), the init of `run --init`,
// as PID 1 of a PID namespace made by util-linux unshare: it passes signals
// on (a plain program as PID 1 does not even receive SIGTERM), reaps the
// orphans handed to it (a plain program as PID 1 leaves them zombies), and
// exits the way its program did. Each behaviour is shown next to the same
// command without the init, so the test shows the problem it solves.
//
// Needs root and dist/dockling-init (npm run build).
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REPO, rootOrSkip } from '../../helpers/dockling.ts';
import { readOr, sleep, waitFor } from './c-helpers.ts';
import { useTempDir } from '../../helpers/temp.ts';

const skip = rootOrSkip();
const INIT = path.join(REPO, 'dist', 'dockling-init');
const dir = useTempDir('dockling-init-test-');


/** Every PID 1 this file starts: killed at the end, should a test fail half-way. */
const started = new Set<number>();
function killQuietly(pid: number | undefined): void {
  if (pid === undefined || pid <= 0) return; // never 0 or -1: those mean groups
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    /* gone already */
  }
}
after(() => {
  for (const p of started) killQuietly(p);
});


/** A process's state letter and parent, from /proc/PID/stat (its name may hold spaces and parentheses). */
function stat(pid: number): { state: string; ppid: number; comm: string } | undefined {
  const s = readOr(`/proc/${pid}/stat`);
  if (s === undefined) return undefined;
  const fields = s.slice(s.lastIndexOf(')') + 2).split(' ');
  return { state: fields[0], ppid: Number(fields[1]), comm: s.slice(s.indexOf('(') + 1, s.lastIndexOf(')')) };
}

/** Host PIDs of `ancestor` and everything below it (zombies included). */
function tree(ancestor: number): number[] {
  const parent = new Map<number, number>();
  for (const e of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    const st = stat(Number(e));
    if (st) parent.set(Number(e), st.ppid);
  }
  const under = (pid: number) => {
    for (let p: number | undefined = pid; p !== undefined && p > 1; p = parent.get(p)) if (p === ancestor) return true;
    return false;
  };
  return [...parent.keys()].filter(under);
}

interface Ended {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
}

interface Box {
  unshare: ChildProcess;
  /** host PID of the namespace's PID 1 (undefined: it was over before we looked) */
  pid1: number | undefined;
  done: Promise<Ended>;
}

/** The PID 1 of a box that must still be running. */
function pid1(b: Box): number {
  assert.ok(b.pid1 !== undefined, 'PID 1 is running');
  return b.pid1;
}

/**
 * `unshare --fork --pid --mount-proc ARGV…`: ARGV is PID 1 of a new PID
 * namespace. Resolves once PID 1 exists (unshare has forked it).
 */
async function box(argv: string[]): Promise<Box> {
  const unshare = spawn('unshare', ['--fork', '--pid', '--mount-proc', ...argv], { stdio: ['ignore', 'ignore', 'pipe'] });
  started.add(unshare.pid!);
  let stderr = '';
  unshare.stderr!.on('data', (d) => (stderr += d));
  const done = new Promise<Ended>((resolve) =>
    unshare.on('close', (code, signal) => resolve({ code, signal, stderr })),
  );
  const u = unshare.pid!;
  let ended = false;
  unshare.on('exit', () => (ended = true));
  const pid1 = await waitFor('PID 1', () => {
    const kids = readOr(`/proc/${u}/task/${u}/children`)?.trim();
    if (kids) return Number(kids.split(' ')[0]);
    return ended ? null : undefined; // a short program may be done already
  });
  if (pid1 !== null) started.add(pid1);
  return { unshare, pid1: pid1 ?? undefined, done };
}

/** Run to the end, with a SIGKILL of PID 1 should it hang. */
async function finish(b: Box, ms = 10_000) {
  const timer = setTimeout(() => killQuietly(b.pid1), ms);
  const r = await b.done;
  clearTimeout(timer);
  return r;
}

/** Wait until the namespace holds a process named `comm` (exec done). */
function running(b: Box, comm: string): Promise<number> {
  return waitFor(`${comm} to run`, () => tree(pid1(b)).find((p) => stat(p)?.comm === comm));
}

describe('dockling-init: PID 1 that forwards signals and reaps zombies (run --init)', { skip }, () => {
  test('the init is built', () => {
    assert.ok(fs.existsSync(INIT), `the test needs ${INIT} (npm run build)`);
  });

  test('without an init: `sleep` as PID 1 ignores SIGTERM (the kernel drops it)', async () => {
    const b = await box(['sleep', '30']);
    try {
      await waitFor('PID 1 to become sleep', () => (stat(pid1(b))?.comm === 'sleep' ? true : undefined));
      process.kill(pid1(b), 'SIGTERM');
      await sleep(300);
      assert.equal(stat(pid1(b))?.state, 'S', 'PID 1 is alive (and asleep) after SIGTERM');
    } finally {
      killQuietly(b.pid1); // SIGKILL does get through: what `docker stop` ends up sending
      await b.done;
    }
  });

  test('with the init: SIGTERM reaches the program, and all ends with 128+15', async () => {
    const b = await box([INIT, '--', 'sleep', '30']);
    await running(b, 'sleep');
    process.kill(pid1(b), 'SIGTERM');
    const r = await finish(b, 5000);
    assert.equal(r.code, 143, r.stderr);
  });

  test('other signals are forwarded too (SIGUSR1, SIGHUP, SIGINT)', async () => {
    for (const sig of ['SIGUSR1', 'SIGHUP', 'SIGINT'] as const) {
      const b = await box([INIT, 'sleep', '30']);
      await running(b, 'sleep');
      process.kill(pid1(b), sig);
      const r = await finish(b, 5000);
      assert.equal(r.code, 128 + os.constants.signals[sig], `${sig}: ${r.stderr}`);
    }
  });

  // The program starts a child that leaves behind an orphan (a background
  // subshell) and exits. The orphan is handed to PID 1; it waits for the
  // test's "go" and exits. Without an init, PID 1 is `sleep`, which never
  // wait()s: the orphan stays a zombie. With the init, it is reaped. (The
  // program ends as `tail`, so that it cannot be taken for the orphan's
  // sleeps.)
  const script = (d: string) => `sh -c '(while [ ! -e ${d}/go ]; do sleep 0.02; done; touch ${d}/done) &'; exec tail -f /dev/null`;

  async function orphanScenario(withInit: boolean) {
    const d = fs.mkdtempSync(path.join(dir(), 'orphan-'));
    const b = await box(withInit ? [INIT, 'sh', '-c', script(d)] : ['sh', '-c', script(d)]);
    try {
      // The orphan is the subshell whose parent (the inner sh) has exited:
      // it now belongs to PID 1.
      // Once the program is tail, the orphan's first parent has exited.
      const program = await running(b, 'tail');
      const orphan = await waitFor('the orphan to be re-parented to PID 1', () =>
        tree(pid1(b)).find((p) => p !== b.pid1 && p !== program && stat(p)?.ppid === b.pid1 && stat(p)?.comm === 'sh'),
      );
      fs.writeFileSync(path.join(d, 'go'), '');
      await waitFor('the orphan to finish', () => (fs.existsSync(path.join(d, 'done')) ? true : undefined));
      return { b, orphan };
    } catch (e) {
      killQuietly(b.pid1);
      await b.done;
      throw e;
    }
  }

  test('without an init: an orphan that exits stays a zombie (state Z) under PID 1', async () => {
    const { b, orphan } = await orphanScenario(false);
    try {
      await waitFor('the orphan to be a zombie', () => (stat(orphan)?.state === 'Z' ? true : undefined));
      assert.equal(stat(orphan)?.ppid, b.pid1);
    } finally {
      killQuietly(b.pid1);
      await b.done;
    }
  });

  test('with the init: the orphan is reaped; no zombie remains in the namespace', async () => {
    const { b, orphan } = await orphanScenario(true);
    try {
      await waitFor('the orphan to be reaped', () => (stat(orphan) === undefined ? true : undefined));
      const left = tree(pid1(b)).map((p) => ({ pid: p, ...stat(p) }));
      assert.deepEqual(left.filter((p) => p.state === 'Z'), [], 'no zombie');
      assert.deepEqual(left.map((p) => p.comm).sort(), ['dockling-init', 'tail'], JSON.stringify(left));
    } finally {
      killQuietly(b.pid1);
      await b.done;
    }
  });

  test("the program's exit code passes through", async () => {
    for (const code of [0, 3, 42]) {
      const r = await finish(await box([INIT, '--', 'sh', '-c', `exit ${code}`]));
      assert.equal(r.code, code, r.stderr);
    }
  });

  test('the program runs in a process group of its own (as tini: for the terminal\'s foreground group)', async () => {
    const d = fs.mkdtempSync(path.join(dir(), 'pgrp-'));
    const r = await finish(await box([INIT, 'sh', '-c', `cat /proc/$$/stat > ${d}/stat`]));
    assert.equal(r.code, 0, r.stderr);
    const s = fs.readFileSync(path.join(d, 'stat'), 'utf8');
    const [pid] = s.split(' ');
    const [, ppid, pgrp] = s.slice(s.lastIndexOf(')') + 2).split(' ');
    // The init's child (sh, $$): its parent is PID 1, and its process
    // group is its own.
    assert.equal(ppid, '1');
    assert.equal(pgrp, pid);
  });

  test('not found: 127, not executable: 126, each with one line', async () => {
    let r = await finish(await box([INIT, 'nope']));
    assert.equal(r.code, 127);
    assert.equal(r.stderr, 'dockling-init: exec nope failed: No such file or directory\n');
    r = await finish(await box([INIT, '/etc/passwd']));
    assert.equal(r.code, 126);
    assert.equal(r.stderr, 'dockling-init: exec /etc/passwd failed: Permission denied\n');
    r = await finish(await box([INIT]));
    assert.equal(r.code, 125);
    assert.match(r.stderr, /^usage: dockling-init/);
  });

  test('statically linked: no program interpreter, runs in a root with no C library', () => {
    const elf = spawnSync('readelf', ['-lW', INIT], { encoding: 'utf8' });
    assert.equal(elf.status, 0, elf.stderr);
    assert.match(elf.stdout, /LOAD/);
    assert.doesNotMatch(elf.stdout, /INTERP|Requesting program interpreter/);
    const file = spawnSync('file', ['-b', INIT], { encoding: 'utf8' });
    assert.match(file.stdout, /statically linked/);
    // A root holding nothing but the init: it starts (its own message, from
    // inside), where a dynamically linked program could not even be loaded.
    const root = fs.mkdtempSync(path.join(dir(), 'root-'));
    fs.copyFileSync(INIT, path.join(root, 'init'));
    fs.chmodSync(path.join(root, 'init'), 0o755);
    const r = spawnSync('chroot', [root, '/init', '/nope'], { encoding: 'utf8' });
    assert.equal(r.status, 127);
    assert.equal(r.stderr, 'dockling-init: exec /nope failed: No such file or directory\n');
  });
});
