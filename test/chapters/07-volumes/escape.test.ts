// Chapter 7's escape probes: hostile images against the volume layer. The
// image decides what its /data is; a runtime that resolved the mount point
// or the copy-up source on the host would mount onto, or copy from, the
// host's files. Each probe points /data at a sentinel directory made in
// this test's own temp dir (absolute, relative with "..", through a chain,
// and at "/"), so an escape would show as the sentinel's file copied into
// the volume or a marker appearing in the sentinel: the probes only read
// and write there, never the host's own files.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { rootOrSkip, until } from '../../helpers/dockling.ts';
import { expectCode } from '../../helpers/chapter.ts';
import { mountsUnder } from '../../helpers/leaks.ts';
import { chapter7 } from './helpers.ts';

const skip = rootOrSkip();
const t = chapter7('ch7-escape');

/** The host sentinel: a directory with one secret file, and its listing to compare after. */
function sentinel(): { dir: string; listing: () => string[] } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ch7-sentinel-'));
  fs.writeFileSync(path.join(dir, 'secret'), `host secret ${process.pid}\n`);
  return { dir, listing: () => fs.readdirSync(dir).sort() };
}

const cases: { name: string; link: (dir: string) => string }[] = [
  { name: 'an absolute symlink to a host path', link: (dir) => `ln -s ${dir} /data` },
  { name: 'a relative symlink that climbs with ..', link: (dir) => `ln -s ../../../../../../../..${dir} /data` },
  { name: 'a chain of symlinks', link: (dir) => `ln -s /hop1 /data && ln -s ../hop2 /hop1 && ln -s ../../..${dir} /hop2` },
];

for (const c of cases) {
  test(`an image whose /data is ${c.name}: the volume lands inside the container and copy-up reads the container’s files only`, { skip }, () => {
    const s = sentinel();
    const tag = `ch7/evil-${cases.indexOf(c)}:1`;
    const mountsBefore = mountsUnder('/tmp');
    try {
      t.image(tag, c.link(s.dir));
      const vol = `evil${cases.indexOf(c)}`;
      const bind = fs.mkdtempSync(path.join(os.tmpdir(), 'ch7-bindsrc-'));
      try {
        const out = t.ok(['-v', `${vol}:/data`, '-v', `${bind}:/data/inner`, tag, 'sh', '-c', `echo marker > /data/marker; echo bound > /data/inner/b; ls -A ${s.dir}`]);
        assert.deepEqual(out.trim().split('\n').sort(), ['inner', 'marker'], 'inside, the symlink’s target is the volume');
        assert.deepEqual(fs.readdirSync(t.data(vol)).sort(), ['inner', 'marker'], 'the volume holds what the container wrote, nothing copied from the host');
        assert.equal(fs.readFileSync(path.join(bind, 'b'), 'utf8'), 'bound\n', 'the bind inside the volume is the host directory asked for');
        assert.deepEqual(s.listing(), ['secret'], 'the host sentinel is unchanged');
      } finally {
        fs.rmSync(bind, { recursive: true, force: true });
        t.cleanup([], [vol]);
      }
      assert.deepEqual(mountsUnder('/tmp'), mountsBefore, 'no mount reached the host table');
    } finally {
      t.cli(['rmi', tag]);
      fs.rmSync(s.dir, { recursive: true, force: true });
    }
  });
}

test('an image whose /data is a symlink to /etc: the volume is the container’s /etc, filled from the image’s, and the host’s /etc has no marker', { skip }, () => {
  const marker = `dockling-ch7-marker-${process.pid}`;
  try {
    t.image('ch7/evil-etc:1', 'ln -s /etc /data');
    const out = t.ok(['-v', 'evileto:/data', 'ch7/evil-etc:1', 'sh', '-c', `touch /data/${marker}; ls /etc/${marker}; cat /data/passwd | head -1`]);
    assert.equal(out, `/etc/${marker}\nroot:x:0:0:root:/root:/bin/sh\n`, 'inside, /data is the container’s /etc, filled with busybox’s passwd');
    assert.ok(fs.existsSync(path.join(t.data('evileto'), marker)), 'the marker is in the volume');
    assert.ok(!fs.existsSync(`/etc/${marker}`), 'the host’s /etc has no marker');
    const copied = fs.readFileSync(path.join(t.data('evileto'), 'passwd'), 'utf8');
    assert.equal(copied, 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\n', 'copy-up copied the image’s /etc/passwd');
    assert.notEqual(copied, fs.readFileSync('/etc/passwd', 'utf8'), 'not the host’s');
  } finally {
    t.cleanup([], ['evileto']);
    t.cli(['rmi', 'ch7/evil-etc:1']);
  }
});

test('an image whose /data is a symlink to / (or ../../..): the mount is refused, nothing copied, nothing made in the bind source', { skip }, () => {
  const s = sentinel();
  const bind = fs.mkdtempSync(path.join(os.tmpdir(), 'ch7-rootbind-'));
  try {
    t.image('ch7/evil-root:1', 'ln -s / /data && ln -s ../../.. /up');
    const message = /mount destination \/(data|up) leads to the container's root/;
    let r = expectCode(t.run(['-v', 'evilroot:/data', 'ch7/evil-root:1', 'true']), 125);
    assert.match(r.stderr, message);
    assert.deepEqual(fs.readdirSync(t.data('evilroot')), [], 'copy-up copied nothing: not the container’s root, not the host’s');
    // A bind there would have covered the root, and the init's /dev nodes would have been made in the host directory.
    r = expectCode(t.run(['-v', `${bind}:/up`, 'ch7/evil-root:1', 'true']), 125);
    assert.match(r.stderr, message);
    assert.deepEqual(fs.readdirSync(bind), [], 'nothing was made in the bind source');
    assert.deepEqual(s.listing(), ['secret']);
  } finally {
    t.cleanup([], ['evilroot']);
    t.cli(['rmi', 'ch7/evil-root:1']);
    fs.rmSync(bind, { recursive: true, force: true });
    fs.rmSync(s.dir, { recursive: true, force: true });
  }
});

test('a running container that swaps a shared directory for a symlink cannot turn another’s mount point outward', { skip }, () => {
  const s = sentinel();
  const bind = fs.mkdtempSync(path.join(os.tmpdir(), 'ch7-race-'));
  try {
    // The racer flips /s/d between a directory and a symlink to the host sentinel's path, as fast as it can.
    t.cliOk(['run', '-d', '--name', 'racer', '-v', 'shared:/s', 'busybox', 'sh', '-c',
      `while :; do mkdir /s/d 2>/dev/null; rmdir /s/d 2>/dev/null; ln -s ${s.dir} /s/d 2>/dev/null; rm -f /s/d; done`]);
    for (let i = 0; i < 6; i++) {
      const r = t.run(['-v', 'shared:/s', '-v', `${bind}:/s/d`, 'busybox', 'sh', '-c', `echo ${i} > /s/d/m${i}`]);
      // The mount made it, or the racer's rmdir took it away again (a mount
      // point removed in another namespace is detached), or the run failed
      // cleanly: whichever, nothing reached the sentinel.
      assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
      assert.deepEqual(s.listing(), ['secret'], 'the host sentinel is unchanged');
    }
    assert.ok(fs.existsSync(t.data('shared')), 'the racers shared a real volume');
  } finally {
    t.cleanup(['racer'], ['shared']);
    fs.rmSync(bind, { recursive: true, force: true });
    fs.rmSync(s.dir, { recursive: true, force: true });
  }
});

test('cp through a volume: a symlink the container leaves in it leads nowhere on the host, either way', { skip }, async () => {
  const s = sentinel();
  const local = fs.mkdtempSync(path.join(os.tmpdir(), 'ch7-cpsrc-'));
  try {
    fs.writeFileSync(path.join(local, 'planted'), 'from cp\n');
    t.cliOk(['run', '-d', '--name', 'cplink', '-v', 'cplinkvol:/data', 'busybox', 'sh', '-c', `ln -s ${s.dir} /data/out && ln -s ../../../../..${s.dir}/secret /data/up && sleep 60`]);
    const up = path.join(t.data('cplinkvol'), 'up');
    await until(() => fs.existsSync(up) || fs.lstatSync(up, { throwIfNoEntry: false }) !== undefined, 10_000, 'the container to make its links');
    assert.ok(fs.lstatSync(path.join(t.data('cplinkvol'), 'out')).isSymbolicLink(), 'the links are in the volume, on the host');
    // Reading: the links resolve inside the volume, where the sentinel's path does not exist.
    for (const p of ['/data/out/secret', '/data/up']) {
      const r = t.cli(['cp', '-L', `cplink:${p}`, '-']);
      assert.notEqual(r.code, 0, `${p}: ${r.stdout.slice(0, 80)}`);
      assert.doesNotMatch(r.stdout, /host secret/);
      assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
    }
    // Writing: a copy into /data/out lands inside the volume, never in the sentinel.
    t.cli(['cp', path.join(local, 'planted'), 'cplink:/data/out/']);
    assert.deepEqual(s.listing(), ['secret'], 'the host sentinel is unchanged');
  } finally {
    t.cleanup(['cplink'], ['cplinkvol']);
    fs.rmSync(local, { recursive: true, force: true });
    fs.rmSync(s.dir, { recursive: true, force: true });
  }
});
