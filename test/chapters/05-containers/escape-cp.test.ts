// Chapter 5, section "cp: through the container's root, never out of it".
//
// Chapter 5's ESCAPE SUITE, for `cp`: the container is the adversary, and
// cp runs as root on the host, reading and writing the container's files.
// Root inside plants symlinks that name this test's own temp dir on the
// host (absolute, and as ../../.. climbs), swaps a directory for such a
// symlink in a loop while cp runs, and hands cp a tar whose names climb
// out. Each probe checks that cp neither created the host marker nor read
// the host secret. Only this test's temp dir is ever named, so a failing
// probe changes nothing else on the host.
//
// test/run.ts runs this file with layers 1..5 (every test must pass) and
// with layers 1..4 (every test must fail: there is no `run -d`, no `cp`).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BIN, rootOrSkip } from '../../helpers/dockling.js';
import { chapter5 } from './helpers.js';

const skip = rootOrSkip();
const c = chapter5('ch5-escape-cp');
const SECRET = 'host secret 7f3a\n';

/** A running container `ex` and a temp dir with a host secret and an empty host dir; both removed in `finally`. */
async function withContainer(fn: (t: { tmp: string; hostDir: string; secret: string; out: string }) => void | Promise<void>): Promise<void> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dockling-test-ch5-escape-cp-'));
  try {
    const hostDir = path.join(tmp, 'hostdir');
    const out = path.join(tmp, 'out');
    fs.mkdirSync(hostDir);
    fs.mkdirSync(out);
    fs.writeFileSync(path.join(tmp, 'secret'), SECRET);
    fs.writeFileSync(path.join(tmp, 'payload'), 'payload\n');
    c.runD(['--name', 'ex', 'busybox', 'sleep', '600']);
    await fn({ tmp, hostDir, secret: path.join(tmp, 'secret'), out });
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
    await c.cleanup();
  }
}

const inside = (cmd: string) => c.ok(['exec', 'ex', 'sh', '-c', cmd]);

/** `dockling cp ARGS…`, whatever its exit status; stdout as bytes. */
function cp(args: string[], input?: Buffer): { code: number | null; stdout: Buffer; stderr: string } {
  const r = spawnSync(process.execPath, ['--', BIN, '--root', c.root(), 'cp', ...args], { input, timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr.toString() };
}

/** Every file under dir, read (a copy out must not hold the secret). */
function contents(dir: string): string {
  let all = '';
  for (const e of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
    const p = path.join(e.parentPath, e.name);
    if (e.isFile()) all += fs.readFileSync(p, 'utf8');
  }
  return all;
}

test('escape cp 1: copying INTO a container through its symlinks to a host dir never writes the host dir', { skip }, () =>
  withContainer(({ tmp, hostDir }) => {
    const climb = '../'.repeat(12) + hostDir.slice(1);
    inside(`ln -s ${hostDir} /tmp/abs; ln -s ${climb} /tmp/rel; ln -s ${hostDir}/marker /tmp/file`);
    const payload = path.join(tmp, 'payload');
    for (const dest of ['/tmp/abs', '/tmp/abs/', '/tmp/abs/marker', '/tmp/rel', '/tmp/rel/', '/tmp/rel/marker', '/tmp/file'])
      cp([payload, `ex:${dest}`]);
    // A tar whose entries go through a symlink the tar made, or climb out.
    const t = fs.mkdtempSync(path.join(tmp, 'tar-'));
    fs.symlinkSync(hostDir, path.join(t, 'link'));
    fs.mkdirSync(path.join(t, 'x'));
    fs.writeFileSync(path.join(t, 'x', 'marker'), 'x');
    const through = spawnSync('tar', ['-C', t, '-c', '--transform', 's|^x/|link/|S', 'link', 'x/marker']).stdout;
    assert.equal(cp(['-', 'ex:/tmp'], through).code, 1, 'an entry under a symlink the tar made is refused');
    const climbing = spawnSync('tar', ['-C', t, '-c', '-P', '--transform', `s|^x/marker|${'../'.repeat(12)}${hostDir.slice(1)}/marker|`, 'x/marker']).stdout;
    const r = cp(['-', 'ex:/tmp'], climbing);
    assert.equal(r.code, 1, 'a name that climbs out of DEST is refused');
    assert.deepEqual(fs.readdirSync(hostDir), [], 'nothing was written to the host dir');
  }));

test('escape cp 2: copying OUT of a container through its symlinks to a host file never reads the host file', { skip }, () =>
  withContainer(({ tmp, secret, out }) => {
    const climb = '../'.repeat(12) + secret.slice(1);
    inside(`ln -s ${secret} /tmp/abs; ln -s ${climb} /tmp/rel; ln -s ${tmp} /tmp/dir; mkdir /tmp/d; ln -s ${secret} /tmp/d/inner`);
    const seen: string[] = [];
    for (const src of ['/tmp/abs', '/tmp/rel', '/tmp/dir/', '/tmp/dir/.', '/tmp/dir/secret', '/tmp/d']) {
      for (const flags of [[], ['-L']]) {
        seen.push(cp([...flags, `ex:${src}`, '-']).stdout.toString('latin1'));
        cp([...flags, `ex:${src}`, path.join(out, `copy${seen.length}`)]);
      }
    }
    for (const s of seen) assert.ok(!s.includes(SECRET.trim()), 'a tar on stdout held the host secret');
    assert.ok(!contents(out).includes(SECRET.trim()), 'a copy on the host held the host secret');
    // The links themselves come out as links (their text is the container's to choose).
    assert.equal(fs.readlinkSync(path.join(out, 'copy1')), secret);
  }));

test('escape cp 3: a directory swapped for a symlink to the host while cp runs: no host write, no host read', { skip }, async () =>
  withContainer(async ({ tmp, hostDir, out }) => {
    fs.writeFileSync(path.join(hostDir, 'secret'), SECRET);
    // Root inside swaps /tmp/d between a real directory (with a file) and a
    // symlink to the host dir, as fast as busybox can.
    const swapper = `while :; do rm -rf /tmp/d; ln -s ${hostDir} /tmp/d; rm -f /tmp/d; mkdir /tmp/d; echo inner > /tmp/d/secret; done`;
    const loop = spawn(process.execPath, ['--', BIN, '--root', c.root(), 'exec', 'ex', 'sh', '-c', swapper], { stdio: 'ignore' });
    try {
      const payload = path.join(tmp, 'payload');
      for (let i = 0; i < 12; i++) {
        cp([payload, `ex:/tmp/d/marker${i}`]);
        cp([payload, 'ex:/tmp/d/']);
        const r = cp(['ex:/tmp/d/.', '-']);
        assert.ok(!r.stdout.toString('latin1').includes(SECRET.trim()), 'a tar on stdout held the host secret');
        cp(['ex:/tmp/d', path.join(out, `round${i}`)]);
      }
    } finally {
      loop.kill('SIGKILL');
    }
    assert.deepEqual(fs.readdirSync(hostDir), ['secret'], 'nothing was written to the host dir');
    assert.ok(!contents(out).includes(SECRET.trim()), 'a copy on the host held the host secret');
  }));
