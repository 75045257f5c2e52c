// Chapter 5, "Who the command runs as": the image's USER and `run -u`,
// `exec -u`, names looked up in the container's /etc/passwd and /etc/group
// (never the host's), supplementary groups, HOME, Config.User.
//
// test/run.ts runs this file with layers 1..5 (every test must pass) and
// with layers 1..4 (every test must fail: there is no `run -d`, and -u is
// ignored there, so the command runs as root).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { rootOrSkip } from '../../helpers/dockling.js';
import { expectCode } from '../../helpers/chapter.js';
import { chapter5 } from './helpers.js';

const skip = rootOrSkip();
const c = chapter5('ch5-users');

const run = (args: string[]) => c.ok(['run', '--rm', ...args]);

test('run -u: a UID, a name, UID:GID, --group-add; HOME from passwd; a non-root user has no capabilities', { skip }, async () => {
  try {
    assert.equal(run(['busybox', 'id']), 'uid=0(root) gid=0(root)\n');
    // A UID with no passwd entry: group 0, home /, as runc gives it.
    assert.equal(run(['-u', '1000', 'busybox', 'sh', '-c', 'id; echo $HOME']), 'uid=1000 gid=0(root)\n/\n');
    assert.equal(run(['-u', 'nobody', 'busybox', 'sh', '-c', 'id; echo $HOME']), 'uid=65534(nobody) gid=65534(nogroup)\n/home\n');
    assert.equal(run(['--user', '1000:1000', 'busybox', 'id']), 'uid=1000 gid=1000\n');
    assert.equal(run(['-u', 'nobody:root', 'busybox', 'id']), 'uid=65534(nobody) gid=0(root)\n');
    assert.equal(run(['-u', 'nobody', '--group-add', 'tty', '--group-add', '4242', 'busybox', 'id', '-G']), '65534 5 4242\n');
    // With -t the user owns its terminal (runc's fixStdioPermissions).
    assert.equal(c.ok(['run', '--rm', '-t', '-u', 'nobody', 'busybox', 'stat', '-L', '-c', '%U', '/proc/self/fd/0'], { stdio: ['ignore', 'pipe', 'pipe'] }), 'nobody\r\n');
    // -e HOME wins over the passwd entry.
    assert.equal(run(['-u', 'nobody', '-e', 'HOME=/x', 'busybox', 'sh', '-c', 'echo $HOME']), '/x\n');
    // Root keeps its capabilities; another user has none in force (its
    // bounding set stays: what setuid programs could ever get back).
    const caps = (u: string) => run(['-u', u, 'busybox', 'grep', '-E', '^Cap(Prm|Eff)', '/proc/self/status']);
    assert.doesNotMatch(caps('0'), /CapEff:\s+0+\n/);
    assert.match(caps('nobody'), /^CapPrm:\s+0+\nCapEff:\s+0+\n$/);
    // Unknown names: Docker's messages, a start error (125).
    const nosuch = expectCode(c.dk(['run', '--rm', '-u', 'nosuch', 'busybox', 'true']), 125);
    assert.match(nosuch.stderr, /unable to find user nosuch: no matching entries in passwd file/);
    const nogroup = expectCode(c.dk(['run', '--rm', '-u', '1000:nosuch', 'busybox', 'true']), 125);
    assert.match(nogroup.stderr, /unable to find group nosuch: no matching entries in group file/);
  } finally {
    await c.cleanup();
  }
});

test('the image’s USER applies to run and exec, and is the container’s Config.User; -u and exec -u override it', { skip }, async () => {
  try {
    c.ok(['run', '--name', 'base-u', 'busybox', 'true']);
    c.ok(['commit', '-c', 'USER 1000', 'base-u', 'as-1000']);
    c.ok(['rm', 'base-u']);
    assert.equal(run(['as-1000', 'id']), 'uid=1000 gid=0(root)\n');
    assert.equal(run(['-u', 'nobody', 'as-1000', 'id', '-u']), '65534\n');
    c.runD(['--name', 'u1', 'as-1000', 'sleep', '600']);
    assert.equal(c.inspect('u1', '{{.Config.User}}'), '1000');
    assert.equal(c.ok(['exec', 'u1', 'id']), 'uid=1000 gid=0(root)\n');
    assert.equal(c.ok(['exec', '-u', 'nobody', 'u1', 'sh', '-c', 'id; echo $HOME']), 'uid=65534(nobody) gid=65534(nogroup)\n/home\n');
    assert.equal(c.ok(['exec', '-u', '0', 'u1', 'id']), 'uid=0(root) gid=0(root)\n');
    assert.equal(c.ok(['exec', '-u', 'root:nogroup', 'u1', 'id']), 'uid=0(root) gid=65534(nogroup)\n');
    const bad = expectCode(c.dk(['exec', '-u', 'nosuch', 'u1', 'true']), 126);
    assert.match(bad.stderr, /unable to find user nosuch: no matching entries in passwd file/);
    // After stop and start: the user it was made with.
    c.ok(['stop', '-t', '1', 'u1']);
    c.ok(['start', 'u1']);
    assert.equal(c.ok(['exec', 'u1', 'id', '-u']), '1000\n');
    // -u is recorded as given: a name stays a name.
    c.runD(['--name', 'u2', '-u', 'nobody', '--group-add', '4242', 'busybox', 'sleep', '600']);
    assert.equal(c.inspect('u2', '{{.Config.User}}'), 'nobody');
    assert.equal(c.inspect('u2', '{{json .HostConfig.GroupAdd}}'), '["4242"]');
    // exec: the container's user and its --group-add groups, as Docker's exec.
    assert.equal(c.ok(['exec', 'u2', 'id', '-u']), '65534\n');
    assert.equal(c.ok(['exec', 'u2', 'id', '-G']), '65534 4242\n');
  } finally {
    await c.cleanup();
  }
});

test('a hostile /etc/passwd (a symlink to a host path) is read inside the container, never from the host', { skip }, async () => {
  // The probe: a passwd file on the host, in this test's own temp
  // directory, naming a user "hostonly". The image's /etc/passwd and
  // /etc/group are symlinks to that same absolute path; inside the
  // container the path holds a different file, naming "inside".
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dockling-users-probe-'));
  const probe = path.join(dir, 'passwd');
  fs.writeFileSync(probe, 'hostonly:x:4242:4242::/hostonly:/bin/sh\nhostonly:x:4242:\n');
  try {
    const plant = [
      `mkdir -p ${dir}`,
      `echo 'inside:x:777:778::/in:/bin/sh' > ${probe}`,
      `echo 'ingroup:x:779:inside' >> ${probe}`,
      `ln -sf ${probe} /etc/passwd`,
      `ln -sf ${probe} /etc/group`,
    ].join(' && ');
    c.ok(['run', '--name', 'base-h', 'busybox', 'sh', '-c', plant]);
    c.ok(['commit', 'base-h', 'hostile']);
    c.ok(['rm', 'base-h']);
    // run -u: the container's file, through the symlink inside its root.
    assert.equal(run(['-u', 'inside', 'hostile', 'sh', '-c', 'id -u; id -g; id -G; echo $HOME']), '777\n778\n778 779\n/in\n');
    const host = expectCode(c.dk(['run', '--rm', '-u', 'hostonly', 'hostile', 'true']), 125);
    assert.match(host.stderr, /unable to find user hostonly: no matching entries in passwd file/);
    // exec -u: the same, from inside the running container.
    c.runD(['--name', 'h1', 'hostile', 'sleep', '600']);
    assert.equal(c.ok(['exec', '-u', 'inside', 'h1', 'sh', '-c', 'id -u; id -G']), '777\n778 779\n');
    const hostExec = expectCode(c.dk(['exec', '-u', 'hostonly', 'h1', 'true']), 126);
    assert.match(hostExec.stderr, /unable to find user hostonly/);
    // Nothing on the host changed.
    assert.equal(fs.readFileSync(probe, 'utf8'), 'hostonly:x:4242:4242::/hostonly:/bin/sh\nhostonly:x:4242:\n');
  } finally {
    await c.cleanup();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
