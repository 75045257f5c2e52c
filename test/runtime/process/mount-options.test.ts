// OCI mount options → mount(2)'s flags, propagation and data string.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { flagNames, parseMountOptions } from '../../../runtime/process/mount-options.js';
import { MS } from '../../../runtime/sys/libc.js';
import { DEFAULT_MOUNTS } from '../../../runtime/process/defaults.js';

// The generic options and the bits they set, as in runc's mountPropagationMapping/flags.
const SETS: [string, number][] = [
  ['ro', MS.RDONLY], ['nosuid', MS.NOSUID], ['nodev', MS.NODEV], ['noexec', MS.NOEXEC],
  ['sync', MS.SYNCHRONOUS], ['dirsync', MS.DIRSYNC], ['remount', MS.REMOUNT], ['mand', MS.MANDLOCK],
  ['noatime', MS.NOATIME], ['nodiratime', MS.NODIRATIME], ['bind', MS.BIND], ['rbind', MS.BIND | MS.REC],
  ['relatime', MS.RELATIME], ['strictatime', MS.STRICTATIME], ['nosymfollow', MS.NOSYMFOLLOW],
];
const CLEARS: [string, number][] = [
  ['rw', MS.RDONLY], ['suid', MS.NOSUID], ['dev', MS.NODEV], ['exec', MS.NOEXEC], ['async', MS.SYNCHRONOUS],
  ['atime', MS.NOATIME], ['diratime', MS.NODIRATIME], ['norelatime', MS.RELATIME], ['nostrictatime', MS.STRICTATIME],
];
const PROPAGATIONS: [string, number][] = [
  ['private', MS.PRIVATE], ['rprivate', MS.PRIVATE | MS.REC], ['slave', MS.SLAVE], ['rslave', MS.SLAVE | MS.REC],
  ['shared', MS.SHARED], ['rshared', MS.SHARED | MS.REC], ['unbindable', MS.UNBINDABLE], ['runbindable', MS.UNBINDABLE | MS.REC],
];
const KNOWN = new Set([...SETS, ...CLEARS, ...PROPAGATIONS].map(([o]) => o));

describe('parseMountOptions', () => {
  test('each generic option sets its MS_* bit and nothing else', () => {
    for (const [o, bit] of SETS) assert.deepEqual(parseMountOptions([o]), { flags: bit, propagation: 0, data: '' }, o);
  });

  test('each propagation option goes to propagation, not flags', () => {
    for (const [o, bit] of PROPAGATIONS) assert.deepEqual(parseMountOptions([o]), { flags: 0, propagation: bit, data: '' }, o);
  });

  test('a clearing option undoes an earlier setting one; the later one wins', () => {
    assert.equal(parseMountOptions(['ro', 'rw']).flags, 0);
    assert.equal(parseMountOptions(['rw', 'ro']).flags, MS.RDONLY);
    assert.equal(parseMountOptions(['nosuid', 'noexec', 'exec']).flags, MS.NOSUID);
    for (const [o, bit] of CLEARS) assert.equal(parseMountOptions([o]).flags & bit, 0, o);
  });

  test("the default mounts' options: /dev's tmpfs and devpts", () => {
    const dev = DEFAULT_MOUNTS.find((m) => m.destination === '/dev')!;
    assert.deepEqual(parseMountOptions(dev.options), { flags: MS.NOSUID | MS.STRICTATIME, propagation: 0, data: 'mode=755,size=65536k' });
    const pts = DEFAULT_MOUNTS.find((m) => m.destination === '/dev/pts')!;
    assert.deepEqual(parseMountOptions(pts.options), { flags: MS.NOSUID | MS.NOEXEC, propagation: 0, data: 'newinstance,ptmxmode=0666,mode=0620,gid=5' });
    const sys = DEFAULT_MOUNTS.find((m) => m.destination === '/sys')!;
    assert.equal(parseMountOptions(sys.options).flags & MS.RDONLY, MS.RDONLY, '/sys is read-only');
  });

  test('a bind mount with propagation: both parts', () => {
    assert.deepEqual(parseMountOptions(['rbind', 'rprivate', 'ro']), { flags: MS.BIND | MS.REC | MS.RDONLY, propagation: MS.PRIVATE | MS.REC, data: '' });
  });

  // Chapter 7's :ro of a recursive bind: read-only, and all the way down (the init's mount_setattr).
  test('rro: read-only, and read-only all the way down', () => {
    assert.deepEqual(parseMountOptions(['rbind', 'rro', 'rprivate']), { flags: MS.BIND | MS.REC | MS.RDONLY, propagation: MS.PRIVATE | MS.REC, data: '', recursiveReadonly: true });
  });

  // Options are looked up in plain objects: a name that happens to be a
  // property of every object ("constructor", "toString") must still be taken
  // as the filesystem-specific data option it is, not silently dropped.
  test('an option named like an Object.prototype member is passed on as data', () => {
    for (const o of ['constructor', 'toString', 'valueOf', 'hasOwnProperty', '__proto__']) {
      assert.deepEqual(parseMountOptions(['nosuid', o]), { flags: MS.NOSUID, propagation: 0, data: o }, o);
    }
  });
});

describe('flagNames', () => {
  test('names the bits, and nothing for 0', () => {
    assert.deepEqual(flagNames(0), []);
    assert.deepEqual(flagNames(MS.NOSUID | MS.NODEV), ['MS_NOSUID', 'MS_NODEV']);
    assert.deepEqual(flagNames(MS.BIND | MS.REC | MS.RDONLY), ['MS_RDONLY', 'MS_BIND', 'MS_REC']);
  });
});

// --- properties -------------------------------------------------------------

/** Filesystem-specific options: "key=value" or a bare word that is not a generic one. */
const dataOption = fc
  .stringMatching(/^[a-z][a-z0-9_]{0,8}(=[A-Za-z0-9:._]{0,8})?$/)
  .filter((o) => !KNOWN.has(o) && !(o in Object.prototype));
const genericOption = fc.constantFrom(...KNOWN);

describe('parseMountOptions properties', () => {
  test('data options are passed through unchanged and in order, whatever is mixed in', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(dataOption, genericOption), { maxLength: 12 }), (opts) => {
        const data = opts.filter((o) => !KNOWN.has(o));
        assert.equal(parseMountOptions(opts).data, data.join(','));
      }),
      { numRuns: 500 },
    );
  });

  test('flags depend only on the generic options, applied left to right', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(dataOption, genericOption), { maxLength: 12 }), (opts) => {
        let want = 0;
        let prop = 0;
        for (const o of opts) {
          const s = SETS.find(([n]) => n === o);
          const c = CLEARS.find(([n]) => n === o);
          const p = PROPAGATIONS.find(([n]) => n === o);
          if (s) want |= s[1];
          else if (c) want &= ~c[1];
          else if (p) prop |= p[1];
        }
        const got = parseMountOptions(opts);
        assert.equal(got.flags, want);
        assert.equal(got.propagation, prop);
        // flagNames and the bits agree.
        const fromNames = flagNames(got.flags).reduce((acc, n) => acc | MS[n.slice(3) as keyof typeof MS], 0);
        assert.equal(fromNames, got.flags);
      }),
      { numRuns: 500 },
    );
  });
});
