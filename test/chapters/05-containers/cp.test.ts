// Chapter 5: `cp` (and `container cp`), as `docker cp`: both directions,
// files and directories, Docker's path rules (DEST there or not, "/." for
// the contents, a trailing "/"), tar streams with `-`, running and stopped
// containers, and Docker's errors and exit codes.
//
// The escape probes for cp (symlinks the container plants) are in
// escape-cp.test.ts.
//
// test/run.ts runs this file with layers 1..5 (every test must pass) and
// with layers 1..4 (every test must fail: no `run -d`, no `cp`).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BIN, rootOrSkip } from '../../helpers/dockling.js';
import { expectCode } from '../../helpers/chapter.js';
import { chapter5, lines } from './helpers.js';
import { mountsInside } from '../../helpers/leaks.js';

const skip = rootOrSkip();
const c = chapter5('ch5-cp');

/** Each test: a running busybox `cc` and a temp dir of its own, both removed in `finally`. */
async function withContainer(fn: (tmp: string) => void | Promise<void>): Promise<void> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dockling-test-ch5-cp-'));
  try {
    c.runD(['--name', 'cc', 'busybox', 'sleep', '600']);
    await fn(tmp);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
    await c.cleanup();
  }
}

const inside = (cmd: string) => c.ok(['exec', 'cc', 'sh', '-c', cmd]);
const fails = (args: string[], message: string) => {
  const r = expectCode(c.dk(args), 1);
  assert.equal(r.stderr, `dockling: ${message}\n`);
  assert.equal(r.stdout, '');
};

/** `dockling cp ARGS…` with stdout as bytes (a tar). */
function cpBytes(args: string[], input?: Buffer): { code: number | null; stdout: Buffer; stderr: string } {
  const r = spawnSync(process.execPath, ['--', BIN, '--root', c.root(), 'cp', ...args], { input, timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr.toString() };
}

/** The names in a tar, as the system's tar lists them. */
const tarNames = (tar: Buffer) => lines(spawnSync('tar', ['-tf', '-'], { input: tar, encoding: 'utf8' }).stdout);

test('cp: a file into the container and back, by name and into a directory', { skip }, () =>
  withContainer((tmp) => {
    fs.writeFileSync(path.join(tmp, 'note.txt'), 'from the host\n');
    fs.chmodSync(path.join(tmp, 'note.txt'), 0o640);
    // DEST a directory: the file goes in under its own name.
    c.ok(['cp', path.join(tmp, 'note.txt'), 'cc:/tmp']);
    assert.equal(inside('cat /tmp/note.txt'), 'from the host\n');
    assert.equal(inside('stat -c %a /tmp/note.txt'), '640\n', 'the mode is kept');
    // DEST does not exist: the file takes its name; `container cp` is the same command.
    c.ok(['container', 'cp', path.join(tmp, 'note.txt'), 'cc:/root/renamed']);
    assert.equal(inside('cat /root/renamed'), 'from the host\n');
    // DEST exists as a file: overwritten.
    inside('echo old > /tmp/old');
    c.ok(['cp', path.join(tmp, 'note.txt'), 'cc:/tmp/old']);
    assert.equal(inside('cat /tmp/old'), 'from the host\n');
    // Out again: a file the container wrote, to a new name and into a directory.
    inside('echo made inside > /tmp/out.txt');
    c.ok(['cp', 'cc:/tmp/out.txt', path.join(tmp, 'back.txt')]);
    assert.equal(fs.readFileSync(path.join(tmp, 'back.txt'), 'utf8'), 'made inside\n');
    c.ok(['cp', 'cc:tmp/out.txt', tmp]); // the leading "/" is optional
    assert.equal(fs.readFileSync(path.join(tmp, 'out.txt'), 'utf8'), 'made inside\n');
  }));

test('cp: a directory, its contents with "/.", and symlinks copied as links (-L follows one)', { skip }, () =>
  withContainer((tmp) => {
    const src = path.join(tmp, 'src');
    fs.mkdirSync(path.join(src, 'sub'), { recursive: true });
    fs.writeFileSync(path.join(src, 'sub', 'f'), 'deep\n');
    fs.symlinkSync('sub/f', path.join(src, 'link'));
    // DEST does not exist: made, holding SRC's contents.
    c.ok(['cp', src, 'cc:/tmp/made']);
    assert.equal(inside('cat /tmp/made/sub/f; readlink /tmp/made/link'), 'deep\nsub/f\n');
    // DEST is a directory: SRC goes in as a directory; with "/." its contents go in.
    inside('mkdir /tmp/into /tmp/contents');
    c.ok(['cp', src, 'cc:/tmp/into']);
    c.ok(['cp', `${src}/.`, 'cc:/tmp/contents']);
    assert.equal(inside('ls /tmp/into; ls /tmp/contents'), 'src\nlink\nsub\n');
    // And back out: the tree as it was.
    c.ok(['cp', 'cc:/tmp/made', path.join(tmp, 'back')]);
    assert.equal(fs.readFileSync(path.join(tmp, 'back', 'sub', 'f'), 'utf8'), 'deep\n');
    assert.equal(fs.readlinkSync(path.join(tmp, 'back', 'link')), 'sub/f');
    // A symlink as SRC is copied as the link; -L copies what it points to.
    c.ok(['cp', 'cc:/tmp/made/link', path.join(tmp, 'asLink')]);
    assert.equal(fs.readlinkSync(path.join(tmp, 'asLink')), 'sub/f');
    c.ok(['cp', '-L', 'cc:/tmp/made/link', path.join(tmp, 'followed')]);
    assert.equal(fs.lstatSync(path.join(tmp, 'followed')).isFile(), true);
    assert.equal(fs.readFileSync(path.join(tmp, 'followed'), 'utf8'), 'deep\n');
  }));

test('cp: "-" streams a tar to stdout, and unpacks one from stdin into a directory', { skip }, () =>
  withContainer((tmp) => {
    inside('mkdir -p /srv/site/css && echo page > /srv/site/index.html && echo body > /srv/site/css/a.css');
    const out = cpBytes(['cc:/srv/site', '-']);
    assert.equal(out.code, 0, out.stderr);
    assert.deepEqual(tarNames(out.stdout), ['site/', 'site/css/', 'site/css/a.css', 'site/index.html']);
    // The contents only: names under "./".
    assert.deepEqual(tarNames(cpBytes(['cc:/srv/site/.', '-']).stdout), ['./', './css/', './css/a.css', './index.html']);
    // A tar made by the system's tar, unpacked into the container.
    fs.mkdirSync(path.join(tmp, 'pkg', 'bin'), { recursive: true });
    fs.writeFileSync(path.join(tmp, 'pkg', 'bin', 'tool'), '#!/bin/sh\necho tool ran\n', { mode: 0o755 });
    const tar = spawnSync('tar', ['-C', tmp, '-c', 'pkg']).stdout;
    inside('mkdir /opt');
    const r = cpBytes(['-', 'cc:/opt'], tar);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(inside('/opt/pkg/bin/tool'), 'tool ran\n');
    // "-" needs a directory as DEST, and a tar.
    const toFile = cpBytes(['-', 'cc:/opt/pkg/bin/tool'], tar);
    assert.equal(toFile.code, 1);
    assert.equal(toFile.stderr, 'dockling: destination "cc:/opt/pkg/bin/tool" must be a directory\n');
    const notTar = cpBytes(['-', 'cc:/opt'], Buffer.from('this is not a tar\n'));
    assert.equal(notTar.code, 1);
    assert.match(notTar.stderr, /^dockling: invalid tar stream: /);
  }));

test('cp: Docker’s errors, exit 1, nothing copied', { skip }, () =>
  withContainer((tmp) => {
    fs.writeFileSync(path.join(tmp, 'f'), 'x');
    fs.mkdirSync(path.join(tmp, 'd'));
    fails(['cp', 'cc:/nosuch', tmp], 'Could not find the file /nosuch in container cc');
    fails(['cp', path.join(tmp, 'f'), 'cc:/nosuchdir/f'], 'Could not find the file /nosuchdir in container cc');
    fails(['cp', 'nosuch:/etc/passwd', tmp], 'No such container: nosuch');
    fails(['cp', path.join(tmp, 'f'), 'nosuch:/tmp'], 'No such container: nosuch');
    fails(['cp', path.join(tmp, 'nosuch'), 'cc:/tmp'], `lstat ${path.join(tmp, 'nosuch')}: no such file or directory`);
    // A directory onto a file; a file to a directory that does not exist ("DEST/").
    fails(['cp', path.join(tmp, 'd'), 'cc:/etc/passwd'], 'cannot copy directory');
    fails(['cp', 'cc:/etc', path.join(tmp, 'f')], 'cannot copy directory');
    fails(['cp', path.join(tmp, 'f'), 'cc:/tmp/newdir/'], 'no such directory');
    fails(['cp', 'cc:/etc/passwd', path.join(tmp, 'newdir') + '/'], 'no such directory');
    fails(['cp', 'cc:/etc/passwd', path.join(tmp, 'f') + '/'], `stat ${path.join(tmp, 'f')}/: not a directory`);
    fails(['cp', 'cc:/etc/passwd', path.join(tmp, 'no', 'such')], `invalid output path: directory "${path.join(tmp, 'no')}" does not exist`);
    fails(['cp', 'cc:/a', 'cc:/b'], 'copying between containers is not supported');
    fails(['cp', 'a', 'b'], 'must specify at least one container source');
    fails(['cp', '', 'cc:/tmp'], 'source can not be empty');
    // cobra's ExactArgs, as the docker CLI says it.
    assert.match(expectCode(c.dk(['cp', 'cc:/etc']), 1).stderr, /^dockling: "dockling cp" requires exactly 2 arguments\.\n/);
    assert.match(expectCode(c.dk(['cp', 'cc:/etc', tmp, 'x']), 1).stderr, /^dockling: "dockling cp" requires exactly 2 arguments\.\n/);
    assert.equal(inside('ls /tmp'), '', 'nothing was copied in');
    assert.deepEqual(fs.readdirSync(tmp).sort(), ['d', 'f'], 'nothing was copied out');
  }));

test('cp: a stopped container, its root mounted for the copy and unmounted after; the summary line', { skip }, () =>
  withContainer((tmp) => {
    inside('echo kept > /root/kept');
    c.ok(['stop', '-t', '1', 'cc']);
    fs.writeFileSync(path.join(tmp, 'in'), 'while stopped\n');
    c.ok(['cp', path.join(tmp, 'in'), 'cc:/root/in']);
    // Not quiet (-q=false: stdout is not a terminal here): Docker's summary on stderr, the tar's size.
    const r = expectCode(c.dk(['cp', '-q=false', 'cc:/root/kept', path.join(tmp, 'kept')]), 0);
    assert.equal(r.stderr, `Successfully copied 2.05kB to ${path.join(tmp, 'kept')}\n`);
    assert.equal(fs.readFileSync(path.join(tmp, 'kept'), 'utf8'), 'kept\n');
    assert.deepEqual(mountsInside(c.root()), [], 'the root mounted for the copy is unmounted');
    c.ok(['start', 'cc']);
    assert.equal(inside('cat /root/in'), 'while stopped\n');
  }));

test('cp: owners: copied in, the tar’s (the host file’s); with -a, the container’s user; copied out, the caller’s', { skip }, async () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dockling-test-ch5-cp-owner-'));
  try {
    c.runD(['--name', 'cu', '-u', 'nobody', 'busybox', 'sleep', '600']);
    const f = path.join(tmp, 'owned');
    fs.writeFileSync(f, 'x');
    fs.chownSync(f, 1234, 4321);
    c.ok(['cp', f, 'cu:/tmp/plain']);
    c.ok(['cp', '-a', f, 'cu:/tmp/archived']);
    assert.equal(c.ok(['exec', 'cu', 'stat', '-c', '%u:%g', '/tmp/plain', '/tmp/archived']), '1234:4321\n65534:65534\n');
    c.ok(['cp', 'cu:/tmp/plain', path.join(tmp, 'back')]);
    const st = fs.statSync(path.join(tmp, 'back'));
    assert.deepEqual([st.uid, st.gid], [process.getuid!(), process.getgid!()]);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
    await c.cleanup();
  }
});
