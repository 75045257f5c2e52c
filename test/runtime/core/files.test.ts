// State files: written atomically (a crash leaves the old or the new file,
// and no temporary file), changed under a lock that two dockling processes
// cannot hold at once, and a lock left by a dead process can be broken.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { holdLock, withLock, withLockIfFree, writeFileAtomic } from '../../../runtime/core/files.js';
import { useTempDir } from '../../helpers/temp.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const dir = useTempDir('files-test-');

/** A fresh subdirectory for one test. */
let n = 0;
const sub = () => {
  const d = path.join(dir(), `t${n++}`);
  fs.mkdirSync(d);
  return d;
};

/** The PID of a process that has exited. */
function deadPid(): number {
  const r = spawnSync('true');
  assert.ok(r.pid && r.status === 0);
  return r.pid;
}

describe('writeFileAtomic', () => {
  test('writes the content with the mode, and leaves no temporary file', () => {
    const d = sub();
    const f = path.join(d, 'config.v2.json');
    writeFileAtomic(f, '{"a":1}', 0o600);
    assert.equal(fs.readFileSync(f, 'utf8'), '{"a":1}');
    assert.equal(fs.statSync(f).mode & 0o777, 0o600);
    assert.deepEqual(fs.readdirSync(d), ['config.v2.json']);
  });

  test('replaces an existing file in one step (the inode changes; no half-written file)', () => {
    const d = sub();
    const f = path.join(d, 'state');
    fs.writeFileSync(f, 'old content, longer than the new one');
    const ino = fs.statSync(f).ino;
    writeFileAtomic(f, Buffer.from('new'));
    assert.equal(fs.readFileSync(f, 'utf8'), 'new');
    assert.notEqual(fs.statSync(f).ino, ino);
    assert.deepEqual(fs.readdirSync(d), ['state']);
  });

  test('many writes in a row leave exactly one file with the last content', () => {
    const d = sub();
    const f = path.join(d, 'x');
    for (let i = 0; i < 50; i++) writeFileAtomic(f, String(i));
    assert.equal(fs.readFileSync(f, 'utf8'), '49');
    assert.deepEqual(fs.readdirSync(d), ['x']);
  });

  // The contract is "no temporary file is left": that must hold when the
  // final rename fails too (here: the target is a non-empty directory).
  test('a write that fails leaves no temporary file behind', () => {
    const d = sub();
    const f = path.join(d, 'taken');
    fs.mkdirSync(path.join(f, 'inside'), { recursive: true });
    assert.throws(() => writeFileAtomic(f, 'data'));
    assert.deepEqual(fs.readdirSync(d), ['taken']);
  });
});

describe('withLock', () => {
  test("returns fn's value and removes the lock", () => {
    const lock = path.join(sub(), '.lock');
    assert.equal(withLock(lock, () => 42), 42);
    assert.equal(fs.existsSync(lock), false);
  });

  test('releases the lock when fn throws, and passes the error on', () => {
    const lock = path.join(sub(), '.lock');
    assert.throws(() => withLock(lock, () => { throw new Error('boom'); }), /boom/);
    assert.equal(fs.existsSync(lock), false);
    assert.equal(withLock(lock, () => 'again'), 'again');
  });

  test('a lock held by a live process is waited for, then times out, naming the lock', () => {
    const lock = path.join(sub(), '.lock');
    fs.mkdirSync(lock);
    fs.writeFileSync(path.join(lock, 'pid'), String(process.pid));
    const t0 = Date.now();
    assert.throws(() => withLock(lock, () => 'never', 150), (e: Error) => e.message.includes('timed out waiting for the lock') && e.message.includes(lock));
    assert.ok(Date.now() - t0 >= 150);
    assert.ok(fs.existsSync(path.join(lock, 'pid')), 'a live holder keeps its lock');
  });

  test('a stale lock, whose holder is dead, is broken and leaves nothing behind', () => {
    const d = sub();
    const lock = path.join(d, '.lock');
    fs.mkdirSync(lock);
    fs.writeFileSync(path.join(lock, 'pid'), String(deadPid()));
    assert.equal(withLock(lock, () => 'ran', 2000), 'ran');
    assert.deepEqual(fs.readdirSync(d), []);
  });

  test('a lock whose holder was killed after making its pid file but before writing it (empty) is broken when old', () => {
    const d = sub();
    const lock = path.join(d, '.lock');
    fs.mkdirSync(lock);
    fs.writeFileSync(path.join(lock, 'pid'), '');
    assert.throws(() => withLock(lock, () => 'young', 100), /timed out/);
    const old = new Date(Date.now() - 60_000);
    fs.utimesSync(lock, old, old);
    assert.equal(withLock(lock, () => 'ran', 2000), 'ran');
    assert.deepEqual(fs.readdirSync(d), []);
  });

  test('a lock without a pid file is waited for while young, broken when old', () => {
    const d = sub();
    const lock = path.join(d, '.lock');
    fs.mkdirSync(lock);
    assert.throws(() => withLock(lock, () => 'young', 100), /timed out/);
    const old = new Date(Date.now() - 60_000);
    fs.utimesSync(lock, old, old);
    assert.equal(withLock(lock, () => 'old', 2000), 'old');
    assert.deepEqual(fs.readdirSync(d), []);
  });

  test('two processes never hold the lock at once (read-modify-write under it loses nothing)', async () => {
    const d = sub();
    const lock = path.join(d, '.lock');
    const counter = path.join(d, 'counter');
    const log = path.join(d, 'log');
    const go = path.join(d, 'go');
    fs.writeFileSync(counter, '0');
    fs.writeFileSync(log, '');
    const N = 40;
    // Each child increments the counter N times under the lock, sleeping
    // between its read and its write so that a second holder would lose an
    // update, and logs when it enters and leaves.
    const child = path.join(d, 'child.mjs');
    fs.writeFileSync(
      child,
      `import fs from 'node:fs';
const { withLock } = await import(${JSON.stringify(pathToFileURL(path.join(REPO, 'runtime/core/files.ts')).href)});
const [lock, counter, log, go, n] = process.argv.slice(2);
const nap = new Int32Array(new SharedArrayBuffer(4));
process.stdout.write('ready\\n');
while (!fs.existsSync(go)) Atomics.wait(nap, 0, 0, 2);
for (let i = 0; i < Number(n); i++) {
  withLock(lock, () => {
    fs.appendFileSync(log, process.pid + ' enter\\n');
    const v = Number(fs.readFileSync(counter, 'utf8'));
    Atomics.wait(nap, 0, 0, 1);
    fs.writeFileSync(counter, String(v + 1));
    fs.appendFileSync(log, process.pid + ' leave\\n');
  });
}
`,
    );
    const kids = [0, 1].map(() => {
      const p = spawn(process.execPath, ['--import', 'tsx', child, lock, counter, log, go, String(N)], { cwd: REPO, stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      p.stdout!.on('data', (c) => (out += c));
      const done = new Promise<number | null>((resolve) => p.on('close', (code) => resolve(code)));
      return { p, ready: () => out.includes('ready'), done };
    });
    try {
      const end = Date.now() + 20_000;
      while (!kids.every((k) => k.ready())) {
        assert.ok(Date.now() < end, 'the children did not start');
        await new Promise((r) => setTimeout(r, 10));
      }
      fs.writeFileSync(go, '');
      assert.deepEqual(await Promise.all(kids.map((k) => k.done)), [0, 0]);
    } finally {
      for (const k of kids) if (k.p.exitCode === null) k.p.kill('SIGKILL');
    }
    assert.equal(Number(fs.readFileSync(counter, 'utf8')), 2 * N, 'an update was lost: two holders at once');
    const lines = fs.readFileSync(log, 'utf8').trim().split('\n');
    assert.equal(lines.length, 4 * N);
    const pids = new Set<string>();
    for (let i = 0; i < lines.length; i += 2) {
      const [p1, what1] = lines[i].split(' ');
      const [p2, what2] = lines[i + 1].split(' ');
      assert.deepEqual([what1, what2, p1], ['enter', 'leave', p2], `overlap at log line ${i + 1}`);
      pids.add(p1);
    }
    assert.equal(pids.size, 2, 'both processes took the lock');
    assert.equal(fs.existsSync(lock), false);
  });
});

describe('withLockIfFree and holdLock (the owner lock of chapter 5)', () => {
  test('a lock whose holder PID now belongs to another process (its start time differs) is broken', () => {
    const d = sub();
    const lock = path.join(d, '.owner');
    fs.mkdirSync(lock);
    // This test's own PID is alive, but the process that started at tick 1 is not it.
    fs.writeFileSync(path.join(lock, 'pid'), `${process.pid}.1`);
    let ran = false;
    assert.equal(withLockIfFree(lock, () => (ran = true)), true);
    assert.equal(ran, true);
    assert.deepEqual(fs.readdirSync(d), []);
  });

  test('a lock held by a live process: fn does not run, the lock stays', () => {
    const d = sub();
    const lock = path.join(d, '.owner');
    const letGo = holdLock(lock);
    let ran = false;
    assert.equal(withLockIfFree(lock, () => (ran = true)), false);
    assert.equal(ran, false);
    // The holder is named by PID and start time (selfStamp).
    assert.match(fs.readFileSync(path.join(lock, 'pid'), 'utf8'), new RegExp(`^${process.pid}\\.\\d+$`));
    letGo();
    assert.deepEqual(fs.readdirSync(d), []);
  });

  test('a free lock, or one whose holder is dead: fn runs under it, and the lock goes', () => {
    const d = sub();
    const lock = path.join(d, '.owner');
    let held = false;
    assert.equal(withLockIfFree(lock, () => (held = fs.existsSync(lock))), true);
    assert.equal(held, true);
    fs.mkdirSync(lock);
    fs.writeFileSync(path.join(lock, 'pid'), String(deadPid()));
    assert.equal(withLockIfFree(lock, () => {}), true);
    assert.deepEqual(fs.readdirSync(d), []);
  });

  test('a lock whose directory is gone (the container was removed meanwhile): false, no error', () => {
    assert.equal(withLockIfFree(path.join(sub(), 'gone', '.owner'), () => assert.fail('ran')), false);
  });
});
