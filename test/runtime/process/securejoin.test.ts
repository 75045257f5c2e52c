// secureJoin(root, path) must resolve a path inside root as the kernel would
// after chroot(root): no "..", absolute symlink or relative symlink may lead
// outside root. The init resolves every mount destination with it, so a
// rootfs holding `etc -> /etc` cannot make it mount over the host's /etc.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { secureJoin } from '../../../runtime/process/securejoin.js';
import { useDirectory } from '../../helpers/temp.js';

/** A temp dir holding one fresh root per case (its real path: secureJoin's results are compared with it). */
const base = useDirectory(() => fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'securejoin-test-'))));
let n = 0;

/** A fresh, empty root directory. */
function freshRoot(): string {
  const r = path.join(base(), `r${n++}`);
  fs.mkdirSync(r);
  return r;
}

/** Make dirs (ending in "/") and symlinks ("path -> target") under root. */
function build(root: string, entries: string[]): void {
  for (const e of entries) {
    const [p, target] = e.split(' -> ');
    const full = path.join(root, p);
    fs.mkdirSync(path.dirname(full), { recursive: true });
    if (target !== undefined) fs.symlinkSync(target, full);
    else fs.mkdirSync(full, { recursive: true });
  }
}

const under = (root: string, p: string) => p === root || p.startsWith(root + '/');

describe('secureJoin: examples', () => {
  test('plain paths are joined; "." and repeated slashes are ignored', () => {
    const root = freshRoot();
    build(root, ['a/b/']);
    assert.equal(secureJoin(root, '/a/b'), path.join(root, 'a/b'));
    assert.equal(secureJoin(root, 'a//./b/'), path.join(root, 'a/b'));
    assert.equal(secureJoin(root, '/'), root);
    assert.equal(secureJoin(root, ''), root);
  });

  test('".." stops at the root', () => {
    const root = freshRoot();
    build(root, ['a/']);
    assert.equal(secureJoin(root, '/../../../etc/passwd'), path.join(root, 'etc/passwd'));
    assert.equal(secureJoin(root, '/a/../../..'), root);
  });

  test('an absolute symlink is resolved from the root, not from the host', () => {
    const root = freshRoot();
    build(root, ['hostetc -> /etc', 'usr/lib/', 'lib -> /usr/lib']);
    assert.equal(secureJoin(root, '/hostetc/passwd'), path.join(root, 'etc/passwd'));
    assert.equal(secureJoin(root, '/lib/x'), path.join(root, 'usr/lib/x'));
  });

  test('a link to itself by absolute path (etc -> /etc) is a loop inside the root', () => {
    const root = freshRoot();
    build(root, ['etc -> /etc']);
    assert.throws(() => secureJoin(root, '/etc/passwd'), /too many levels of symbolic links/);
  });

  test('a relative symlink climbing out stops at the root', () => {
    const root = freshRoot();
    build(root, ['a/b/', 'a/b/up -> ../../../../..', 'a/sib -> b']);
    assert.equal(secureJoin(root, '/a/b/up/etc'), path.join(root, 'etc'));
    assert.equal(secureJoin(root, '/a/sib/up'), root);
  });

  test('a chain of symlinks is followed to its end', () => {
    const root = freshRoot();
    build(root, ['real/', 'one -> two', 'two -> /three', 'three -> real']);
    assert.equal(secureJoin(root, '/one/file'), path.join(root, 'real/file'));
  });

  test('a symlink loop is an error, not a hang', () => {
    const root = freshRoot();
    build(root, ['a -> b', 'b -> a', 'self -> self', 'deep -> deep/x']);
    for (const p of ['/a', '/b/x', '/self', '/deep']) assert.throws(() => secureJoin(root, p), /too many levels of symbolic links/, p);
  });

  test('what does not exist yet is taken as it is, under the root', () => {
    const root = freshRoot();
    assert.equal(secureJoin(root, '/dev/pts'), path.join(root, 'dev/pts'));
  });

  // The kernel (and runc's securejoin) applies ".." after a missing
  // component too: "/missing/../etc" is "/etc", so a mount destination
  // written that way must land on <root>/etc, not on <root>/missing/etc.
  test('".." after a component that does not exist is still applied', () => {
    const root = freshRoot();
    build(root, ['etc/']);
    assert.equal(secureJoin(root, '/missing/../etc'), path.join(root, 'etc'));
    assert.equal(secureJoin(root, '/missing/x/../../y'), path.join(root, 'y'));
  });
});

// --- property: random trees with hostile symlinks ---------------------------
//
// The trees are built without ever following a symlink (each parent is
// checked with lstat to be a real directory inside the root, and mkdir is
// not recursive): a generated link such as `a -> /` must never lead the
// *test* to write outside its temp directory either.

/** Make parts (a dir, or a symlink to target) under root, never through a symlink. */
function makeInside(root: string, parts: string[], target: string | null): void {
  let cur = root;
  for (const p of parts.slice(0, -1)) {
    cur = path.join(cur, p);
    try {
      if (!fs.lstatSync(cur).isDirectory()) return; // a symlink or a file: leave it
    } catch {
      fs.mkdirSync(cur);
    }
  }
  const full = path.join(cur, parts[parts.length - 1]);
  try {
    fs.lstatSync(full);
    return; // already there
  } catch {
    /* free */
  }
  if (target === null) fs.mkdirSync(full);
  else fs.symlinkSync(target, full);
}

const NAMES = ['a', 'b', 'c', 'etc', 'proc'];
const component = fc.constantFrom(...NAMES, '..', '.', '');
const relTarget = fc.array(component, { minLength: 1, maxLength: 5 }).map((c) => c.join('/') || '.');
const symlinkTarget = fc.oneof(
  relTarget,
  relTarget.map((t) => '/' + t), // absolute: must be taken from the root
  fc.constantFrom('/', '/etc', '/proc', '/..', '../..', '../../../..'),
  fc.constant('OUTSIDE'), // replaced by a real host directory outside the root
);
const entry = fc.tuple(fc.array(fc.constantFrom(...NAMES), { minLength: 1, maxLength: 3 }), fc.option(symlinkTarget, { freq: 2 }));
const unsafePath = fc.array(component, { maxLength: 8 }).chain((c) => fc.constantFrom('/', '').map((lead) => lead + c.join('/')));

describe('secureJoin: properties over random trees', () => {
  test('the result is always under the root and passes through no symlink, or a loop is reported', () => {
    const outside = path.join(base(), 'outside');
    fs.mkdirSync(path.join(outside, 'etc'), { recursive: true });
    fc.assert(
      fc.property(fc.array(entry, { maxLength: 10 }), fc.array(unsafePath, { minLength: 1, maxLength: 5 }), (entries, paths) => {
        const root = freshRoot();
        for (const [parts, target] of entries) makeInside(root, parts, target === 'OUTSIDE' ? outside : target);
        for (const p of paths) {
          let got: string;
          try {
            got = secureJoin(root, p);
          } catch (e) {
            assert.match((e as Error).message, /too many levels of symbolic links/, `secureJoin(${p}) threw something else`);
            continue;
          }
          assert.ok(under(root, got), `secureJoin(root, ${JSON.stringify(p)}) = ${got} escapes ${root}`);
          // No existing component of the result is a symlink: following the
          // result from the host side cannot leave the root either.
          const rel = path.relative(root, got);
          let cur = root;
          for (const part of rel ? rel.split('/') : []) {
            cur = path.join(cur, part);
            let st: fs.Stats;
            try {
              st = fs.lstatSync(cur);
            } catch {
              break; // the rest does not exist yet
            }
            assert.ok(!st.isSymbolicLink(), `${got} passes through the symlink ${cur}`);
          }
          // Resolving the result again changes nothing.
          assert.equal(secureJoin(root, '/' + rel), got);
        }
        fs.rmSync(root, { recursive: true, force: true });
      }),
      { numRuns: 300 },
    );
    // Nothing was made outside the roots.
    assert.deepEqual(fs.readdirSync(outside), ['etc']);
    assert.deepEqual(fs.readdirSync(path.join(outside, 'etc')), []);
  });
});
