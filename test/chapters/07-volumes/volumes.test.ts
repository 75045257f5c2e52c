// Chapter 7, for real, as root: named and anonymous volumes, bind mounts
// and tmpfs mounts, made inside the container's mount namespace. Data
// written through a volume outlives the container; :ro is the kernel's
// read-only bind; a bind shows changes both ways while it runs; a new
// volume is filled from the image once, owners, modes and times kept.
//
// test/run.ts runs this file with layers 1..7 (every test must pass) and
// with layers 1..6 (every test must fail: there -v, --mount, --tmpfs and
// --volumes-from are warned about and ignored).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BIN, rootOrSkip, until } from '../../helpers/dockling.ts';
import { spawnSync } from 'node:child_process';
import { expectCode } from '../../helpers/chapter.ts';
import { chapter7, volumesOn } from './helpers.ts';

const skip = rootOrSkip();
const t = chapter7('ch7-volumes');
const ID64 = /^[0-9a-f]{64}$/;

/** The mountinfo line of a mount point: its per-mount options. */
function mountOptions(mountinfo: string, target: string): string[] | undefined {
  const f = mountinfo.split('\n').map((l) => l.split(' ')).find((f) => f[4] === target);
  return f?.[5].split(',');
}

test('a named volume keeps what a container wrote: on the host in _data, and for the next container; :ro is refused by the kernel', { skip }, () => {
  try {
    t.ok(['-v', 'notes:/data', 'busybox', 'sh', '-c', 'echo kept > /data/f']);
    assert.equal(fs.readFileSync(path.join(t.data('notes'), 'f'), 'utf8'), 'kept\n', 'the file is in the volume on the host');
    const r = t.run(['-v', 'notes:/data:ro', 'busybox', 'sh', '-c', 'cat /data/f; touch /data/g; echo "touch=$?"; cat /proc/self/mountinfo']);
    expectCode(r, 0);
    assert.match(r.stdout, /^kept\n/);
    assert.match(r.stderr, /touch: \/data\/g: Read-only file system/);
    assert.match(r.stdout, /touch=1/);
    assert.ok(mountOptions(r.stdout, '/data')?.includes('ro'), 'the mount itself is read-only');
    assert.ok(!fs.existsSync(path.join(t.data('notes'), 'g')));
  } finally {
    t.cleanup([], ['notes']);
  }
});

test('a bind mount shows changes both ways while the container runs', { skip }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ch7-bind-'));
  try {
    fs.writeFileSync(path.join(dir, 'before'), 'from the host\n');
    t.cliOk(['run', '-d', '--name', 'live', '-v', `${dir}:/src`, '-w', '/src', 'busybox', 'sh', '-c',
      'cat before > seen-before; while [ ! -f from-host ]; do sleep 0.1; done; cat from-host > echoed; sleep 60']);
    await until(() => fs.existsSync(path.join(dir, 'seen-before')), 10_000, 'the container to read the host file');
    assert.equal(fs.readFileSync(path.join(dir, 'seen-before'), 'utf8'), 'from the host\n');
    fs.writeFileSync(path.join(dir, 'from-host'), 'written while it runs\n');
    await until(() => fs.existsSync(path.join(dir, 'echoed')) && fs.statSync(path.join(dir, 'echoed')).size > 0, 10_000, 'the container to see the new file');
    assert.equal(fs.readFileSync(path.join(dir, 'echoed'), 'utf8'), 'written while it runs\n');
    // The mount is the container's: the host's mount table has no mount of it.
    const hostMounts = fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map((l) => l.split(' ')[4]);
    assert.ok(!hostMounts.some((m) => m && (m.endsWith('/src') || m === dir)), 'nothing of the bind in the host mount table');
  } finally {
    t.cleanup(['live']);
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('-v creates a missing host directory; --mount refuses it with Docker’s message, and nothing is made', { skip }, () => {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'ch7-src-'));
  try {
    const made = path.join(base, 'new/dir');
    t.ok(['-v', `${made}:/x`, 'busybox', 'touch', '/x/f']);
    assert.ok(fs.statSync(made).isDirectory() && fs.existsSync(path.join(made, 'f')));
    const missing = path.join(base, 'absent');
    const r = expectCode(t.run(['--mount', `type=bind,src=${missing},dst=/x`, 'busybox', 'true']), 125);
    assert.match(r.stderr, new RegExp(`bind source path does not exist: ${missing}`));
    assert.ok(!fs.existsSync(missing));
  } finally {
    fs.rmSync(base, { recursive: true, force: true });
  }
});

test('copy-up: a new volume is filled from the image directory, owners, modes and times kept, once; never with nocopy', { skip }, () => {
  t.image('ch7/filled:1', 'mkdir -p /srv/app/sub && echo conf > /srv/app/app.conf && chown 1000:1001 /srv/app/app.conf && chmod 640 /srv/app/app.conf && ' +
    'chown 33:33 /srv/app/sub && chmod 750 /srv/app/sub && touch -d "2020-01-02 03:04:05" /srv/app/app.conf && chown 7:8 /srv/app && chmod 711 /srv/app');
  try {
    t.ok(['-v', 'filled:/srv/app', 'ch7/filled:1', 'true']);
    const conf = fs.statSync(path.join(t.data('filled'), 'app.conf'));
    assert.equal(fs.readFileSync(path.join(t.data('filled'), 'app.conf'), 'utf8'), 'conf\n');
    assert.deepEqual([conf.uid, conf.gid, conf.mode & 0o7777], [1000, 1001, 0o640]);
    assert.equal(conf.mtime.getTime(), Date.parse('2020-01-02T03:04:05Z'), 'the mtime is the image’s');
    const sub = fs.statSync(path.join(t.data('filled'), 'sub'));
    assert.deepEqual([sub.uid, sub.gid, sub.mode & 0o7777], [33, 33, 0o750]);
    const top = fs.statSync(t.data('filled'));
    assert.deepEqual([top.uid, top.gid, top.mode & 0o7777], [7, 8, 0o711], 'the volume directory takes the image directory’s owner and mode');
    // Once: what the volume holds now is its own.
    fs.rmSync(path.join(t.data('filled'), 'app.conf'));
    assert.equal(t.ok(['-v', 'filled:/srv/app', 'ch7/filled:1', 'ls', '/srv/app']), 'sub\n');
    // nocopy: a new volume stays empty, and hides the image's files.
    assert.equal(t.ok(['-v', 'bare:/srv/app:nocopy', 'ch7/filled:1', 'ls', '-A', '/srv/app']), '');
    assert.deepEqual(fs.readdirSync(t.data('bare')), []);
  } finally {
    t.cleanup([], ['filled', 'bare']);
    t.cli(['rmi', 'ch7/filled:1']);
  }
});

test('an image’s VOLUME becomes an anonymous volume (64 hex), filled from the image; rm keeps it, rm -v removes it', { skip }, () => {
  t.image('ch7/vol:1', 'mkdir /data && echo seed > /data/seed', ['VOLUME /data']);
  try {
    t.cliOk(['run', '--name', 'v1', 'ch7/vol:1', 'sh', '-c', 'cat /data/seed > /data/copy']);
    const mounts = JSON.parse(t.cliOk(['inspect', '-f', '{{json .Mounts}}', 'v1'])) as { Type: string; Name: string; Source: string; Destination: string; Driver: string; RW: boolean }[];
    assert.equal(mounts.length, 1);
    const [m] = mounts;
    assert.equal(m.Type, 'volume');
    assert.match(m.Name, ID64);
    assert.equal(m.Destination, '/data');
    assert.equal(m.Driver, 'local');
    assert.equal(m.Source, t.data(m.Name));
    assert.equal(fs.readFileSync(path.join(m.Source, 'copy'), 'utf8'), 'seed\n');
    assert.equal(t.cliOk(['inspect', '-f', '{{json .Config.Volumes}}', 'v1']).trim(), '{"/data":{}}');
    t.cliOk(['rm', 'v1']);
    assert.ok(volumesOn(t.root()).includes(m.Name), 'rm without -v leaves the anonymous volume (dangling)');
    t.cliOk(['run', '--name', 'v2', 'ch7/vol:1', 'true']);
    const name2 = t.cliOk(['inspect', '-f', '{{range .Mounts}}{{.Name}}{{end}}', 'v2']).trim();
    t.cliOk(['rm', '-v', 'v2']);
    assert.ok(!volumesOn(t.root()).includes(name2), 'rm -v removes it');
    t.cliOk(['volume', 'rm', m.Name]);
    // A VOLUME the user mounts something on gets no anonymous volume of its own.
    const before = volumesOn(t.root());
    t.cliOk(['run', '--name', 'v3', '-v', 'mine:/data', 'ch7/vol:1', 'true']);
    assert.deepEqual(volumesOn(t.root()), [...before, 'mine'].sort());
  } finally {
    t.cleanup(['v1', 'v2', 'v3'], ['mine']);
    t.cli(['rmi', 'ch7/vol:1']);
  }
});

test('--volumes-from shares another container’s volumes and binds (:ro makes them read-only); inspect lists Mounts as Docker', { skip }, () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ch7-from-'));
  try {
    t.cliOk(['run', '--name', 'c1', '-v', '/data', '-v', `${dir}:/host:ro`, '--mount', 'type=volume,src=named1,dst=/named', 'busybox', 'sh', '-c', 'echo anon > /data/a']);
    assert.equal(t.ok(['--volumes-from', 'c1', 'busybox', 'cat', '/data/a']), 'anon\n');
    const r = expectCode(t.run(['--volumes-from', 'c1:ro', 'busybox', 'sh', '-c', 'touch /data/b; echo "touch=$?"']), 0);
    assert.match(r.stdout, /touch=1/);
    // :rw does not make writable what c1 has read-only (Docker ands the two)
    assert.match(t.ok(['--volumes-from', 'c1:rw', 'busybox', 'sh', '-c', 'touch /host/x 2>/dev/null; echo "host=$?"; touch /data/c; echo "data=$?"']), /host=1\ndata=0/);
    const mounts = JSON.parse(t.cliOk(['inspect', '-f', '{{json .Mounts}}', 'c1'])) as Record<string, unknown>[];
    const byDest = Object.fromEntries(mounts.map((m) => [m.Destination, m]));
    assert.deepEqual(Object.keys(mounts[0]), ['Type', 'Name', 'Source', 'Destination', 'Driver', 'Mode', 'RW', 'Propagation']);
    assert.deepEqual(byDest['/host'], { Type: 'bind', Source: dir, Destination: '/host', Mode: 'ro', RW: false, Propagation: 'rprivate' });
    assert.equal((byDest['/named'] as { Name: string }).Name, 'named1');
    assert.equal((byDest['/data'] as { RW: boolean }).RW, true);
    assert.equal(t.cliOk(['inspect', '-f', '{{json .HostConfig.Binds}}', 'c1']).trim(), JSON.stringify([`${dir}:/host:ro`]));
  } finally {
    t.cleanup(['c1'], ['named1']);
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('--mount type=tmpfs: the size and mode asked, writable on a volume-less root; commit leaves volume content out of the image', { skip }, () => {
  const out = t.ok(['--mount', 'type=tmpfs,dst=/scratch,tmpfs-size=16m,tmpfs-mode=1770', 'busybox', 'sh', '-c', 'df -k /scratch | tail -1; stat -c %a /scratch']);
  assert.match(out, /^tmpfs\s+16384\s/);
  assert.match(out, /\n1770\n$/);
  try {
    t.cliOk(['run', '--name', 'wr', '-v', 'kept:/data', '-v', '/anon', 'busybox', 'sh', '-c', 'echo in-volume > /data/v; echo in-anon > /anon/a; echo in-layer > /layer']);
    t.cliOk(['commit', 'wr', 'ch7/committed:1']);
    assert.equal(t.ok(['ch7/committed:1', 'sh', '-c', 'cat /layer; ls -A /data /anon']), 'in-layer\n/anon:\n\n/data:\n', 'the layer’s file is in the image, the volumes’ are not');
    // The anonymous volume's place is kept, as Docker's commit keeps Config.Volumes; a named volume's is not.
    assert.equal(t.cliOk(['image', 'inspect', '-f', '{{json .Config.Volumes}}', 'ch7/committed:1']).trim(), '{"/anon":{}}');
  } finally {
    t.cleanup(['wr'], ['kept']);
    t.cli(['rmi', 'ch7/committed:1']);
  }
});

test('a container started again mounts what it recorded: the same anonymous volume, no new one', { skip }, () => {
  try {
    t.cliOk(['run', '--name', 'again', '-v', '/data', 'busybox', 'sh', '-c', 'date +%N >> /data/runs']);
    const name = t.cliOk(['inspect', '-f', '{{range .Mounts}}{{.Name}}{{end}}', 'again']).trim();
    const count = volumesOn(t.root()).length;
    t.cliOk(['start', '-a', 'again']);
    assert.equal(volumesOn(t.root()).length, count, 'no new volume');
    assert.equal(fs.readFileSync(path.join(t.data(name), 'runs'), 'utf8').trim().split('\n').length, 2, 'both runs wrote to the same volume');
  } finally {
    t.cleanup(['again']);
  }
});

test(':ro is read-only all the way down; rslave brings the host’s later mounts in; rshared wants a shared source (Docker’s message)', { skip }, () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ch7-prop-'));
  // All of it in a mount namespace of the test's own (unshare -m, private):
  // the source made a shared mount there, tmpfs mounts under it, and
  // dockling run from there. The host's mount table is never touched.
  const script = `set -e
D="$1"; run() { "$NODE" "$BIN" --root "$R" "$@"; }
mount --bind "$D" "$D" && mount --make-shared "$D"
mkdir -p "$D/sub" && mount -t tmpfs sub "$D/sub"
run run --rm -v "$D:/p:ro" busybox sh -c 'touch /p/sub/x 2>&1; echo "sub=$?"; touch /p/top 2>&1; echo "top=$?"'
run run -d --name prop -v "$D:/p:rslave" busybox sh -c 'for i in $(seq 100); do [ -d /p/later/ok ] && { echo seen; exit 0; }; sleep 0.1; done; echo unseen; exit 1' >/dev/null
mkdir -p "$D/later" && mount -t tmpfs later "$D/later" && mkdir "$D/later/ok"
echo "wait=$(run wait prop)"; run logs prop; run rm prop >/dev/null
mkdir -p "$D/private" && mount -t tmpfs private "$D/private" && mount --make-private "$D/private"
run run --rm -v "$D/private:/p:rshared" busybox true 2>&1 || echo "rshared=$?"
`;
  try {
    const r = spawnSync('unshare', ['-m', '--propagation', 'private', 'sh', '-c', script, 'sh', dir], {
      encoding: 'utf8', timeout: 60_000, env: { ...process.env, NODE: process.execPath, BIN, R: t.root() },
    });
    const out = r.stdout + r.stderr;
    assert.match(out, /touch: \/p\/sub\/x: Read-only file system\nsub=1/, `the host's mount under the source is read-only too:\n${out}`);
    assert.match(out, /top=1/);
    assert.match(out, /wait=0\nseen\n/, `the mount made on the host after the start reached the container:\n${out}`);
    assert.match(out, new RegExp(`path ${dir}/private is mounted on ${dir}/private but it is not a shared mount\\n[^]*rshared=125`));
  } finally {
    t.cli(['rm', '-f', 'prop']);
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('cp goes through the container’s volumes, as Docker’s does; into a :ro one it is refused', { skip }, () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ch7-cp-'));
  try {
    fs.writeFileSync(path.join(dir, 'f'), 'copied in\n');
    t.cliOk(['run', '-d', '--name', 'cpv', '-v', 'cpvol:/data', '-v', 'cpro:/ro:ro', 'busybox', 'sleep', '60']);
    t.cliOk(['cp', path.join(dir, 'f'), 'cpv:/data/']);
    assert.equal(fs.readFileSync(path.join(t.data('cpvol'), 'f'), 'utf8'), 'copied in\n', 'the file is in the volume');
    assert.equal(t.cliOk(['exec', 'cpv', 'cat', '/data/f']), 'copied in\n', 'and the container sees it');
    t.cliOk(['exec', 'cpv', 'sh', '-c', 'echo from the container > /data/g']);
    t.cliOk(['cp', 'cpv:/data/g', path.join(dir, 'g')]);
    assert.equal(fs.readFileSync(path.join(dir, 'g'), 'utf8'), 'from the container\n');
    const r = expectCode(t.cli(['cp', path.join(dir, 'f'), 'cpv:/ro/']), 1);
    assert.match(r.stderr, /mounted volume is marked read-only/);
  } finally {
    t.cleanup(['cpv'], ['cpvol', 'cpro']);
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
