// Chapter 5, section 2: "What the monitor does" (attach.sock).
//
// Chapter 5, for real, as root: `attach` connects a terminal to a running
// container's main process again, through its monitor's attach.sock. Under a
// real terminal (script(1)): what is typed reaches the shell, ctrl-p ctrl-q
// (or --detach-keys) leaves it running, and when the process exits attach
// returns its exit status. Without a terminal: only new output is shown,
// stdout on stdout and stderr on stderr.
//
// test/run.ts runs this file with layers 1..5 (every test must pass) and
// with layers 1..4 (every test must fail: no `run -d`, no `attach`).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { BIN, resolveAfter, rootOrSkip, until, withoutWarning } from '../../helpers/dockling.js';
import { expectCode } from '../../helpers/chapter.js';
import { ID, SCRIPT, chapter5, docklingLine, runAsync, sleep, terminal } from './helpers.js';

const skip = rootOrSkip() || (SCRIPT ? false : 'needs util-linux script(1) for a real terminal');
const c = chapter5('ch5-attach');

/**
 * `run -dit --name att busybox sh`, from a terminal (a learner's usual way;
 * without one, see the last test).
 */
async function runDit(): Promise<string> {
  const t = terminal(docklingLine(c.root(), ['run', '-dit', '--name', 'att', 'busybox', 'sh']));
  const code = await t.finish(20_000);
  // A terminal has one stream: run's warning on stderr comes before the ID.
  const id = withoutWarning(t.output()).trim();
  if (ID.test(id)) c.track(id);
  assert.equal(code, 0, t.output());
  assert.match(id, ID);
  return id;
}

/** `attach ARGS… att` under a terminal, typing `line` until the shell's answer `answer` shows. */
async function attachAndType(args: string[], line: string, answer: RegExp) {
  const t = terminal(docklingLine(c.root(), ['attach', ...args, 'att']));
  // Typed keys wait in the terminal until attach reads them; the first line
  // may still meet the terminal before attach has switched it to raw mode
  // (it is then echoed by it, and handed on as a line), so type until answered.
  const end = Date.now() + 10_000;
  t.type(line);
  while (!answer.test(t.output()) && t.child.exitCode === null && Date.now() < end) {
    await new Promise((r) => setTimeout(r, 300));
    if (!answer.test(t.output())) t.type(line);
  }
  assert.match(t.output(), answer, `the shell did not answer through attach:\n${t.output()}`);
  return t;
}

test('attach under a terminal: typed input reaches the shell; ctrl-p ctrl-q detaches (exit 0) and it stays Up', { skip }, async () => {
  try {
    await runDit();
    assert.equal(c.inspect('att', '{{.Config.Tty}} {{.Config.OpenStdin}}'), 'true true');
    const t = await attachAndType([], 'echo hi-$((1+1))\n', /^hi-2$/m);
    try {
      t.type('\x10\x11');
      assert.equal(await t.finish(10_000), 0, `attach did not detach on ctrl-p ctrl-q:\n${t.output()}`);
    } finally {
      await t.finish(0);
    }
    assert.match(c.status('att')!, /^Up /);
    // The shell is the same one: what it did is in its log, and it still answers.
    const t2 = await attachAndType([], 'echo again-$((2+3))\n', /^again-5$/m);
    t2.type('\x10\x11');
    assert.equal(await t2.finish(10_000), 0, t2.output());
    assert.match(c.logsOf('att').stdout, /hi-2/);
  } finally {
    await c.cleanup();
  }
});

test('run -it under a terminal: ctrl-p ctrl-q detaches the CLI (exit 0); the container stays Up, its monitor\'s', { skip }, async () => {
  try {
    const t = terminal(docklingLine(c.root(), ['run', '-it', '--name', 'att', 'busybox', 'sh']));
    try {
      // Type until the shell answers: the first keys may meet the terminal
      // before the CLI has switched it to raw mode.
      const end = Date.now() + 15_000;
      while (!/^fg-9$/m.test(t.output()) && t.child.exitCode === null && Date.now() < end) {
        t.type('echo fg-$((4+5))\n');
        await new Promise((r) => setTimeout(r, 400));
      }
      assert.match(t.output(), /^fg-9$/m, t.output());
      c.track(c.inspect('att', '{{.Id}}'));
      t.type('\x10\x11');
      assert.equal(await t.finish(10_000), 0, `run -it did not detach on ctrl-p ctrl-q:\n${t.output()}`);
    } finally {
      await t.finish(0);
    }
    assert.match(c.status('att')!, /^Up /);
    // The same shell answers an attach, and the CLI that ran it is gone.
    const t2 = await attachAndType([], 'echo later-$((2+2))\n', /^later-4$/m);
    t2.type('\x10\x11');
    assert.equal(await t2.finish(10_000), 0, t2.output());
  } finally {
    await c.cleanup();
  }
});

test('--detach-keys ctrl-x,x detaches; ctrl-p ctrl-q no longer does', { skip }, async () => {
  try {
    await runDit();
    const t = await attachAndType(['--detach-keys', 'ctrl-x,x'], 'echo keys-$((3*3))\n', /^keys-9$/m);
    try {
      // The default keys are ordinary keys now: they do not detach. (The
      // shell takes ctrl-p as "previous line": clear the line after it.)
      t.type('\x10\x11');
      await new Promise((r) => setTimeout(r, 500));
      assert.equal(t.child.exitCode, null, `ctrl-p ctrl-q detached although --detach-keys was ctrl-x,x:\n${t.output()}`);
      t.type('\x03');
      t.type('echo still-$((4*4))\n');
      await t.waitFor(/^still-16$/m);
      t.type('\x18x');
      assert.equal(await t.finish(10_000), 0, t.output());
    } finally {
      await t.finish(0);
    }
    assert.match(c.status('att')!, /^Up /);
    const bad = c.dk(['attach', '--detach-keys', 'ctrl-é', 'att']);
    assert.notEqual(bad.code, 0);
  } finally {
    await c.cleanup();
  }
});

test("typing `exit 5` ends the container, and attach returns its exit status", { skip }, async () => {
  try {
    await runDit();
    const t = await attachAndType([], 'echo bye-$((7-6))\n', /^bye-1$/m);
    try {
      t.type('exit 5\n');
      assert.equal(await t.finish(10_000), 5, t.output());
    } finally {
      await t.finish(0);
    }
    assert.equal(c.ok(['wait', 'att']), '5\n');
    assert.match(c.status('att')!, /^Exited \(5\) /);
    const r = expectCode(c.dk(['attach', 'att']), 1);
    assert.match(r.stderr, /You cannot attach to a stopped container, start it first/);
  } finally {
    await c.cleanup();
  }
});

/** `run -it --name att busybox sh` under a terminal, and `exit` typed: the container stops. */
async function runItAndExit(): Promise<void> {
  const t = terminal(docklingLine(c.root(), ['run', '-it', '--name', 'att', 'busybox', 'sh']));
  try {
    const end = Date.now() + 15_000;
    while (!/^first-3$/m.test(t.output()) && t.child.exitCode === null && Date.now() < end) {
      t.type('echo first-$((1+2))\n');
      await sleep(400);
    }
    assert.match(t.output(), /^first-3$/m, t.output());
    c.track(c.inspect('att', '{{.Id}}'));
    t.type('exit\n');
    assert.equal(await t.finish(10_000), 0, t.output());
  } finally {
    await t.finish(0);
  }
  assert.match(c.status('att')!, /^Exited \(0\) /);
}

test('the seed\'s sequence: run -it, exit, start, attach: what is typed reaches the shell again (its stdin stays open)', { skip }, async () => {
  try {
    await runItAndExit();
    // `start` alone: no terminal of its own; the monitor keeps stdin open.
    assert.equal(expectCode(c.dk(['start', 'att']), 0).stdout, 'att\n');
    assert.match(c.status('att')!, /^Up /);
    const t = await attachAndType([], 'echo hi-$((6*7))\n', /^hi-42$/m);
    t.type('exit 3\n');
    assert.equal(await t.finish(10_000), 3, t.output());
    // The same after `restart` of a `run -dit` container.
    c.ok(['rm', 'att']);
    await runDit();
    c.ok(['restart', '-t', '1', 'att']);
    const t2 = await attachAndType([], 'echo re-$((2*4))\n', /^re-8$/m);
    t2.type('\x10\x11');
    assert.equal(await t2.finish(10_000), 0, t2.output());
  } finally {
    await c.cleanup();
  }
});

test('start -a -i under a terminal attaches its stdin; exit ends it with the shell\'s status', { skip }, async () => {
  try {
    await runItAndExit();
    const t = terminal(docklingLine(c.root(), ['start', '-a', '-i', 'att']));
    try {
      const end = Date.now() + 15_000;
      while (!/^ai-12$/m.test(t.output()) && t.child.exitCode === null && Date.now() < end) {
        t.type('echo ai-$((3*4))\n');
        await sleep(400);
      }
      assert.match(t.output(), /^ai-12$/m, t.output());
      t.type('exit 4\n');
      assert.equal(await t.finish(10_000), 4, t.output());
    } finally {
      await t.finish(0);
    }
    assert.match(c.status('att')!, /^Exited \(4\) /);
    const r = expectCode(c.dk(['start', '-a', 'att', 'att']), 1);
    assert.match(r.stderr, /you cannot start and attach multiple containers at once/);
  } finally {
    await c.cleanup();
  }
});

test('attach without a terminal (--no-stdin): new output only, stdout and stderr apart; the exit status at the end', { skip }, async () => {
  try {
    c.runD(['--name', 'nt', 'busybox', 'sh', '-c', 'i=0; while :; do echo out-$i; echo err-$i >&2; i=$((i+1)); sleep 0.2; done']);
    await c.untilLogs('nt', /out-2\n/);
    const a = runAsync(c.root(), ['attach', '--no-stdin', 'nt']);
    try {
      await until(() => /out-\d+\n(.|\n)*out-\d+\n/.test(a.stdout()) && /err-\d+\n/.test(a.stderr()), 10_000, 'output through attach');
      const outs = a.stdout().match(/out-(\d+)/g)!.map((s) => Number(s.slice(4)));
      assert.ok(outs[0] > 0, `attach replayed old output (no --logs): ${a.stdout()}`);
      for (let i = 1; i < outs.length; i++) assert.equal(outs[i], outs[i - 1] + 1, `lines lost or reordered: ${a.stdout()}`);
      assert.doesNotMatch(a.stdout(), /err-/, 'stderr came out on stdout');
      assert.doesNotMatch(a.stderr(), /out-/, 'stdout came out on stderr');
      // The container ends (SIGKILL): attach returns its status.
      c.ok(['kill', 'nt']);
      const r = await Promise.race([a.done, resolveAfter(10_000, null)]);
      assert.ok(r, 'attach did not end with the container');
      assert.equal(r.code, 137, r.stderr);
    } finally {
      if (a.child.exitCode === null) a.child.kill('SIGKILL');
      await a.done;
    }
  } finally {
    await c.cleanup();
  }
});

test('run -dit works without a terminal too: the TTY is checked only when attaching', { skip }, async () => {
  // docker/cli run.go: CheckTty(AttachStdin, Tty) only when not detached;
  // with -d, AttachStdin is false. Scripts and CI start -dit containers so.
  try {
    const id = c.runD(['-dit', '--name', 'att', 'busybox', 'sh']);
    assert.equal(c.inspect(id, '{{.Config.Tty}} {{.Config.OpenStdin}}'), 'true true');
    assert.match(c.status('att')!, /^Up /);
  } finally {
    await c.cleanup();
  }
});

/** A process's peak resident memory in KiB (VmHWM), from /proc. */
function peakKiB(pid: number): number {
  const m = /^VmHWM:\s+(\d+) kB$/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  assert.ok(m, `no VmHWM for ${pid}`);
  return Number(m[1]);
}

test('attach with a reader that does not read: backpressure, the CLI and the monitor stay small while the container floods', { skip }, async () => {
  try {
    // About 100 MB a second of output, for as long as anyone takes it.
    const id = c.runD(['--name', 'flood', '--log-driver', 'none', 'busybox', 'yes', 'x'.repeat(1000)]);
    const monitor = Number(JSON.parse(fs.readFileSync(path.join(c.root(), 'containers', id, 'config.v2.json'), 'utf8')).MonitorPid);
    // stdout is a pipe this test never reads: it fills, and attach must stop there.
    const a = spawn(process.execPath, ['--', BIN, '--root', c.root(), 'attach', '--no-stdin', 'flood'], { stdio: ['ignore', 'pipe', 'ignore'] });
    try {
      // Long enough for an unbounded relay to buffer hundreds of MB; the
      // assertion is on memory, not on time.
      await sleep(6000);
      assert.equal(a.exitCode, null, 'attach is still attached');
      const cli = peakKiB(a.pid!);
      assert.ok(cli < 100 * 1024, `the attach CLI peaked at ${cli} KiB`);
      const mon = peakKiB(monitor);
      assert.ok(mon < 20 * 1024, `the monitor peaked at ${mon} KiB`);
    } finally {
      a.kill('SIGKILL');
      await new Promise((r) => a.once('close', r));
    }
  } finally {
    await c.cleanup();
  }
});
