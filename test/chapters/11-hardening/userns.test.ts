// Chapter 11, section 6: "User namespaces: root inside, nobody outside".
//
// Chapter 11, user namespaces: with --userns-remap, root in a container is
// an unprivileged uid on the host. Every test runs real containers as root,
// with a remap user the file makes itself (useradd) and subordinate ranges it
// adds to /etc/subuid and /etc/subgid; `after` removes the user and puts the
// files back byte for byte.
//
// test/run.ts runs this file with layers 1..11 (every test must pass) and
// 1..10 (every test must fail: --userns-remap is ignored there, with a
// warning, and the container's root is the host's).
import { after, afterEach, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { dockling, rootOrSkip, type Result } from '../../helpers/dockling.js';
import { expectCode, useStateRoot } from '../../helpers/chapter.js';
import { containerDirs } from '../../helpers/leaks.js';

const skip = rootOrSkip();
const root = useStateRoot('ch11-userns');
const USER = `dltest${process.pid}`;
const RANGE = 65536;

// --- the host files this file changes, saved and restored exactly ----------

const SAVED_FILES = ['/etc/subuid', '/etc/subgid', '/etc/passwd-', '/etc/group-', '/etc/shadow-', '/etc/gshadow-'];
type Saved = { file: string; content: Buffer; mode: number } | { file: string; content: null };
let saved: Saved[] = [];

function saveFiles(): void {
  saved = SAVED_FILES.map((file) => {
    try {
      return { file, content: fs.readFileSync(file), mode: fs.statSync(file).mode & 0o7777 };
    } catch {
      return { file, content: null };
    }
  });
}

function restoreFiles(): void {
  for (const s of saved) {
    if (s.content === null) fs.rmSync(s.file, { force: true });
    else {
      fs.writeFileSync(s.file, s.content);
      fs.chmodSync(s.file, s.mode);
    }
  }
}

const sh = (argv: string[]) => spawnSync(argv[0], argv.slice(1), { encoding: 'utf8' });
const exists = (db: 'passwd' | 'group', name: string) => sh(['getent', db, name]).status === 0;

/** The first id above every range already in the subordinate files (at least 400000). */
function freeStart(): number {
  let end = 400000;
  for (const f of ['/etc/subuid', '/etc/subgid']) {
    const text = fs.existsSync(f) ? fs.readFileSync(f, 'utf8') : '';
    for (const l of text.split('\n')) {
      const [, s, n] = l.split(':');
      if (/^\d+$/.test(s ?? '') && /^\d+$/.test(n ?? '')) end = Math.max(end, Number(s) + Number(n));
    }
  }
  return end;
}

let START = 0;
// The runner's TMPDIR holds the state root; it is 0700 (and so may be a
// directory above it), and the remapped root must pass through every one
// (dockling refuses otherwise, as dockerd does): o+x for the file's time.
let modes: [string, number][] = [];

before(() => {
  if (skip) return;
  for (let d = os.tmpdir(); d !== '/'; d = path.dirname(d)) {
    const mode = fs.statSync(d).mode & 0o7777;
    if (mode & 0o001) continue;
    modes.push([d, mode]);
    fs.chmodSync(d, mode | 0o001);
  }
  saveFiles();
  assert.equal(sh(['useradd', '--system', '--no-create-home', '--user-group', '--shell', '/bin/false', USER]).status, 0, `useradd ${USER}`);
  START = freeStart();
  for (const f of ['/etc/subuid', '/etc/subgid']) fs.appendFileSync(f, `${USER}:${START}:${RANGE}\n`);
});

after(() => {
  if (skip) return;
  sh(['userdel', USER]);
  if (exists('group', USER)) sh(['groupdel', USER]);
  restoreFiles();
  for (const [d, mode] of modes) fs.chmodSync(d, mode);
  modes = [];
});

/** `dockling --userns-remap USER ARGS…` against the file's state root. */
const remapped = (args: string[], env?: NodeJS.ProcessEnv): Result => dockling(root(), ['--userns-remap', USER, ...args], env ? { env } : {});
/** The remapped state root, <root>/<uid>.<gid>. */
const remappedRoot = () => path.join(root(), `${START}.${START}`);

afterEach(() => {
  if (skip) return;
  // Kept containers of a failed test: gone, whichever root they are in.
  for (const r of [remapped, (a: string[]) => dockling(root(), a)]) {
    const ids = r(['ps', '-aq']).stdout.split('\n').filter(Boolean);
    if (ids.length) r(['rm', '-f', ...ids]);
  }
  assert.deepEqual(containerDirs(remappedRoot()), [], 'container state directories remain in the remapped root');
});

const lines = (s: string) => s.split('\n').map((l) => l.trim().split(/\s+/).join(' ')).filter(Boolean);
const inspect = (r: (a: string[]) => Result, name: string) => JSON.parse(expectCode(r(['inspect', name]), 0).stdout)[0];

// --- inside the container ------------------------------------------------------

test('root in the container is uid 0 of a user namespace mapped to the remap user’s range', { skip }, () => {
  const out = expectCode(remapped(['run', '--rm', 'busybox', 'sh', '-c', 'id -u; id -g; cat /proc/self/uid_map /proc/self/gid_map; echo ok > /dev/null && echo devnull']), 0).stdout;
  assert.deepEqual(lines(out), ['0', '0', `0 ${START} ${RANGE}`, `0 ${START} ${RANGE}`, 'devnull']);
});

test('the container’s process is, on the host, the first uid and gid of the range', { skip }, () => {
  expectCode(remapped(['run', '-d', '--name', 'hostview', 'busybox', 'sleep', '600']), 0);
  try {
    hostView();
  } finally {
    remapped(['rm', '-f', 'hostview']);
  }
});

function hostView(): void {
  const pid = inspect(remapped, 'hostview').State.Pid as number;
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  // real, effective, saved, filesystem
  assert.match(status, new RegExp(`^Uid:\\s+${START}\\s+${START}\\s+${START}\\s+${START}$`, 'm'));
  assert.match(status, new RegExp(`^Gid:\\s+${START}\\s+${START}\\s+${START}\\s+${START}$`, 'm'));
  // …and `exec` joins the same user namespace: its root is the same host uid.
  const out = expectCode(remapped(['exec', 'hostview', 'sh', '-c', 'id -u; cat /proc/self/uid_map']), 0).stdout;
  assert.deepEqual(lines(out), ['0', `0 ${START} ${RANGE}`]);
  assert.equal(fs.readlinkSync(`/proc/${pid}/ns/user`) === fs.readlinkSync('/proc/self/ns/user'), false, 'the container has a user namespace of its own');
}

test('files made in the container belong, on the host, to the mapped uid; the image’s files are shifted too', { skip }, () => {
  expectCode(remapped(['run', '--name', 'maker', 'busybox', 'sh', '-c', 'touch /made && mkdir /tmp/dir && chown 1000:1000 /tmp/dir']), 0);
  const data = inspect(remapped, 'maker').GraphDriver.Data;
  const upper = data.UpperDir as string;
  const made = fs.statSync(path.join(upper, 'made'));
  assert.deepEqual([made.uid, made.gid], [START, START], 'a file root made inside is owned by the range’s first id');
  const dir = fs.statSync(path.join(upper, 'tmp/dir'));
  assert.deepEqual([dir.uid, dir.gid], [START + 1000, START + 1000], 'uid 1000 inside is START+1000 outside');
  // The busybox layer was unpacked for the remapped root: its root-owned files are START's.
  const lower = (data.LowerDir as string).split(':').at(-1)!;
  const busybox = fs.statSync(path.join(lower, 'bin/busybox'));
  assert.deepEqual([busybox.uid, busybox.gid], [START, START]);
  expectCode(remapped(['rm', 'maker']), 0);
});

test('root’s capabilities do not reach host-owned files: the bind-mounted /etc/hostname, mknod', { skip }, () => {
  // Each probe is a no-op where it succeeds: open for append and write
  // nothing; chown a root-owned file to root; mknod in the container's /tmp.
  const probe = [
    // (a subshell: a failed redirection of ":" would end sh itself)
    '( : >> /etc/hostname ) && echo hostname:writable || echo hostname:denied',
    'chown 0:0 /etc/hosts && echo hosts:chown || echo hosts:denied',
    'mknod /tmp/null c 1 3 && echo mknod:made || echo mknod:denied',
    'cat /etc/hostname >/dev/null && echo hostname:readable',
  ].join('; ');
  const out = expectCode(remapped(['run', '--rm', 'busybox', 'sh', '-c', `exec 2>/dev/null; ${probe}`]), 0).stdout;
  assert.deepEqual(lines(out), ['hostname:denied', 'hosts:denied', 'mknod:denied', 'hostname:readable']);
});

// --- the remapped state root ---------------------------------------------------------

test('the remapped state root is <root>/<uid>.<gid>, its own store, which info shows', { skip }, () => {
  const info = expectCode(remapped(['info']), 0).stdout;
  assert.match(info, new RegExp(`^ Docker Root Dir: ${remappedRoot().replace(/[.]/g, '\\.')}$`, 'm'));
  const st = fs.statSync(remappedRoot());
  assert.deepEqual([st.uid, st.gid, (st.mode & 0o7777).toString(8)], [0, START, '710'], 'root:<gid>, 0710: the remapped root may pass, not list');
  assert.ok(fs.statSync(root()).mode & 0o001, 'the state root lets others through (o+x)');
  // Each root has its own store: the same busybox image (the same layer
  // tar, so the same IDs), unpacked twice, with different owners.
  const busyboxOwner = (r: (a: string[]) => Result) => {
    const img = JSON.parse(expectCode(r(['image', 'inspect', 'busybox']), 0).stdout)[0];
    return fs.statSync(path.join(img.GraphDriver.Data.UpperDir, 'bin/busybox')).uid;
  };
  assert.equal(busyboxOwner(remapped), START);
  assert.equal(busyboxOwner((a) => dockling(root(), a)), 0);
});

test('$DOCKLING_USERNS_REMAP does what the flag does', { skip }, () => {
  const out = expectCode(dockling(root(), ['run', '--rm', 'busybox', 'cat', '/proc/self/uid_map'], { env: { DOCKLING_USERNS_REMAP: USER } }), 0).stdout;
  assert.deepEqual(lines(out), [`0 ${START} ${RANGE}`]);
});

test('--userns host opts a container out: host ids, and inspect says UsernsMode "host"', { skip }, () => {
  expectCode(remapped(['run', '--name', 'optout', '--userns', 'host', 'busybox', 'cat', '/proc/self/uid_map']), 0);
  const c = inspect(remapped, 'optout');
  assert.equal(c.HostConfig.UsernsMode, 'host');
  const logs = expectCode(remapped(['logs', 'optout']), 0).stdout;
  assert.deepEqual(lines(logs), ['0 0 4294967295']);
  expectCode(remapped(['rm', 'optout']), 0);
  expectCode(remapped(['run', '--name', 'optin', 'busybox', 'true']), 0);
  assert.equal(inspect(remapped, 'optin').HostConfig.UsernsMode, '');
  expectCode(remapped(['rm', 'optin']), 0);
});

// --- errors, Docker's words ------------------------------------------------------------

test('a remap user without subordinate ranges, an unknown user, a bad --userns: exit 125 and the reason', { skip }, () => {
  // (root has no subordinate range: the file's only range is its own user's)
  const nobody = expectCode(dockling(root(), ['--userns-remap', 'root', 'run', '--rm', 'busybox', 'true']), 125);
  assert.match(nobody.stderr, /No subuid ranges found for user "root"/);
  const unknown = expectCode(dockling(root(), ['--userns-remap', 'no-such-user-x', 'run', '--rm', 'busybox', 'true']), 125);
  assert.match(unknown.stderr, /user "no-such-user-x" does not exist/);
  const bad = expectCode(remapped(['run', '--rm', '--userns', 'private', 'busybox', 'true']), 125);
  assert.match(bad.stderr, /invalid --userns "private"/);
  assert.doesNotMatch(nobody.stderr + unknown.stderr + bad.stderr, /\n\s+at /, 'no stack trace');
});

test('--userns-remap default makes dockremap and its ranges when missing (removed again by the test)', { skip }, () => {
  const had = exists('passwd', 'dockremap');
  const hadGroup = exists('group', 'dockremap');
  try {
    const out = expectCode(dockling(root(), ['--userns-remap', 'default', 'run', '--rm', 'busybox', 'cat', '/proc/self/uid_map']), 0).stdout;
    assert.ok(exists('passwd', 'dockremap') && exists('group', 'dockremap'), 'the user and group exist');
    const line = fs.readFileSync('/etc/subuid', 'utf8').split('\n').find((l) => l.startsWith('dockremap:'));
    assert.ok(line, '/etc/subuid has a dockremap range');
    const [, start, count] = line.split(':');
    assert.equal(count, '65536');
    assert.deepEqual(lines(out), [`0 ${start} 65536`]);
    assert.ok(fs.readFileSync('/etc/subgid', 'utf8').includes(`dockremap:${start}:65536`), '/etc/subgid has the same range');
  } finally {
    if (!had && exists('passwd', 'dockremap')) sh(['userdel', 'dockremap']);
    if (!hadGroup && exists('group', 'dockremap')) sh(['groupdel', 'dockremap']);
    // (the subordinate files and the backups are restored in `after`; the
    // ranges the default made must not stay until then for other tests)
    for (const f of ['/etc/subuid', '/etc/subgid']) {
      const keep = fs.readFileSync(f, 'utf8').split('\n').filter((l) => had || !l.startsWith('dockremap:'));
      fs.writeFileSync(f, keep.join('\n'));
    }
    for (const d of fs.readdirSync(root())) if (/^\d+\.\d+$/.test(d) && d !== `${START}.${START}`) fs.rmSync(path.join(root(), d), { recursive: true, force: true });
  }
});
