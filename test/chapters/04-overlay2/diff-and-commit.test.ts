// Chapter 4, section 6: "diff and commit".
//
// Chapter 4, for real, as root: a container's writable layer and what is
// made of it. `run` without --rm keeps the container (stopped) with its
// layers; `diff` reads the upper dir alone and lists exactly what the
// container added, changed and deleted (the init layer keeps /proc, /dev,
// /etc/hosts… out of it); `commit` packs those changes into a new layer on
// top of the image's, and a container of the new image sees the same files.
// The chainIDs and the new config are checked against the OCI formulas,
// computed here, not by dockling's code.
//
// test/run.ts runs this file with layers 1..4 (every test must pass) and
// with layers 1..3 (every test must fail: `diff`, `commit`, `inspect` and
// `rm` do not exist there, and containers are not kept).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { dockling, rootOrSkip } from '../../helpers/dockling.ts';
import { expectCode, useStateRoot } from '../../helpers/chapter.ts';
import { mountsUnder } from '../../helpers/leaks.ts';
import { assertNoContainerLayers, chainIDsOf, configOf, containerID, hex, idOf, layout, ls, ok, rmQuietly, sha256, tableRows } from './store-helpers.ts';

const skip = rootOrSkip();
const root = useStateRoot('ch4-commit');

const lines = (s: string) => s.split('\n').filter(Boolean);
const CHANGES = 'echo hi > /www; rm /bin/vi; mkdir /d; touch /etc/passwd';

test('a container is kept after it exits, with its layers in the layout Docker uses', { skip }, () => {
  try {
    const r = expectCode(dockling(root(), ['run', '--name', 'kept', 'busybox', 'sh', '-c', `${CHANGES}; exit 3`]), 3);
    assert.equal(r.stderr, '');
    const state = JSON.parse(ok(root(), ['inspect', '-f', '{{json .State}}', 'kept']));
    assert.equal(state.Status, 'exited');
    assert.equal(state.ExitCode, 3);
    assert.equal(state.Running, false);
    const id = containerID(root(), 'kept');
    const L = layout(root());
    assert.ok(fs.existsSync(path.join(root(), 'containers', id)), 'the container directory is kept');
    // layerdb/mounts/<id>/{mount-id,init-id,parent}
    const mdir = path.join(L.mounts, id);
    assert.deepEqual(ls(mdir), ['init-id', 'mount-id', 'parent']);
    const mountID = fs.readFileSync(path.join(mdir, 'mount-id'), 'utf8');
    assert.match(mountID, /^[0-9a-f]{64}$/);
    assert.equal(fs.readFileSync(path.join(mdir, 'init-id'), 'utf8'), `${mountID}-init`);
    const bb = configOf(root(), idOf(root(), 'busybox'));
    assert.equal(fs.readFileSync(path.join(mdir, 'parent'), 'utf8'), chainIDsOf(bb.rootfs.diff_ids).at(-1), "parent is the image's top chainID");
    // overlay2/<mount-id>/{diff,link,lower,work,merged}, <mount-id>-init likewise.
    for (const d of [mountID, `${mountID}-init`]) assert.deepEqual(ls(path.join(L.overlay, d)), ['diff', 'link', 'lower', 'merged', 'work'], d);
    // lower of the rw layer: the init layer's short name, then the image's.
    const link = (d: string) => 'l/' + fs.readFileSync(path.join(L.overlay, d, 'link'), 'utf8');
    const lower = fs.readFileSync(path.join(L.overlay, mountID, 'lower'), 'utf8').split(':');
    assert.equal(lower[0], link(`${mountID}-init`));
    assert.equal(lower.length, 1 + bb.rootfs.diff_ids.length);
    // The upper dir holds the changes, with the kernel's whiteout for /bin/vi.
    const upper = path.join(L.overlay, mountID, 'diff');
    assert.equal(fs.readFileSync(path.join(upper, 'www'), 'utf8'), 'hi\n');
    const wh = fs.lstatSync(path.join(upper, 'bin/vi'));
    assert.ok(wh.isCharacterDevice() && wh.rdev === 0, '/bin/vi is a 0/0 character device (a whiteout) in the upper dir');
    // Stopped: nothing mounted.
    assert.deepEqual(mountsUnder(root()), [], 'a stopped container keeps its layers, not its mount');
  } finally {
    rmQuietly(root(), 'kept');
  }
  assertNoContainerLayers(root());
});

test('diff lists exactly what the container added (A), changed (C) and deleted (D)', { skip }, () => {
  try {
    ok(root(), ['run', '--name', 'changer', 'busybox', 'sh', '-c', CHANGES]);
    assert.deepEqual(lines(ok(root(), ['diff', 'changer'])), ['C /bin', 'D /bin/vi', 'A /d', 'C /etc', 'C /etc/passwd', 'A /www']);
    assert.deepEqual(lines(ok(root(), ['container', 'diff', 'changer'])).length, 6, '`container diff` is `diff`');
    const missing = expectCode(dockling(root(), ['diff', 'nosuch']), 1);
    assert.match(missing.stderr, /No such container: nosuch/);
  } finally {
    rmQuietly(root(), 'changer');
  }
});

test("the init layer keeps a container's mount points and /etc files out of its diff", { skip }, () => {
  try {
    // The container sees /proc, /dev, /sys, /etc/hosts, /etc/hostname,
    // /etc/resolv.conf and /.dockerenv, and changes nothing of its own.
    const out = ok(root(), ['run', '--name', 'quiet', '--hostname', 'qbox', 'busybox', 'sh', '-c',
      'test -e /.dockerenv && test -d /proc/self && test -c /dev/null && test -f /etc/hosts && test -f /etc/resolv.conf && cat /etc/hostname']);
    assert.equal(out, 'qbox\n');
    assert.equal(ok(root(), ['diff', 'quiet']), '', 'a container that changed nothing must have an empty diff');
    // The init layer has them, and is the rw layer's first lower dir.
    const mountID = fs.readFileSync(path.join(layout(root()).mounts, containerID(root(), 'quiet'), 'mount-id'), 'utf8');
    const init = path.join(layout(root()).overlay, `${mountID}-init`, 'diff');
    for (const p of ['proc', 'sys', 'dev', 'etc/hosts', 'etc/hostname', 'etc/resolv.conf', '.dockerenv']) assert.ok(fs.existsSync(path.join(init, p)), `init layer lacks ${p}`);
    assert.equal(fs.readlinkSync(path.join(init, 'etc/mtab')), '/proc/mounts');
  } finally {
    rmQuietly(root(), 'quiet');
  }
});

test('commit: a new layer on the image, its chainID by the OCI formula, Cmd from the container', { skip }, () => {
  try {
    ok(root(), ['run', '--name', 'src', 'busybox', 'sh', '-c', CHANGES]);
    const base = idOf(root(), 'busybox');
    const id = ok(root(), ['commit', '-a', 'Ada <ada@example.com>', '-m', 'first commit', 'src', 'mine:v1']).trim();
    assert.match(id, /^sha256:[0-9a-f]{64}$/, 'commit prints the new image ID');
    assert.equal(idOf(root(), 'mine:v1'), id);
    const L = layout(root());
    assert.equal(sha256(fs.readFileSync(L.content(id))), id);
    assert.equal(fs.readFileSync(path.join(L.metadata(id), 'parent'), 'utf8'), base, 'imagedb/metadata/<id>/parent names the image it was made from');

    const cfg = JSON.parse(fs.readFileSync(L.content(id), 'utf8'));
    assert.deepEqual(cfg.config.Cmd, ['sh', '-c', CHANGES], "Cmd is the container's command");
    assert.equal(cfg.author, 'Ada <ada@example.com>');
    assert.equal(cfg.comment, 'first commit');
    assert.equal(cfg.container, containerID(root(), 'src'));
    assert.equal(cfg.history.at(-1).created_by, `sh -c ${CHANGES}`);
    assert.equal(cfg.history.at(-1).comment, 'first commit');
    const baseDiffs = configOf(root(), base).rootfs.diff_ids;
    assert.equal(cfg.rootfs.diff_ids.length, baseDiffs.length + 1);
    assert.deepEqual(cfg.rootfs.diff_ids.slice(0, -1), baseDiffs, "the image's layers, then one more");

    // chainID(L1) = sha256(chainID(L0) + " " + diffID(L1)), and layerdb files it so.
    const chains = chainIDsOf(cfg.rootfs.diff_ids);
    const top = chains.at(-1)!;
    assert.equal(top, sha256(`${chains.at(-2)} ${cfg.rootfs.diff_ids.at(-1)}`));
    assert.equal(fs.readFileSync(path.join(L.layer(top), 'diff'), 'utf8'), cfg.rootfs.diff_ids.at(-1));
    assert.equal(fs.readFileSync(path.join(L.layer(top), 'parent'), 'utf8'), chains.at(-2));
    // The layer's size counts the bytes of its regular files: "hi\n" and the copied-up /etc/passwd.
    const bbCache = fs.readFileSync(path.join(L.layer(chains[0]), 'cache-id'), 'utf8');
    const passwd = fs.readFileSync(path.join(L.overlay, bbCache, 'diff/etc/passwd'));
    assert.equal(Number(fs.readFileSync(path.join(L.layer(top), 'size'), 'utf8')), 3 + passwd.length);

    // history: newest first, the commit's row shows the new ID and the container's command.
    const hist = tableRows(ok(root(), ['history', 'mine:v1']));
    assert.deepEqual(hist[0], ['IMAGE', 'CREATED', 'CREATED BY', 'SIZE', 'COMMENT']);
    assert.equal(hist[1][0], hex(id).slice(0, 12));
    assert.match(hist[1][2], /^sh -c echo hi/);
    assert.equal(hist[1].at(-1), 'first commit');
    assert.equal(hist.length - 1, cfg.history.length);
    // below it, the image it was committed on (docker's parent chain), then <missing>
    const busyboxId = ok(root(), ['image', 'inspect', '-f', '{{.Id}}', 'busybox']).trim();
    assert.equal(hist[2][0], hex(busyboxId).slice(0, 12));
    assert.ok(hist.slice(3).every((r) => r[0] === '<missing>'));
    assert.equal(ok(root(), ['history', '-q', '--no-trunc', 'mine:v1']).split('\n')[0], id);

    // A container of the new image sees the same files, and has no changes of its own.
    const seen = ok(root(), ['run', '--name', 'dst', 'mine:v1', 'sh', '-c', 'cat /www; test -e /bin/vi || echo no-vi; test -d /d && echo d; ls -l /etc/passwd | cut -c1-10']);
    assert.equal(seen, 'hi\nno-vi\nd\n-rw-r--r--\n');
    assert.equal(ok(root(), ['diff', 'dst']), '', 'the committed changes are in the image, not in the new container');
    // With no command, the image's Cmd runs: the committed one.
    assert.equal(ok(root(), ['run', '--rm', 'mine:v1']), '', 'the committed Cmd (the changes script) runs and prints nothing');
  } finally {
    rmQuietly(root(), 'src', 'dst');
    dockling(root(), ['rmi', 'mine:v1']);
  }
  assertNoContainerLayers(root());
});

test('commit keeps an opaque directory, special files and modes through the layer tar', { skip }, () => {
  try {
    const before = lines(ok(root(), ['run', '--rm', 'busybox', 'ls', '-A', '/usr']));
    assert.ok(before.length > 0, 'busybox has something in /usr');
    ok(root(), ['run', '--name', 'opq', 'busybox', 'sh', '-c', 'rm -rf /usr; mkdir /usr; echo x > /usr/only; ln -s /www /lnk; mkfifo /fifo; chmod 4755 /bin/busybox; chmod 700 /root']);
    const diff = lines(ok(root(), ['diff', 'opq']));
    for (const want of ['C /usr', 'A /usr/only', 'A /lnk', 'A /fifo', 'C /bin/busybox', 'C /root', ...before.map((n) => `D /usr/${n}`)]) assert.ok(diff.includes(want), `diff lacks "${want}": ${diff.join(', ')}`);
    ok(root(), ['commit', 'opq', 'opq:1']);
    const out = ok(root(), ['run', '--rm', 'opq:1', 'sh', '-c', 'ls -A /usr; readlink /lnk; test -p /fifo && echo fifo; stat -c %a /bin/busybox /root']);
    assert.equal(out, 'only\n/www\nfifo\n4755\n700\n', 'the replaced /usr shows only its new file; the link, the FIFO and the modes survive');
  } finally {
    rmQuietly(root(), 'opq');
    dockling(root(), ['rmi', 'opq:1']);
  }
});

test('rm of an unknown container, and commit of an unknown container, fail clearly', { skip }, () => {
  const rm = expectCode(dockling(root(), ['rm', 'ghost']), 1);
  assert.match(rm.stderr, /No such container: ghost/);
  const commit = expectCode(dockling(root(), ['commit', 'ghost', 'x:1']), 1);
  assert.match(commit.stderr, /No such container: ghost/);
});
