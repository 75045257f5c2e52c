// Chapter 5, section 5: "exec: into a running container".
//
// Chapter 5, for real, as root: `exec` runs another process inside a
// running container — in all its namespaces (the same PID namespace: it sees
// the container's PID 1; the same hostname) and its cgroup — with -e, -w,
// -u, -d and -t, and passes the exit status through as Docker does
// (126: cannot execute, 127: not found).
//
// test/run.ts runs this file with layers 1..5 (every test must pass) and
// with layers 1..4 (every test must fail: there is no `run -d`, no `exec`).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { rootOrSkip, until } from '../../helpers/dockling.js';
import { expectCode } from '../../helpers/chapter.js';
import { SCRIPT, chapter5, docklingLine, lines, terminal } from './helpers.js';

const hostPids = () => fs.readdirSync('/proc').filter((e) => /^\d+$/.test(e)).map(Number);
const nsOf = (p: number) => {
  try {
    return fs.readlinkSync(`/proc/${p}/ns/pid`);
  } catch {
    return undefined;
  }
};
const cmdlineOf = (p: number) => {
  try {
    return fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
  } catch {
    return '';
  }
};

const skip = rootOrSkip() || (SCRIPT ? false : 'needs util-linux script(1) for a real terminal');
const c = chapter5('ch5-exec');

/** Each test gets a fresh container `ex` (sleep 600), removed and checked in `finally`. */
async function withContainer(fn: (id: string) => void | Promise<void>): Promise<void> {
  try {
    await fn(c.runD(['--name', 'ex', 'busybox', 'sleep', '600']));
  } finally {
    await c.cleanup();
  }
}

test('exec is in the same PID namespace: the same namespace as PID 1, and ps shows the container’s PID 1', { skip }, () =>
  withContainer(async (id) => {
    const [self, one] = lines(c.ok(['exec', 'ex', 'sh', '-c', 'readlink /proc/self/ns/pid; readlink /proc/1/ns/pid']));
    assert.match(self, /^pid:\[\d+\]$/);
    assert.equal(self, one);
    // …the namespace the host sees for the container's PID 1.
    const pid = Number(c.inspect('ex', '{{.State.Pid}}'));
    assert.equal(fs.readlinkSync(`/proc/${pid}/ns/pid`), self);
    assert.notEqual(fs.readlinkSync('/proc/self/ns/pid'), self);
    // Every namespace, not only the PID one.
    for (const ns of ['mnt', 'uts', 'ipc', 'net', 'cgroup']) {
      assert.equal(c.ok(['exec', 'ex', 'readlink', `/proc/self/ns/${ns}`]).trim(), fs.readlinkSync(`/proc/${pid}/ns/${ns}`), ns);
    }
    const ps = lines(c.ok(['exec', 'ex', 'ps', '-o', 'pid,args']));
    assert.ok(ps.some((l) => /^\s*1\s+sleep 600$/.test(l)), `ps inside does not show PID 1 "sleep 600":\n${ps.join('\n')}`);
  }));

test('exec has the container’s hostname, root and cgroup', { skip }, () =>
  withContainer(async (id) => {
    assert.equal(c.ok(['exec', 'ex', 'hostname']), `${id.slice(0, 12)}\n`);
    assert.equal(c.ok(['exec', 'ex', 'hostname']).trim(), c.inspect('ex', '{{.Config.Hostname}}'));
    // Its / is the container's: a file made by one exec is seen by another, not by the host.
    c.ok(['exec', 'ex', 'sh', '-c', 'echo mark > /exec-mark']);
    assert.equal(c.ok(['exec', 'ex', 'cat', '/exec-mark']), 'mark\n');
    assert.ok(!fs.existsSync('/exec-mark'));
    assert.equal(c.ok(['exec', 'ex', 'cat', '/proc/self/cgroup']), c.ok(['exec', 'ex', 'cat', '/proc/1/cgroup']), 'the exec is in PID 1’s cgroup');
  }));

test('-e sets variables (the image’s stay), -w the directory, -u the user', { skip }, () =>
  withContainer(async (id) => {
    assert.equal(c.ok(['exec', '-e', 'FOO=bar baz', '-e', 'EMPTY=', 'ex', 'sh', '-c', 'echo "$FOO|$EMPTY|${EMPTY+set}|${PATH:+path}"']), 'bar baz||set|path\n');
    assert.equal(c.ok(['exec', 'ex', 'pwd']), '/\n');
    assert.equal(c.ok(['exec', '-w', '/tmp', 'ex', 'pwd']), '/tmp\n');
    assert.equal(c.ok(['exec', '--workdir', '/etc', 'ex', 'sh', '-c', 'pwd; ls hostname']), '/etc\nhostname\n');
    assert.equal(c.ok(['exec', '-u', '65534', 'ex', 'id', '-u']), '65534\n');
    assert.equal(c.ok(['exec', '-u', '65534:65533', 'ex', 'sh', '-c', 'echo $(id -u):$(id -g)']), '65534:65533\n');
    assert.equal(c.ok(['exec', 'ex', 'id', '-u']), '0\n');
    // What user 65534 may not do, it may not do.
    const denied = c.dk(['exec', '-u', '65534', 'ex', 'sh', '-c', 'echo x > /root-only']);
    assert.notEqual(denied.code, 0);
  }));

test('an exec’d process shows in `top`; exec -d returns at once and leaves it running', { skip }, () =>
  withContainer(async (id) => {
    const t = Date.now();
    expectCode(c.dk(['exec', '-d', 'ex', 'sleep', '37']), 0);
    assert.ok(Date.now() - t < 10_000);
    // On the host: the exec'd sleep is in the container's PID namespace and cgroup.
    const pid = Number(c.inspect('ex', '{{.State.Pid}}'));
    const pidNs = fs.readlinkSync(`/proc/${pid}/ns/pid`);
    let found: number | undefined;
    await until(() => (found = hostPids().find((p) => nsOf(p) === pidNs && cmdlineOf(p) === 'sleep 37')) !== undefined, 5000, 'the exec’d sleep on the host');
    assert.equal(fs.readFileSync(`/proc/${found}/cgroup`, 'utf8'), fs.readFileSync(`/proc/${pid}/cgroup`, 'utf8'));
    const top = c.ok(['top', 'ex']);
    assert.match(top, /sleep 37/, top);
    assert.match(top, /sleep 600/, top);
  }));

test('exit statuses pass through: 0, 7, 126 (not executable), 127 (not found)', { skip }, () =>
  withContainer(async (id) => {
    expectCode(c.dk(['exec', 'ex', 'true']), 0);
    expectCode(c.dk(['exec', 'ex', 'sh', '-c', 'exit 7']), 7);
    expectCode(c.dk(['exec', 'ex', 'false']), 1);
    const notExec = expectCode(c.dk(['exec', 'ex', '/etc/hostname']), 126);
    assert.match(notExec.stderr, /permission denied|not executable|cannot execute/i);
    const notFound = expectCode(c.dk(['exec', 'ex', 'no-such-program']), 127);
    assert.match(notFound.stderr, /no-such-program/);
    assert.match(notFound.stderr, /not found|no such file/i);
    expectCode(c.dk(['exec', 'ex', '/no/such/path']), 127);
  }));

test('exec on a stopped container fails with a clear message', { skip }, () =>
  withContainer(async (id) => {
    const stopped = c.runD(['--name', 'ex-stopped', 'busybox', 'true']);
    try {
      assert.equal(c.ok(['wait', 'ex-stopped']), '0\n');
      const r = c.dk(['exec', 'ex-stopped', 'true']);
      assert.ok(r.code !== 0, 'exec on a stopped container succeeded');
      assert.match(r.stderr, new RegExp(`container ${stopped} is not running`));
      const missing = expectCode(c.dk(['exec', 'no-such', 'true']), 1);
      assert.match(missing.stderr, /No such container: no-such/);
    } finally {
      c.ok(['rm', '-f', 'ex-stopped']);
    }
  }));

test('exec without -t has no terminal; exec -t gets one (/dev/pts/N), and none of a quick command’s output is lost (5 runs)', { skip }, () =>
  withContainer(async () => {
    const r = c.dk(['exec', 'ex', 'tty']);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /not a tty/);
    for (let i = 0; i < 5; i++) {
      const t = terminal(docklingLine(c.root(), ['exec', '-t', 'ex', 'tty']));
      assert.equal(await t.finish(15_000), 0, t.output());
      assert.match(t.output(), /^\/dev\/pts\/\d+$/m, `run ${i + 1}: the output of \`exec -t ex tty\` was lost`);
    }
  }));

test('exec -it under a real terminal: what is typed reaches the shell, and its exit status comes back', { skip }, () =>
  withContainer(async (id) => {
    const t = terminal(docklingLine(c.root(), ['exec', '-it', 'ex', 'sh']));
    try {
      t.type('tty; echo typed-$((6*7))\n');
      await t.waitFor(/^typed-42$/m);
      assert.match(t.output(), /^\/dev\/pts\/\d+$/m);
      t.type('exit 4\n');
      assert.equal(await t.finish(10_000), 4, t.output());
    } finally {
      await t.finish(0);
    }
  }));
