// Chapter 3 (the image store, on aufs; chapter 4 runs the same store on overlay2), `images` as a Docker user scripts it: --format (Go templates,
// the `table` directive with Docker's column names, `json` as one object a
// line), --filter (dangling, reference globs, label, before, since, until; an
// unknown key is the daemon's "invalid filter"), --digests, -q, and the
// REPOSITORY[:TAG] argument, which is the reference filter.
//
// test/run.ts runs this file with layers 1..3 (every test must pass) and
// with layers 1..2 (every test must fail: there is no `images` there).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { dockling, rootOrSkip } from '../../helpers/dockling.ts';
import { expectCode, useStateRoot } from '../../helpers/chapter.ts';

const skip = rootOrSkip();
const root = useStateRoot('ch4-images-format');
const dk = (args: string[]) => dockling(root(), args);
const ok = (args: string[]) => expectCode(dk(args), 0).stdout;
const lines = (s: string) => s.split('\n').filter(Boolean);

// Three images besides busybox: app:v1 and app:v2 (one image, two names,
// committed from a container), lab:1 (with a label, committed after it),
// and one untagged (dangling) image.
let app = '';
let lab = '';
let dangling = '';
before(() => {
  if (skip) return;
  // Without chapter 3 these fail; the tests then fail on their own commands.
  dk(['run', '--name', 'images-src', 'busybox', 'sh', '-c', 'echo hi > /f']);
  app = dk(['commit', 'images-src', 'app:v1']).stdout.trim();
  dk(['tag', 'app:v1', 'app:v2']);
  lab = dk(['commit', '-c', 'LABEL tier=web', 'images-src', 'lab:1']).stdout.trim();
  dangling = dk(['commit', 'images-src']).stdout.trim();
  dk(['rm', '-f', 'images-src']); // (each test checks that no container is left)
});
after(() => {
  if (skip) return;
  dk(['rmi', 'app:v1', 'app:v2', 'lab:1', dangling]);
});

test('images --format: a Go template per name an image has; `table` adds Docker\'s column names; json is one object a line', { skip }, () => {
  const rows = lines(ok(['images', '--format', '{{.Repository}}:{{.Tag}} {{.ID}}']));
  assert.ok(rows.includes(`app:v1 ${app.slice(7, 19)}`) && rows.includes(`app:v2 ${app.slice(7, 19)}`), rows.join('\n'));
  assert.ok(rows.includes(`<none>:<none> ${dangling.slice(7, 19)}`), 'the dangling image is <none>:<none>');

  const table = lines(ok(['images', '--format', 'table {{.ID}}\\t{{.Repository}}\\t{{.Digest}}\\t{{.CreatedAt}}\\t{{.VirtualSize}}', 'app']));
  assert.match(table[0], /^IMAGE ID {7}REPOSITORY {3}DIGEST {4}CREATED AT {4,}SIZE$/);
  assert.equal(table.length, 3);
  assert.match(table[1], new RegExp(`^${app.slice(7, 19)}   app {10}<none>    \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d [+-]\\d{4} \\S+   [\\d.]+[kM]?B$`));

  const json = lines(ok(['images', '--format', 'json', 'lab'])).map((l) => JSON.parse(l));
  assert.equal(json.length, 1);
  assert.deepEqual(Object.keys(json[0]), ['Containers', 'CreatedAt', 'CreatedSince', 'Digest', 'ID', 'Repository', 'SharedSize', 'Size', 'Tag', 'UniqueSize', 'VirtualSize']);
  assert.equal(json[0].Repository, 'lab');
  assert.equal(json[0].Containers, 'N/A');

  // A name that is no field is Go's error on docker/cli's struct, exit 1.
  const bogus = expectCode(dk(['images', '--format', '{{.Bogus}}']), 1);
  assert.equal(bogus.stderr, 'dockling: template parsing error: template: :1:2: executing "" at <.Bogus>: can\'t evaluate field Bogus in type *formatter.imageContext\n');
  assert.equal(bogus.stdout, '');
});

test('images -q prints one ID per name (as docker does); --digests adds DIGEST (<none>: nothing here came from a registry)', { skip }, () => {
  const ids = lines(ok(['images', '-q', 'app']));
  assert.deepEqual(ids, [app.slice(7, 19), app.slice(7, 19)]);
  const table = lines(ok(['images', '--digests', 'lab']));
  assert.match(table[0], /^REPOSITORY {3}TAG {7}DIGEST {4}IMAGE ID {7}CREATED {4,}SIZE$/);
  assert.match(table[1], /^lab {10}1 {9}<none> {4}[0-9a-f]{12}   /);
  // A custom table gets the column too; a custom template with -q is still the template.
  assert.match(lines(ok(['images', '--digests', '--format', 'table {{.Repository}}', 'lab']))[0], /^REPOSITORY\s+DIGEST$/);
  assert.deepEqual(lines(ok(['images', '-q', '--format', '{{.Repository}}', 'lab'])), ['lab']);
});

test('images --filter: dangling, reference globs (and the positional name), label, before, since; an unknown key is refused', { skip }, () => {
  const names = (args: string[]) => lines(ok(['images', ...args, '--format', '{{.Repository}}:{{.Tag}}'])).sort();
  assert.deepEqual(names(['-f', 'dangling=true']), ['<none>:<none>']);
  assert.ok(!names(['-f', 'dangling=false']).includes('<none>:<none>'));
  assert.deepEqual(names(['-f', 'reference=app:*']), ['app:v1', 'app:v2']);
  assert.deepEqual(names(['-f', 'reference=*:v2']), ['app:v2'], 'only the matching name of an image is listed');
  assert.deepEqual(names(['app:v1']), ['app:v1']);
  assert.deepEqual(names(['-f', 'reference=a*', '-f', 'reference=l*']), ['app:v1', 'app:v2', 'lab:1'], 'values of one key: any');
  assert.deepEqual(names(['-f', 'label=tier']), ['lab:1']);
  assert.deepEqual(names(['-f', 'label=tier=web', '-f', 'reference=a*']), [], 'different keys: all');
  assert.deepEqual(names(['-f', 'label=tier=db']), []);
  assert.deepEqual(names(['-f', 'before=app:v1']), ['busybox:latest'], 'busybox is months older; the others are as new or newer');
  assert.ok(!names(['-f', 'since=busybox']).includes('busybox:latest'));
  assert.ok(names(['-f', 'since=busybox']).includes('lab:1'));
  assert.ok(!names(['-f', 'until=1h']).includes('lab:1'), 'until: made at least an hour ago');
  assert.ok(names(['-f', 'until=2999-01-01']).includes('lab:1'));
  assert.equal(expectCode(dk(['images', '-f', 'until=soon']), 1).stderr, 'dockling: Error response from daemon: failed to parse value as time or duration: "soon"\n');

  const bogus = expectCode(dk(['images', '-f', 'bogus=1']), 1);
  assert.equal(bogus.stderr, "dockling: Error response from daemon: invalid filter 'bogus'\n");
  assert.equal(expectCode(dk(['images', '-f', 'dangling=maybe']), 1).stderr, "dockling: Error response from daemon: invalid filter 'dangling=[maybe]'\n");
  assert.match(expectCode(dk(['images', '-f', 'nothing']), 125).stderr, /bad format of filter \(expected name=value\)/);
  assert.match(expectCode(dk(['images', '-f', 'before=nosuch']), 1).stderr, /^dockling: Error response from daemon: No such image: nosuch/);
});
