// Chapter 11, section 2: "Capabilities: root, in 41 pieces".
//
// Chapter 11, capabilities: root in the container holds Docker's 14
// capabilities, not the host root's; --cap-add, --cap-drop and --privileged
// change the set as Docker's do; --security-opt no-new-privileges sets the
// process's no_new_privs bit. Checked where the kernel shows it, in the
// container's /proc/1/status, and by what the kernel then refuses.
//
// The masks are Docker's: a real `docker run` (20.10.24) printed the same
// CapEff/CapPrm/CapBnd/CapInh/CapAmb lines for the default set and for each
// --cap-add/--cap-drop case below.
//
// test/run.ts runs this file at chapter 11 (all pass) and at chapter 10
// (all fail: the container has every capability, and the flags are ignored).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { dockling, rootOrSkip } from '../../helpers/dockling.js';
import { expectCode, runners, useStateRoot } from '../../helpers/chapter.js';

const skip = rootOrSkip();
const root = useStateRoot('ch11-caps');
const { run, ok } = runners(root);

/** Docker's default set, as /proc/PID/status prints it. */
const DEFAULT = '00000000a80425fb';
/** Every capability dockling itself holds: what --privileged gives (this machine's root lacks CAP_SYS_RESOURCE). */
const HOST = /^CapEff:\s*([0-9a-f]+)$/m.exec(fs.readFileSync('/proc/self/status', 'utf8'))![1];
const hex = (n: bigint) => n.toString(16).padStart(16, '0');

/** The capability lines of the container's PID 1, by name (CapEff → "00000000a80425fb"). */
function sets(flags: string[]): Record<string, string> {
  const out = ok([...flags, 'busybox', 'grep', '-E', '^(Cap|NoNewPrivs)', '/proc/1/status']);
  return Object.fromEntries(out.trim().split('\n').map((l) => l.split(/:\s+/) as [string, string]));
}

test('the default set: Docker’s 14 capabilities bounding, permitted and effective; nothing inheritable or ambient', { skip }, () => {
  assert.deepEqual(sets([]), { CapInh: '0000000000000000', CapPrm: DEFAULT, CapEff: DEFAULT, CapBnd: DEFAULT, CapAmb: '0000000000000000', NoNewPrivs: '0' });
});

test('--cap-add and --cap-drop follow Docker’s rules: any case, with or without CAP_, ALL, drop then add', { skip }, () => {
  const cases: [string[], string][] = [
    [['--cap-drop', 'ALL', '--cap-add', 'chown'], '0000000000000001'],
    [['--cap-drop', 'all'], '0000000000000000'],
    [['--cap-add', 'cap_sys_admin'], '00000000a82425fb'],
    [['--cap-drop', 'MKNOD', '--cap-add', 'CAP_NET_ADMIN'], '00000000a00435fb'],
    [['--cap-drop', 'Cap_Chown', '--cap-drop', 'KILL'], hex(0xa80425fbn & ~0x21n)],
    // --cap-add ALL is everything dockling holds, less what is dropped…
    [['--cap-add', 'ALL', '--cap-drop', 'net_raw'], hex(BigInt('0x' + HOST) & ~(1n << 13n))],
    // …and it wins over --cap-drop ALL, as in moby's TweakCapabilities.
    [['--cap-drop', 'ALL', '--cap-add', 'ALL'], HOST],
  ];
  for (const [flags, mask] of cases) {
    const s = sets(flags);
    assert.deepEqual([s.CapEff, s.CapPrm, s.CapBnd, s.CapInh], [mask, mask, mask, '0000000000000000'], flags.join(' '));
  }
});

test('an unknown capability is refused before anything is made: exit 125 and Docker’s message', { skip }, () => {
  const add = expectCode(run(['--cap-add', 'foo', 'busybox', 'true']), 125);
  assert.match(add.stderr, /Error response from daemon: invalid CapAdd: unknown capability: "CAP_FOO"/);
  const drop = expectCode(run(['--cap-drop', 'CAP_BAR', 'busybox', 'true']), 125);
  assert.match(drop.stderr, /invalid CapDrop: unknown capability: "CAP_BAR"/);
  // checked even with --privileged, which needs no list (as Docker's daemon does)
  const priv = expectCode(run(['--privileged', '--cap-add', 'NET_FOO', 'busybox', 'true']), 125);
  assert.match(priv.stderr, /invalid CapAdd: unknown capability: "CAP_NET_FOO"/);
  assert.doesNotMatch(add.stderr + drop.stderr + priv.stderr, /\n\s+at /, 'no JavaScript stack trace');
});

test('--privileged: every capability dockling holds, and inspect says Privileged', { skip }, () => {
  const name = 'caps-privileged';
  try {
    const out = expectCode(dockling(root(), ['run', '--name', name, '--privileged', 'busybox', 'grep', '^CapEff', '/proc/1/status']), 0).stdout;
    assert.equal(out.trim().split(/\s+/)[1], HOST);
    assert.equal(ok0(['inspect', '-f', '{{json .HostConfig.Privileged}}', name]).trim(), 'true');
  } finally {
    dockling(root(), ['rm', '-f', name]);
  }
});

test('inspect shows CapAdd and CapDrop as given, null when none', { skip }, () => {
  const [a, b] = ['caps-inspect-a', 'caps-inspect-b'];
  try {
    expectCode(dockling(root(), ['run', '--name', a, '--cap-add', 'net_admin', '--cap-drop', 'MKNOD', 'busybox', 'true']), 0);
    expectCode(dockling(root(), ['run', '--name', b, 'busybox', 'true']), 0);
    const f = '{{json .HostConfig.CapAdd}} {{json .HostConfig.CapDrop}} {{json .HostConfig.Privileged}}';
    assert.equal(ok0(['inspect', '-f', f, a]).trim(), '["net_admin"] ["MKNOD"] false');
    assert.equal(ok0(['inspect', '-f', f, b]).trim(), 'null null false');
  } finally {
    dockling(root(), ['rm', '-f', a, b]);
  }
});

test('--security-opt no-new-privileges sets NoNewPrivs (off by default, as in Docker)', { skip }, () => {
  assert.equal(sets(['--security-opt', 'no-new-privileges']).NoNewPrivs, '1');
  assert.equal(sets(['--security-opt', 'no-new-privileges=true']).NoNewPrivs, '1');
});

test('a dropped capability is enforced by the kernel: chown, mknod and a raw socket (ping) are refused', { skip }, () => {
  const probe = 'touch /f; chown 1:1 /f && echo chown; mknod /n c 1 3 && echo mknod; ping -c1 -W1 127.0.0.1 >/dev/null && echo ping; true';
  assert.equal(ok(['busybox', 'sh', '-c', probe]), 'chown\nmknod\nping\n', 'the default set allows all three');
  const r = expectCode(run(['--cap-drop', 'CHOWN', '--cap-drop', 'MKNOD', '--cap-drop', 'NET_RAW', 'busybox', 'sh', '-c', probe]), 0);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /chown: \/f: Operation not permitted/);
  assert.match(r.stderr, /mknod: \/n: Operation not permitted/);
  assert.match(r.stderr, /ping: permission denied/);
});

/** `dockling ARGS…` that must exit 0: its stdout. */
function ok0(args: string[]): string {
  return expectCode(dockling(root(), args), 0).stdout;
}
