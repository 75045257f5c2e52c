// Chapter 7: a volume's life beside its containers'. Anonymous volumes go
// with --rm (foreground and detached) and with `rm -v`; named ones are
// never removed by a container's end; a volume in use cannot be removed;
// prune takes only unused anonymous ones (all unused with --all); and a CLI
// killed while it sets a container up leaves no mount behind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { rootOrSkip, until } from '../../helpers/dockling.ts';
import { expectCode } from '../../helpers/chapter.ts';
import { mountsUnder } from '../../helpers/leaks.ts';
import { runAsync } from '../05-containers/helpers.ts';
import { chapter7, volumesOn } from './helpers.ts';

const skip = rootOrSkip();
const t = chapter7('ch7-life');

test('--rm removes the anonymous volumes (foreground and detached); the named ones stay', { skip }, async () => {
  try {
    const before = volumesOn(t.root());
    t.ok(['-v', '/anon', '-v', 'stays:/named', 'busybox', 'sh', '-c', 'echo x > /anon/f; echo y > /named/f']);
    assert.deepEqual(volumesOn(t.root()), [...before, 'stays'].sort(), 'only the named volume is left');
    // Detached: the monitor removes the container and its anonymous volume when it ends.
    t.cliOk(['run', '-d', '--rm', '--name', 'brief', '-v', '/anon', 'busybox', 'sleep', '0.5']);
    await until(() => t.cli(['inspect', 'brief']).code !== 0, 15_000, 'the --rm container to go');
    await until(() => volumesOn(t.root()).length === before.length + 1, 10_000, 'its anonymous volume to go');
    assert.deepEqual(volumesOn(t.root()), [...before, 'stays'].sort());
  } finally {
    t.cleanup(['brief'], ['stays']);
  }
});

test('volume rm of a volume in use is refused with Docker’s message (also with -f); prune keeps used and named volumes', { skip }, () => {
  try {
    const id = t.cliOk(['create', '--name', 'user', '-v', 'busy:/data', '-v', '/anon', 'busybox', 'true']).trim();
    const r = expectCode(t.cli(['volume', 'rm', 'busy']), 1);
    assert.match(r.stderr, new RegExp(`remove busy: volume is in use - \\[${id}\\]`));
    expectCode(t.cli(['volume', 'rm', '-f', 'busy']), 1);
    t.cliOk(['volume', 'create', 'idle']);
    // In use: neither goes. Unused named: kept without --all (Docker 23+).
    t.cliOk(['volume', 'prune', '-f']);
    assert.ok(volumesOn(t.root()).includes('busy') && volumesOn(t.root()).includes('idle'));
    t.cliOk(['rm', 'user']); // leaves its anonymous volume, dangling
    const anon = volumesOn(t.root()).filter((n) => /^[0-9a-f]{64}$/.test(n));
    assert.equal(anon.length, 1);
    const pruned = t.cliOk(['volume', 'prune', '-f']);
    assert.match(pruned, new RegExp(anon[0]));
    assert.deepEqual(volumesOn(t.root()), ['busy', 'idle'], 'prune took the anonymous one only');
    const all = t.cliOk(['volume', 'prune', '-f', '--all']);
    assert.match(all, /busy/);
    assert.deepEqual(volumesOn(t.root()), []);
  } finally {
    t.cleanup(['user'], ['busy', 'idle']);
  }
});

test('ps shows MOUNTS and filters by volume', { skip }, () => {
  try {
    t.cliOk(['create', '--name', 'm1', '-v', 'psvol:/data', 'busybox', 'true']);
    t.cliOk(['create', '--name', 'm2', 'busybox', 'true']);
    assert.equal(t.cliOk(['ps', '-a', '--filter', 'volume=psvol', '--format', '{{.Names}}']), 'm1\n');
    assert.equal(t.cliOk(['ps', '-a', '--filter', 'volume=/data', '--format', '{{.Names}}']), 'm1\n');
    assert.equal(t.cliOk(['ps', '-a', '--filter', 'name=m1', '--format', '{{.Mounts}} {{.LocalVolumes}}']), 'psvol 1\n');
  } finally {
    t.cleanup(['m1', 'm2'], ['psvol']);
  }
});

test('a CLI killed while it sets a container up leaves no mount; the next command reaps it', { skip }, async () => {
  try {
    for (const delay of [150, 400]) {
      const p = runAsync(t.root(), ['run', '--name', `killed${delay}`, '-v', 'kv:/data', '-v', '/anon', 'busybox', 'sleep', '30']);
      await new Promise((r) => setTimeout(r, delay));
      p.child.kill('SIGKILL');
      await p.done;
      t.cli(['rm', '-f', '-v', `killed${delay}`]);
      t.cli(['ps', '-a']); // reaps what the killed CLI left
      assert.deepEqual(mountsUnder(t.root()), [], 'no mount left in the host table');
    }
    // And the volume is there for the next run, which mounts it.
    assert.equal(t.ok(['-v', 'kv:/data', 'busybox', 'sh', '-c', 'echo ok > /data/f && cat /data/f']), 'ok\n');
    assert.ok(volumesOn(t.root()).includes('kv'));
  } finally {
    t.cleanup(['killed150', 'killed400'], ['kv']);
    // An anonymous volume made before the kill, whose container record was never written, may remain: it is dangling, prune takes it.
    t.cli(['volume', 'prune', '-f']);
  }
});

test('bad -v and --mount values: 125 with Docker’s message, no stack trace, and nothing made', { skip }, () => {
  const cases: [string[], RegExp][] = [
    [['-v', 'data:relative'], /invalid mount config for type "volume": invalid mount path: 'relative' mount path must be absolute/],
    [['-v', 'x/y:/data'], /"x\/y" includes invalid characters for a local volume name/],
    [['-v', '/a:/b:/c:/d'], /invalid spec: \/a:\/b:\/c:\/d: too many colons/],
    [['-v', 'c:\\x:/data'], /invalid mode: \/data/],
    [['--volume-driver', 'flocker', '-v', 'xa:/data'], /error looking up volume plugin flocker: plugin "flocker" not found/],
    [['--mount', 'type=bind,dst=/x'], /source is required|field Source must not be empty/],
    [['-v', 'xa:/data', '-v', 'ya:/data'], /Duplicate mount point: \/data/],
    [['--volumes-from', 'nobody'], /No such container: nobody/],
  ];
  for (const [args, message] of cases) {
    const r = expectCode(t.run([...args, 'busybox', 'true']), 125);
    assert.match(r.stderr, message, args.join(' '));
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  }
  assert.deepEqual(fs.readdirSync(`${t.root()}/containers`), [], 'no container made');
});
