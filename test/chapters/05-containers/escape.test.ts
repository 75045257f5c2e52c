// Chapter 5, section 5: "exec: into a running container", its "The command gets
// pipes, never the CLI's descriptors" and "CVE-2019-5736: a helper the
// container cannot overwrite".
//
// Chapter 5's part of the ESCAPE SUITE: probes, run as root against real
// containers, that a container cannot reach the host through what chapter 5
// added (`exec` and its helper, dist/nsenter). Later chapters extend the
// suite with escape.test.ts files of their own.
//
// Each probe proves access by READING (a link, a device and inode number),
// never by changing the host.
//
// test/run.ts runs this file with layers 1..5 (every test must pass) and
// with layers 1..4 (every test must fail: there is no `run -d`, no `exec`).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BIN, REPO, resolveAfter, rootOrSkip, until, withoutWarning } from '../../helpers/dockling.js';
import { SCRIPT, chapter5, docklingLine, lines, terminal } from './helpers.js';

const skip = rootOrSkip();
const c = chapter5('ch5-escape');
const NSENTER = path.join(REPO, 'dist', 'nsenter');

/** "DEV INO" of a host file, as busybox `stat -L -c '%d %i'` prints it inside. */
const devIno = (p: string) => {
  const st = fs.statSync(p);
  return `${st.dev} ${st.ino}`;
};

/** Each test gets a fresh container `ex` (sleep 600) and a temp dir of its own, both removed in `finally`. */
async function withContainer(fn: (tmp: string) => void | Promise<void>): Promise<void> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dockling-test-ch5-escape-probe-'));
  try {
    c.runD(['--name', 'ex', 'busybox', 'sleep', '600']);
    await fn(tmp);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
    await c.cleanup();
  }
}

/** `dockling exec ARGS…` with the given descriptors as its stdin, stdout and stderr. */
function execWith(stdio: (number | 'ignore')[], args: string[]): number | null {
  const r = spawnSync(process.execPath, ['--', BIN, '--root', c.root(), 'exec', ...args], { stdio, timeout: 60_000 });
  return r.status;
}

test('escape 3: exec gives the command pipes, not the caller’s descriptors (a host file as stdin, stdout, stderr)', { skip }, () =>
  withContainer((tmp) => {
    const input = path.join(tmp, 'in');
    fs.writeFileSync(input, 'typed\n');
    const [out, err] = [path.join(tmp, 'out'), path.join(tmp, 'err')];
    const fds: [number, number, number] = [fs.openSync(input, 'r'), fs.openSync(out, 'w'), fs.openSync(err, 'w')];
    try {
      // What the command's 0-2 are, and that what we give on stdin arrives.
      const probe = 'for f in 0 1 2; do readlink /proc/self/fd/$f; done; cat; readlink /proc/self/fd/2 >&2';
      assert.equal(execWith(fds, ['-i', 'ex', 'sh', '-c', probe]), 0, fs.readFileSync(err, 'utf8'));
    } finally {
      fds.forEach((fd) => fs.closeSync(fd));
    }
    const seen = lines(fs.readFileSync(out, 'utf8'));
    // Today's bug: these named the host files (…/in, …/out, …/err), which
    // root inside could reopen through /proc/self/fd, read, truncate, fchmod.
    // Now: anonymous pipes (libuv makes them as socketpairs), which no path
    // reopens: opening /proc/self/fd/N of a socket fails (ENXIO).
    for (const [i, l] of seen.slice(0, 3).entries()) assert.match(l, /^(pipe|socket):\[\d+\]$/, `fd ${i} inside is ${l}, not a pipe`);
    assert.equal(seen[3], 'typed', 'stdin is relayed');
    assert.match(withoutWarning(fs.readFileSync(err, 'utf8')), /^(pipe|socket):\[\d+\]\n$/, 'stderr is relayed');
  }));

// A tiny static probe for the container (busybox has no libc we could
// link against): for each of its descriptors 0-2, try TIOCSTI, which pushes
// bytes into a terminal's input as if typed. It pushes nothing harmful
// (a space) and reports "fd N: pushed" or "fd N: <errno>".
const TIOCSTI_PROBE = String.raw`#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
int main(void) {
	char c = ' ';
	for (int fd = 0; fd < 3; fd++) {
		int r = ioctl(fd, TIOCSTI, &c);
		dprintf(2, "fd %d: %s\n", fd, r == 0 ? "pushed" : strerror(errno));
	}
	return 0;
}
`;

test('escape 3: under a terminal, exec without -t cannot push keystrokes into the caller’s terminal (TIOCSTI)', { skip: skip || (SCRIPT ? false : 'needs util-linux script(1)') }, () =>
  withContainer(async (tmp) => {
    const src = path.join(tmp, 'tiocsti.c');
    const bin = path.join(tmp, 'tiocsti');
    fs.writeFileSync(src, TIOCSTI_PROBE);
    const cc = spawnSync('cc', ['-static', '-O2', '-o', bin, src], { encoding: 'utf8' });
    assert.equal(cc.status, 0, `cc: ${cc.stderr}`);
    // Into the container through exec's stdin (a file: relayed as a pipe now).
    const fd = fs.openSync(bin, 'r');
    try {
      assert.equal(execWith([fd, 'ignore', 'ignore'], ['-i', 'ex', 'sh', '-c', 'cat > /tiocsti && chmod +x /tiocsti']), 0);
    } finally {
      fs.closeSync(fd);
    }
    // The CLI's stdin, stdout and stderr are a real terminal here (script(1)).
    const t = terminal(docklingLine(c.root(), ['exec', 'ex', '/tiocsti']));
    assert.equal(await t.finish(20_000), 0, t.output());
    const report = t.output().split('\n').filter((l) => /^fd \d: /.test(l));
    assert.equal(report.length, 3, t.output());
    // Today's bug: "fd 1: pushed", "fd 2: pushed": the command typed into
    // the terminal of the user who ran `exec`.
    for (const l of report) assert.doesNotMatch(l, /pushed/, `the command reached the caller’s terminal:\n${report.join('\n')}`);
  }));

test('escape 3: without -i (and with -d) the command’s spare descriptors are the container’s /dev/null, not the host’s', { skip }, () =>
  withContainer(async (tmp) => {
    const hostNull = devIno('/dev/null');
    const out = path.join(tmp, 'out');
    const fd = fs.openSync(out, 'w');
    try {
      assert.equal(execWith([fs.openSync('/dev/null', 'r'), fd, fd], ['ex', 'stat', '-L', '-c', '%d %i %t:%T', '/proc/self/fd/0']), 0, fs.readFileSync(out, 'utf8'));
    } finally {
      fs.closeSync(fd);
    }
    const [dev, ino, rdev] = fs.readFileSync(out, 'utf8').trim().split(' ');
    assert.equal(rdev, '1:3', 'stdin is a null device');
    assert.notEqual(`${dev} ${ino}`, hostNull, 'stdin inside is the host’s /dev/null');

    // -d: all three, and the command lives on after the CLI has gone.
    assert.equal(spawnSync(process.execPath, ['--', BIN, '--root', c.root(), 'exec', '-d', 'ex', 'sh', '-c', 'stat -L -c "%d %i" /proc/self/fd/0 /proc/self/fd/1 /proc/self/fd/2 > /probe.tmp && mv /probe.tmp /probe'], { stdio: 'ignore' }).status, 0);
    let seen: string[] = [];
    await until(() => (seen = lines(c.dk(['exec', 'ex', 'cat', '/probe']).stdout)).length === 3, 10_000, 'the exec -d probe to write /probe');
    for (const [i, l] of seen.entries()) assert.notEqual(l, hostNull, `exec -d: fd ${i} inside is the host’s /dev/null`);
  }));

test('escape 4 (CVE-2019-5736): the nsenter child the container can see does not run the host’s dist/nsenter', { skip }, () =>
  withContainer(async (tmp) => {
    // Hold the window open: nsenter's child joins each --cgroup file by
    // writing to it, inside the container's namespaces and before it execs
    // the command. Given a FIFO whose buffer we have filled, that write
    // blocks, and the child stays the helper's image until we drain it.
    // (Real `exec` runs this same binary; the window is just shorter.)
    const fifo = path.join(tmp, 'cgroup.procs');
    assert.equal(spawnSync('mkfifo', [fifo]).status, 0);
    const hold = fs.openSync(fifo, fs.constants.O_RDWR | fs.constants.O_NONBLOCK);
    const chunk = Buffer.alloc(4096);
    for (;;) {
      try {
        fs.writeSync(hold, chunk);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'EAGAIN') break;
        throw e;
      }
    }
    const pid1 = c.inspect('ex', '{{.State.Pid}}');
    const nsenter = spawn(NSENTER, ['--cgroup', fifo, pid1, '--', 'true'], { stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: '/bin:/usr/bin' } });
    let stderr = '';
    nsenter.stderr!.on('data', (d) => (stderr += d));
    const done = new Promise<number | null>((r) => nsenter.on('close', (code) => r(code)));
    try {
      // The child, as the host numbers it and as the container does.
      let child = 0;
      await until(() => (child = Number(readOr(`/proc/${nsenter.pid}/task/${nsenter.pid}/children`).trim().split(' ')[0]) || 0) > 0, 10_000, 'nsenter’s child');
      const nspid = readOr(`/proc/${child}/status`).match(/^NSpid:\s.*?(\d+)\s*$/m)?.[1];
      assert.ok(nspid, `no NSpid for ${child}`);
      // Inside the container: what /proc/PID/exe of that process is.
      const inside = c.dk(['exec', 'ex', 'sh', '-c', `readlink /proc/${nspid}/exe; stat -L -c '%d %i' /proc/${nspid}/exe`]).stdout;
      // Today's bug: the host's file itself (same device and inode), which
      // root in the container could open and, once free, overwrite.
      assert.ok(!lines(inside).includes(devIno(NSENTER)), `the container sees the host’s ${NSENTER} as /proc/${nspid}/exe:\n${inside}`);
      assert.doesNotMatch(inside, new RegExp(`^${NSENTER}`, 'm'));
      // A sealed memfd, or nothing at all (not dumpable: no access).
      assert.match(inside, /^(\/memfd:dockling-helper \(deleted\)\n|)/);
    } finally {
      // Let the child go on: drain the FIFO; it execs `true` and exits 0.
      const buf = Buffer.alloc(65536);
      for (;;) {
        try {
          if (fs.readSync(hold, buf) <= 0) break;
        } catch {
          break;
        }
      }
      const code = await Promise.race([done, resolveAfter(20_000, 'timeout' as const)]);
      if (code === 'timeout') nsenter.kill('SIGKILL');
      fs.closeSync(hold);
      assert.equal(code, 0, stderr);
    }
  }));

function readOr(p: string): string {
  try {
    return fs.readFileSync(p, 'utf8');
  } catch {
    return '';
  }
}
