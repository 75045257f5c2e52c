// Chapter 4: --format on the commands of the image store's chapter:
// `history` (docker/cli's fields, the `table` directive, -H=false for
// sizes in bytes and dates in RFC 3339, -q, --no-trunc), `info` (a Go
// template on the Engine API's SystemInfo keys), and `stats -a`, which
// lists the containers this chapter keeps stopped, as rows of zeros.
//
// test/run.ts runs this file with layers 1..4 (every test must pass) and
// with layers 1..3 (every test must fail: there is no history or info
// there, and no container is kept to be listed).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import os from 'node:os';
import { dockling, rootOrSkip } from '../../helpers/dockling.ts';
import { expectCode, useStateRoot } from '../../helpers/chapter.ts';

const skip = rootOrSkip();
const root = useStateRoot('ch4-format');

test('history --format: a Go template per entry; json; `table` adds the headers; -q; --no-trunc', { skip }, () => {
  const id = expectCode(dockling(root(), ['image', 'inspect', '-f', '{{.Id}}', 'busybox']), 0).stdout.trim();
  const rows = expectCode(dockling(root(), ['history', '--format', '{{.ID}}|{{.CreatedBy}}|{{.Comment}}', 'busybox']), 0).stdout.trimEnd().split('\n');
  assert.ok(rows.length >= 2, rows.join('\n'));
  assert.equal(rows[0].split('|')[0], id.replace('sha256:', '').slice(0, 12), 'the newest entry is the image, short');
  for (const r of rows.slice(1)) assert.equal(r.split('|')[0], '<missing>');
  // json: each entry's fields, by name, sorted (docker/cli marshals its methods)
  const json = expectCode(dockling(root(), ['history', '--format', 'json', 'busybox']), 0).stdout.trimEnd().split('\n').map((l) => JSON.parse(l));
  assert.equal(json.length, rows.length);
  assert.deepEqual(Object.keys(json[0]), ['Comment', 'CreatedAt', 'CreatedBy', 'CreatedSince', 'ID', 'Size']);
  assert.match(json[0].CreatedSince, / ago$/);
  assert.match(json[0].Size, /^[\d.]+k?M?B$/);
  // a table of chosen columns: docker's header names, aligned by the tabwriter
  const t = expectCode(dockling(root(), ['history', '--format', 'table {{.ID}}\t{{.Size}}', '--no-trunc', 'busybox']), 0).stdout.split('\n');
  assert.match(t[0], /^IMAGE {3,}SIZE$/);
  assert.ok(t[1].startsWith(`${id}   `), t[1]);
  // -q: the IDs alone; a --format wins over it
  assert.equal(expectCode(dockling(root(), ['history', '-q', 'busybox']), 0).stdout.split('\n')[0], id.replace('sha256:', '').slice(0, 12));
  assert.equal(expectCode(dockling(root(), ['history', '-q', '--format', '{{.Comment}}x', 'busybox']), 0).stdout.split('\n')[0], `${json[0].Comment}x`);
  // a template that does not parse, or names no field: docker's words, exit 1, nothing printed
  const bad = expectCode(dockling(root(), ['history', '--format', '{{.ID', 'busybox']), 1);
  assert.equal(bad.stdout, '');
  assert.match(bad.stderr, /template parsing error: template: :1: unclosed action/);
  assert.match(expectCode(dockling(root(), ['history', '--format', '{{.Bogus}}', 'busybox']), 1).stderr, /executing "" at <\.Bogus>/);
});

test('history -H=false: sizes in bytes, dates in RFC 3339 under CREATED AT, as docker prints them', { skip }, () => {
  const human = expectCode(dockling(root(), ['history', 'busybox']), 0).stdout.split('\n');
  assert.match(human[0], /^IMAGE {10}CREATED {2,}CREATED BY {2,}SIZE {6}COMMENT$/);
  const r = expectCode(dockling(root(), ['history', '-H=false', 'busybox']), 0).stdout.split('\n');
  assert.match(r[0], /^IMAGE {10}CREATED AT {2,}CREATED BY {2,}SIZE {2,}COMMENT$/);
  const sizes = expectCode(dockling(root(), ['history', '--human=false', '--format', '{{.Size}} {{.CreatedAt}} {{.CreatedSince}}', 'busybox']), 0).stdout.trimEnd().split('\n');
  for (const line of sizes) {
    const [size, at, since] = line.split(' ');
    assert.match(size, /^\d+$/, 'bytes, no unit');
    assert.match(at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d)$/, "Go's time.RFC3339");
    assert.equal(since, at, 'CreatedSince is the date too when not human');
  }
  assert.ok(sizes.some((l) => Number(l.split(' ')[0]) > 100_000), 'the busybox layer, in bytes');
});

test('info --format: a Go template on the Engine API keys; json; exit 64 for a template that does not parse', { skip }, () => {
  const r = expectCode(dockling(root(), ['info', '--format', '{{.Images}} {{.Driver}} {{.OSType}} {{.NCPU}} {{.DockerRootDir}}']), 0);
  assert.equal(r.stdout, `1 overlay2 linux ${os.cpus().length} ${root()}\n`);
  const doc = JSON.parse(expectCode(dockling(root(), ['info', '-f', '{{json .}}']), 0).stdout);
  for (const k of ['Containers', 'ContainersRunning', 'ContainersStopped', 'Images', 'Driver', 'DriverStatus', 'CgroupDriver', 'CgroupVersion', 'KernelVersion', 'MemTotal', 'Name']) assert.ok(k in doc, k);
  assert.equal(doc.KernelVersion, os.release());
  assert.ok(Array.isArray(doc.DriverStatus) && doc.DriverStatus.every((p: unknown[]) => p.length === 2));
  assert.match(doc.CgroupVersion, /^[12]$/);
  assert.deepEqual(JSON.parse(expectCode(dockling(root(), ['info', '-f', 'json']), 0).stdout).Driver, 'overlay2');
  assert.equal(expectCode(dockling(root(), ['info', '-f', '{{.Containers']), 64).stdout, '');
  assert.match(expectCode(dockling(root(), ['info', '-f', '{{.Bogus}}']), 1).stderr, /map has no entry for key "Bogus"/);
});

test('stats -a: a stopped container is a row of zeros; --no-trunc: the full ID; --format: its fields', { skip }, () => {
  const name = `ch4-stats-${process.pid}`;
  expectCode(dockling(root(), ['run', '--name', name, 'busybox', 'true']), 0);
  try {
    const id = expectCode(dockling(root(), ['inspect', '-f', '{{.Id}}', name]), 0).stdout.trim();
    // without -a: running containers only
    assert.equal(expectCode(dockling(root(), ['stats', '--no-stream', '--format', '{{.Name}}']), 0).stdout, '');
    const all = expectCode(dockling(root(), ['stats', '-a', '--no-stream']), 0).stdout.split('\n');
    assert.match(all[0], /^CONTAINER ID {3}NAME {2,}CPU % {2,}MEM USAGE \/ LIMIT {3}MEM % {2,}NET I\/O {2,}BLOCK I\/O {3}PIDS$/);
    assert.equal(all[1].split(/\s{2,}/).join('|'), `${id.slice(0, 12)}|${name}|0.00%|0B / 0B|0.00%|0B / 0B|0B / 0B|0`);
    const f = expectCode(dockling(root(), ['stats', '--all', '--no-stream', '--no-trunc', '--format', '{{.ID}} {{.Container}} {{.PIDs}} {{.CPUPerc}}']), 0);
    assert.equal(f.stdout, `${id} ${id} 0 0.00%\n`);
    // named: .Container is the name as given
    assert.equal(expectCode(dockling(root(), ['stats', '--no-stream', '--format', '{{.Container}}:{{.MemUsage}}', name]), 0).stdout, `${name}:0B / 0B\n`);
    assert.equal(JSON.parse(expectCode(dockling(root(), ['stats', '-a', '--no-stream', '--format', 'json']), 0).stdout).Name, name);
  } finally {
    dockling(root(), ['rm', '-f', name]);
  }
});
