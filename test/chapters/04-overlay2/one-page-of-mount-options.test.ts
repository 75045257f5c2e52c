// Chapter 4, section 4: "overlayfs: lower, upper, work, merged", its "Why `l/`:
// one page of mount options".
//
// Chapter 4, for real, as root: an image of 45 layers under a state root
// whose path is ~200 characters long. mount(2) takes at most one page (4096
// bytes) of option data, and 46 lower dirs (init layer + 45) named by
// absolute paths would need ~14 KB here; overlay2 then mounts from inside
// its home with the 26-character l/ names, as Docker does. The image is
// written as a docker-archive by the test (45 layers: a bottom marker,
// busybox, 42 small layers, a top marker) and `load`ed; a container of it
// must see the bottom and the top layer's files, and the overlay mount in
// the trace must use l/ names. In a short root, the same mount uses the
// absolute paths (they read best in `mount` output).
//
// test/run.ts runs this file with layers 1..4 (every test must pass) and
// with layers 1..3 (every test must fail: there is no `load`, no `save`,
// and `run` makes no overlay mount).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { rootOrSkip } from '../../helpers/dockling.ts';
import { expectCode, useStateRoot } from '../../helpers/chapter.ts';
import { mountsUnder } from '../../helpers/leaks.ts';
import type { TraceRecord } from '../../../runtime/trace/events.ts';
import { assertNoContainerLayers, dockerArchive, layout, ls, makeTar, ok, readTar, traced } from './store-helpers.ts';

const skip = rootOrSkip();
const dir = useStateRoot('ch4-deep');
const PAGE = 4096;

type Mount = Extract<TraceRecord, { op: 'mount' }>;
const overlayMount = (trace: TraceRecord[]) => trace.find((e): e is Mount => e.op === 'mount' && e.fstype === 'overlay');
const option = (data: string, key: string) => new RegExp(`(?:^|,)${key}=([^,]*)`).exec(data)?.[1];

/** busybox's layer tar, as `save` gives it. */
function busyboxLayer(root: string): Buffer {
  const file = path.join(dir(), 'bb.tar');
  ok(root, ['save', '-o', file, 'busybox']);
  try {
    const entries = readTar(fs.readFileSync(file));
    const [m] = JSON.parse(entries.find((e) => e.name === 'manifest.json')!.body.toString());
    return entries.find((e) => e.name === m.Layers[0])!.body;
  } finally {
    fs.rmSync(file);
  }
}

test('45 layers under a ~200-character root: the container sees the bottom and top layers, mounted with l/ names', { skip }, () => {
  // A state root ~200 characters long (plus the temp dir's own path).
  const root = path.join(dir(), ...Array.from({ length: 4 }, (_, i) => `${'deep'.repeat(12)}-${i}`));
  fs.mkdirSync(root, { recursive: true });
  assert.ok(root.length >= 200, `the root should be long: ${root.length}`);

  const mids = Array.from({ length: 42 }, (_, i) => makeTar([{ name: `mid${String(i).padStart(2, '0')}`, type: 'file', body: `${i}\n` }]));
  const layers = [makeTar([{ name: 'bottom', type: 'file', body: 'bottom\n' }]), busyboxLayer(root), ...mids, makeTar([{ name: 'top', type: 'file', body: 'top\n' }])];
  assert.equal(layers.length, 45);
  const archive = dockerArchive(layers, 'deep:45');
  const file = path.join(dir(), 'deep.tar');
  fs.writeFileSync(file, archive.tar);
  try {
    assert.equal(ok(root, ['load', '-i', file]), 'Loaded image: deep:45\n');
    assert.equal(ok(root, ['image', 'inspect', '-f', '{{.Id}}', 'deep:45']).trim(), archive.id);
    assert.deepEqual(JSON.parse(ok(root, ['image', 'inspect', '-f', '{{json .RootFS.Layers}}', 'deep:45'])), archive.diffIDs);
    // 45 layers of deep:45 + busybox's own (busybox's tar on another parent is another chainID).
    assert.equal(ls(path.join(layout(root).img, 'layerdb/sha256')).length, 46);

    const r = traced(root, ['run', '--rm', 'deep:45', 'sh', '-c', 'cat /bottom /top; ls / | grep -c "^mid"'], path.join(dir(), 'trace.jsonl'));
    expectCode(r, 0);
    assert.equal(r.stdout, 'bottom\ntop\n42\n', 'the container should see every layer, bottom to top');

    const m = overlayMount(r.trace);
    assert.ok(m, 'the trace shows no overlay mount');
    assert.ok(Buffer.byteLength(m.data) < PAGE, `the mount data must fit a page: ${Buffer.byteLength(m.data)} bytes`);
    const lower = option(m.data, 'lowerdir')!.split(':');
    assert.equal(lower.length, 46, 'init layer + 45 image layers');
    for (const l of lower) assert.match(l, /^l\/[A-Z0-9]{26}$/, 'each lower dir by its short l/ name');
    assert.match(option(m.data, 'upperdir')!, /^[0-9a-f]{64}\/diff$/);
    assert.match(option(m.data, 'workdir')!, /^[0-9a-f]{64}\/work$/);
    // Which the absolute paths would not have fitted.
    const home = layout(root).overlay;
    // (<home>/<64-hex cache-id>/diff each; the init layer's is 5 longer, and gone with --rm)
    const absolute = lower.length * `${home}/${'0'.repeat(64)}/diff:`.length;
    assert.ok(absolute > PAGE, `the absolute lower dirs would fit (${absolute} bytes): the test does not test the short names`);
    // The mount was made from inside overlay2/ (the short names are relative to it).
    const i = r.trace.indexOf(m);
    assert.ok(r.trace.slice(0, i).some((e) => e.op === 'chdir' && e.path === home), 'no chdir into overlay2/ before the mount');
    // Each l/ name leads to a layer's diff dir, the topmost first.
    assert.ok(fs.existsSync(path.join(home, lower[1], 'top')), 'the first image lower dir is the top layer');
    assert.ok(fs.existsSync(path.join(home, lower[45], 'bottom')), 'the last lower dir is the bottom layer');
    assert.deepEqual(mountsUnder(root), []);
  } finally {
    ok(root, ['rmi', 'deep:45']);
    fs.rmSync(file, { force: true });
  }
  assertNoContainerLayers(root);
  assert.equal(ls(path.join(layout(root).img, 'layerdb/sha256')).length, 1, "rmi frees deep:45's 45 layers");
});

test('in a short root the overlay mount names its lower dirs by absolute path', { skip }, () => {
  const root = path.join(dir(), 's');
  const r = traced(root, ['run', '--rm', 'busybox', 'sh', '-c', "grep ' / ' /proc/mounts | cut -d' ' -f3"], path.join(dir(), 'trace.jsonl'));
  expectCode(r, 0);
  assert.equal(r.stdout, 'overlay\n', "the container's / is an overlay mount");
  const m = overlayMount(r.trace);
  assert.ok(m, 'the trace shows no overlay mount');
  const home = layout(root).overlay;
  assert.equal(path.dirname(path.dirname(m.target)), home);
  assert.equal(path.basename(m.target), 'merged');
  const lower = option(m.data, 'lowerdir')!.split(':');
  assert.equal(lower.length, 2, 'init layer + busybox');
  assert.equal(lower[0], path.join(path.dirname(m.target) + '-init', 'diff'));
  for (const l of lower) assert.ok(l.startsWith(home + '/') && l.endsWith('/diff'), l);
  assert.equal(option(m.data, 'upperdir'), path.join(path.dirname(m.target), 'diff'));
  assert.equal(option(m.data, 'workdir'), path.join(path.dirname(m.target), 'work'));
  // The options that keep the upper dir a plain changeset.
  for (const o of ['index=off', 'redirect_dir=off', 'metacopy=off']) assert.ok(m.data.split(',').includes(o), `${o} missing: ${m.data}`);
  // --rm: the container's layers and directory are gone.
  assertNoContainerLayers(root);
  assert.deepEqual(ls(path.join(root, 'containers')), []);
});
