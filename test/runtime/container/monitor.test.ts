// The container monitor (runtime/container/monitor.c, built to dist/monitor),
// run on its own: PROGRAM is a shell command here, not nsexec, so no
// namespaces and (but for the mount tests) no root. The checks: the json-file
// log (lines, streams, times, Docker's escaping, 16 KiB splits), exit.json,
// the fds PROGRAM gets, the attach protocol (framed output to several
// clients, stdin, close, resize, the exit frame last, slow clients dropped),
// --tty with a pty master sent over fd 4, the release steps, that it outlives
// the process that started it, its memory, and the restart policy.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { useTempDir } from '../../helpers/temp.ts';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const MONITOR = process.env.DOCKLING_MONITOR ?? path.join(HERE, '../../../dist/monitor');
const PTY_INIT = path.join(HERE, 'pty-init.py');
const tmp = useTempDir('monitor-');
const isRoot = process.getuid?.() === 0;

const F = { stdin: 0, stdout: 1, stderr: 2, exit: 3, resize: 4, closeStdin: 5 } as const;
const TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A fresh container directory: its basename is a 64-hex-digit ID, as the CLI's are. */
function containerDir(): string {
  const dir = path.join(fs.mkdtempSync(path.join(tmp(), 'c-')), crypto.randomBytes(32).toString('hex'));
  fs.mkdirSync(dir);
  return dir;
}

// Every monitor a test starts, so that none outlives the file whatever
// failed. Each is a process group leader (detached), but a PROGRAM may make
// a session of its own (the pty helper does): those are found by parentage.
const started = new Set<number>();
function descendants(pid: number): number[] {
  const parent = new Map<number, number>();
  for (const e of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${e}/stat`, 'utf8');
      parent.set(Number(e), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      /* gone */
    }
  }
  const below = (p: number): boolean => {
    for (let q = parent.get(p); q !== undefined && q > 1; q = parent.get(q)) if (q === pid) return true;
    return false;
  };
  return [...parent.keys()].filter(below);
}
function kill(pid: number, sig: NodeJS.Signals = 'SIGKILL'): void {
  try {
    process.kill(pid, sig);
  } catch {
    /* gone already */
  }
}
after(() => {
  for (const pid of started) {
    for (const d of descendants(pid)) kill(d);
    kill(-pid);
  }
});

interface Run {
  child: ChildProcess;
  /** the monitor's exit code */
  done: Promise<number | null>;
  stderr: () => string;
}

/** Start dist/monitor as the CLI does: detached, stdio unused, fd 3 a channel (here a socketpair we can read). */
function monitor(dir: string, program: string[], flags: string[] = []): Run {
  assert.ok(fs.existsSync(MONITOR), `the test needs ${MONITOR}: npm run build`);
  const child = spawn(MONITOR, [...flags, dir, '--', ...program], { detached: true, stdio: ['ignore', 'ignore', 'pipe', 'pipe'] });
  started.add(child.pid!);
  let err = '';
  child.stderr!.on('data', (d) => (err += d));
  const done = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, done, stderr: () => err };
}

/** Wait for the monitor to exit (10 s at most: then it and its PROGRAM are killed and the test fails). */
async function finish(run: Run, ms = 10_000): Promise<number | null> {
  const timer = setTimeout(() => {
    for (const d of descendants(run.child.pid!)) kill(d);
    kill(-run.child.pid!);
  }, ms);
  const code = await run.done;
  clearTimeout(timer);
  assert.ok(code !== null, `the monitor did not finish within ${ms} ms`);
  return code;
}

async function until<T>(what: string, f: () => T | undefined | false, ms = 5000): Promise<T> {
  for (const end = Date.now() + ms; Date.now() < end; await sleep(10)) {
    const v = f();
    if (v) return v;
  }
  assert.fail(`timed out waiting for ${what}`);
}

interface Entry {
  log: string;
  stream: 'stdout' | 'stderr';
  time: string;
}
const logFile = (dir: string) => path.join(dir, `${path.basename(dir)}-json.log`);
/** Every line of the json log, parsed and checked for Docker's three fields. */
function readLog(dir: string): Entry[] {
  const text = fs.readFileSync(logFile(dir), 'utf8');
  assert.ok(text === '' || text.endsWith('\n'), 'the log ends with a whole line');
  return text
    .split('\n')
    .filter((l) => l)
    .map((l) => {
      const e = JSON.parse(l);
      assert.deepEqual(Object.keys(e), ['log', 'stream', 'time'], l);
      assert.match(e.time, TIME);
      assert.ok(!Number.isNaN(Date.parse(e.time)), e.time);
      return e as Entry;
    });
}
const streamOf = (entries: Entry[], s: string) => entries.filter((e) => e.stream === s).map((e) => e.log);
const exitRecord = (dir: string) => JSON.parse(fs.readFileSync(path.join(dir, 'exit.json'), 'utf8'));
const monitorLog = (dir: string) => (fs.existsSync(path.join(dir, 'monitor.log')) ? fs.readFileSync(path.join(dir, 'monitor.log'), 'utf8') : '');

interface Frame {
  type: number;
  payload: Buffer;
}
interface Client {
  frames: Frame[];
  /** resolves when the monitor closes the connection */
  closed: Promise<void>;
  send(type: number, payload: string | Buffer): void;
  socket: net.Socket;
  bytes(type: number): string;
}

/**
 * Attach as the CLI will. A unix socket path must fit in 108 bytes and the
 * container directory's may not, so connect through /proc/self/fd/N/ with N
 * our fd of the directory, as the monitor binds.
 */
async function attach(dir: string): Promise<Client> {
  await until('attach.sock', () => fs.existsSync(path.join(dir, 'attach.sock')));
  const dirFd = fs.openSync(dir, 'r');
  const socket = net.connect(`/proc/self/fd/${dirFd}/attach.sock`);
  try {
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  } finally {
    fs.closeSync(dirFd);
  }
  const frames: Frame[] = [];
  let buf = Buffer.alloc(0);
  socket.on('data', (d: Buffer) => {
    buf = Buffer.concat([buf, d]);
    while (buf.length >= 5 && buf.length >= 5 + buf.readUInt32BE(1)) {
      const n = buf.readUInt32BE(1);
      frames.push({ type: buf[0], payload: buf.subarray(5, 5 + n) });
      buf = buf.subarray(5 + n);
    }
  });
  socket.on('error', () => {});
  const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
  return {
    frames,
    closed,
    socket,
    send(type, payload) {
      const p = Buffer.from(payload);
      const head = Buffer.alloc(5);
      head[0] = type;
      head.writeUInt32BE(p.length, 1);
      socket.write(Buffer.concat([head, p]));
    },
    bytes: (type) => Buffer.concat(frames.filter((f) => f.type === type).map((f) => f.payload)).toString('latin1'),
  };
}

describe('the json-file log', () => {
  test('one entry per line, in order in each stream, with its stream and an RFC 3339 time to the nanosecond', async () => {
    const dir = containerDir();
    const run = monitor(dir, ['/bin/sh', '-c', 'echo one; echo two >&2; echo three; printf "four\\nfive\\n" >&2; printf "no newline"']);
    assert.equal(await finish(run), 0);
    const entries = readLog(dir);
    assert.deepEqual(streamOf(entries, 'stdout'), ['one\n', 'three\n', 'no newline']);
    assert.deepEqual(streamOf(entries, 'stderr'), ['two\n', 'four\n', 'five\n']);
    const times = entries.map((e) => e.time);
    assert.deepEqual(times, [...times].sort(), 'entries are written in time order');
    assert.equal(monitorLog(dir), '', 'nothing went wrong');
  });

  test("escaped byte for byte as Docker's json-file: quotes, backslashes, control characters, <>&, U+2028, invalid UTF-8", async () => {
    const dir = containerDir();
    const bytes = Buffer.concat([
      Buffer.from('q"b\\s\tt\rr\x01\x1f<>&\u2028é😀', 'utf8'),
      Buffer.from([0xff]), // never valid
      Buffer.from([0xc0, 0xaf]), // an overlong "/"
      Buffer.from([0xed, 0xa0, 0x80]), // a UTF-16 surrogate
      Buffer.from([0xe2, 0x82, 0x41]), // a sequence cut short, then "A"
      Buffer.from('\n'),
    ]);
    const input = path.join(path.dirname(dir), 'bytes');
    fs.writeFileSync(input, bytes);
    assert.equal(await finish(monitor(dir, ['/bin/cat', input])), 0);
    const raw = fs.readFileSync(logFile(dir), 'utf8');
    for (const escaped of ['\\"', '\\\\', '\\u0009', '\\r', '\\u0001', '\\u001f', '\\u003c\\u003e\\u0026', '\\u2028', 'é😀', '\\n"'])
      assert.ok(raw.includes(escaped), `the log holds ${escaped}: ${raw}`);
    // Each byte that is not part of valid UTF-8 is one U+FFFD, as Go decodes
    // (TextDecoder would make one of a cut-short sequence).
    const want = 'q"b\\s\tt\rr\x01\x1f<>&\u2028é😀' + '\ufffd' + '\ufffd'.repeat(2) + '\ufffd'.repeat(3) + '\ufffd'.repeat(2) + 'A\n';
    assert.deepEqual(readLog(dir).map((e) => e.log), [want]);
  });

  test('a line without a newline goes out in 16 KiB entries, its rest at EOF', async () => {
    const dir = containerDir();
    const script = "head -c 20000 /dev/zero | tr '\\0' y; echo; head -c 40960 /dev/zero | tr '\\0' x";
    assert.equal(await finish(monitor(dir, ['/bin/sh', '-c', script])), 0);
    const out = streamOf(readLog(dir), 'stdout');
    assert.deepEqual(out.map((l) => l.length), [16384, 3617, 16384, 16384, 8192]);
    assert.equal(out.join(''), 'y'.repeat(20000) + '\n' + 'x'.repeat(40960));
  });

  test('a second run on the same directory appends to the log', async () => {
    const dir = containerDir();
    assert.equal(await finish(monitor(dir, ['/bin/echo', 'first'])), 0);
    assert.equal(await finish(monitor(dir, ['/bin/echo', 'second'])), 0);
    assert.deepEqual(streamOf(readLog(dir), 'stdout'), ['first\n', 'second\n']);
  });
});

describe('exit.json', () => {
  for (const [script, code, signal] of [
    ['exit 0', 0, 0],
    ['exit 3', 3, 0],
    ['kill -TERM $$', 143, 15],
  ] as const) {
    test(`${script}: ExitCode ${code}, Signal ${signal}`, async () => {
      const dir = containerDir();
      const before = Date.now();
      assert.equal(await finish(monitor(dir, ['/bin/sh', '-c', script])), 0, 'the monitor itself exits 0');
      const rec = exitRecord(dir);
      assert.deepEqual(Object.keys(rec), ['ExitCode', 'FinishedAt', 'Signal']);
      assert.equal(rec.ExitCode, code);
      assert.equal(rec.Signal, signal);
      assert.match(rec.FinishedAt, TIME);
      assert.ok(Date.parse(rec.FinishedAt) >= before - 1000 && Date.parse(rec.FinishedAt) <= Date.now() + 1000);
      assert.deepEqual(fs.readdirSync(dir).sort(), [`${path.basename(dir)}-json.log`, 'exit.json', 'monitor.log'].sort(), 'no temp file, no socket left');
    });
  }

  test('a PROGRAM that cannot be run: 127, and monitor.log says why', async () => {
    const dir = containerDir();
    assert.equal(await finish(monitor(dir, ['/nonexistent/program'])), 0);
    assert.equal(exitRecord(dir).ExitCode, 127);
    assert.match(monitorLog(dir), /exec \/nonexistent\/program: No such file or directory/);
  });

  test('bad usage: exit 125 and a usage line', async () => {
    const dir = containerDir();
    const run = monitor(dir, ['/bin/true'], ['--restart', 'sometimes']);
    assert.equal(await finish(run), 125);
    assert.match(run.stderr(), /usage: monitor/);
  });
});

describe("PROGRAM's fds and signals", () => {
  test('fd 3 is passed through to PROGRAM; 0-2 are its own; nothing else', async () => {
    const dir = containerDir();
    const run = monitor(dir, ['/bin/sh', '-c', 'echo through fd 3 >&3; ls /proc/$$/fd']);
    let channel = '';
    (run.child.stdio[3] as net.Socket).on('data', (d) => (channel += d));
    assert.equal(await finish(run), 0);
    assert.equal(channel, 'through fd 3\n');
    assert.deepEqual(streamOf(readLog(dir), 'stdout'), ['0\n', '1\n', '2\n', '3\n']);
  });

  test("PROGRAM does not inherit the signals the monitor ignores (or SIGTERM could not stop a container)", async () => {
    const dir = containerDir();
    assert.equal(await finish(monitor(dir, ['/bin/sh', '-c', 'grep SigIgn /proc/$$/status'])), 0);
    assert.deepEqual(streamOf(readLog(dir), 'stdout'), ['SigIgn:\t0000000000000000\n']);
  });

  test('with --tty: /dev/null on 0-2, the console socket on 4; no master sent is logged', async () => {
    const dir = containerDir();
    // (python3, not sh: a shell would move fds about to redirect its output to fd 3)
    const list = "import os\nfor fd in range(64):\n  try: os.write(3, f' {fd} -> {os.readlink(f\"/proc/self/fd/{fd}\")}\\n'.encode())\n  except OSError: pass";
    const run = monitor(dir, ['/usr/bin/python3', '-c', list], ['--tty']);
    let channel = '';
    (run.child.stdio[3] as net.Socket).on('data', (d) => (channel += d));
    assert.equal(await finish(run), 0);
    const fds = Object.fromEntries([...channel.matchAll(/ (\d+) -> (.*)$/gm)].map((m) => [m[1], m[2]]));
    assert.deepEqual(Object.keys(fds), ['0', '1', '2', '3', '4']);
    assert.deepEqual([fds[0], fds[1], fds[2]], ['/dev/null', '/dev/null', '/dev/null']);
    assert.match(fds[4], /^socket:/);
    assert.match(monitorLog(dir), /no pty master came over fd 4/);
  });
});

describe('attach', () => {
  test('framed output to every client, stdin in, stdin closed, the exit frame last; then the socket is gone', async () => {
    const dir = containerDir();
    const run = monitor(dir, ['/bin/sh', '-c', 'read l; echo "got:$l"; echo err >&2; cat; exit 7'], ['--stdin']);
    const watcher = await attach(dir);
    const typist = await attach(dir);
    assert.equal(fs.statSync(path.join(dir, 'attach.sock')).mode & 0o777, 0o600);
    typist.send(F.stdin, 'hello\n');
    typist.send(F.stdin, 'more\n');
    typist.send(F.closeStdin, '');
    await Promise.all([watcher.closed, typist.closed]);
    for (const c of [watcher, typist]) {
      assert.equal(c.bytes(F.stdout), 'got:hello\nmore\n');
      assert.equal(c.bytes(F.stderr), 'err\n');
      assert.deepEqual(c.frames.at(-1), { type: F.exit, payload: Buffer.from('7') });
      assert.equal(c.frames.filter((f) => f.type === F.exit).length, 1);
    }
    assert.ok(!fs.existsSync(path.join(dir, 'attach.sock')), 'attach.sock is removed');
    assert.equal(await finish(run), 0);
    assert.equal(exitRecord(dir).ExitCode, 7);
    assert.deepEqual(streamOf(readLog(dir), 'stdout'), ['got:hello\n', 'more\n']);
  });

  test('without --stdin, input is dropped and the container sees EOF', async () => {
    const dir = containerDir();
    const run = monitor(dir, ['/bin/sh', '-c', 'sleep 0.2; cat; echo done']);
    const c = await attach(dir);
    c.send(F.stdin, 'ignored\n');
    await c.closed;
    assert.equal(c.bytes(F.stdout), 'done\n');
    assert.equal(await finish(run), 0);
  });

  test('a client that stops reading is dropped; the container and the other clients go on', async () => {
    const dir = containerDir();
    const size = 4 * 1024 * 1024;
    // (a person's terminal gets minutes; this test's stuck client gets 1 s)
    const run = monitor(dir, ['/bin/sh', '-c', `read go; head -c ${size} /dev/zero | tr '\\0' a`], ['--stdin', '--stall-ms', '1000']);
    const slow = await attach(dir);
    slow.socket.pause();
    const fast = await attach(dir);
    fast.send(F.stdin, 'go\n');
    await fast.closed;
    assert.equal(fast.bytes(F.stdout).length, size);
    assert.deepEqual(fast.frames.at(-1), { type: F.exit, payload: Buffer.from('0') });
    assert.equal(await finish(run), 0);
    slow.socket.resume();
    await slow.closed;
    assert.ok(slow.bytes(F.stdout).length < size, 'the slow client was cut off');
    assert.ok(!slow.frames.some((f) => f.type === F.exit));
    assert.equal(streamOf(readLog(dir), 'stdout').join('').length, size, 'the log has it all');
  });

  test('release "rm DIR": exit.json is written first, and clients still get the exit frame', async () => {
    const dir = containerDir();
    fs.writeFileSync(path.join(dir, 'release'), `rm ${dir}\n`);
    const run = monitor(dir, ['/bin/sh', '-c', 'read x; exit 4'], ['--stdin']);
    const c = await attach(dir);
    c.send(F.stdin, 'x\n');
    await c.closed;
    assert.deepEqual(c.frames.at(-1), { type: F.exit, payload: Buffer.from('4') });
    assert.equal(await finish(run), 0);
    assert.ok(!fs.existsSync(dir), 'DIR is removed');
  });
});

describe('--tty', () => {
  test('output from the pty master is logged (before any client too) and relayed; resize reaches the pty', async () => {
    const dir = containerDir();
    const script = 'echo early; read x; stty size; exit 5';
    const run = monitor(dir, ['/usr/bin/python3', PTY_INIT, '/bin/sh', '-c', script], ['--tty', '--stdin']);
    await until('the first line in the log', () => fs.existsSync(logFile(dir)) && readLog(dir).length > 0);
    const c = await attach(dir);
    c.send(F.resize, '30 100');
    c.send(F.stdin, 'go\n');
    await c.closed;
    assert.match(c.bytes(F.stdout), /^go\r\n30 100\r\n$/, 'the echo of the input, then stty size');
    assert.deepEqual(c.frames.at(-1), { type: F.exit, payload: Buffer.from('5') });
    assert.equal(await finish(run), 0);
    const entries = readLog(dir);
    assert.deepEqual(entries.map((e) => e.stream), ['stdout', 'stdout', 'stdout']);
    assert.deepEqual(entries.map((e) => e.log), ['early\r\n', 'go\r\n', '30 100\r\n']);
    assert.equal(monitorLog(dir), '');
  });
});

describe('release steps', () => {
  test('rmdir, rm of a tree (symlinks not followed), a failed step is logged and the next still runs', async () => {
    const dir = containerDir();
    const base = path.dirname(dir);
    const empty = path.join(base, 'empty');
    const full = path.join(base, 'full');
    const tree = path.join(base, 'tree');
    const outside = path.join(base, 'outside');
    fs.mkdirSync(empty);
    fs.mkdirSync(path.join(full, 'x'), { recursive: true });
    fs.mkdirSync(outside);
    fs.writeFileSync(path.join(outside, 'keep'), 'keep');
    fs.mkdirSync(path.join(tree, 'a/b/c'), { recursive: true });
    fs.writeFileSync(path.join(tree, 'a/b/c/file'), 'x');
    fs.writeFileSync(path.join(tree, 'top'), 'x');
    fs.symlinkSync(outside, path.join(tree, 'a/dirlink'));
    fs.symlinkSync(path.join(outside, 'keep'), path.join(tree, 'filelink'));
    fs.writeFileSync(
      path.join(dir, 'release'),
      [`rmdir ${full}`, `rmdir ${empty}`, 'bogus /x', 'rm relative/path', `rm ${tree}`, `rmdir ${path.join(base, 'never-was')}`, `rm ${path.join(base, 'never-was')}`, ''].join('\n'),
    );
    assert.equal(await finish(monitor(dir, ['/bin/true'])), 0);
    assert.ok(fs.existsSync(full), 'the step that failed left its directory');
    assert.ok(!fs.existsSync(empty));
    assert.ok(!fs.existsSync(tree));
    assert.equal(fs.readFileSync(path.join(outside, 'keep'), 'utf8'), 'keep', 'what the symlinks pointed at is untouched');
    const log = monitorLog(dir);
    assert.match(log, new RegExp(`release: rmdir ${full}: Directory not empty`));
    assert.match(log, /release: unknown step "bogus \/x"/);
    assert.match(log, /release: "rm relative\/path": expected/);
    assert.doesNotMatch(log, /never-was/, 'a path that is already gone is not an error');
    assert.equal(exitRecord(dir).ExitCode, 0);
  });

  test('umount (a busy mount is detached), and rm refuses a tree with a mount inside', { skip: !isRoot && 'needs root (mount)' }, async () => {
    const dir = containerDir();
    const base = path.dirname(dir);
    const plain = path.join(base, 'plain');
    const busy = path.join(base, 'busy');
    const tree = path.join(base, 'tree');
    const inner = path.join(tree, 'volume');
    for (const d of [plain, busy, inner]) fs.mkdirSync(d, { recursive: true });
    let user: ChildProcess | undefined;
    try {
      for (const d of [plain, busy, inner]) assert.equal(spawnSync('mount', ['-t', 'tmpfs', 'tmpfs', d]).status, 0);
      fs.writeFileSync(path.join(inner, 'data'), 'precious');
      user = spawn('sleep', ['30'], { cwd: busy, stdio: 'ignore' }); // keeps `busy` busy
      fs.writeFileSync(path.join(dir, 'release'), `umount ${plain}\nrmdir ${plain}\numount ${busy}\nrm ${tree}\n`);
      assert.equal(await finish(monitor(dir, ['/bin/true'])), 0);
      const mounts = fs.readFileSync('/proc/self/mountinfo', 'utf8');
      assert.ok(!fs.existsSync(plain), 'unmounted, then removed');
      assert.ok(!mounts.includes(` ${busy} `), 'the busy mount is detached');
      assert.equal(fs.readFileSync(path.join(inner, 'data'), 'utf8'), 'precious', 'nothing under a mount is removed');
      assert.match(monitorLog(dir), new RegExp(`release: rm ${tree}: ${inner} is a mount point: not removing it`));
    } finally {
      if (user?.pid) kill(user.pid);
      for (const d of [plain, busy, inner]) spawnSync('umount', ['-l', d], { stdio: 'ignore' });
    }
  });
});

describe('a life of its own', () => {
  test('outlives the process that started it, and ignores SIGHUP, SIGINT, SIGTERM, SIGQUIT, SIGPIPE', async () => {
    const dir = containerDir();
    // The CLI's way: spawn detached, stdio ignored, unref, exit.
    const cli = `const c = require('child_process').spawn(${JSON.stringify(MONITOR)}, [${JSON.stringify(dir)}, '--', '/bin/sh', '-c', 'echo one; sleep 1; echo two'],
      { detached: true, stdio: 'ignore' }); console.log(c.pid); c.unref();`;
    const r = spawnSync(process.execPath, ['-e', cli], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const pid = Number(r.stdout.trim());
    started.add(pid);
    await until('"one" in the log', () => fs.existsSync(logFile(dir)) && readLog(dir).length > 0);
    for (const sig of ['SIGHUP', 'SIGINT', 'SIGTERM', 'SIGQUIT', 'SIGPIPE'] as const) kill(pid, sig);
    await sleep(100);
    assert.ok(fs.existsSync(`/proc/${pid}`) && !fs.existsSync(path.join(dir, 'exit.json')), 'the monitor still runs');
    await until('exit.json', () => fs.existsSync(path.join(dir, 'exit.json')));
    assert.deepEqual(streamOf(readLog(dir), 'stdout'), ['one\n', 'two\n']);
    assert.equal(exitRecord(dir).ExitCode, 0);
    await until('the monitor to end', () => {
      try {
        return fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1][0] === 'Z';
      } catch {
        return true;
      }
    });
  });

  test('stays under 5 MiB of memory while it relays output', async (t) => {
    const dir = containerDir();
    const stop = path.join(path.dirname(dir), 'stop');
    const run = monitor(dir, ['/bin/sh', '-c', `i=0; while [ ! -e ${stop} ]; do echo "line $i of the container's output"; i=$((i+1)); done`]);
    const c = await attach(dir);
    let rss = 0;
    let hwm = 0;
    for (let i = 0; i < 20; i++) {
      await sleep(50);
      const status = fs.readFileSync(`/proc/${run.child.pid}/status`, 'utf8');
      rss = Math.max(rss, Number(/VmRSS:\s+(\d+)/.exec(status)![1]));
      hwm = Number(/VmHWM:\s+(\d+)/.exec(status)![1]);
    }
    fs.writeFileSync(stop, '');
    await c.closed;
    assert.equal(await finish(run), 0);
    const lines = readLog(dir).length;
    t.diagnostic(`monitor VmRSS at most ${rss} kB (peak VmHWM ${hwm} kB) while relaying ${lines} lines`);
    assert.ok(lines > 1000, `it relayed output (${lines} lines)`);
    assert.ok(c.bytes(F.stdout).length > 0);
    assert.ok(rss < 5 * 1024 && hwm < 5 * 1024, `VmRSS ${rss} kB, VmHWM ${hwm} kB`);
  });
});

describe('restart policy', () => {
  // DIR/restart: what the monitor becomes. Here a shell that writes its PID
  // (the monitor's, if the monitor exec'd it) and its arguments.
  for (const [policy, count, code, stopped, restarts] of [
    ['on-failure:2', 0, 1, false, true],
    ['on-failure:2', 2, 1, false, false],
    ['on-failure', 3, 1, false, true],
    ['on-failure:2', 0, 0, false, false],
    ['always', 0, 0, false, true],
    ['unless-stopped', 1, 3, false, true],
    ['always', 0, 1, true, false],
    ['no', 0, 1, false, false],
  ] as const) {
    const name = `--restart ${policy} --restart-count ${count}, exit ${code}${stopped ? ', DIR/stopped' : ''}: ${restarts ? 'restarts' : 'does not restart'}`;
    test(name, async () => {
      const dir = containerDir();
      const mark = path.join(path.dirname(dir), 'restarted');
      fs.writeFileSync(path.join(dir, 'restart'), ['/bin/sh', '-c', `echo "$$ $*" > ${mark}`, 'sh', 'start', '--restart-attempt', path.basename(dir)].join('\0'));
      if (stopped) fs.writeFileSync(path.join(dir, 'stopped'), '');
      const run = monitor(dir, ['/bin/sh', '-c', `exit ${code}`], ['--restart', policy, '--restart-count', String(count)]);
      assert.equal(await finish(run), 0);
      assert.equal(exitRecord(dir).ExitCode, code, 'the exit is recorded first');
      if (restarts) assert.equal(fs.readFileSync(mark, 'utf8'), `${run.child.pid} start --restart-attempt ${path.basename(dir)}\n`, 'the monitor became the restart command');
      else assert.ok(!fs.existsSync(mark));
    });
  }
});
