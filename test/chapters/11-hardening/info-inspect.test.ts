// Chapter 11, section 5: "The filesystem and the limits", its "Seeing it".
//
// Chapter 11, for real, as root: what `inspect` and `info` say about the
// hardening. `inspect` shows chapter 11's HostConfig fields as Docker does,
// with Docker's defaults for a plain `run` (null, false, "", [] and 64 MiB
// of /dev/shm, the masked paths as the daemon fills them in), and what
// --read-only, --tmpfs, --shm-size, --ulimit and systempaths=unconfined
// chose; `info` lists the security options in force, in `docker info`'s
// layout.
//
// test/run.ts runs this file with layers 1..11 (every test must pass) and
// with layers 1..10 (every test must fail: there HostConfig shows Docker's
// empty values for these fields, as if no flag had been sent (`Ulimits`
// null, not the [] the CLI sends), nothing --read-only or --ulimit chose,
// and `info` no Security Options).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dockling, rootOrSkip } from '../../helpers/dockling.ts';
import { expectCode, useStateRoot } from '../../helpers/chapter.ts';

const skip = rootOrSkip();
const root = useStateRoot('ch11-inspect');
const d = (args: string[]) => expectCode(dockling(root(), args), 0).stdout;

/** Run a kept container named `name`, read its HostConfig, remove it. */
function hostConfigOf(name: string, flags: string[]): Record<string, unknown> {
  try {
    d(['run', '--name', name, ...flags, 'busybox', 'true']);
    return JSON.parse(d(['inspect', '-f', '{{json .HostConfig}}', name]));
  } finally {
    dockling(root(), ['rm', '-f', name]);
  }
}

// Docker's (moby's oci/defaults.go, as `docker inspect` shows them today).
const DOCKER_MASKED = [
  '/proc/asound', '/proc/acpi', '/proc/interrupts', '/proc/kcore', '/proc/keys', '/proc/latency_stats',
  '/proc/timer_list', '/proc/timer_stats', '/proc/sched_debug', '/proc/scsi', '/sys/firmware',
  '/sys/devices/virtual/powercap',
];
const DOCKER_READONLY = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];

test('inspect: a plain run has Docker’s defaults for CapAdd, CapDrop, SecurityOpt, Privileged, ReadonlyRootfs, Devices, UsernsMode, ShmSize, Ulimits, the masked paths', { skip }, () => {
  const hc = hostConfigOf('plain', []);
  assert.deepEqual(
    {
      CapAdd: hc.CapAdd, CapDrop: hc.CapDrop, SecurityOpt: hc.SecurityOpt, Privileged: hc.Privileged,
      ReadonlyRootfs: hc.ReadonlyRootfs, Devices: hc.Devices, UsernsMode: hc.UsernsMode, ShmSize: hc.ShmSize,
      Ulimits: hc.Ulimits, MaskedPaths: hc.MaskedPaths, ReadonlyPaths: hc.ReadonlyPaths,
    },
    {
      CapAdd: null, CapDrop: null, SecurityOpt: null, Privileged: false, ReadonlyRootfs: false, Devices: [],
      UsernsMode: '', ShmSize: 67108864, Ulimits: [], MaskedPaths: DOCKER_MASKED, ReadonlyPaths: DOCKER_READONLY,
    },
  );
  assert.ok(!('Tmpfs' in hc), 'Tmpfs is left out when not given (omitempty)');
});

test('inspect: --read-only, --tmpfs, --shm-size, --ulimit and systempaths=unconfined as Docker records them', { skip }, () => {
  const name = 'hardened';
  try {
    d([
      'run', '--name', name, '--read-only', '--tmpfs', '/tmp', '--tmpfs', '/run:size=1m,exec', '--shm-size', '1g',
      '--ulimit', 'nofile=100:200', '--ulimit', 'core=0', '--security-opt', 'systempaths=unconfined', 'busybox', 'true',
    ]);
    const f = (t: string) => d(['inspect', '-f', t, name]).trim();
    assert.equal(f('{{.HostConfig.ReadonlyRootfs}}'), 'true');
    assert.equal(f('{{.HostConfig.ShmSize}}'), '1073741824');
    assert.deepEqual(JSON.parse(f('{{json .HostConfig.Tmpfs}}')), { '/tmp': '', '/run': 'size=1m,exec' });
    // Sorted by name, each {Name, Hard, Soft}.
    assert.equal(f('{{json .HostConfig.Ulimits}}'), '[{"Name":"core","Hard":0,"Soft":0},{"Name":"nofile","Hard":200,"Soft":100}]');
    assert.equal(f('{{json .HostConfig.MaskedPaths}}'), '[]');
    assert.equal(f('{{json .HostConfig.ReadonlyPaths}}'), '[]');
    // `start` runs it again with what it was made with: still read-only.
    const again = expectCode(dockling(root(), ['start', '-a', name]), 0);
    assert.equal(again.stderr, '');
    assert.equal(f('{{.HostConfig.ReadonlyRootfs}}'), 'true');
  } finally {
    dockling(root(), ['rm', '-f', name]);
  }
});

test('info: the Security Options in force, in docker info’s layout (seccomp with its profile), before the kernel version', { skip }, () => {
  const lines = d(['info']).split('\n');
  const at = lines.indexOf(' Security Options:');
  assert.ok(at > 0, `a Security Options block:\n${lines.join('\n')}`);
  // Each option two spaces in, its details three.
  const block: string[] = [];
  for (const l of lines.slice(at + 1)) {
    if (!/^ {2}\S/.test(l) && !/^ {3}\S/.test(l)) break;
    block.push(l);
  }
  assert.ok(block.length > 0, 'at least one option');
  const seccomp = block.indexOf('  seccomp');
  assert.ok(seccomp >= 0, `seccomp is listed:\n${block.join('\n')}`);
  assert.equal(block[seccomp + 1], '   Profile: builtin');
  assert.match(lines[at + 1 + block.length], /^ Kernel Version: /);
});
