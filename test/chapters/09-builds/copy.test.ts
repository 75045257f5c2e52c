// Chapter 9's COPY and ADD, and the instructions that only change the
// config: a directory is copied by its content, globs follow Go's
// filepath.Match, --chmod sets the mode, ADD unpacks a local tar (plain or
// gzip), COPY --from takes from any image; RUN's exec form and its
// --network; a Dockerfile given with -f from outside the context; LABEL,
// STOPSIGNAL, SHELL, HEALTHCHECK, VOLUME, ENTRYPOINT, --label and the proxy
// build args.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { rootOrSkip } from '../../helpers/dockling.ts';
import { expectCode } from '../../helpers/chapter.ts';
import { TarWriter } from '../../../runtime/storage/tar.ts';
import { chapter9 } from './helpers.ts';

const skip = rootOrSkip();
const t = chapter9('ch9-copy');

function tarGz(files: Record<string, string>): Buffer {
  const chunks: Buffer[] = [];
  const w = new TarWriter((b) => chunks.push(b));
  for (const [name, body] of Object.entries(files)) w.add({ name, type: 'file', mode: 0o640, uid: 7, gid: 8, mtime: 1_600_000_000 }, Buffer.from(body));
  w.finish();
  return zlib.gzipSync(Buffer.concat(chunks));
}

test('COPY a directory (its content), a glob, --chmod; ADD unpacks a gzip tar keeping its owners; COPY --from an image', { skip }, () => {
  const dir = t.context({
    Dockerfile: [
      'FROM busybox',
      'COPY site/ /www/',
      'COPY notes/*.txt /notes/',
      'COPY --chmod=600 secret.conf /etc/app.conf',
      'ADD bundle.tar.gz /opt/',
      'COPY --from=busybox /bin/busybox /busybox-copy',
      '',
    ].join('\n'),
    'site/index.html': '<h1>hi</h1>\n',
    'site/css/a.css': 'body{}\n',
    'notes/a.txt': 'a\n',
    'notes/b.txt': 'b\n',
    'notes/c.md': 'not copied\n',
    'secret.conf': 'k=v\n',
  });
  fs.writeFileSync(path.join(dir, 'bundle.tar.gz'), tarGz({ 'inner/readme': 'from the tar\n' }));
  try {
    expectCode(t.build(dir, ['-t', 'ch9/copy']), 0);
    const out = expectCode(t.cli(['run', '--rm', 'ch9/copy', 'sh', '-c',
      'ls /www; ls /www/css; ls /notes; stat -c "%a %u:%g" /etc/app.conf /opt/inner/readme; cat /opt/inner/readme; /busybox-copy true && echo runs']), 0).stdout;
    assert.equal(out, 'css\nindex.html\na.css\na.txt\nb.txt\n600 0:0\n640 7:8\nfrom the tar\nruns\n');
  } finally {
    t.rmi('ch9/copy');
  }
});

test('a copied file is owned by root whoever owns it in the context; several sources need a destination ending in /', { skip }, () => {
  const dir = t.context({ Dockerfile: 'FROM busybox\nCOPY a b /one\n', a: 'a\n', b: 'b\n' });
  fs.chownSync(path.join(dir, 'a'), 1234, 1234);
  try {
    const r = expectCode(t.build(dir, []), 1);
    assert.match(r.stderr, /When using COPY with more than one source file, the destination must be a directory and end with a \//);
    fs.writeFileSync(path.join(dir, 'Dockerfile'), 'FROM busybox\nCOPY a b /two/\n');
    expectCode(t.build(dir, ['-t', 'ch9/own']), 0);
    assert.equal(expectCode(t.cli(['run', '--rm', 'ch9/own', 'stat', '-c', '%u:%g %n', '/two/a', '/two/b']), 0).stdout, '0:0 /two/a\n0:0 /two/b\n');
  } finally {
    t.rmi('ch9/own');
  }
});

test('RUN’s exec form runs without a shell; RUN --network=none has only lo; -f names a Dockerfile outside the context', { skip }, () => {
  const dir = t.context({ 'data.txt': 'context file\n' });
  const elsewhere = fs.mkdtempSync(path.join(os.tmpdir(), 'ch9-df-'));
  const file = path.join(elsewhere, 'Build.dockerfile');
  fs.writeFileSync(file, [
    'FROM busybox',
    'COPY data.txt /data.txt',
    'RUN ["/bin/sh", "-c", "echo $0 > /exec-form", "no-shell-word-splitting"]',
    'RUN --network=none ls /sys/class/net > /nets',
    '',
  ].join('\n'));
  try {
    expectCode(t.build(dir, ['-f', file, '-t', 'ch9/forms']), 0);
    const out = expectCode(t.cli(['run', '--rm', 'ch9/forms', 'cat', '/data.txt', '/exec-form', '/nets']), 0).stdout;
    assert.equal(out, 'context file\nno-shell-word-splitting\nlo\n');
  } finally {
    t.rmi('ch9/forms');
    fs.rmSync(elsewhere, { recursive: true, force: true });
  }
});

test('the config steps land in the image config; --label adds a last LABEL step; a proxy build arg reaches RUN but not the history', { skip }, () => {
  const dir = t.context({
    Dockerfile: [
      'FROM busybox',
      'LABEL org.example.team="the lab" version=1',
      'STOPSIGNAL SIGINT',
      'SHELL ["/bin/sh", "-e", "-c"]',
      'HEALTHCHECK --interval=30s --retries=3 CMD wget -qO- http://127.0.0.1/ || exit 1',
      'VOLUME /data',
      'ENTRYPOINT ["echo"]',
      'RUN echo "proxy=$HTTP_PROXY" > /proxy',
      '',
    ].join('\n'),
  });
  try {
    const r = expectCode(t.build(dir, ['-t', 'ch9/config', '--label', 'built.by=test', '--build-arg', 'HTTP_PROXY=http://127.0.0.1:3128']), 0);
    assert.match(r.stdout, /^Step 9\/9 : LABEL "built\.by"='test'$/m);
    const [img] = JSON.parse(t.cliOk(['image', 'inspect', 'ch9/config']));
    assert.deepEqual(img.Config.Labels, { 'org.example.team': 'the lab', version: '1', 'built.by': 'test' });
    assert.equal(img.Config.StopSignal, 'SIGINT');
    assert.deepEqual(img.Config.Shell, ['/bin/sh', '-e', '-c']);
    assert.deepEqual(img.Config.Healthcheck, { Test: ['CMD-SHELL', 'wget -qO- http://127.0.0.1/ || exit 1'], Interval: 30e9, Retries: 3 });
    assert.deepEqual(img.Config.Volumes, { '/data': {} });
    assert.deepEqual(img.Config.Entrypoint, ['echo']);
    assert.equal(img.Config.Cmd, null, 'ENTRYPOINT drops the CMD it inherited');
    assert.equal(expectCode(t.cli(['run', '--rm', '--entrypoint', 'cat', 'ch9/config', '/proxy']), 0).stdout, 'proxy=http://127.0.0.1:3128\n');
    const hist = t.cliOk(['history', '--no-trunc', '--format', '{{.CreatedBy}}', 'ch9/config']);
    assert.doesNotMatch(hist, /3128/, 'proxy values are not recorded');
    assert.doesNotMatch(r.stdout, /were not consumed/, 'a proxy arg needs no ARG');
  } finally {
    t.rmi('ch9/config');
  }
});
