// The tar reader and writer (chapter 4): what the writer makes, the reader
// reads back, whatever chunks the bytes arrive in; every byte is reported
// exactly once (as body or as raw), which tar-split depends on; the writer
// is deterministic; malformed input is refused with a clear TarFormatError;
// and GNU tar agrees with us in both directions.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { TarFormatError, TarReader, TarWriter, headerBlocks, type TarEntry, type TarHeader } from '../../../runtime/storage/tar.js';
import { useTempDir } from '../../helpers/temp.js';

const tmp = useTempDir('dockling-tar-');

interface Read {
  headers: TarHeader[];
  bodies: Buffer[];
  /** body and raw bytes in the order they were reported */
  replay: Buffer;
}

/** Read a whole tar, fed in pieces cut at `cuts` (byte offsets). */
function readTar(bytes: Buffer, cuts: number[] = []): Read {
  const headers: TarHeader[] = [];
  const bodies: Buffer[] = [];
  const replay: Buffer[] = [];
  let body: Buffer[] = [];
  const r = new TarReader({
    entry: (h) => headers.push(h),
    data: (c) => (body.push(Buffer.from(c)), replay.push(Buffer.from(c))),
    entryEnd: () => (bodies.push(Buffer.concat(body)), (body = [])),
    raw: (b) => replay.push(Buffer.from(b)),
  });
  let at = 0;
  for (const cut of [...cuts.filter((c) => c > 0 && c < bytes.length)].sort((a, b) => a - b).concat(bytes.length)) {
    r.write(bytes.subarray(at, cut));
    at = cut;
  }
  r.end();
  return { headers, bodies, replay: Buffer.concat(replay) };
}

function writeTar(entries: [TarEntry, Buffer?][]): Buffer {
  const out: Buffer[] = [];
  const w = new TarWriter((b) => out.push(Buffer.from(b)));
  for (const [e, body] of entries) w.add(e, body);
  w.finish();
  return Buffer.concat(out);
}

/** A header block made by hand (not by our writer): any type flag, any body, a correct checksum. */
function rawEntry(flag: string, name: string, body: Buffer | string = ''): Buffer {
  const data = Buffer.from(body);
  const b = Buffer.alloc(512);
  b.write(name, 0, 100);
  b.write('0000644\0', 100);
  b.write('0000000\0', 108);
  b.write('0000000\0', 116);
  b.write(data.length.toString(8).padStart(11, '0') + '\0', 124);
  b.write('00000000000\0', 136);
  b.write(flag, 156, 'latin1');
  b.write('ustar\x0000', 257, 'latin1');
  fixChecksum(b, 0);
  return Buffer.concat([b, data, Buffer.alloc((512 - (data.length % 512)) % 512)]);
}

function fixChecksum(tar: Buffer, at: number): void {
  tar.fill(0x20, at + 148, at + 156);
  let sum = 0;
  for (let i = at; i < at + 512; i++) sum += tar[i];
  tar.write(sum.toString(8).padStart(6, '0') + '\0 ', at + 148, 'latin1');
}

const pax = (k: string, v: string) => {
  const rest = Buffer.byteLength(k) + Buffer.byteLength(v) + 3;
  const len = rest + String(rest + String(rest).length).length;
  return `${len} ${k}=${v}\n`;
};

// --- arbitraries ---
const segment = fc.oneof(
  fc.constantFrom('a', 'bin', 'usr', 'é', '日本語', 'with space', 'x'.repeat(99), 'y'.repeat(150)),
  fc.stringMatching(/^[a-zA-Z0-9._-]{1,40}$/).filter((s) => s !== '.' && s !== '..'),
);
const name = fc.array(segment, { minLength: 1, maxLength: 4 }).map((s) => s.join('/'));
const entryArb: fc.Arbitrary<[TarEntry, Buffer]> = fc
  .record({
    name,
    type: fc.constantFrom<TarHeader['type']>('file', 'file', 'dir', 'symlink', 'hardlink', 'char', 'block', 'fifo'),
    mode: fc.integer({ min: 0, max: 0o7777 }),
    uid: fc.oneof(fc.integer({ min: 0, max: 70000 }), fc.constant(3_000_000)),
    gid: fc.oneof(fc.integer({ min: 0, max: 70000 }), fc.constant(2 ** 32 - 2)),
    mtime: fc.oneof(fc.integer({ min: 0, max: 2 ** 31 }), fc.constant(10_000_000_000)),
    linkname: fc.oneof(fc.constant(''), name, fc.constant('/' + 'z'.repeat(200))),
    devmajor: fc.integer({ min: 0, max: 4095 }),
    devminor: fc.integer({ min: 0, max: 1048575 }),
    xattrs: fc.dictionary(fc.constantFrom('user.a', 'user.ü', 'security.capability'), fc.uint8Array({ maxLength: 40 }).map((u) => Buffer.from(u)), { maxKeys: 2 }).map((d) => ({ ...d })),
    body: fc.uint8Array({ maxLength: 1500 }).map((u) => Buffer.from(u)),
  })
  .map(({ body, ...e }) => {
    const dev = e.type === 'char' || e.type === 'block';
    return [{ ...e, devmajor: dev ? e.devmajor : 0, devminor: dev ? e.devminor : 0 }, e.type === 'file' ? body : Buffer.alloc(0)];
  });

describe('TarWriter → TarReader', () => {
  test('reads back every field and body, in any chunking, and reports every byte once (property)', () => {
    fc.assert(
      fc.property(fc.array(entryArb, { maxLength: 6 }), fc.array(fc.nat({ max: 20000 }), { maxLength: 8 }), (entries, cuts) => {
        const tar = writeTar(entries);
        const r = readTar(tar, cuts);
        assert.equal(r.headers.length, entries.length);
        entries.forEach(([e, body], i) => {
          const h = r.headers[i];
          for (const k of ['name', 'type', 'mode', 'uid', 'gid', 'mtime', 'linkname', 'devmajor', 'devminor'] as const) assert.equal(h[k], e[k], k);
          assert.deepEqual(h.xattrs, e.xattrs);
          assert.equal(h.size, body.length);
          assert.ok(r.bodies[i].equals(body));
        });
        assert.ok(r.replay.equals(tar), 'body + raw bytes are the tar itself');
        assert.ok(writeTar(entries).equals(tar), 'the same entries give the same bytes');
      }),
      { numRuns: 150 },
    );
  });

  test('a short ASCII entry is one ustar block; a PAX header appears only when needed', () => {
    assert.equal(headerBlocks({ name: 'etc/passwd', type: 'file', size: 5, mode: 0o644, mtime: 1 }).length, 512);
    const split = headerBlocks({ name: 'd'.repeat(90) + '/' + 'f'.repeat(90), type: 'file' });
    assert.equal(split.length, 512, 'a long name that splits at "/" fits ustar prefix + name');
    assert.equal(split.toString('latin1', 345, 345 + 90), 'd'.repeat(90));
    const long = headerBlocks({ name: 'n'.repeat(150), type: 'file' });
    assert.equal(long[156], 'x'.charCodeAt(0));
    assert.match(long.toString('latin1', 0, 100), /^PaxHeaders\.0\/n+/);
    assert.match(long.toString('latin1', 512, 1024), new RegExp(`^${pax('path', 'n'.repeat(150)).replace(/\n/, '\\n')}`));
    assert.equal(headerBlocks({ name: 'é', type: 'file' })[156], 'x'.charCodeAt(0), 'non-ASCII names go in PAX (UTF-8)');
  });

  test('the ustar block is in POSIX form: magic "ustar\\0", version "00", empty user and group names, whole-second mtime', () => {
    const b = headerBlocks({ name: 'f', type: 'file', mtime: 1700000000.9 });
    assert.equal(b.toString('latin1', 257, 265), 'ustar\x0000');
    assert.equal(b.toString('latin1', 136, 148), '14524770400\0');
    assert.equal(b.subarray(265, 329).every((x) => x === 0), true);
  });

  test('the writer refuses a body of the wrong size', () => {
    const w = new TarWriter(() => {});
    w.entry({ name: 'f', type: 'file', size: 3 });
    assert.throws(() => w.data(Buffer.from('toolong')), /more than its 3 bytes/);
    assert.throws(() => w.finish(), /still needs 3 bytes/);
  });
});

describe('TarReader: other writers', () => {
  test("GNU 'L'/'K' long names and links, a 'g' global header (ignored), PAX mtime with a fraction", () => {
    const tar = Buffer.concat([
      rawEntry('g', 'pax_global_header', pax('comment', 'ignored')),
      rawEntry('L', '././@LongLink', 'l'.repeat(300) + '\0'),
      rawEntry('K', '././@LongLink', 't'.repeat(200) + '\0'),
      rawEntry('2', 'short'),
      rawEntry('x', 'PaxHeaders/f', pax('mtime', '1700000000.75') + pax('SCHILY.xattr.user.k', 'v')),
      rawEntry('0', 'f', 'body'),
      rawEntry('\0', 'olddir/'),
      Buffer.alloc(1024),
    ]);
    const r = readTar(tar);
    assert.deepEqual(r.headers.map((h) => [h.name, h.type, h.linkname]), [['l'.repeat(300), 'symlink', 't'.repeat(200)], ['f', 'file', ''], ['olddir/', 'dir', '']]);
    assert.equal(r.headers[1].mtime, 1700000000);
    assert.deepEqual(r.headers[1].xattrs, { 'user.k': Buffer.from('v') });
    assert.ok(r.replay.equals(tar));
  });

  test('GNU tar --format=gnu and --format=pax archives: long names, base-256 ids, trailing record padding', () => {
    const d = fs.mkdtempSync(path.join(tmp(), 'gnu-'));
    const src = path.join(d, 'src');
    const long = 'a'.repeat(120) + '/' + 'b'.repeat(120);
    fs.mkdirSync(path.join(src, long), { recursive: true });
    fs.writeFileSync(path.join(src, long, 'f'), 'x'.repeat(1000));
    fs.symlinkSync('t'.repeat(150), path.join(src, 'ln'));
    for (const format of ['gnu', 'pax']) {
      const tar = path.join(d, `${format}.tar`);
      const r = spawnSync('tar', [`--format=${format}`, '--owner=x:3000000', '--group=y:5', '-cf', tar, '-C', src, 'ln', 'a'.repeat(120)]);
      assert.equal(r.status, 0, r.stderr.toString());
      const bytes = fs.readFileSync(tar);
      assert.equal(bytes.length % 10240, 0, 'GNU tar pads to whole 10 KiB records');
      const got = readTar(bytes, [700, 5000]);
      assert.deepEqual(got.headers.map((h) => h.name.replace(/\/$/, '')), ['ln', 'a'.repeat(120), 'a'.repeat(120) + '/' + 'b'.repeat(120), long + '/f'], format);
      assert.equal(got.headers[0].linkname, 't'.repeat(150));
      assert.deepEqual([got.headers[3].uid, got.headers[3].gid, got.headers[3].size], [3_000_000, 5, 1000]);
      assert.ok(got.replay.equals(bytes), 'the record padding after the end blocks is reported as raw bytes');
    }
  });

  test('GNU tar lists what we write: 150-byte names, long link targets, big ids, non-ASCII', () => {
    const tar = writeTar([
      [{ name: 'n'.repeat(150), type: 'file', mode: 0o4755, uid: 3_000_000, gid: 7, mtime: 1700000000 }, Buffer.from('hello')],
      [{ name: 'dir/', type: 'dir', mode: 0o755 }],
      [{ name: 'dir/ünï', type: 'symlink', mode: 0o777, linkname: '/' + 'l'.repeat(150) }],
      [{ name: 'dev', type: 'char', devmajor: 1, devminor: 3, mode: 0o666 }],
    ]);
    const file = path.join(tmp(), 'ours.tar');
    fs.writeFileSync(file, tar);
    const r = spawnSync('tar', ['--numeric-owner', '-tvf', file], { encoding: 'utf8', env: { ...process.env, LC_ALL: 'C.UTF-8' } });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stderr, '');
    const lines = r.stdout.trim().split('\n');
    assert.match(lines[0], new RegExp(`^-rwsr-xr-x 3000000/7 +5 2023-11-14 \\d\\d:\\d\\d ${'n'.repeat(150)}$`));
    assert.match(lines[1], /^drwxr-xr-x .* dir\/$/);
    assert.match(lines[2], new RegExp(`^lrwxrwxrwx .* dir/ünï -> /${'l'.repeat(150)}$`));
    assert.match(lines[3], /^crw-rw-rw- 0\/0 +1,3 .* dev$/);
  });
});

describe('TarReader: malformed input', () => {
  const good = () => writeTar([[{ name: 'f', type: 'file' }, Buffer.from('x'.repeat(700))]]);
  const fails = (bytes: Buffer, re: RegExp) => assert.throws(() => readTar(bytes), (e: Error) => e instanceof TarFormatError && re.test(e.message));

  test('a bad checksum names the header offset', () => {
    const t = good();
    t[0] = 'g'.charCodeAt(0);
    fails(t, /bad header checksum at byte 0: stored \d+, computed \d+/);
  });

  test('truncated inside a body, inside a header, or before the end blocks', () => {
    const t = good();
    fails(t.subarray(0, 900), /truncated tar: the input ends inside entry "f" \(312 of its 700 bytes missing\)/);
    fails(t.subarray(0, 100), /truncated tar: the input ends inside a header block/);
    fails(t.subarray(0, 1536), /truncated tar: no end-of-archive blocks/);
    fails(Buffer.alloc(0), /truncated tar/);
  });

  test('a lone zero block before a header, a non-octal field, an unsupported type, a malformed PAX record', () => {
    const t = good();
    fails(Buffer.concat([Buffer.alloc(512), t]), /a lone zero block before the header at byte 512/);
    const bad = Buffer.from(t);
    bad.write('9999', 124);
    fixChecksum(bad, 0);
    fails(bad, /size field "9999\d*" is not an octal number/);
    fails(Buffer.concat([rawEntry('S', 'sparse'), Buffer.alloc(1024)]), /entry "sparse": unsupported type flag "S"/);
    fails(Buffer.concat([rawEntry('x', 'p', '5 path=abc\n'), rawEntry('0', 'f'), Buffer.alloc(1024)]), /malformed PAX record/);
    fails(Buffer.concat([rawEntry('x', 'p', pax('GNU.sparse.major', '1')), rawEntry('0', 'f'), Buffer.alloc(1024)]), /sparse files are not supported/);
  });

  test('after an error the reader stays failed', () => {
    const t = good();
    t[0] ^= 1;
    const r = new TarReader({ entry() {}, data() {}, entryEnd() {} });
    assert.throws(() => r.write(t), TarFormatError);
    assert.throws(() => r.write(Buffer.alloc(512)), TarFormatError);
    assert.throws(() => r.end(), TarFormatError);
  });
});
