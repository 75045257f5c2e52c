// The mount flags' parsers (runtime/volume/parse.ts) against Docker 28's
// rules: -v as the docker CLI splits it and moby's ParseMountRaw reads it,
// --mount as the CLI's MountOpt and moby's ValidateMountConfig check it,
// --tmpfs, --volumes-from. The CLI-side messages in the tables were checked
// against the docker 28.2.2 CLI (`docker run --mount … busybox` prints them
// before it talks to a daemon); the daemon-side ones are moby v28.2.2's
// wording. Examples first, then properties. Bind sources that must exist
// are made in a temp directory, removed after each test.
import { test, describe, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { RunError } from '../../../runtime/core/pipeline.js';
import {
  cleanPath, parseMountFlag, parseTmpfsFlag, parseVolumeFlag, parseVolumesFrom, ramInBytes, readCsvRecord, tmpfsOptions,
} from '../../../runtime/volume/parse.js';
import { volumeNameProblem } from '../../../runtime/volume/store.js';
import type { MountRequest } from '../../../runtime/volume/model.js';
import { runError } from '../../helpers/run-error.ts';

/** The fields a test compares: everything but `from`, which is checked on its own. */
const fields = (r: MountRequest) => {
  const { from: _from, ...rest } = r;
  return rest;
};
const DAEMON = 'Error response from daemon: ';
const NAME_CHARS = 'only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host directory, use absolute path';

let tmp: string;
beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'volume-parse-'));
});
afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('-v/--volume', () => {
  test('the three forms: anonymous, named, bind; options in the third field', () => {
    assert.deepEqual(fields(parseVolumeFlag('/data')), { type: 'volume', source: '', destination: '/data', readOnly: false, mode: '' });
    assert.deepEqual(fields(parseVolumeFlag('notes:/data')), { type: 'volume', source: 'notes', destination: '/data', readOnly: false, mode: '' });
    assert.deepEqual(fields(parseVolumeFlag('notes:/data:ro')), { type: 'volume', source: 'notes', destination: '/data', readOnly: true, mode: 'ro' });
    assert.deepEqual(fields(parseVolumeFlag('notes:/data:nocopy,z')), { type: 'volume', source: 'notes', destination: '/data', readOnly: false, mode: 'nocopy,z', noCopy: true });
    assert.deepEqual(fields(parseVolumeFlag('/srv/www:/usr/share/html:ro,rshared,Z,cached')), {
      type: 'bind', source: '/srv/www', destination: '/usr/share/html', readOnly: true, mode: 'ro,rshared,Z,cached', propagation: 'rshared', createSource: true,
    });
    assert.deepEqual(fields(parseVolumeFlag('/srv:/srv:rw')), { type: 'bind', source: '/srv', destination: '/srv', readOnly: false, mode: 'rw', propagation: 'rprivate', createSource: true });
    assert.deepEqual(parseVolumeFlag('/srv:/srv').from, { flag: 'volume', text: '/srv:/srv' });
  });

  test('paths are cleaned as Go\'s path.Clean: dots, double slashes and a trailing slash go', () => {
    const r = parseVolumeFlag('/h/../x//y/:/d/./e/');
    assert.equal(r.source, '/x/y');
    assert.equal(r.destination, '/d/e');
    assert.equal(parseVolumeFlag('/data/').destination, '/data');
  });

  test('a source starting with "." is made absolute from the current directory, as the docker CLI has done since 23.0', () => {
    assert.deepEqual(fields(parseVolumeFlag('./src:/src:ro', '/home/me/project')), {
      type: 'bind', source: '/home/me/project/src', destination: '/src', readOnly: true, mode: 'ro', propagation: 'rprivate', createSource: true,
    });
    assert.equal(parseVolumeFlag('.:/w', '/home/me').source, '/home/me');
    assert.equal(parseVolumeFlag('..:/w', '/home/me').source, '/home');
    assert.equal(parseVolumeFlag('.cache:/w', '/home/me').source, '/home/me/.cache');
    assert.equal(parseVolumeFlag('./src:/src').source, path.join(process.cwd(), 'src'), 'the process\'s directory by default');
    // The message names what the daemon was sent: the absolute path.
    assert.equal(runError(() => parseVolumeFlag('./x:/', '/w')).message, `${DAEMON}invalid volume specification: '/w/x:/': invalid mount config for type "bind": invalid specification: destination can't be '/'`);
  });

  // [input, message]: docker-cli's spec loader first (bare messages), then moby's parser ("Error response from daemon: ").
  const refused: [string, string][] = [
    ['', 'invalid empty volume spec'],
    [':/x', 'invalid spec: :/x: empty section between colons'],
    ['/a:/b:', 'invalid spec: /a:/b:: empty section between colons'],
    ['/a::/b', 'invalid spec: /a::/b: empty section between colons'],
    ['/a:/b:ro:x', 'invalid spec: /a:/b:ro:x: too many colons'],
    ['/x:/y:ro:', 'invalid spec: /x:/y:ro:: too many colons'],
    // a relative name that is not a name: the local driver's rule
    ['~/x:/data', `${DAEMON}create ~/x: "~/x" includes invalid characters for a local volume name, ${NAME_CHARS}`],
    ['x/y:/data', `${DAEMON}create x/y: "x/y" includes invalid characters for a local volume name, ${NAME_CHARS}`],
    ['-x:/data', `${DAEMON}create -x: "-x" includes invalid characters for a local volume name, ${NAME_CHARS}`],
    ['n:/d:nocopy,ro,z', `${DAEMON}create n: volume name is too short, names should be at least two alphanumeric characters`],
    // the options
    ['/d:ro', `${DAEMON}invalid volume specification: '/d:ro'`],
    ['/d:z', `${DAEMON}invalid volume specification: '/d:z'`],
    ['x:/y:z:w', `${DAEMON}invalid volume specification: 'x:/y:z:w'`],
    ['/a:/b:ro,rw', `${DAEMON}invalid mode: ro,rw`],
    ['/a:/b:shared,slave', `${DAEMON}invalid mode: shared,slave`],
    ['vol:/b:bogus', `${DAEMON}invalid mode: bogus`],
    ['vol:/b:RO', `${DAEMON}invalid mode: RO`],
    ['vol:/d:rshared', `${DAEMON}invalid volume specification: 'vol:/d:rshared': invalid mount config for type "volume": field BindOptions must not be specified`],
    ['/h:/d:nocopy', `${DAEMON}invalid volume specification: '/h:/d:nocopy': invalid mount config for type "bind": field VolumeOptions must not be specified`],
    // the destination
    ['vol:data', `${DAEMON}invalid volume specification: 'vol:data': invalid mount config for type "volume": invalid mount path: 'data' mount path must be absolute`],
    ['/h:/', `${DAEMON}invalid volume specification: '/h:/': invalid mount config for type "bind": invalid specification: destination can't be '/'`],
    ['vol:/a/..', `${DAEMON}invalid volume specification: 'vol:/a/..': invalid mount config for type "volume": invalid specification: destination can't be '/'`],
    ['a::ro', `${DAEMON}invalid volume specification: 'a::ro': invalid mount config for type "volume": field Target must not be empty`],
    ['data', `${DAEMON}invalid volume specification: 'data': invalid mount config for type "volume": invalid mount path: 'data' mount path must be absolute`],
    ['/', `${DAEMON}invalid volume specification: '/': invalid mount config for type "volume": invalid specification: destination can't be '/'`],
    ['vol:\\data', `${DAEMON}invalid volume specification: 'vol:\\data': invalid mount config for type "volume": invalid mount path: '\\data' mount path must be absolute (on Linux the separator is "/", not "\\")`],
    // Windows paths: the CLI keeps a drive letter's colon, the daemon on Linux splits at every colon
    ['c:\\x:/data', `${DAEMON}invalid mode: /data`],
    ['C:/x:/data', `${DAEMON}invalid mode: /data`],
    ['C:/x:/data:ro', `${DAEMON}invalid volume specification: 'C:/x:/data:ro'`],
    ['C:/x', `${DAEMON}invalid volume specification: 'C:/x': invalid mount config for type "volume": invalid mount path: 'C:/x' mount path must be absolute`],
    ['c:\\x', `${DAEMON}invalid volume specification: 'c:\\x': invalid mount config for type "volume": invalid mount path: 'c:/x' mount path must be absolute`],
    ['\\\\host\\share:/d', `${DAEMON}create \\\\host\\share: "\\\\\\\\host\\\\share" includes invalid characters for a local volume name, ${NAME_CHARS}`],
  ];
  for (const [input, message] of refused) {
    test(`refused: ${JSON.stringify(input)}`, () => {
      const e = runError(() => parseVolumeFlag(input, '/w'));
      assert.equal(e.code, 125);
      assert.equal(e.message, message);
    });
  }
});

describe('--mount', () => {
  test('a volume: type defaults to volume; keys in any case and order; labels and driver options repeat', () => {
    assert.deepEqual(fields(parseMountFlag('src=notes,dst=/data')), { type: 'volume', source: 'notes', destination: '/data', readOnly: false, mode: '' });
    assert.deepEqual(fields(parseMountFlag('Target=/data/,TYPE=Volume,source=notes,ro,volume-nocopy,volume-label=a=1,volume-label=b=x=y,volume-opt=type=tmpfs,volume-opt=device=tmpfs,volume-driver=local')), {
      type: 'volume', source: 'notes', destination: '/data', readOnly: true, mode: '', noCopy: true,
      volumeLabels: { a: '1', b: 'x=y' }, volumeOptions: { type: 'tmpfs', device: 'tmpfs' },
    });
    assert.deepEqual(fields(parseMountFlag('type=volume,destination=/cache')), { type: 'volume', source: '', destination: '/cache', readOnly: false, mode: '' });
    assert.equal(parseMountFlag('dst=/x,src=vv,readonly=false,consistency=delegated').readOnly, false);
    assert.equal(parseMountFlag('dst=/x,src=vv,volume-nocopy=false').noCopy, undefined);
    assert.deepEqual(parseMountFlag('dst=/x,src=vv').from, { flag: 'mount', text: 'dst=/x,src=vv' });
  });

  test('a bind: its source must exist (--mount never makes it); propagation and bind-recursive are kept', () => {
    assert.deepEqual(fields(parseMountFlag(`type=bind,src=${tmp}/,dst=/src,readonly=1,bind-propagation=RSLAVE`)), {
      type: 'bind', source: tmp, destination: '/src', readOnly: true, mode: '', propagation: 'rslave', createSource: false,
    });
    assert.equal(parseMountFlag(`type=bind,src=${tmp},dst=/src`).propagation, 'rprivate');
    assert.equal(parseMountFlag(`type=bind,src=${tmp},dst=/src,bind-nonrecursive`).bindRecursive, 'disabled');
    assert.equal(parseMountFlag(`type=bind,src=${tmp},dst=/src,bind-recursive=disabled`).bindRecursive, 'disabled');
    assert.equal(parseMountFlag(`type=bind,src=${tmp},dst=/src,bind-recursive=writable,ro`).bindRecursive, 'writable');
    assert.equal(parseMountFlag(`type=bind,src=${tmp},dst=/src,bind-recursive=enabled`).bindRecursive, undefined);
    // "." sources are made absolute by the CLI, as for -v
    fs.mkdirSync(path.join(tmp, 'here'));
    assert.equal(parseMountFlag('type=bind,src=./here,dst=/h', tmp).source, path.join(tmp, 'here'));
    // a file may be bound too
    fs.writeFileSync(path.join(tmp, 'f'), '');
    assert.equal(parseMountFlag(`type=bind,src=${tmp}/f,dst=/etc/f`).source, `${tmp}/f`);
    // a quoted field keeps its comma
    fs.mkdirSync(path.join(tmp, 'a,b'));
    assert.equal(parseMountFlag(`type=bind,"src=${tmp}/a,b",dst=/ab`).source, `${tmp}/a,b`);
  });

  test('a bind source that is missing, or under a file: the daemon\'s refusal', () => {
    assert.equal(runError(() => parseMountFlag(`type=bind,src=${tmp}/nope,dst=/x`)).message,
      `${DAEMON}invalid mount config for type "bind": bind source path does not exist: ${tmp}/nope`);
    fs.writeFileSync(path.join(tmp, 'f'), '');
    assert.equal(runError(() => parseMountFlag(`type=bind,src=${tmp}/f/x,dst=/x`)).message,
      `${DAEMON}invalid mount config for type "bind": stat ${tmp}/f/x: not a directory`);
    assert.equal(fs.existsSync(path.join(tmp, 'nope')), false, 'nothing is made');
  });

  test('a tmpfs: Docker\'s defaults, then size (in the largest unit that divides it), mode in octal, ro', () => {
    assert.deepEqual(fields(parseMountFlag('type=tmpfs,dst=/scratch,tmpfs-size=16m,tmpfs-mode=1770')), {
      type: 'tmpfs', source: '', destination: '/scratch', readOnly: false, mode: '', tmpfsOptions: ['noexec', 'nosuid', 'nodev', 'rprivate', 'mode=1770', 'size=16m'],
    });
    assert.deepEqual(parseMountFlag('type=tmpfs,dst=/s').tmpfsOptions, ['noexec', 'nosuid', 'nodev', 'rprivate']);
    assert.deepEqual(parseMountFlag('type=tmpfs,dst=/s,ro,tmpfs-size=1.5k').tmpfsOptions, ['noexec', 'nosuid', 'nodev', 'rprivate', 'ro', 'size=1536']);
    assert.deepEqual(parseMountFlag('type=tmpfs,dst=/s,tmpfs-size=2g').tmpfsOptions?.at(-1), 'size=2g');
    assert.deepEqual(parseMountFlag('type=tmpfs,dst=/s,tmpfs-size=3072').tmpfsOptions?.at(-1), 'size=3k');
    assert.deepEqual(parseMountFlag('type=tmpfs,dst=/s,tmpfs-size=0').tmpfsOptions, ['noexec', 'nosuid', 'nodev', 'rprivate'], '0: no size');
    assert.equal(parseMountFlag('type=tmpfs,dst=/s,ro').readOnly, true);
  });

  // [input, message]. The CLI's (checked against docker 28.2.2), then the daemon's.
  const cli = (input: string, why: string) => `invalid argument ${JSON.stringify(input)} for "--mount" flag: ${why}`;
  const refused: [string, string][] = [
    ['foo', cli('foo', "invalid field 'foo' must be a key=value pair")],
    ['', cli('', 'EOF')],
    ['type=bind', cli('type=bind', 'target is required')],
    ['type=,dst=/x', cli('type=,dst=/x', 'type is required')],
    ['target=', cli('target=', 'target is required')],
    ['bogus=1', cli('bogus=1', "unexpected key 'bogus' in 'bogus=1'")],
    [' dst=/x', cli(' dst=/x', "unexpected key ' dst' in ' dst=/x'")],
    ['dst=/x,, ', cli('dst=/x,, ', "invalid field '' must be a key=value pair")],
    ['type=bind,bind-create-src', cli('type=bind,bind-create-src', "invalid field 'bind-create-src' must be a key=value pair")],
    ['type=bind,bind-create-src=1', cli('type=bind,bind-create-src=1', "unexpected key 'bind-create-src' in 'bind-create-src=1'")],
    ['dst=/x,readonly=maybe', cli('dst=/x,readonly=maybe', 'invalid value for readonly: maybe')],
    ['dst=/x,RO=yes', cli('dst=/x,RO=yes', 'invalid value for ro: yes')],
    ['dst=/x,volume-nocopy=no', cli('dst=/x,volume-nocopy=no', 'invalid value for volume-nocopy: no')],
    ['dst=/x,type=bind,bind-nonrecursive=maybe', cli('dst=/x,type=bind,bind-nonrecursive=maybe', 'invalid value for bind-nonrecursive: maybe')],
    ['dst=/x,type=bind,bind-recursive=bogus', cli('dst=/x,type=bind,bind-recursive=bogus', 'invalid value for bind-recursive: bogus (must be "enabled", "disabled", "writable", or "readonly")')],
    ['dst=/x,type=bind,bind-recursive=writable', cli('dst=/x,type=bind,bind-recursive=writable', "option 'bind-recursive=writable' requires 'readonly' to be specified in conjunction")],
    ['dst=/x,type=bind,bind-recursive=readonly,ro', cli('dst=/x,type=bind,bind-recursive=readonly,ro', "option 'bind-recursive=readonly' requires 'bind-propagation=rprivate' to be specified in conjunction")],
    ['type=tmpfs,dst=/x,tmpfs-size=abc', cli('type=tmpfs,dst=/x,tmpfs-size=abc', 'invalid value for tmpfs-size: abc')],
    ['type=tmpfs,dst=/x,tmpfs-size=-5', cli('type=tmpfs,dst=/x,tmpfs-size=-5', 'invalid value for tmpfs-size: -5')],
    ['type=tmpfs,dst=/x,tmpfs-size=5kbb', cli('type=tmpfs,dst=/x,tmpfs-size=5kbb', 'invalid value for tmpfs-size: 5kbb')],
    ['type=tmpfs,dst=/x,tmpfs-mode=8', cli('type=tmpfs,dst=/x,tmpfs-mode=8', 'invalid value for tmpfs-mode: 8')],
    ['type=tmpfs,dst=/x,tmpfs-mode=', cli('type=tmpfs,dst=/x,tmpfs-mode=', 'invalid value for tmpfs-mode: ')],
    ['type=tmpfs,dst=/x,tmpfs-mode=40000000000', cli('type=tmpfs,dst=/x,tmpfs-mode=40000000000', 'invalid value for tmpfs-mode: 40000000000')],
    ['dst=/x,type=volume,tmpfs-mode=1', cli('dst=/x,type=volume,tmpfs-mode=1', "cannot mix 'tmpfs-*' options with mount type 'volume'")],
    ['dst=/x,type=bind,volume-nocopy', cli('dst=/x,type=bind,volume-nocopy', "cannot mix 'volume-*' options with mount type 'bind'")],
    ['dst=/x,type=tmpfs,bind-propagation=shared', cli('dst=/x,type=tmpfs,bind-propagation=shared', "cannot mix 'bind-*' options with mount type 'tmpfs'")],
    ['dst=/x,type=volume,image-subpath=a', cli('dst=/x,type=volume,image-subpath=a', "cannot mix 'image-*' options with mount type 'volume'")],
    // Go's encoding/csv
    ['"a', cli('"a', 'parse error on line 1, column 3: extraneous or missing " in quoted-field')],
    ['"a\nb', cli('"a\nb', 'record on line 1; parse error on line 2, column 2: extraneous or missing " in quoted-field')],
    ['a"b', cli('a"b', 'parse error on line 1, column 2: bare " in non-quoted-field')],
    ['"a"b', cli('"a"b', 'parse error on line 1, column 3: extraneous or missing " in quoted-field')],
    ['"a","b', cli('"a","b', 'parse error on line 1, column 7: extraneous or missing " in quoted-field')],
    ['\n\ntype=tmpfs,dst=/x"', cli('\n\ntype=tmpfs,dst=/x"', 'parse error on line 3, column 18: bare " in non-quoted-field')],
    // the daemon's
    ['dst=/,type=volume', `${DAEMON}invalid mount config for type "volume": invalid specification: destination can't be '/'`],
    ['dst=rel,type=volume', `${DAEMON}invalid mount config for type "volume": invalid mount path: 'rel' mount path must be absolute`],
    ['dst=C:\\x,type=volume', `${DAEMON}invalid mount config for type "volume": invalid mount path: 'C:/x' mount path must be absolute`],
    ['dst=/x,type=bind', `${DAEMON}invalid mount config for type "bind": field Source must not be empty`],
    ['dst=/x,type=bind,src=rel', `${DAEMON}invalid mount config for type "bind": invalid mount path: 'rel' mount path must be absolute`],
    ['dst=/x,type=bind,src=C:\\x', `${DAEMON}invalid mount config for type "bind": invalid mount path: 'C:/x' mount path must be absolute`],
    ['dst=/x,type=bind,src=/tmp,bind-propagation=bogus', `${DAEMON}invalid mount config for type "bind": invalid propagation mode: bogus`],
    ['dst=/x,type=tmpfs,src=a', `${DAEMON}invalid mount config for type "tmpfs": field Source must not be specified`],
    ['dst=/x,ro', `${DAEMON}invalid mount config for type "volume": must not set ReadOnly mode when using anonymous volumes`],
    ['dst=/x,type=volume,volume-subpath=a', `${DAEMON}invalid mount config for type "volume": must not set Subpath when using anonymous volumes`],
    ['dst=/x,src=vv,volume-subpath=../a', `${DAEMON}invalid mount config for type "volume": subpath must be a relative path within the volume`],
    ['dst=/x,src=vv,volume-subpath=a', `${DAEMON}invalid mount config for type "volume": volume-subpath is not supported by dockling: mount the whole volume`],
    ['dst=/x,type=npipe', `${DAEMON}invalid mount config for type "npipe": mount type unknown`],
    ['dst=/x,type=xx', `${DAEMON}invalid mount config for type "xx": mount type unknown`],
    ['dst=/x,type=image,src=busybox', `${DAEMON}invalid mount config for type "image": image mounts are not supported by dockling: use a volume, or a bind of a directory`],
    ['dst=/x,src=a b', `${DAEMON}create a b: "a b" includes invalid characters for a local volume name, ${NAME_CHARS}`],
    ['dst=/x,src=/abs', `${DAEMON}create /abs: "/abs" includes invalid characters for a local volume name, ${NAME_CHARS}`],
    ['dst=/x,src=v', `${DAEMON}create v: volume name is too short, names should be at least two alphanumeric characters`],
    ['dst=/x,src=vv,volume-driver=nfs', `${DAEMON}create vv: error looking up volume plugin nfs: plugin "nfs" not found`],
  ];
  for (const [input, message] of refused) {
    test(`refused: ${JSON.stringify(input)}`, () => {
      const e = runError(() => parseMountFlag(input, '/w'));
      assert.equal(e.code, 125);
      assert.equal(e.message, message);
    });
  }
});

describe('--tmpfs', () => {
  test('PATH[:OPTIONS], Docker\'s defaults first, the later of two winning', () => {
    assert.deepEqual(fields(parseTmpfsFlag('/run:exec,size=1m,mode=700')), {
      type: 'tmpfs', source: '', destination: '/run', readOnly: false, mode: '', tmpfsOptions: ['nosuid', 'nodev', 'rprivate', 'exec', 'size=1m', 'mode=700'],
    });
    assert.deepEqual(fields(parseTmpfsFlag('/tmp/')), { type: 'tmpfs', source: '', destination: '/tmp', readOnly: false, mode: '', tmpfsOptions: ['noexec', 'nosuid', 'nodev', 'rprivate'] });
    assert.equal(parseTmpfsFlag('/t:ro').readOnly, true);
    assert.equal(parseTmpfsFlag('/t:ro,rw').readOnly, false);
    assert.deepEqual(parseTmpfsFlag('/t:shared').tmpfsOptions, ['noexec', 'nosuid', 'nodev', 'shared']);
    assert.deepEqual(tmpfsOptions('defaults,size=1m,size=2m'), ['noexec', 'nosuid', 'nodev', 'rprivate', 'size=2m']);
  });
  const refused: [string, string][] = [
    ['tmp', "invalid mount path: 'tmp' mount path must be absolute"],
    ['/', "invalid specification: destination can't be '/'"],
    ['/a/..', "invalid specification: destination can't be '/'"],
    ['/tmp:bogus', 'invalid tmpfs option ["bogus"] in --tmpfs "/tmp:bogus" (flags like ro, noexec, or size=, mode=, uid=, gid=, nr_inodes=, nr_blocks=, mpol=)'],
    ['/tmp:color=red', 'invalid tmpfs option ["color" "red"] in --tmpfs "/tmp:color=red" (flags like ro, noexec, or size=, mode=, uid=, gid=, nr_inodes=, nr_blocks=, mpol=)'],
  ];
  for (const [input, message] of refused) {
    test(`refused: ${JSON.stringify(input)} (chapter 11's messages)`, () => assert.equal(runError(() => parseTmpfsFlag(input)).message, message));
  }
});

describe('--volumes-from', () => {
  test('C, C:ro, C:rw, with z or a consistency', () => {
    assert.deepEqual(parseVolumesFrom('c1'), { container: 'c1', readOnly: undefined });
    assert.deepEqual(parseVolumesFrom('c1:ro'), { container: 'c1', readOnly: true });
    assert.deepEqual(parseVolumesFrom('c1:rw'), { container: 'c1', readOnly: false });
    assert.deepEqual(parseVolumesFrom('c1:ro,z'), { container: 'c1', readOnly: true });
    assert.deepEqual(parseVolumesFrom('c1:Z'), { container: 'c1', readOnly: undefined });
    assert.deepEqual(parseVolumesFrom('c1:'), { container: 'c1', readOnly: undefined });
  });
  const refused: [string, string][] = [
    ['', 'volumes-from specification cannot be an empty string'],
    ['c1:bogus', 'invalid mode: bogus'],
    ['c1:ro,rw', 'invalid mode: ro,rw'],
    ['c1:ro:x', 'invalid mode: ro:x'],
    ['c1:shared', 'invalid mode: shared'],
    ['c1:nocopy', 'invalid mode: nocopy'],
    [':ro', 'invalid name or ID supplied: ""'],
  ];
  for (const [input, message] of refused) {
    test(`refused: ${JSON.stringify(input)}`, () => assert.equal(runError(() => parseVolumesFrom(input)).message, DAEMON + message));
  }
});

describe('the pieces', () => {
  test('Go\'s encoding/csv, first record', () => {
    assert.deepEqual(readCsvRecord('a,b'), ['a', 'b']);
    assert.deepEqual(readCsvRecord('"a,b",c'), ['a,b', 'c']);
    assert.deepEqual(readCsvRecord('"say ""hi""",x'), ['say "hi"', 'x']);
    assert.deepEqual(readCsvRecord('a,'), ['a', '']);
    assert.deepEqual(readCsvRecord('"a",'), ['a', '']);
    assert.deepEqual(readCsvRecord('\n\na,b\nc'), ['a', 'b'], 'empty lines skipped, one record');
    assert.deepEqual(readCsvRecord('x\r\n'), ['x']);
    assert.deepEqual(readCsvRecord('"a\nb",c'), ['a\nb', 'c'], 'a quoted field goes over lines');
  });

  test('go-units RAMInBytes, as docker-cli 28 has it', () => {
    const ok: [string, number][] = [
      ['0', 0], ['5', 5], ['5b', 5], ['5B', 5], ['1k', 1024], ['1K', 1024], ['1kb', 1024], ['1KiB', 1024], ['16m', 16 * 2 ** 20],
      ['2g', 2 * 2 ** 30], ['1t', 2 ** 40], ['1p', 2 ** 50], ['1.5k', 1536], ['5 k', 5120], ['5 ', 5], ['1e3', 1000], ['+5', 5], ['.5k', 512], ['5.', 5],
    ];
    for (const [s, n] of ok) assert.equal(ramInBytes(s), n, s);
    for (const s of ['', 'abc', '-5', '5kbb', '5x', '5kb ', ' 5', '1.2.3', 'k', '5 5', '1e400', '99999999999p']) assert.equal(ramInBytes(s), null, s);
  });

  test('volume names: the local driver\'s rule', () => {
    for (const n of ['ab', 'notes', 'my_vol-1.0', '0a', 'A.']) assert.equal(volumeNameProblem(n), null, n);
    assert.match(volumeNameProblem('a')!, /too short/);
    assert.match(volumeNameProblem('é')!, /invalid characters/, 'two bytes: refused for its characters');
    for (const n of ['_a', '.a', '-a', 'a/b', 'a b', 'a:b', '']) assert.match(volumeNameProblem(n)!, /invalid characters/, n);
    assert.match(volumeNameProblem('a'.repeat(256))!, /file name too long/, 'a name longer than a directory name may be');
    assert.equal(volumeNameProblem('a'.repeat(255)), null);
  });
});

// ---------------------------------------------------------------------------
// Properties

const letter = fc.constantFrom(...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789');
const nameChar = fc.constantFrom(...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-');
const volumeName = fc.tuple(letter, fc.array(nameChar, { minLength: 1, maxLength: 20 })).map(([a, b]) => a + b.join(''));
/** A path segment: never empty, "." or ".." (those are made by `messyPath`). */
const segment = fc.array(fc.constantFrom(...'abcxyz019_-. '), { minLength: 1, maxLength: 8 }).map((a) => a.join('')).filter((s) => s !== '.' && s !== '..');
/** An absolute, already clean path other than "/". */
const cleanAbs = fc.array(segment, { minLength: 1, maxLength: 5 }).map((s) => '/' + s.join('/'));
/** An absolute path written untidily: doubled slashes, "." and "x/.." segments, a trailing slash. */
const messyPath = fc.array(fc.oneof(segment, fc.constant('.'), fc.constant(''), segment.map((s) => `${s}/..`)), { minLength: 1, maxLength: 8 })
  .chain((parts) => fc.boolean().map((trailing) => '/' + parts.join('/') + (trailing ? '/' : '')));
const shuffled = <T>(items: T[]) => fc.shuffledSubarray(items, { minLength: items.length, maxLength: items.length });

/** A -v mode: at most one of each kind, in any order; propagation only for binds, nocopy only for volumes. */
const modeFor = (bind: boolean) =>
  fc.record({
    rw: fc.constantFrom(undefined, 'ro', 'rw'),
    label: fc.constantFrom(undefined, 'z', 'Z'),
    extra: bind ? fc.constantFrom(undefined, 'private', 'rprivate', 'shared', 'rshared', 'slave', 'rslave') : fc.constantFrom(undefined, 'nocopy'),
    consistency: fc.constantFrom(undefined, 'consistent', 'cached', 'delegated'),
  }).chain((m) => shuffled(Object.values(m).filter((v) => v !== undefined) as string[])).map((opts) => opts.join(','));

describe('properties', () => {
  test('-v round trip: any valid name or absolute path, destination and mode parse to their fields', () => {
    fc.assert(fc.property(fc.boolean(), volumeName, cleanAbs, cleanAbs, fc.boolean(), (bind, name, host, dest, withMode) =>
      fc.assert(fc.property(modeFor(bind), (mode) => {
        const source = bind ? host : name;
        const text = withMode ? `${source}:${dest}:${mode}` : `${source}:${dest}`;
        if (withMode && mode === '') return; // "a:b:" is "empty section between colons"
        const r = parseVolumeFlag(text);
        const m = withMode ? mode : '';
        assert.equal(r.type, bind ? 'bind' : 'volume');
        assert.equal(r.source, source);
        assert.equal(r.destination, dest);
        assert.equal(r.mode, m);
        assert.equal(r.readOnly, m.split(',').includes('ro'));
        assert.deepEqual(r.from, { flag: 'volume', text });
        if (bind) {
          assert.equal(r.createSource, true);
          assert.equal(r.propagation, m.split(',').find((o) => /^r?(private|shared|slave)$/.test(o)) ?? 'rprivate');
        } else assert.equal(r.noCopy, m.split(',').includes('nocopy') ? true : undefined);
      }), { numRuns: 5 })), { numRuns: 200 });
  });

  test('every destination comes out absolute and clean, and equals Go\'s path.Clean of what was given', () => {
    const isClean = (p: string) => p.startsWith('/') && !/\/\/|\/\.\/|\/\.\.?$|\/\.\.\/|.\/$/.test(p);
    fc.assert(fc.property(messyPath, (dest) => {
      fc.pre(cleanPath(dest) !== '/');
      for (const r of [parseVolumeFlag(dest), parseVolumeFlag(`vol1:${dest}`), parseVolumeFlag(`/h:${dest}:ro`), parseMountFlag(`type=tmpfs,dst=${dest}`), parseTmpfsFlag(dest)]) {
        assert.ok(isClean(r.destination), `${dest} → ${r.destination}`);
        assert.equal(r.destination, path.posix.resolve(dest));
      }
    }), { numRuns: 300 });
  });

  test('relative, empty and "/" destinations are always refused, by every flag', () => {
    const relative = fc.array(fc.oneof(segment, fc.constant('.'), fc.constant('..')), { minLength: 1, maxLength: 4 }).map((s) => s.join('/'));
    const root = fc.array(fc.oneof(fc.constant(''), fc.constant('.'), fc.constant('..'), segment.map((s) => `${s}/..`)), { maxLength: 4 }).map((s) => '/' + s.join('/'));
    fc.assert(fc.property(fc.oneof(relative, root), (dest) => {
      const attempts: (() => unknown)[] = [
        () => parseVolumeFlag(`vol1:${dest}`), () => parseVolumeFlag(`/h:${dest}:rw`),
        () => parseMountFlag(`type=volume,dst=${dest}`), () => parseMountFlag(`type=tmpfs,dst=${dest}`), () => parseTmpfsFlag(dest),
      ];
      // a lone -v value of two characters or fewer is the CLI's anonymous destination; longer ones too
      if (!dest.includes(':')) attempts.push(() => parseVolumeFlag(dest));
      for (const f of attempts) {
        const e = runError(f);
        assert.equal(e.code, 125);
        // (a relative destination that is a mode word, `vol1:z`, is "a destination and a mode": Docker's bare invalid spec)
        assert.match(e.message, /mount path must be absolute|destination can't be '\/'|field Target must not be empty|target is required|empty section|invalid volume specification: '[^']*'$/, `${dest}: ${e.message}`);
      }
    }), { numRuns: 300 });
    for (const f of [() => parseVolumeFlag('vol1::ro'), () => parseMountFlag('type=volume,dst='), () => parseTmpfsFlag('')]) runError(f);
  });

  test('Windows paths are always refused, as Docker on Linux refuses them', () => {
    const drive = fc.constantFrom(...'cdCDzZ');
    const winPath = fc.tuple(drive, fc.constantFrom('\\', '/'), fc.array(segment, { minLength: 1, maxLength: 3 }), fc.constantFrom('\\', '/'))
      .map(([d, sep0, segs, sep]) => `${d}:${sep0}${segs.join(sep)}`);
    fc.assert(fc.property(winPath, cleanAbs, fc.constantFrom('', ':ro', ':rw'), (win, dest, mode) => {
      for (const f of [() => parseVolumeFlag(`${win}:${dest}${mode}`), () => parseVolumeFlag(win), () => parseVolumeFlag(`vol1:${win}`),
        () => parseMountFlag(`type=bind,src=${win},dst=${dest}`), () => parseMountFlag(`type=volume,dst=${win}`), () => parseTmpfsFlag(win)]) {
        const e = runError(f);
        assert.equal(e.code, 125);
      }
    }), { numRuns: 300 });
  });

  test('a name that breaks the local driver\'s rule is refused with its message, by -v and --mount', () => {
    const badName = fc.string({ minLength: 1, maxLength: 12 }).filter((s) => !/^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/.test(s) && !/[:,"\n\r/\\~.]/.test(s[0] ?? '') && !/[:,"\n\r]/.test(s) && !s.startsWith('.'));
    fc.assert(fc.property(badName, cleanAbs, (name, dest) => {
      fc.pre([...name].length > 1 || !/^\p{L}$/u.test([...name][0])); // "c:" would be a drive letter
      for (const f of [() => parseVolumeFlag(`${name}:${dest}`), () => parseMountFlag(`src=${name},dst=${dest}`)]) {
        const e = runError(f);
        assert.ok(e.message.startsWith(`${DAEMON}create ${name}: `), e.message);
        assert.ok(e.message.endsWith('If you intended to pass a host directory, use absolute path') || e.message.endsWith('at least two alphanumeric characters'), e.message);
      }
    }), { numRuns: 300 });
  });

  test('--mount round trip: any order, any key case, quoted or not, parses to its fields', () => {
    const quote = (field: string, q: boolean) => (q ? `"${field.replaceAll('"', '""')}"` : field);
    const anyCase = (key: string) => fc.array(fc.boolean(), { minLength: key.length, maxLength: key.length }).map((up) => [...key].map((c, i) => (up[i] ? c.toUpperCase() : c)).join(''));
    fc.assert(fc.property(
      volumeName, cleanAbs, fc.boolean(), fc.boolean(), fc.dictionary(fc.stringMatching(/^[a-z][a-z0-9.]{0,6}$/), fc.stringMatching(/^[a-z0-9=]{0,6}$/), { maxKeys: 3 }),
      fc.constantFrom('dst', 'destination', 'target'), fc.constantFrom('src', 'source'), fc.constantFrom('ro', 'readonly'), fc.boolean(),
      (name, dest, ro, nocopy, labels, dstKey, srcKey, roKey, quoted) => {
        const parts = [`${srcKey}=${name}`, `${dstKey}=${dest}`, 'type=volume'];
        if (ro) parts.push(roKey);
        if (nocopy) parts.push('volume-nocopy=true');
        for (const [k, v] of Object.entries(labels)) parts.push(`volume-label=${k}=${v}`);
        return fc.assert(fc.property(shuffled(parts), fc.array(fc.boolean(), { minLength: parts.length, maxLength: parts.length }),
          (order, quotes) => {
            const text = order.map((f, i) => quote(f, quoted && quotes[i])).join(',');
            const r = parseMountFlag(text);
            assert.deepEqual(fields(r), {
              type: 'volume', source: name, destination: dest, readOnly: ro, mode: '',
              ...(nocopy ? { noCopy: true } : {}), ...(Object.keys(labels).length ? { volumeLabels: { ...labels } } : {}),
            });
          }), { numRuns: 3 });
      }), { numRuns: 200 });
    // and keys in any case
    fc.assert(fc.property(anyCase('type'), anyCase('target'), anyCase('tmpfs-size'), (t, d, s) => {
      assert.deepEqual(parseMountFlag(`${t}=TmpFs,${d}=/x,${s}=1k`).tmpfsOptions?.at(-1), 'size=1k');
    }));
  });

  test('junk never throws anything but a RunError', () => {
    const alphabet = fc.constantFrom(...':/\\,="\n\r.~ -_', 'a', 'b', 'C', 'z', 'Z', 'ro', 'rw', 'nocopy', 'rshared', 'type', 'bind', 'volume', 'tmpfs',
      'src', 'dst', 'tmpfs-size', 'tmpfs-mode', 'volume-opt', 'volume-label', 'bind-propagation', 'é', '\u2028', '\ud800', '0', '7', 'k', '/tmp');
    const junk = fc.oneof(fc.array(alphabet, { maxLength: 20 }).map((a) => a.join('')), fc.string({ maxLength: 30 }), fc.string({ unit: 'binary', maxLength: 30 }));
    fc.assert(fc.property(junk, (text) => {
      for (const f of [parseVolumeFlag, parseMountFlag, parseTmpfsFlag, parseVolumesFrom]) {
        try {
          const r = (f as (t: string, cwd?: string) => unknown)(text, '/w');
          if (f !== parseVolumesFrom) {
            const m = r as MountRequest;
            assert.ok(m.destination.startsWith('/') && m.destination !== '/', `${JSON.stringify(text)} → ${m.destination}`);
            if (m.type === 'bind') assert.ok(m.source.startsWith('/'));
          }
        } catch (e) {
          if (!(e instanceof RunError)) throw new Error(`${f.name}(${JSON.stringify(text)}) threw ${String(e)}`);
          assert.equal(e.code, 125);
        }
      }
    }), { numRuns: 2000 });
  });
});
