// Chapter 3, for real, as root: the aufs server, the one process that
// answers the kernel's FUSE requests for every aufs mount of a state root.
// It serves two containers at once (one process, not one per container),
// ends with the last mount it serves, survives nothing it should not: killed
// with SIGKILL under load, the container's I/O fails (ENOTCONN) instead of
// hanging, the container ends, and the CLI's cleanup still unmounts and
// removes everything. A mount still in use when its container ends is
// detached lazily: gone from the tree at once, served until its last user
// leaves.
//
// test/run.ts runs this file with layers 1..3 (every test must pass) and
// with layers 1..2 (every test must fail: no images, no aufs).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { docklingAsync, rootOrSkip, until } from '../../helpers/dockling.ts';
import { expectCode, useStateRoot } from '../../helpers/chapter.ts';
import { finish } from '../../helpers/processes.ts';
import { serverStatus } from '../../../runtime/storage/aufs-client.ts';
import { aufs, aufsMounts, serverPids } from './helpers.ts';

const skip = rootOrSkip();
const root = useStateRoot('ch3-server');

test('one server process serves every aufs mount of the root, and ends with the last', { skip }, async () => {
  const a = docklingAsync(root(), ['run', '--rm', 'busybox', 'sh', '-c', 'touch /up; sleep 2']);
  const b = docklingAsync(root(), ['run', '--rm', 'busybox', 'sh', '-c', 'touch /up; sleep 2']);
  try {
    await until(() => aufsMounts(root()).length === 2, 20_000, 'two aufs mounts');
    const mids = aufsMounts(root()).map((m) => path.basename(m));
    await until(() => mids.every((m) => fs.existsSync(path.join(aufs(root()).diff(m), 'up'))), 20_000, 'both containers running');
    const pids = serverPids(root());
    assert.equal(pids.length, 1, `one server, not one per container: ${pids.join(', ')}`);
    // Whoever can connect can have the server serve any directory as root: the socket is root's alone.
    assert.equal(fs.statSync(aufs(root()).socket).mode & 0o077, 0, 'the socket gives group and others nothing');
    const status = await serverStatus(aufs(root()).home);
    assert.ok(status, 'the server answers on its socket');
    assert.equal(status.pid, pids[0]);
    assert.deepEqual(status.mounts.map((m) => m.target).sort(), aufsMounts(root()).sort());
    assert.ok(status.mounts.every((m) => m.branches.length === 3 && (m.requests.LOOKUP ?? 0) > 0), 'each mount: its 3 branches, and the requests it served');
    console.log(`# the aufs server's resident memory with two mounts: ${(status.rss / 2 ** 20).toFixed(1)} MiB`);
    expectCode(await a.done, 0);
    expectCode(await b.done, 0);
  } finally {
    await finish(a);
    await finish(b);
  }
  // (the leak check after each test waits for the server to end, and fails if it does not)
});

test('the server killed with SIGKILL under load: I/O fails with ENOTCONN, the container ends, cleanup leaves nothing', { skip }, async () => {
  const loop = 'i=0; while echo $i > /f$i && cat /f$i > /dev/null; do i=$((i+1)); done; echo "stopped at $i" >&2; exit 3';
  const c = docklingAsync(root(), ['run', '--rm', 'busybox', 'sh', '-c', loop]);
  try {
    await until(() => aufsMounts(root()).length === 1, 20_000, 'the aufs mount');
    const mid = path.basename(aufsMounts(root())[0]);
    await until(() => fs.readdirSync(aufs(root()).diff(mid)).length > 200, 30_000, 'the container writing files');
    const [server] = serverPids(root());
    process.kill(server, 'SIGKILL');
    const r = await finish(c, 30_000);
    assert.equal(r.timedOut, false, 'the container ended: nothing hung');
    assert.notEqual(r.code, 0);
    // A write or an open fails with ENOTCONN (or, if it was waiting for
    // the server as it died, ECONNABORTED); a program whose pages were not
    // read yet (the shell itself, or a command it starts) dies of SIGBUS
    // when it touches them: 128 + 7.
    assert.ok(/Transport endpoint is not connected|Software caused connection abort|Bus error/.test(r.stderr) || r.code === 135, `the I/O did not fail as expected: status ${r.code}, stderr ${JSON.stringify(r.stderr)}`);
    assert.deepEqual(aufsMounts(root()), [], 'the dead mount was unmounted');
    assert.ok(!fs.existsSync(aufs(root()).diff(mid)), "the container's layer was removed");
  } finally {
    await finish(c);
  }
});

test('a mount still in use when its container ends is detached at once, and served until its last user leaves', { skip }, async () => {
  const c = docklingAsync(root(), ['run', '--rm', 'busybox', 'sh', '-c', 'sleep 1']);
  let holder: ReturnType<typeof spawn> | undefined;
  try {
    await until(() => aufsMounts(root()).length === 1, 20_000, 'the aufs mount');
    // A host process with its working directory in the container's root keeps the mount busy.
    holder = spawn('sleep', ['30'], { cwd: aufsMounts(root())[0], stdio: 'ignore' });
    expectCode(await c.done, 0);
    assert.deepEqual(aufsMounts(root()), [], 'unmounted (lazily) when the container ended');
    assert.equal(serverPids(root()).length, 1, 'the server still serves the detached mount');
    holder.kill('SIGKILL');
    await until(() => serverPids(root()).length === 0, 10_000, 'the server to end with the last user of its mount');
  } finally {
    holder?.kill('SIGKILL');
    await finish(c);
  }
});
