// Chapter 9's escape probes: a build context is the user's input, and an
// image's files are the next container's; neither may reach the host.
// COPY and ADD read only inside the context (a symlink that points out is
// resolved inside it, `COPY ../x` is refused), ADD's archive is unpacked
// inside the image only, and a tar context on stdin cannot make the build
// read a host file as its Dockerfile. Each probe proves it with a marker in
// the test's own temp directory: never read into an image, never written.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { rootOrSkip } from '../../helpers/dockling.ts';
import { expectCode } from '../../helpers/chapter.ts';
import { TarWriter, type TarEntry } from '../../../runtime/storage/tar.ts';
import { chapter9 } from './helpers.ts';

const skip = rootOrSkip();
const t = chapter9('ch9-escape');
const MARKER = 'ch9-host-secret-7f3a';

/** A tar of these entries (a file's body is its `body`). */
function tarOf(entries: (TarEntry & { body?: string })[]): Buffer {
  const chunks: Buffer[] = [];
  const w = new TarWriter((b) => chunks.push(b));
  for (const e of entries) w.add({ mode: 0o644, uid: 0, gid: 0, mtime: 0, ...e }, Buffer.from(e.body ?? ''));
  w.finish();
  return Buffer.concat(chunks);
}

/** A directory outside every context, holding the marker file. */
function hostSecret(): { dir: string; file: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ch9-host-'));
  const file = path.join(dir, 'secret');
  fs.writeFileSync(file, `${MARKER}\n`);
  return { dir, file };
}

/** Every file of an image, flattened (`save` holds each layer's tar as it is). */
const imageBytes = (ref: string) => expectCode(t.cli(['image', 'save', ref], { maxBuffer: 64 << 20 }), 0).stdout;

test('a symlink in the context that points at a host file is resolved inside the context: COPY finds nothing, and copies the link only as a link', { skip }, () => {
  const host = hostSecret();
  const rel = path.relative('/', host.file);
  const dir = t.context({ 'abs-link': { link: host.file }, 'rel-link': { link: `../../../../../../${rel}` }, 'tree/inner': { link: host.file }, 'tree/ok': 'fine\n', Dockerfile: 'FROM busybox\nCOPY abs-link /got\n' });
  try {
    for (const src of ['abs-link', 'rel-link']) {
      fs.writeFileSync(path.join(dir, 'Dockerfile'), `FROM busybox\nCOPY ${src} /got\n`);
      const r = expectCode(t.build(dir, ['-t', 'ch9/esc']), 1);
      assert.match(r.stderr, /COPY failed: file not found in build context or excluded by \.dockerignore/);
      assert.doesNotMatch(r.stdout + r.stderr, new RegExp(MARKER));
    }
    // A directory holding such a link: the link is copied as a link, its target is not read.
    fs.writeFileSync(path.join(dir, 'Dockerfile'), 'FROM busybox\nCOPY tree /tree\n');
    expectCode(t.build(dir, ['-t', 'ch9/esc']), 0);
    assert.ok(!imageBytes('ch9/esc').includes(MARKER), 'the host file is nowhere in the image');
    assert.equal(expectCode(t.cli(['run', '--rm', 'ch9/esc', 'readlink', '/tree/inner']), 0).stdout, `${host.file}\n`);
  } finally {
    t.rmi('ch9/esc');
    fs.rmSync(host.dir, { recursive: true, force: true });
  }
});

test('COPY ../x is refused with Docker’s words; an absolute source is a path in the context', { skip }, () => {
  const host = hostSecret();
  const dir = t.context({ Dockerfile: `FROM busybox\nCOPY ../${path.basename(host.dir)}/secret /got\n` });
  try {
    const r = expectCode(t.build(dir, []), 1);
    assert.match(r.stderr, new RegExp(`COPY failed: forbidden path outside the build context: \\.\\./${path.basename(host.dir)}/secret \\(\\)`));
    fs.writeFileSync(path.join(dir, 'Dockerfile'), `FROM busybox\nCOPY ${host.file} /got\n`);
    const abs = expectCode(t.build(dir, []), 1);
    assert.match(abs.stderr, /file not found in build context/);
    assert.doesNotMatch(abs.stdout + abs.stderr, new RegExp(MARKER));
  } finally {
    fs.rmSync(host.dir, { recursive: true, force: true });
  }
});

test('ADD of a hostile tar: names that climb out and writes through its own symlinks stay inside the image', { skip }, () => {
  const host = fs.mkdtempSync(path.join(os.tmpdir(), 'ch9-target-'));
  const tar = tarOf([
    { name: '../../../../../../..' + path.join(host, 'climbed'), type: 'file', body: MARKER },
    { name: 'out', type: 'symlink', linkname: host },
    { name: 'out/through-link', type: 'file', body: MARKER },
    { name: 'fine.txt', type: 'file', body: 'fine\n' },
  ]);
  const dir = t.context({ Dockerfile: 'FROM busybox\nADD evil.tar /dest/\n' });
  fs.writeFileSync(path.join(dir, 'evil.tar'), tar);
  try {
    const r = t.build(dir, ['-t', 'ch9/evil']);
    assert.deepEqual(fs.readdirSync(host), [], `nothing written to the host directory (exit ${r.code}):\n${r.stderr}`);
    if (r.code === 0) {
      const ls = expectCode(t.cli(['run', '--rm', 'ch9/evil', 'sh', '-c', `cat /dest/fine.txt; ls ${host} 2>&1; true`]), 0).stdout;
      assert.match(ls, /^fine\n/);
    } else assert.match(r.stderr, /ADD failed|refus|outside/i);
  } finally {
    t.rmi('ch9/evil');
    fs.rmSync(host, { recursive: true, force: true });
  }
});

test('a tar context on stdin whose Dockerfile is a symlink to a host file: the host file is not read', { skip }, () => {
  const host = hostSecret();
  fs.writeFileSync(host.file, `FROM busybox\nRUN echo ${MARKER}\n`);
  const tar = tarOf([{ name: 'Dockerfile', type: 'symlink', linkname: host.file }]);
  try {
    const r = expectCode(t.cli(['build', '-'], { input: tar }), 1);
    assert.doesNotMatch(r.stdout + r.stderr, new RegExp(MARKER));
    assert.match(r.stderr, /no Dockerfile|not a regular file|unable to prepare context/);
  } finally {
    fs.rmSync(host.dir, { recursive: true, force: true });
  }
});

test('a file .dockerignore excludes cannot be copied, and an exception brings one back', { skip }, () => {
  const dir = t.context({ '.dockerignore': '*.key\n!public.key\n', 'private.key': MARKER, 'public.key': 'public\n', Dockerfile: 'FROM busybox\nCOPY private.key /\n' });
  try {
    const r = expectCode(t.build(dir, []), 1);
    assert.match(r.stderr, /COPY failed: file not found in build context or excluded by \.dockerignore: stat private\.key: file does not exist/);
    fs.writeFileSync(path.join(dir, 'Dockerfile'), 'FROM busybox\nCOPY *.key /keys/\n');
    expectCode(t.build(dir, ['-t', 'ch9/ignore']), 0);
    assert.equal(expectCode(t.cli(['run', '--rm', 'ch9/ignore', 'ls', '/keys']), 0).stdout, 'public.key\n');
    assert.ok(!imageBytes('ch9/ignore').includes(MARKER));
  } finally {
    t.rmi('ch9/ignore');
  }
});
