// Chapter 7: --tmpfs, a mount of the kernel's memory filesystem where the
// user asks for one, with Docker's options (noexec, nosuid, nodev unless
// overridden; size= and mode= as given). It came with chapter 11, for the
// read-only root's sake; it is chapter 7's now, with the other mounts a
// user asks for. (--read-only and --tmpfs together stay in chapter 11.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { rootOrSkip } from '../../helpers/dockling.ts';
import { expectCode, runners, useStateRoot } from '../../helpers/chapter.ts';
import { mountOf } from '../../helpers/mountinfo.ts';

const skip = rootOrSkip();
const root = useStateRoot('ch7-tmpfs');
const { run, ok } = runners(root);


test('--tmpfs PATH:OPTIONS: size and mode are applied, and exec overrides Docker’s noexec', { skip }, () => {
  const out = ok(['--tmpfs', '/scratch:exec,size=1m,mode=700', 'busybox', 'sh', '-c', 'stat -c %a /scratch; df -k /scratch | tail -1; cat /proc/self/mountinfo']);
  const [mode, df] = out.split('\n');
  assert.equal(mode, '700');
  assert.match(df, /^tmpfs\s+1024\s/, 'df shows 1024 KiB');
  const m = mountOf(out, '/scratch')!;
  assert.ok(m, `/scratch is a mount:\n${out}`);
  assert.ok(!m.options.includes('noexec'), `exec given: ${m.options}`);
  assert.ok(m.options.includes('nosuid') && m.options.includes('nodev'), `${m.options}`);
  assert.ok(m.super.includes('size=1024k') && m.super.includes('mode=700'), `${m.super}`);
});

test('--tmpfs over a default mount replaces it (/dev/shm); over a directory with mounts inside (/etc) it goes under them', { skip }, () => {
  const out = ok(['--tmpfs', '/dev/shm:size=2m', '--tmpfs', '/etc', '--hostname', 'box', 'busybox', 'sh', '-c', 'df -k /dev/shm | tail -1; cat /etc/hostname; ls /etc | sort | tr "\\n" " "']);
  const [df, hostname, etc] = out.split('\n');
  assert.match(df, /^tmpfs\s+2048\s/, 'the --tmpfs, not the default shm');
  assert.equal(hostname, 'box', "the container's /etc/hostname is still there, on the new /etc");
  assert.equal(etc.trim(), 'hostname hosts resolv.conf', 'the image’s /etc is hidden by the tmpfs');
});

test('bad --tmpfs values: 125 with Docker’s message, and nothing made', { skip }, () => {
  const cases: [string[], RegExp][] = [
    [['--tmpfs', 'tmp'], /invalid mount path: 'tmp' mount path must be absolute/],
    [['--tmpfs', '/'], /invalid specification: destination can't be '\/'/],
    [['--tmpfs', '/tmp:bogus'], /invalid tmpfs option \["bogus"\]/],
    [['--tmpfs', '/tmp:color=red'], /invalid tmpfs option \["color" "red"\]/],
  ];
  for (const [args, message] of cases) {
    const r = expectCode(run([...args, 'busybox', 'true']), 125);
    assert.match(r.stderr, message, args.join(' '));
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  }
  assert.deepEqual(fs.readdirSync(path.join(root(), 'containers')), [], 'no container made');
});
