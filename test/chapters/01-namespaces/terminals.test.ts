// Chapter 1, section 9: "Terminals: -t".
//
// Chapter 1: `run -t` under a real terminal. Node cannot easily give a child
// a controlling terminal, so these tests run dockling inside util-linux
// script(1), which does: the CLI's stdin and stdout are then a real pty, as
// when a learner types `dockling run -it busybox sh`.
import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BIN, dockling, withoutWarning, rootOrSkip } from '../../helpers/dockling.js';
import { useStateRoot } from '../../helpers/chapter.js';
import { finish } from '../../helpers/processes.js';

const SCRIPT = ['/usr/bin/script', '/bin/script'].find((p) => fs.existsSync(p));
const skip = rootOrSkip() || (SCRIPT ? false : 'needs util-linux script(1) for a real terminal');
const root = useStateRoot('tty');
let rootfs: string;
before(() => {
  // A rootfs of our own: its /tmp is where the container and the host side
  // of a test leave each other marks.
  rootfs = path.join(root(), 'tty-rootfs');
  dockling(root(), ['rootfs', 'busybox', rootfs]);
});

const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
/** The shell words of `dockling --root ROOT run --rm --rootfs ROOTFS ARGS…`. */
const docklingCmd = (args: string[]) => [process.execPath, BIN, '--root', root(), 'run', '--rm', '--rootfs', rootfs, ...args].map(q).join(' ');

/** Run a shell command line under script(1): a pty on stdin/stdout/stderr. */
function inTerminal(shell: string, input = ''): { code: number; out: string } {
  assert.ok(fs.existsSync(path.join(rootfs, 'bin/busybox')), 'no rootfs: `dockling rootfs busybox` failed');
  const r = spawnSync(SCRIPT!, ['-qec', shell, '/dev/null'], { input, encoding: 'utf8', timeout: 30_000, env: { ...process.env, TERM: 'xterm' } });
  if (r.error) throw r.error;
  return { code: r.status ?? 128, out: withoutWarning(r.stdout.replace(/\r/g, '')) };
}

/**
 * Like inTerminal, but types `keys` once the file `readyMark` exists. If the
 * command is not done in time, its container processes are killed, so that
 * nothing outlives the test.
 */
async function inTerminalTyping(shell: string, readyMark: string, keys: string, timeoutMs = 15_000): Promise<{ code: number; out: string; timedOut: boolean }> {
  const child = spawn(SCRIPT!, ['-qec', shell, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, TERM: 'xterm' } });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const done = new Promise<{ code: number }>((resolve) => child.on('close', (code, sig) => resolve({ code: code ?? 128 + (os.constants.signals[sig!] ?? 0) })));
  // The deadline runs from the start, typing included.
  const finished = finish({ child, done }, timeoutMs);
  const end = Date.now() + timeoutMs;
  while (!fs.existsSync(readyMark) && child.exitCode === null && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
  if (child.exitCode === null) child.stdin!.write(keys);
  const { code, timedOut } = await finished;
  return { code, out: out.replace(/\r/g, ''), timedOut };
}

/** A mark file in the rootfs's /tmp: `/tmp/NAME` inside, this path outside. */
const mark = (name: string) => path.join(rootfs, 'tmp', name);

describe('chapter 1: run -t under a real terminal', { skip }, () => {
  test("with -it, the caller's terminal is in raw mode while the container runs, and restored after", () => {
    const [ready, done] = [`raw-ready-${process.pid}`, `raw-done-${process.pid}`];
    const during = path.join(root(), 'stty-during');
    const after = path.join(root(), 'stty-after');
    try {
      // In the background, once the container is up: read the caller's
      // terminal settings, then let the container finish.
      const shell = [
        `(while [ ! -e ${q(mark(ready))} ]; do sleep 0.02; done; stty -a </dev/tty >${q(during)}; touch ${q(mark(done))}) &`,
        docklingCmd(['-it', 'sh', '-c', `touch /tmp/${ready}; i=0; while [ ! -e /tmp/${done} ] && [ $i -lt 400 ]; do sleep 0.02; i=$((i+1)); done`]) + ';',
        `code=$?; stty -a >${q(after)}; exit $code`,
      ].join(' ');
      const r = inTerminal(shell);
      assert.equal(r.code, 0, r.out);
      const duringText = fs.readFileSync(during, 'utf8');
      const afterText = fs.readFileSync(after, 'utf8');
      for (const f of ['-icanon', '-echo', '-isig']) assert.match(duringText, new RegExp(`(^|\\s)${f}(\\s|$)`), `not raw while running: ${duringText}`);
      for (const f of ['icanon', 'echo', 'isig']) assert.match(afterText, new RegExp(`(^|\\s)${f}(\\s|$)`), `not restored after: ${afterText}`);
    } finally {
      for (const f of [mark(ready), mark(done), during, after]) fs.rmSync(f, { force: true });
    }
  });

  test("the command sees the caller's window size from its first instruction (5 runs)", () => {
    for (let i = 0; i < 5; i++) {
      const r = inTerminal(`stty rows 22 cols 77; ${docklingCmd(['-t', 'stty', '-a'])}`);
      assert.equal(r.code, 0, r.out);
      assert.match(r.out.split('\n')[0], /rows 22; columns 77/, `run ${i + 1}: the pty started without the caller's size:\n${r.out}`);
    }
  });

  test("a resize of the caller's terminal reaches the container (SIGWINCH)", () => {
    const ready = `winch-ready-${process.pid}`;
    try {
      const shell = [
        'stty rows 22 cols 77;',
        `(while [ ! -e ${q(mark(ready))} ]; do sleep 0.02; done; stty rows 30 cols 100 </dev/tty) &`,
        docklingCmd(['-it', 'sh', '-c', `touch /tmp/${ready}; i=0; while ! stty -a | grep -q "rows 30; columns 100"; do i=$((i+1)); [ $i -gt 250 ] && break; sleep 0.02; done; stty -a | head -1`]),
      ].join(' ');
      const r = inTerminal(shell);
      assert.equal(r.code, 0, r.out);
      assert.match(r.out, /rows 30; columns 100/, `the new size did not reach the container:\n${r.out}`);
    } finally {
      fs.rmSync(mark(ready), { force: true });
    }
  });

  test('with -it, what is typed reaches the shell in the container, and its exit status comes back', () => {
    const r = inTerminal(docklingCmd(['-it', 'sh']), 'echo typed-$((6*7))\nexit 5\n');
    assert.equal(r.code, 5, r.out);
    // "typed-42" is the shell's answer, not the echo of what was typed.
    assert.match(r.out, /^typed-42$/m, r.out);
  });

  test('with -it, ^C typed at the terminal interrupts the command in the container', async () => {
    // The container traps SIGINT. ^C is typed once the container is up (a ^C
    // typed before raw mode would meet the caller's terminal instead).
    const ready = `int-ready-${process.pid}`;
    try {
      const script = `trap "echo got-INT; exit 9" INT; touch /tmp/${ready}; while :; do sleep 0.05; done`;
      const r = await inTerminalTyping(docklingCmd(['-it', 'sh', '-c', script]), mark(ready), '\x03');
      assert.equal(r.timedOut, false, `^C did not end the container:\n${r.out}`);
      assert.equal(r.code, 9, r.out);
      assert.match(r.out, /got-INT/);
    } finally {
      fs.rmSync(mark(ready), { force: true });
    }
  });
});
