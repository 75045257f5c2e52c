// propagation.ts: which mount holds a directory, read from this process's
// mountinfo, and which binds ask for the container's root to be a slave.
// (test/chapters/07-volumes/volumes.test.ts checks the propagation itself,
// for real, in a mount namespace of its own.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { mountHolding, rootPropagationFor } from '../../../runtime/volume/propagation.ts';
import type { MountPoint } from '../../../runtime/volume/model.ts';

/** The mount points of this process, as mountinfo's fifth field (no octal escapes in those tested). */
const mounts = () => fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter(Boolean).map((l) => l.split(' ')[4]);

test('mountHolding: the longest mount point above a path, through symlinks', () => {
  assert.equal(mountHolding('/proc/self').mountPoint, '/proc', '/proc/self is a symlink into /proc');
  assert.equal(mountHolding('/').mountPoint, '/');
  for (const m of mounts().filter((m) => fs.existsSync(m) && !/\\/.test(m)).slice(0, 20)) {
    const held = mountHolding(m).mountPoint;
    assert.ok(fs.realpathSync(m) === held || fs.realpathSync(m).startsWith(held === '/' ? '/' : held + '/'), `${m} → ${held}`);
  }
});

const point = (p: Partial<MountPoint>): MountPoint => ({ Type: 'bind', Name: '', Source: '/', Destination: '/x', Driver: '', Mode: '', RW: true, Propagation: 'rprivate', ...p });

test('rootPropagationFor: nothing asked, nothing changed; volumes and tmpfs never ask', () => {
  assert.equal(rootPropagationFor([]), undefined);
  assert.equal(rootPropagationFor([point({}), point({ Propagation: 'private' })]), undefined);
  assert.equal(rootPropagationFor([point({ Type: 'volume', Propagation: '' }), point({ Type: 'tmpfs', Propagation: '' })]), undefined);
});

test('rootPropagationFor: a slave or shared bind on a source that cannot give it is refused with Docker’s words', () => {
  const m = mountHolding('/proc');
  const p = point({ Source: '/proc', Propagation: 'rshared' });
  if (m.shared) assert.equal(rootPropagationFor([p]), 'rslave');
  else assert.throws(() => rootPropagationFor([p]), { message: `Error response from daemon: path /proc is mounted on /proc but it is not a shared mount` });
});
