// Chapter 11, section 4: "Devices: a node is only two numbers".
//
// Chapter 11, devices: root in the container may MAKE a node for any device
// (mknod), as in Docker, but may OPEN only Docker's harmless few, enforced
// by the devices cgroup: v1 rules, and a BPF program in the cgroup2 tree.
//
// The probes only read: /dev/kmsg (the kernel's log; reading it consumes
// nothing, each open has its own position) is the host device they reach
// for. Nothing is ever written to a device of the host: a write probe only
// OPENS /dev/kmsg for append and closes it.
//
// test/run.ts runs this file with layers 1..11 (every test must pass) and
// with layers 1..10 (every test must fail: there the devices cgroup allows
// everything, and there is no --device).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { rootOrSkip, until } from '../../helpers/dockling.js';
import { expectCode } from '../../helpers/chapter.js';
import { chapter5 } from '../05-containers/helpers.js';
import { attachedDevicePrograms, loadedPrograms } from '../../../runtime/security/devices/bpf.js';

const skip = rootOrSkip();
const c = chapter5('ch11-devices');

/** `run --rm ARGS…`, its exit status insisted on. */
const run = (args: string[], code = 0) => expectCode(c.dk(['run', '--rm', ...args]), code);

// #region kmsg-probe
// mknod a node for /dev/kmsg (c 1:11), then open it to read one record
// (dd reads with a buffer big enough for one: /dev/kmsg refuses smaller
// reads). Docker allows the mknod and refuses the open, with EPERM.
const KMSG_PROBE = `
mknod /tmp/kmsg c 1 11 && echo "mknod: ok"
if dd if=/tmp/kmsg bs=8192 count=1 2>/tmp/err | wc -c | grep -qv '^0$'; then echo "kmsg: read"; else echo "kmsg: $(cat /tmp/err)"; fi
rm -f /tmp/kmsg /tmp/err
`;
// #endregion kmsg-probe

test('a node made for /dev/kmsg cannot be opened (EPERM), and only Docker\'s default devices are in /dev and usable', { skip }, () => {
  const out = run(['busybox', 'sh', '-c', `${KMSG_PROBE}
for d in null zero full random urandom; do head -c 1 /dev/$d > /dev/null && echo "$d: ok"; done
echo x > /dev/null && echo "null: written"
echo "dev: $(ls /dev | tr '\\n' ' ')"`]).stdout;
  assert.match(out, /^mknod: ok$/m, 'mknod of any device is allowed, as in Docker');
  assert.match(out, /^kmsg: .*can't open '\/tmp\/kmsg': Operation not permitted/m, `the container opened the host's /dev/kmsg:\n${out}`);
  for (const d of ['null', 'zero', 'full', 'random', 'urandom']) assert.match(out, new RegExp(`^${d}: ok$`, 'm'));
  assert.match(out, /^null: written$/m);
  // Docker's /dev: the nodes, the /proc links, and the mounts (pts, shm, mqueue).
  assert.equal(/^dev: (.*)$/m.exec(out)?.[1].trim(), 'core fd full mqueue null ptmx pts random shm stderr stdin stdout tty urandom zero');
});

test('the container\'s devices cgroup holds Docker\'s list; exec\'d processes are held by it too', { skip }, async () => {
  try {
    c.runD(['--name', 'dev', 'busybox', 'sleep', '600']);
    const list = c.ok(['exec', 'dev', 'cat', '/sys/fs/cgroup/devices/devices.list']).trim().split('\n');
    assert.ok(list.includes('c 1:3 rwm') && list.includes('c *:* m') && list.includes('c 136:* rwm'), list.join('\n'));
    assert.ok(!list.includes('a *:* rwm'), 'the list still allows every device');
    const out = c.ok(['exec', 'dev', 'sh', '-c', KMSG_PROBE]);
    assert.match(out, /^kmsg: .*Operation not permitted/m, out);
  } finally {
    await c.cleanup();
  }
});

test('--device /dev/kmsg:/dev/kmsg:r gives the node with read access only; inspect shows HostConfig.Devices', { skip }, async () => {
  try {
    // Opening for append and closing writes nothing to the host's log.
    // Reading the kernel log also needs CAP_SYSLOG when the host sets
    // kernel.dmesg_restrict (Debian does), and Docker's 14 do not include
    // it: --cap-add SYSLOG, so that only the device rules are tested here.
    const out = c.ok(['run', '--name', 'kmsg', '--cap-add', 'SYSLOG', '--device', '/dev/kmsg:/dev/kmsg:r', 'busybox', 'sh', '-c',
      'ls -l /dev/kmsg; dd if=/dev/kmsg bs=8192 count=1 2>/dev/null | wc -c; if (: >> /dev/kmsg) 2>/dev/null; then echo "write: opened"; else echo "write: denied"; fi']);
    assert.match(out, /^c[-rwx]{9} .* 1,\s+11 .*\/dev\/kmsg$/m, out);
    assert.ok(Number(out.split('\n')[1]) > 0, `no record read from /dev/kmsg:\n${out}`);
    assert.match(out, /^write: denied$/m, 'r was given, not w');
    assert.deepEqual(JSON.parse(c.inspect('kmsg', '{{json .HostConfig.Devices}}')), [{ PathOnHost: '/dev/kmsg', PathInContainer: '/dev/kmsg', CgroupPermissions: 'r' }]);
    // A second name, default permissions (rwm); a container with none shows [].
    const two = run(['--cap-add', 'SYSLOG', '--device', '/dev/kmsg:/dev/log/k', 'busybox', 'sh', '-c', 'dd if=/dev/log/k bs=8192 count=1 2>/dev/null | wc -c']).stdout;
    assert.ok(Number(two) > 0, two);
    c.ok(['run', '--name', 'plain', 'busybox', 'true']);
    assert.equal(c.inspect('plain', '{{json .HostConfig.Devices}}'), '[]');
  } finally {
    await c.cleanup();
  }
});

test('a bad --device is refused with Docker\'s message and status 125, and nothing is made', { skip }, () => {
  const cases: [string, RegExp][] = [
    ['/dev/kmsg:/dev/k:rd', /invalid argument "\/dev\/kmsg:\/dev\/k:rd" for "--device" flag: bad mode specified: rd/],
    ['/dev/kmsg:rel', /rel is not an absolute path/],
    ['/dev/kmsg:/a:r:x', /bad format for path: \/dev\/kmsg:\/a:r:x/],
    ['/dev/no-such-device', /error gathering device information while adding custom device "\/dev\/no-such-device": no such file or directory/],
    ['/etc/hostname', /error gathering device information while adding custom device "\/etc\/hostname": not a device node/],
  ];
  for (const [arg, message] of cases) {
    const r = run(['--device', arg, 'busybox', 'true'], 125);
    assert.match(r.stderr, message, arg);
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'a stack trace');
  }
  assert.deepEqual(fs.existsSync(path.join(c.root(), 'containers')) ? fs.readdirSync(path.join(c.root(), 'containers')) : [], []);
});

// #region bpf-alone
// On this hybrid host the kernel asks both the v1 devices cgroup and the
// cgroup2 tree's BPF programs. Re-allow everything in v1 from the host,
// and the BPF program alone must still refuse; remove the container, and
// its program is gone from the kernel with its cgroup.
test('the cgroup2 device program alone denies: with the v1 list reset to allow-all, /dev/kmsg still cannot be opened; the program goes with the cgroup', { skip }, async (t) => {
  let progs: number[] = [];
  try {
    const id = c.runD(['--name', 'bpf', 'busybox', 'sleep', '600']);
    const paths = JSON.parse(fs.readFileSync(path.join(c.root(), 'containers', id, 'config.v2.json'), 'utf8')).CgroupPaths as Record<string, string>;
    if (!paths.unified) return t.skip('no cgroup2 tree on this host');
    progs = attachedDevicePrograms(paths.unified);
    assert.equal(progs.length, 1, `device programs attached to ${paths.unified}: ${progs}`);
    if (paths.devices) {
      fs.writeFileSync(path.join(paths.devices, 'devices.allow'), 'a');
      assert.equal(fs.readFileSync(path.join(paths.devices, 'devices.list'), 'utf8').trim(), 'a *:* rwm');
    }
    const out = c.ok(['exec', 'bpf', 'sh', '-c', KMSG_PROBE]);
    assert.match(out, /^kmsg: .*Operation not permitted/m, `with v1 allowing all, the BPF program let /dev/kmsg open:\n${out}`);
    assert.match(c.ok(['exec', 'bpf', 'sh', '-c', 'head -c 1 /dev/zero | wc -c']), /^1$/m, 'the program allows /dev/zero');
  } finally {
    await c.cleanup();
  }
  // The kernel frees a cgroup's programs shortly after its rmdir, not at once.
  await until(() => !progs.some((p) => loadedPrograms().includes(p)), 5000, `BPF programs ${progs} to be freed`);
});
// #endregion bpf-alone

test('--privileged: every device node of the host is in /dev, with the host\'s numbers, and /dev/kmsg opens', { skip }, () => {
  // The host's device nodes, minus what the container mounts or links itself.
  const host: string[] = [];
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory() && !['pts', 'shm', 'mqueue', 'fd'].includes(e.name)) walk(p);
      else if ((e.isCharacterDevice() || e.isBlockDevice()) && !['/dev/console', '/dev/ptmx'].includes(p)) host.push(p);
    }
  };
  walk('/dev');
  const out = run(['--privileged', 'busybox', 'sh', '-c',
    `find /dev -type c -o -type b | sort; echo "tty0=$(stat -c '%t:%T' /dev/tty0)"; dd if=/dev/kmsg bs=8192 count=1 2>/dev/null | wc -c; cat /sys/fs/cgroup/devices/devices.list`]).stdout;
  const inside = new Set(out.split('\n').filter((l) => l.startsWith('/dev/')));
  const missing = host.filter((p) => !inside.has(p));
  assert.deepEqual(missing, [], `host devices missing in the privileged container`);
  if (fs.existsSync('/dev/tty0')) {
    const rdev = fs.statSync('/dev/tty0').rdev;
    assert.match(out, new RegExp(`^tty0=${(rdev >> 8).toString(16)}:${(rdev & 0xff).toString(16)}$`, 'm'));
  }
  assert.match(out, /^[1-9]\d*$/m, 'no record read from /dev/kmsg');
  assert.match(out, /^a \*:\* rwm$/m, 'the devices cgroup allows every device');
});
