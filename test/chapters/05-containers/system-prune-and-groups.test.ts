// Chapter 5: `system prune`, and the `container` group.
//
// Chapter 5, for real, as root: `system prune` asks Docker's question
// (listing what it removes), then removes the stopped containers, then the
// images that became dangling, and reports both and the space; a running
// or paused container and its image stay. `container` alone lists every
// container command; `container X` is `X` for each of them.
//
// test/run.ts runs this file with layers 1..5 (every test must pass) and
// with layers 1..4 (every test must fail: no -d, no container prune).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rootOrSkip } from '../../helpers/dockling.js';
import { expectCode } from '../../helpers/chapter.js';
import { ID, chapter5, lines } from './helpers.js';

const skip = rootOrSkip();
const c = chapter5('ch5-sysprune');

const WARNING = 'WARNING! This will remove:\n  - all stopped containers\n  - all dangling images\n\nAre you sure you want to continue? [y/N] ';

test('system prune: the question (no keeps all); then stopped containers, then the images left dangling; running and paused ones stay', { skip }, async () => {
  try {
    // An image made dangling by moving its name, and a stopped container still made from it.
    c.ok(['run', '--name', 'maker', 'busybox', 'sh', '-c', 'head -c 2000 /dev/zero > /f']);
    const old = c.ok(['commit', 'maker', 'moved:1']).trim();
    c.ok(['rm', 'maker']);
    c.track(c.ok(['create', '--name', 'on-old', 'moved:1', 'true']).trim());
    c.ok(['run', '--name', 'maker2', 'busybox', 'true']);
    c.ok(['commit', 'maker2', 'moved:1']);
    const stopped = c.idOf('maker2');
    const up = c.runD(['--name', 'up', 'busybox', 'sleep', '300']);
    const paused = c.runD(['--name', 'paused', 'busybox', 'sleep', '300']);
    c.ok(['pause', 'paused']);

    const no = expectCode(c.dk(['system', 'prune'], { input: 'N\n' }), 0);
    assert.equal(no.stdout, WARNING);
    assert.equal(lines(c.ok(['ps', '-aq'])).length, 4, 'answering N removed containers');

    const onOld = c.idOf('on-old');
    const r = expectCode(c.dk(['system', 'prune'], { input: 'y\n' }), 0);
    assert.ok(r.stdout.startsWith(`${WARNING}Deleted Containers:\n`), r.stdout);
    const [containers, images, total] = r.stdout.slice(WARNING.length).split('\n\n');
    assert.deepEqual(lines(containers).slice(1).sort(), [onOld, stopped].sort());
    // The old image was kept by on-old; with it gone, it is dangling and goes in the same prune.
    assert.match(images, new RegExp(`^Deleted Images:\ndeleted: ${old}\ndeleted: sha256:[0-9a-f]{64}$`));
    assert.match(total, /^Total reclaimed space: 2kB\n$/);
    assert.deepEqual(lines(c.ok(['ps', '-aq', '--no-trunc'])).sort(), [up, paused].sort());
    assert.match(c.status('paused')!, /\(Paused\)$/);
    assert.match(c.ok(['images']), /^moved\s+1\s/m);
    // -f: no question; nothing left to remove.
    assert.equal(c.ok(['system', 'prune', '-f']), 'Total reclaimed space: 0B\n');
    // -a: the question names all unused images.
    assert.match(expectCode(c.dk(['system', 'prune', '-a'], { input: '' }), 0).stdout, /^  - all images without at least one container associated to them$/m);
  } finally {
    await c.cleanup();
    c.dk(['rmi', '-f', 'moved:1']);
  }
});

test('`container` alone lists the container commands (stderr, status 0; --help: stdout); `container X` runs X for every one of them', { skip }, async () => {
  try {
    const r = expectCode(c.dk(['container']), 0);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /^\nUsage:  dockling container COMMAND\n\nManage containers\n\nCommands:\n/);
    const words = lines(r.stderr).filter((l) => /^  \S/.test(l)).map((l) => l.trim().split(/\s+/)[0]);
    for (const w of ['attach', 'commit', 'create', 'diff', 'exec', 'export', 'inspect', 'kill', 'logs', 'ls', 'pause', 'prune', 'rename', 'restart', 'rm', 'run', 'start', 'stats', 'stop', 'top', 'unpause', 'wait']) {
      assert.ok(words.includes(w), `container ${w} is not listed: ${words.join(' ')}`);
    }
    assert.match(expectCode(c.dk(['container', '--help']), 0).stdout, /Manage containers/); // asked for: on stdout
    assert.match(expectCode(c.dk(['container', 'bogus']), 1).stderr, /'container bogus' is not a dockling command/);

    const id = c.ok(['container', 'run', '-d', '--name', 'grouped', 'busybox', 'sleep', '300']).trim();
    c.track(id);
    assert.match(id, ID);
    for (const ls of ['ls', 'list', 'ps']) assert.match(c.ok(['container', ls]), /grouped\n/);
    assert.match(c.ok(['container', 'top', 'grouped']), /sleep 300/);
    assert.match(c.ok(['container', 'stats', '--no-stream', 'grouped']), /grouped/);
    assert.equal(c.ok(['container', 'inspect', '-f', '{{.State.Status}}', 'grouped']), 'running\n');
    assert.equal(c.ok(['container', 'exec', 'grouped', 'echo', 'in']), 'in\n');
    assert.equal(c.ok(['container', 'kill', 'grouped']), 'grouped\n');
    assert.equal(c.ok(['container', 'rm', 'grouped']), 'grouped\n');
  } finally {
    await c.cleanup();
  }
});
