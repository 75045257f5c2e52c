// Chapter 11, section 3: "seccomp: the system calls the kernel will hear".
//
// Chapter 11: the seccomp filter, in real containers.
//
// The probes are system calls no capability governs, so that only the
// filter can stop them: keyctl(KEYCTL_GET_KEYRING_ID) works for any user on
// a kernel with keyrings, socket(AF_VSOCK) and personality() need no
// privilege, clone3 with a bad size fails with EINVAL in the kernel itself.
// (Docker's profile also refuses mount, unshare, setns… but so does the
// missing CAP_SYS_ADMIN: those would not show which defence said no.)
//
// With --chapter 10 there is no filter: every probe succeeds, /proc shows
// "Seccomp: 0", the commands and errors below do not exist, and each test
// here fails.
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { dockling, rootOrSkip } from '../../helpers/dockling.js';
import { expectCode, runners, useStateRoot } from '../../helpers/chapter.js';
import { useTempDir } from '../../helpers/temp.js';

const skip = rootOrSkip();
const root = useStateRoot('ch11-seccomp');
const { run, ok } = runners(root);
const tmp = useTempDir('dockling-test-ch11-seccomp-');

// A static probe: each system call by its number, reporting "NAME: ok" or
// "NAME: ERRNO" (glibc's strerrorname_np). Nothing it does changes the host.
const PROBE = String.raw`#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>
static void report(const char *what, long r) {
	if (r < 0) printf("%s: %s\n", what, strerrorname_np(errno));
	else printf("%s: ok\n", what);
}
int main(void) {
	report("getpid", syscall(SYS_getpid));
	report("keyctl", syscall(SYS_keyctl, 0 /* KEYCTL_GET_KEYRING_ID */, -3 /* KEY_SPEC_SESSION_KEYRING */, 0));
	report("personality-query", syscall(SYS_personality, 0xffffffffUL));
	report("personality-read-implies-exec", syscall(SYS_personality, 0x0400000UL));
	report("socket-vsock", syscall(SYS_socket, 40 /* AF_VSOCK */, 1 /* SOCK_STREAM */, 0));
	report("clone3", syscall(SYS_clone3, NULL, 0));
	return 0;
}
`;

/** A busybox root with /probe in it (the busybox image has no C library to link a probe against). */
let rootfs = '';
before(() => {
  if (skip) return;
  const src = path.join(tmp(), 'probe.c');
  fs.writeFileSync(src, PROBE);
  const cc = spawnSync('cc', ['-static', '-O2', '-o', path.join(tmp(), 'probe'), src], { encoding: 'utf8' });
  assert.equal(cc.status, 0, `cc: ${cc.stderr}`);
  rootfs = path.join(tmp(), 'rootfs');
  expectCode(dockling(root(), ['rootfs', 'busybox', rootfs]), 0);
  fs.copyFileSync(path.join(tmp(), 'probe'), path.join(rootfs, 'probe'));
  fs.chmodSync(path.join(rootfs, 'probe'), 0o755);
});

/** The probe's report, as a map NAME → "ok" | "EPERM"… */
function probe(args: string[] = []): Record<string, string> {
  const out = ok([...args, '--rootfs', rootfs, '/probe']);
  return Object.fromEntries(out.trim().split('\n').map((l) => l.split(': ')));
}

const containers = () => (fs.existsSync(path.join(root(), 'containers')) ? fs.readdirSync(path.join(root(), 'containers')) : []);

describe('chapter 11: seccomp', { skip }, () => {
  test("Docker's default profile refuses keyctl, AF_VSOCK and READ_IMPLIES_EXEC with EPERM and clone3 with ENOSYS; seccomp=unconfined does not", () => {
    const filtered = probe();
    assert.deepEqual(filtered, {
      getpid: 'ok',
      keyctl: 'EPERM', // not in the allow-list
      'personality-query': 'ok', // 0xffffffff is one of the allowed arguments
      'personality-read-implies-exec': 'EPERM', // 0x0400000 is not
      'socket-vsock': 'EPERM', // the rules allow every family but 38 and 40
      clone3: 'ENOSYS', // so that the C library falls back to clone(2), whose flags can be checked
    });
    // Without the filter the kernel answers: the same calls succeed (clone3
    // fails on its bad argument, EINVAL, inside the kernel).
    const open = probe(['--security-opt', 'seccomp=unconfined']);
    assert.deepEqual(open, { getpid: 'ok', keyctl: 'ok', 'personality-query': 'ok', 'personality-read-implies-exec': 'ok', 'socket-vsock': 'ok', clone3: 'EINVAL' });
  });

  test('/proc/self/status shows the filter: "Seccomp: 2" (filter mode), one filter; the init traced installing it', () => {
    const traceFile = path.join(tmp(), 'trace.jsonl');
    const r = expectCode(dockling(root(), ['--trace-file', traceFile, 'run', '--rm', 'busybox', 'grep', '^Seccomp', '/proc/self/status']), 0);
    assert.match(r.stdout, /^Seccomp:\s+2$/m);
    assert.match(r.stdout, /^Seccomp_filters:\s+1$/m);
    const steps = fs.readFileSync(traceFile, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { op: string; side: string; instructions?: number; flags?: string[] });
    const installed = steps.find((s) => s.op === 'seccomp');
    assert.ok(installed, 'no seccomp step in the trace');
    assert.equal(installed.side, 'init');
    assert.ok(installed.instructions! > 100, `${installed.instructions} instructions`);
    assert.deepEqual(installed.flags, ['SECCOMP_FILTER_FLAG_TSYNC']);
    assert.ok(steps.findIndex((s) => s.op === 'seccomp') < steps.findIndex((s) => s.op === 'exec'), 'installed before execve');
    assert.match(ok(['--security-opt', 'seccomp=unconfined', 'busybox', 'grep', '^Seccomp:', '/proc/self/status']), /^Seccomp:\s+0$/m);
  });

  test('a profile of our own (seccomp=profile.json) refuses mkdir with its errno, and allows the rest', () => {
    const file = path.join(tmp(), 'no-mkdir.json');
    fs.writeFileSync(file, JSON.stringify({
      defaultAction: 'SCMP_ACT_ALLOW',
      syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO', errnoRet: 30 /* EROFS */ }],
    }));
    const r = run(['--security-opt', `seccomp=${file}`, 'busybox', 'sh', '-c', 'echo written > /tmp/f && cat /tmp/f && mkdir /tmp/d']);
    assert.equal(r.code, 1, r.stderr);
    assert.equal(r.stdout, 'written\n');
    assert.match(r.stderr, /mkdir: can't create directory '\/tmp\/d': Read-only file system/);
  });

  test('a bad profile stops run with 125 and a message naming the problem; nothing is left behind', () => {
    const cases: [string, string, RegExp][] = [
      ['truncated.json', '{"defaultAction": ', /Decoding seccomp profile failed: .*\(in .*truncated\.json\)/],
      ['action.json', '{"defaultAction": "SCMP_ACT_MAYBE"}', /string SCMP_ACT_MAYBE is not a valid action for seccomp/],
      ['both.json', '{"defaultAction":"SCMP_ACT_ERRNO","architectures":["SCMP_ARCH_X86_64"],"archMap":[{"architecture":"SCMP_ARCH_X86_64","subArchitectures":null}]}', /both 'architectures' and 'archMap' are specified/],
    ];
    for (const [name, text, message] of cases) {
      const file = path.join(tmp(), name);
      fs.writeFileSync(file, text);
      const r = expectCode(run(['--security-opt', `seccomp=${file}`, 'busybox', 'true']), 125);
      assert.match(r.stderr, message);
      assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
    }
    const r = expectCode(run(['--security-opt', `seccomp=${path.join(tmp(), 'missing.json')}`, 'busybox', 'true']), 125);
    assert.match(r.stderr, /opening seccomp profile \(.*missing\.json\) failed: .*no such file or directory/);
    assert.deepEqual(containers(), [], 'no container was made');
  });

  test('inspect shows SecurityOpt; `seccomp show` prints the program of a profile and of a container', () => {
    const file = path.join(tmp(), 'allow.json');
    fs.writeFileSync(file, JSON.stringify({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['keyctl'], action: 'SCMP_ACT_ERRNO' }] }));
    expectCode(dockling(root(), ['run', '--name', 'sc', '--security-opt', `seccomp=${file}`, 'busybox', 'true']), 0);
    try {
      assert.equal(expectCode(dockling(root(), ['inspect', '-f', '{{json .HostConfig.SecurityOpt}}', 'sc']), 0).stdout.trim(), JSON.stringify([`seccomp=${file}`]));
      const shown = expectCode(dockling(root(), ['seccomp', 'show', 'sc']), 0).stdout;
      assert.match(shown, /^# the filter of container sc\n# 8 instructions \(64 bytes\); default action: ALLOW\n/);
      assert.match(shown, /if \(A [!=]= keyctl\) goto/);
      assert.match(shown, /return ERRNO\(1\)/);
    } finally {
      expectCode(dockling(root(), ['rm', 'sc']), 0);
    }
    const builtin = expectCode(dockling(root(), ['seccomp', 'show']), 0).stdout;
    assert.match(builtin, /^# Docker's default profile, for capabilities AUDIT_WRITE CHOWN .*\n# \d+ instructions \(\d+ bytes\); default action: ERRNO\(1\)\n/);
    assert.match(builtin, /A = args\[0\] low half/);
    const admin = expectCode(dockling(root(), ['seccomp', 'show', '--cap-add', 'SYS_ADMIN']), 0).stdout;
    assert.match(admin, /if \(A [!=]= mount\) goto/, 'mount is allowed with CAP_SYS_ADMIN');
    assert.doesNotMatch(builtin, /if \(A [!=]= mount\) goto/);
  });
});
