// Chapter 4, section 5: "A container's layers" (and `rm`, which removes them).
//
// Chapter 4, for real, as root: removing containers, which chapter 4 starts
// keeping. After `rm` nothing of the container may remain: no overlay mount,
// no overlay2/<mount-id> or <mount-id>-init (nor their l/ links), no
// layerdb/mounts/<id>, no containers/<id>. A running container is refused
// without -f, and `rm -f` kills it and still leaves nothing. A container
// whose CLI was killed with SIGKILL (so it could not clean up) is reaped by
// the next `run`: its mount and layers go too.
//
// test/run.ts runs this file with layers 1..4 (every test must pass) and
// with layers 1..3 (every test must fail: there is no `rm`, `inspect` or
// layer store there).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { dockling, docklingAsync, rootOrSkip, until } from '../../helpers/dockling.ts';
import { expectCode, useStateRoot } from '../../helpers/chapter.ts';
import { mountsUnder } from '../../helpers/leaks.ts';
import { containerProcesses, finish, killQuietly } from '../../helpers/processes.ts';
import { assertNoContainerLayers, containerID, layout, ls, mountIdOf, ok, rmQuietly } from './store-helpers.ts';

const skip = rootOrSkip();
const root = useStateRoot('ch4-rm');

/** Everything a container has on disk, by path; each must be gone after rm. */
function footprint(id: string, mountID: string): string[] {
  const L = layout(root());
  const link = (d: string) => path.join(L.overlay, 'l', fs.readFileSync(path.join(L.overlay, d, 'link'), 'utf8'));
  return [
    path.join(L.overlay, mountID),
    path.join(L.overlay, `${mountID}-init`),
    link(mountID),
    link(`${mountID}-init`),
    path.join(L.mounts, id),
    path.join(root(), 'containers', id),
  ];
}

/** A process has ended: no /proc entry, or a zombie (state Z) waiting to be collected. */
function gone(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat[stat.lastIndexOf(')') + 2] === 'Z';
  } catch {
    return true;
  }
}

/** Is the container running, as `inspect` says? (Without `inspect` at all, fail at once rather than time out.) */
function running(name: string): boolean {
  const r = dockling(root(), ['inspect', '-f', '{{.State.Running}}', name]);
  if (/not a dockling command/.test(r.stderr)) throw new Error(r.stderr);
  return r.stdout.trim() === 'true';
}
const merged = (mountID: string) => path.join(layout(root()).overlay, mountID, 'merged');

test('rm removes the mount, both layers, their links, layerdb/mounts/<id> and the container dir', { skip }, () => {
  try {
    ok(root(), ['run', '--name', 'doomed', 'busybox', 'sh', '-c', 'echo x > /f']);
    ok(root(), ['run', '--name', 'doomed2', 'busybox', 'true']);
    const id = containerID(root(), 'doomed');
    const mountID = mountIdOf(root(), id)!;
    const paths = footprint(id, mountID);
    for (const p of paths) assert.ok(fs.existsSync(p), `before rm, ${p} should exist`);
    // export mounts a stopped container's root for a moment: it must unmount it again.
    ok(root(), ['export', '-o', path.join(root(), 'x.tar'), 'doomed']);
    assert.deepEqual(mountsUnder(root()), [], 'export left the root mounted');
    // Several at once; an unknown one fails (status 1) without stopping the others.
    const r = expectCode(dockling(root(), ['rm', 'doomed', 'nosuch', 'doomed2']), 1);
    assert.equal(r.stdout, 'doomed\ndoomed2\n');
    assert.equal(r.stderr, 'dockling: No such container: nosuch\n');
    for (const p of paths) assert.ok(!fs.existsSync(p), `after rm, ${p} remains`);
    assert.deepEqual(ls(path.join(root(), 'containers')), [], 'the container dirs remain');
    assert.equal(expectCode(dockling(root(), ['inspect', 'doomed']), 1).stderr, 'Error: No such object: doomed\n');
  } finally {
    rmQuietly(root(), 'doomed', 'doomed2');
  }
  assertNoContainerLayers(root());
});

test('rm of a running container refuses without -f; rm -f kills it and leaves nothing', { skip }, async () => {
  const cli = docklingAsync(root(), ['run', '--name', 'busy', 'busybox', 'sleep', '30']);
  try {
    await until(() => running('busy'), 10_000, 'the container to run');
    const id = containerID(root(), 'busy');
    const mountID = mountIdOf(root(), id)!;
    assert.ok(mountsUnder(root()).includes(merged(mountID)), 'a running container has its overlay mounted on overlay2/<mount-id>/merged');
    const paths = footprint(id, mountID);
    // diff and inspect work on a running container.
    assert.equal(ok(root(), ['diff', 'busy']), '');
    assert.equal(JSON.parse(ok(root(), ['inspect', '-f', '{{json .State}}', 'busy'])).Status, 'running');

    const refused = expectCode(dockling(root(), ['rm', 'busy']), 1);
    assert.equal(refused.stderr, 'dockling: cannot remove container "/busy": container is running: stop the container before removing or force remove\n');
    assert.ok(running('busy'), 'a refused rm must leave the container running');

    assert.equal(ok(root(), ['rm', '-f', 'busy']), 'busy\n');
    const r = await finish(cli, 10_000);
    assert.equal(r.timedOut, false, 'rm -f did not end the container');
    assert.equal(r.code, 137, 'the CLI reports the SIGKILL (128 + 9)');
    for (const p of paths) assert.ok(!fs.existsSync(p), `after rm -f, ${p} remains`);
  } finally {
    await finish(cli, 0);
    rmQuietly(root(), 'busy');
  }
  assertNoContainerLayers(root());
});

test('kill -9 of the CLI of a running container: the next run reaps it, mount and layers', { skip }, async () => {
  const cli = docklingAsync(root(), ['run', '--name', 'abandoned', 'busybox', 'sleep', '30']);
  let inside: number[] = [];
  try {
    await until(() => running('abandoned'), 10_000, 'the container to run');
    const id = containerID(root(), 'abandoned');
    const mountID = mountIdOf(root(), id)!;
    const paths = footprint(id, mountID);
    inside = containerProcesses(cli.child.pid!);
    assert.ok(inside.length > 0, 'no container process found under the CLI');
    // The CLI dies without cleaning up; then the container ends.
    cli.child.kill('SIGKILL');
    await cli.done;
    for (const pid of inside) killQuietly(pid);
    await until(() => inside.every(gone), 10_000, 'the container to end');
    assert.ok(mountsUnder(root()).includes(merged(mountID)), 'with its CLI killed, the container root is still mounted (nobody unmounted it)');
    assert.ok(paths.every((p) => fs.existsSync(p)));

    // The next run finds the abandoned container and undoes all of it.
    assert.equal(ok(root(), ['run', '--rm', 'busybox', 'echo', 'next']), 'next\n');
    assert.deepEqual(mountsUnder(root()), [], 'the abandoned mount remains');
    for (const p of paths) assert.ok(!fs.existsSync(p), `after the reap, ${p} remains`);
    assert.equal(expectCode(dockling(root(), ['inspect', 'abandoned']), 1).stderr, 'Error: No such object: abandoned\n');
  } finally {
    for (const pid of inside) killQuietly(pid);
    await finish(cli, 0);
    rmQuietly(root(), 'abandoned');
  }
  assertNoContainerLayers(root());
});

test('rm -f and rmi -f of what is not there: said, but status 0 (the docker CLI goes on past "No such …" when forced)', { skip }, () => {
  ok(root(), ['run', '--name', 'kept', 'busybox', 'true']);
  // Without -f it is an error; with -f it is skipped, and the rest still done.
  const plain = expectCode(dockling(root(), ['rm', 'nosuch']), 1);
  assert.equal(plain.stderr, 'dockling: No such container: nosuch\n');
  const forced = expectCode(dockling(root(), ['rm', '-f', 'nosuch', 'kept']), 0);
  assert.equal(forced.stdout, 'kept\n');
  assert.equal(forced.stderr, 'dockling: No such container: nosuch\n');
  assert.equal(fs.readdirSync(path.join(root(), 'containers')).filter((d) => /^[0-9a-f]{64}$/.test(d)).length, 0);
  expectCode(dockling(root(), ['rmi', 'nosuch']), 1);
  const rmi = expectCode(dockling(root(), ['rmi', '-f', 'nosuch:1']), 0);
  assert.deepEqual([rmi.stdout, rmi.stderr], ['', 'dockling: No such image: nosuch:1\n']);
});

test('stats --no-stream of a kept (stopped) container: a row of zeros, as docker stats shows one', { skip }, () => {
  ok(root(), ['run', '--name', 'idle', 'busybox', 'true']);
  try {
    const r = expectCode(dockling(root(), ['stats', '--no-stream', 'idle']), 0);
    const [head, row, ...rest] = r.stdout.trimEnd().split('\n');
    assert.match(head, /^CONTAINER ID\s+NAME\s+CPU %\s+MEM USAGE \/ LIMIT\s+MEM %\s+NET I\/O\s+BLOCK I\/O\s+PIDS$/);
    assert.deepEqual(rest, []);
    assert.match(row, /^[0-9a-f]{12}\s+idle\s+0\.00%\s+0B \/ 0B\s+0\.00%\s+0B \/ 0B\s+0B \/ 0B\s+0$/);
    expectCode(dockling(root(), ['stats', '--no-stream', 'nosuch']), 1);
  } finally {
    rmQuietly(root(), 'idle');
  }
});
