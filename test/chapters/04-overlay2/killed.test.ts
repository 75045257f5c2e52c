// Chapter 4, section 7: "export, import, save, load", its "What a killed
// command leaves".
//
// Chapter 4, for real, as root: FAULT INJECTION. `import`, `commit`,
// `save` and `load` are killed with SIGKILL at 30 moments spread evenly
// over one run's duration (no `finally` runs then), and after each kill
// one more command runs. Every command starts by clearing what a killed
// one left (runtime/image/leftovers.ts), so after it the store must be
// whole: no scratch in tmp/, no half-written record or state file, no
// overlay2/ directory without a record, no layer that nothing uses, every
// listed image with all its layers, no mount, no dockling process left.
//
// test/run.ts runs this file with layers 1..4 (every test must pass) and
// with layers 1..3 (every test must fail: these commands do not exist).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { dockling, docklingAsync, rootOrSkip } from '../../helpers/dockling.ts';
import { expectCode, useStateRoot } from '../../helpers/chapter.ts';
import { mountsUnder } from '../../helpers/leaks.ts';
import { chainIDsOf, dockerArchive, hex, layout, ls, makeTar, ok, rmQuietly } from './store-helpers.ts';

const skip = rootOrSkip();
const root = useStateRoot('ch4-killed');
const KILLS = 30;

/** A tar of `n` small files: enough work that a kill lands in the middle of it. */
const filesTar = (tag: string, n = 150) =>
  makeTar([{ name: 'd/', type: 'dir' }, ...Array.from({ length: n }, (_, i) => ({ name: `d/${tag}-${i}`, type: 'file' as const, body: `${tag} ${i}\n`.repeat(200) }))]);

const read = (f: string) => fs.readFileSync(f, 'utf8').trim();

/**
 * The store, read from disk as Docker lays it out, must be whole (see the
 * top of the file). `listed` is what the command after the kill printed
 * (`images -q --no-trunc`).
 */
function assertStoreWhole(when: string, listed: string): void {
  const L = layout(root());
  const msg = (m: string) => `${when}: ${m}`;
  assert.deepEqual(ls(L.tmp), [], msg('scratch left in tmp/'));
  assert.deepEqual(mountsUnder(root()), [], msg('mounts left'));
  const layerdb = path.join(L.img, 'layerdb/sha256');
  const chains = ls(layerdb);
  assert.deepEqual(chains.filter((c) => !/^[0-9a-f]{64}$/.test(c)), [], msg('half-written layer records'));
  const stateTmp = [L.img, path.join(L.img, 'imagedb/content/sha256')].flatMap(ls).filter((f) => f.endsWith('.tmp'));
  assert.deepEqual(stateTmp, [], msg('half-written state files'));
  // Every overlay2/ directory belongs to a layer or a container.
  const owned = new Set(chains.map((c) => read(path.join(layerdb, c, 'cache-id'))));
  for (const m of ls(L.mounts)) for (const f of ['mount-id', 'init-id']) owned.add(read(path.join(L.mounts, m, f)));
  assert.deepEqual(ls(L.overlay).filter((d) => d !== 'l' && !owned.has(d)), [], msg('overlay2/ directories no layer owns'));
  for (const link of ls(path.join(L.overlay, 'l'))) assert.ok(fs.existsSync(path.join(L.overlay, 'l', link)), msg(`dangling l/${link}`));
  // Images listed = images whose layers are all there; every layer used by one (or by the container).
  const images = ls(path.join(L.img, 'imagedb/content/sha256'));
  const used = new Set<string>();
  for (const id of images) {
    const config = JSON.parse(fs.readFileSync(path.join(L.img, 'imagedb/content/sha256', id), 'utf8'));
    for (const c of chainIDsOf(config.rootfs.diff_ids)) {
      assert.ok(chains.includes(hex(c)), msg(`image ${id} misses layer ${c}`));
      used.add(hex(c));
    }
  }
  assert.deepEqual(chains.filter((c) => !used.has(c)), [], msg('layers no image uses'));
  assert.equal(listed.split('\n').filter(Boolean).length, new Set(images).size, msg('images lists another set'));
  // No dockling process of this state root is left.
  const alive = ls('/proc').filter((p) => /^\d+$/.test(p) && Number(p) !== process.pid).filter((p) => {
    try {
      return fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(root());
    } catch {
      return false;
    }
  });
  assert.deepEqual(alive, [], msg('processes left'));
}

/**
 * Every image but busybox goes (so that each attempt does the work again),
 * in one `rmi`. `listed` is `images -q --no-trunc`'s output, when the
 * caller has it at hand (each CLI start costs a few hundred ms, thirty
 * times over).
 */
function resetImages(listed = ok(root(), ['images', '-q', '--no-trunc'])): void {
  busyboxId ??= ok(root(), ['image', 'inspect', '-f', '{{.Id}}', 'busybox']).trim();
  const others = [...new Set(listed.split('\n').filter(Boolean))].filter((id) => id !== busyboxId);
  if (others.length > 0) dockling(root(), ['rmi', '-f', ...others]);
}
let busyboxId: string | undefined;

/** The command that follows a kill: it clears what the killed one left (and lists what is there). */
const nextCommand = () => expectCode(dockling(root(), ['images', '-q', '--no-trunc']), 0).stdout;

/** Run `args` once to time it, then kill it at KILLS moments spread over that time; check the store after each. */
async function killAtEvenMoments(args: string[]): Promise<void> {
  const t0 = performance.now();
  expectCode(dockling(root(), args), 0);
  const duration = performance.now() - t0;
  resetImages();
  for (let i = 0; i < KILLS; i++) {
    const at = (duration * i) / KILLS;
    const p = docklingAsync(root(), args);
    const timer = setTimeout(() => p.child.kill('SIGKILL'), at);
    await p.done;
    clearTimeout(timer);
    // One more command: it clears what the killed one left.
    const listed = nextCommand();
    assertStoreWhole(`${args[0]} killed at ${Math.round(at)} ms of ${Math.round(duration)}`, listed);
    resetImages(listed);
  }
}

const file = (name: string) => path.join(root(), name);

test(`import killed at ${KILLS} moments: the next command leaves the store whole`, { skip }, async () => {
  fs.writeFileSync(file('in.tar'), filesTar('imp'));
  try {
    await killAtEvenMoments(['import', file('in.tar'), 'imp:1']);
  } finally {
    fs.rmSync(file('in.tar'), { force: true });
  }
});

test(`load killed at ${KILLS} moments: the next command leaves the store whole`, { skip }, async () => {
  fs.writeFileSync(file('ld.tar'), dockerArchive([filesTar('a'), filesTar('b'), filesTar('c')], 'ld:1').tar);
  try {
    await killAtEvenMoments(['load', '-i', file('ld.tar')]);
  } finally {
    fs.rmSync(file('ld.tar'), { force: true });
  }
});

test(`save killed at ${KILLS} moments: the next command leaves the store whole`, { skip }, async () => {
  fs.writeFileSync(file('ld.tar'), dockerArchive([filesTar('a'), filesTar('b')], 'sv:1').tar);
  ok(root(), ['load', '-i', file('ld.tar')]);
  const out = path.join(root(), 'out');
  fs.mkdirSync(out);
  try {
    // save's own image is kept: resetImages would remove it, so it is loaded again each time.
    const t0 = performance.now();
    ok(root(), ['save', '-o', path.join(out, 'x.tar'), 'sv:1']);
    const duration = performance.now() - t0;
    for (let i = 0; i < KILLS; i++) {
      const p = docklingAsync(root(), ['save', '-o', path.join(out, 'x.tar'), 'sv:1']);
      const timer = setTimeout(() => p.child.kill('SIGKILL'), (duration * i) / KILLS);
      await p.done;
      clearTimeout(timer);
      assertStoreWhole(`save killed at ${i}/${KILLS}`, nextCommand());
    }
  } finally {
    resetImages();
    fs.rmSync(out, { recursive: true, force: true });
    fs.rmSync(file('ld.tar'), { force: true });
  }
});

test(`commit killed at ${KILLS} moments: the next command leaves the store whole`, { skip }, async () => {
  ok(root(), ['run', '--name', 'kc', 'busybox', 'sh', '-c', 'mkdir /d && for i in $(seq 150); do echo $i > /d/$i; done']);
  try {
    await killAtEvenMoments(['commit', 'kc', 'cm:1']);
  } finally {
    rmQuietly(root(), 'kc');
  }
});

test('a scratch dir is reaped only when its owner (PID and start time) is gone: a live dockling\'s is kept', { skip }, () => {
  const tmp = layout(root()).tmp;
  ok(root(), ['images', '-q']);
  fs.mkdirSync(tmp, { recursive: true });
  const startOf = (pid: number) => fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')[19];
  // Live: this test process. Dead: the same PID with another start time (a recycled PID), and a PID that exited.
  const mine = startOf(process.pid);
  const live = path.join(tmp, `save-${process.pid}.${mine}-live`);
  const recycled = path.join(tmp, `load-${process.pid}.${Number(mine) + 1}-dead`);
  const exited = spawnSync('true').pid!;
  const gone = path.join(tmp, `commit-${exited}.1-dead`);
  for (const d of [live, recycled, gone]) fs.mkdirSync(path.join(d, 'sub'), { recursive: true });
  try {
    ok(root(), ['images', '-q']);
    assert.deepEqual(ls(tmp), [path.basename(live)]);
  } finally {
    for (const d of [live, recycled, gone]) fs.rmSync(d, { recursive: true, force: true });
  }
});
