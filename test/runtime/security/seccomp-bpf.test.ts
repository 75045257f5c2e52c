// The seccomp compiler, checked against the profile it compiles.
//
// For random system calls (known numbers and random ones), random
// arguments, random architectures and random capability sets, the compiled
// program, run in a BPF interpreter written for the test
// (bpf-interpreter.ts), must give the verdict that the profile's rules give
// when read directly (`expected` below, written from Docker's and runc's
// documented behaviour, not from the compiler). Docker's default profile is
// checked this way, and random small and large profiles with argument
// conditions: large ones push jumps past 255 instructions, where the
// assembler must insert `ja`s.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { compileProfile } from '../../../runtime/security/seccomp/compile.js';
import { DEFAULT_PROFILE } from '../../../runtime/security/seccomp/default-profile.js';
import type { ActionName, ArgRule, Operator, Profile, SyscallRule } from '../../../runtime/security/seccomp/profile.js';
import { SYSCALLS_X86_64 } from '../../../runtime/security/seccomp/syscalls-x86_64.js';
import { checkProgram, runFilter, type SeccompData } from './bpf-interpreter.js';

const AUDIT_ARCH_X86_64 = 0xc000003e;
const AUDIT_ARCH_I386 = 0x40000003;
const AUDIT_ARCH_AARCH64 = 0xc00000b7;

// --- the direct reading of a profile ---

/** linux/seccomp.h */
function ret(action: ActionName, errno: number | undefined): number {
  const data = (errno ?? 1) & 0xffff;
  switch (action) {
    case 'SCMP_ACT_ALLOW': return 0x7fff0000;
    case 'SCMP_ACT_ERRNO': return 0x00050000 + data;
    case 'SCMP_ACT_TRACE': return 0x7ff00000 + data;
    case 'SCMP_ACT_LOG': return 0x7ffc0000;
    case 'SCMP_ACT_TRAP': return 0x00030000;
    case 'SCMP_ACT_KILL_PROCESS': return 0x80000000;
    case 'SCMP_ACT_KILL':
    case 'SCMP_ACT_KILL_THREAD': return 0;
  }
}

const nameOf = new Map(Object.entries(SYSCALLS_X86_64).map(([n, v]) => [v, n]));

function argHolds(a: ArgRule, args: bigint[]): boolean {
  const x = args[a.index] ?? 0n;
  switch (a.op) {
    case 'SCMP_CMP_EQ': return x === a.value;
    case 'SCMP_CMP_NE': return x !== a.value;
    case 'SCMP_CMP_LT': return x < a.value;
    case 'SCMP_CMP_LE': return x <= a.value;
    case 'SCMP_CMP_GT': return x > a.value;
    case 'SCMP_CMP_GE': return x >= a.value;
    case 'SCMP_CMP_MASKED_EQ': return (x & a.value) === a.valueTwo;
  }
}

function ruleApplies(r: SyscallRule, caps: string[], kernel: [number, number]): boolean {
  const atLeast = (v: string) => {
    const [k, m] = v.split('.').map(Number);
    return kernel[0] > k || (kernel[0] === k && kernel[1] >= m);
  };
  // moby's setupSeccomp: excludes drop a rule if any matches; includes need all.
  if (r.excludes?.arches?.includes('amd64')) return false;
  if (r.excludes?.caps?.some((c) => caps.includes(c))) return false;
  if (r.excludes?.minKernel && atLeast(r.excludes.minKernel)) return false;
  if (r.includes?.arches?.length && !r.includes.arches.includes('amd64')) return false;
  if (r.includes?.caps?.some((c) => !caps.includes(c))) return false;
  if (r.includes?.minKernel && !atLeast(r.includes.minKernel)) return false;
  return true;
}

/**
 * The verdict the profile gives for a call: calls of another ABI get the
 * default action; otherwise the first applicable rule naming the call
 * whose argument conditions all hold (runc skips rules whose action is
 * the default action: libseccomp refuses them).
 */
function expected(p: Profile, caps: string[], kernel: [number, number], d: SeccompData): number {
  const def = ret(p.defaultAction, p.defaultErrnoRet);
  if (d.arch !== AUDIT_ARCH_X86_64 || d.nr >= 0x40000000) return def;
  const name = nameOf.get(d.nr);
  if (name === undefined) return def;
  for (const r of p.syscalls) {
    if (!r.names.includes(name) || !ruleApplies(r, caps, kernel)) continue;
    const v = ret(r.action, r.errnoRet);
    if (v === def) continue;
    if ((r.args ?? []).every((a) => argHolds(a, d.args))) return v;
  }
  return def;
}

// --- generators ---

const ALL_NAMES = Object.keys(SYSCALLS_X86_64);
const CAP_POOL = ['CAP_SYS_ADMIN', 'CAP_SYS_PTRACE', 'CAP_SYS_TIME', 'CAP_SYS_BOOT', 'CAP_SYS_NICE', 'CAP_BPF', 'CAP_PERFMON', 'CAP_SYSLOG', 'CAP_DAC_READ_SEARCH', 'CAP_SYS_MODULE', 'CAP_CHOWN', 'CAP_SYS_CHROOT'];
const ACTIONS: ActionName[] = ['SCMP_ACT_ALLOW', 'SCMP_ACT_ERRNO', 'SCMP_ACT_TRACE', 'SCMP_ACT_LOG', 'SCMP_ACT_TRAP', 'SCMP_ACT_KILL_PROCESS', 'SCMP_ACT_KILL'];
const OPS: Operator[] = ['SCMP_CMP_EQ', 'SCMP_CMP_NE', 'SCMP_CMP_LT', 'SCMP_CMP_LE', 'SCMP_CMP_GT', 'SCMP_CMP_GE', 'SCMP_CMP_MASKED_EQ'];

/** 64-bit values, biased to the edges where halves meet. */
const u64 = fc.oneof(
  fc.constantFrom(0n, 1n, 8n, 38n, 39n, 40n, 0x7e020000n, 0xffffffffn, 0x100000000n, 0x100000001n, 0xffffffff00000000n, 0xffffffffffffffffn),
  fc.bigInt({ min: 0n, max: 0xffffffffn }),
  fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
);

const argRule = fc.record({ index: fc.integer({ min: 0, max: 5 }), value: u64, valueTwo: u64, op: fc.constantFrom(...OPS) });
const filter = fc.record(
  { caps: fc.subarray(CAP_POOL, { maxLength: 2 }), arches: fc.subarray(['amd64', 'x32', 'arm64', 's390x']), minKernel: fc.constantFrom('3.10', '4.8', '6.18', '7.0', '99.1') },
  { requiredKeys: [] },
);

function profileArb(names: fc.Arbitrary<string[]>, maxRules: number, conditional = true): fc.Arbitrary<Profile> {
  const rule: fc.Arbitrary<SyscallRule> = fc.record(
    {
      names,
      action: fc.constantFrom(...ACTIONS),
      errnoRet: fc.integer({ min: 0, max: 4095 }),
      args: fc.array(argRule, { maxLength: 3 }),
      includes: conditional ? filter : fc.constant({}),
      excludes: conditional ? filter : fc.constant({}),
    },
    { requiredKeys: ['names', 'action'] },
  );
  return fc.record({
    defaultAction: fc.constantFrom(...ACTIONS),
    defaultErrnoRet: fc.option(fc.integer({ min: 1, max: 133 }), { nil: undefined }),
    syscalls: fc.array(rule, { maxLength: maxRules }),
  });
}

/** A few names, some not on x86_64 (skipped), so that rules often share a call. */
const FEW = ['read', 'write', 'openat', 'clone', 'socket', 'personality', 'mkdir', 'keyctl', 'chown32', 'futex_time64'];
const smallProfile = profileArb(fc.subarray(FEW, { minLength: 1, maxLength: 4 }), 8);
/** Many names per rule: programs of hundreds of instructions, jumps past 255. */
const largeProfile = profileArb(fc.shuffledSubarray(ALL_NAMES, { minLength: 100, maxLength: 300 }), 5, false);

/** A call: a number from the profile's names (or any), arguments near the rules' values. */
function callArb(p: Profile): fc.Arbitrary<SeccompData> {
  const numbers = p.syscalls.flatMap((r) => r.names).map((n) => SYSCALLS_X86_64[n]).filter((n) => n !== undefined);
  const near = p.syscalls.flatMap((r) => (r.args ?? []).flatMap((a) => [a.value, a.valueTwo, a.value + 1n, a.value - 1n, a.value ^ 0x100000000n]))
    .filter((v) => v >= 0n && v < 1n << 64n);
  const arg = near.length ? fc.oneof(fc.constantFrom(...near), u64) : u64;
  return fc.record({
    nr: fc.oneof(numbers.length ? fc.constantFrom(...numbers) : fc.nat(470), fc.nat(470), fc.constantFrom(0x40000000, 0x40000001, 0xffffffff)),
    arch: fc.oneof(fc.constant(AUDIT_ARCH_X86_64), fc.constantFrom(AUDIT_ARCH_I386, AUDIT_ARCH_AARCH64), fc.nat()),
    args: fc.array(arg, { minLength: 6, maxLength: 6 }),
  });
}

const capsArb = fc.subarray(CAP_POOL);
const kernelArb = fc.constantFrom<[number, number]>([3, 10], [4, 8], [5, 4], [6, 18], [7, 0]);

function check(p: Profile, caps: string[], kernel: [number, number], calls: SeccompData[]): void {
  const program = compileProfile(p, { capabilities: caps, kernel: kernel.join('.') });
  checkProgram(program);
  for (const d of calls) {
    const got = runFilter(program, d);
    const want = expected(p, caps, kernel, d);
    assert.equal(got >>> 0, want >>> 0, `nr ${d.nr} (${nameOf.get(d.nr)}) arch 0x${d.arch.toString(16)} args ${d.args.map((a) => '0x' + a.toString(16)).join(',')}: got 0x${got.toString(16)}, want 0x${want.toString(16)}`);
  }
}

describe('the seccomp compiler gives the profile’s verdicts', () => {
  test("Docker's default profile: random calls, arguments, architectures and capability sets", () => {
    const p = DEFAULT_PROFILE;
    fc.assert(
      fc.property(capsArb, kernelArb, fc.array(callArb(p), { minLength: 1, maxLength: 40 }), (caps, kernel, calls) => check(p, caps, kernel, calls)),
      { numRuns: 150 },
    );
  });

  test('random small profiles with argument conditions', () => {
    fc.assert(
      fc.property(smallProfile.chain((p) => fc.tuple(fc.constant(p), capsArb, kernelArb, fc.array(callArb(p), { minLength: 1, maxLength: 30 }))), ([p, caps, kernel, calls]) =>
        check(p, caps, kernel, calls),
      ),
      { numRuns: 400 },
    );
  });

  test('random large profiles (jumps farther than 255 instructions)', () => {
    let far = 0;
    fc.assert(
      fc.property(largeProfile.chain((p) => fc.tuple(fc.constant(p), capsArb, kernelArb, fc.array(callArb(p), { minLength: 1, maxLength: 30 }))), ([p, caps, kernel, calls]) => {
        if (compileProfile(p, { capabilities: caps, kernel: kernel.join('.') }).length / 8 > 256) far++;
        check(p, caps, kernel, calls);
      }),
      { numRuns: 60 },
    );
    assert.ok(far > 10, `only ${far} programs were longer than 256 instructions`);
  });
});

describe("Docker's default profile, call by call", () => {
  const DEFAULT_CAPS = ['CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FSETID', 'CAP_FOWNER', 'CAP_MKNOD', 'CAP_NET_RAW', 'CAP_SETGID', 'CAP_SETUID', 'CAP_SETFCAP', 'CAP_SETPCAP', 'CAP_NET_BIND_SERVICE', 'CAP_SYS_CHROOT', 'CAP_KILL', 'CAP_AUDIT_WRITE'];
  const ALLOW = 0x7fff0000;
  const EPERM = 0x00050001;
  const ENOSYS = 0x00050026;
  const verdict = (caps: string[], name: string, ...args: bigint[]) =>
    runFilter(compileProfile(DEFAULT_PROFILE, { capabilities: caps, kernel: '6.8' }), { nr: SYSCALLS_X86_64[name], arch: AUDIT_ARCH_X86_64, args: [...args, 0n, 0n, 0n, 0n, 0n, 0n].slice(0, 6) }) >>> 0;
  const CLONE_NEWUSER = 0x10000000n;
  const SIGCHLD = 17n;

  test('everyday calls are allowed; keyctl, add_key, kexec_load, userfaultfd are refused with EPERM', () => {
    for (const n of ['read', 'write', 'openat', 'execve', 'futex', 'exit_group', 'arch_prctl', 'chroot']) assert.equal(verdict(DEFAULT_CAPS, n), ALLOW, n);
    for (const n of ['keyctl', 'add_key', 'request_key', 'kexec_load', 'userfaultfd', 'mount', 'unshare', 'setns', 'bpf', 'kcmp', 'reboot']) assert.equal(verdict(DEFAULT_CAPS, n), EPERM, n);
  });

  test('clone may make processes but no namespace without CAP_SYS_ADMIN; clone3 gets ENOSYS', () => {
    assert.equal(verdict(DEFAULT_CAPS, 'clone', SIGCHLD), ALLOW);
    assert.equal(verdict(DEFAULT_CAPS, 'clone', CLONE_NEWUSER | SIGCHLD), EPERM);
    assert.equal(verdict(DEFAULT_CAPS, 'clone3'), ENOSYS);
    const admin = [...DEFAULT_CAPS, 'CAP_SYS_ADMIN'];
    assert.equal(verdict(admin, 'clone', CLONE_NEWUSER | SIGCHLD), ALLOW);
    assert.equal(verdict(admin, 'clone3'), ALLOW);
    assert.equal(verdict(admin, 'mount'), ALLOW);
  });

  test('socket: not AF_ALG (38) nor AF_VSOCK (40); personality: only the listed values', () => {
    assert.equal(verdict(DEFAULT_CAPS, 'socket', 2n), ALLOW);
    assert.equal(verdict(DEFAULT_CAPS, 'socket', 38n), EPERM);
    assert.equal(verdict(DEFAULT_CAPS, 'socket', 39n), ALLOW);
    assert.equal(verdict(DEFAULT_CAPS, 'socket', 40n), EPERM);
    assert.equal(verdict(DEFAULT_CAPS, 'socket', 41n), ALLOW);
    assert.equal(verdict(DEFAULT_CAPS, 'socket', 40n | (1n << 32n)), ALLOW, 'the high half counts: 0x1_00000028 is not 40');
    for (const v of [0n, 8n, 0x20000n, 0x20008n, 0xffffffffn]) assert.equal(verdict(DEFAULT_CAPS, 'personality', v), ALLOW, `personality(0x${v.toString(16)})`);
    assert.equal(verdict(DEFAULT_CAPS, 'personality', 0x0400000n), EPERM, 'READ_IMPLIES_EXEC');
  });

  test('capabilities open their calls: SYS_PTRACE ptrace, SYS_TIME settimeofday, SYS_MODULE init_module', () => {
    assert.equal(verdict([...DEFAULT_CAPS, 'CAP_SYS_PTRACE'], 'ptrace'), ALLOW);
    assert.equal(verdict([...DEFAULT_CAPS, 'CAP_SYS_TIME'], 'settimeofday'), ALLOW);
    assert.equal(verdict([...DEFAULT_CAPS, 'CAP_SYS_MODULE'], 'init_module'), ALLOW);
    assert.equal(verdict(DEFAULT_CAPS.filter((c) => c !== 'CAP_SYS_CHROOT'), 'chroot'), EPERM);
  });

  test('ptrace is allowed from kernel 4.8 on (the seccomp bypass fixed there), not before', () => {
    const program = (kernel: string) => compileProfile(DEFAULT_PROFILE, { capabilities: DEFAULT_CAPS, kernel });
    const d = { nr: SYSCALLS_X86_64.ptrace, arch: AUDIT_ARCH_X86_64, args: [0n, 0n, 0n, 0n, 0n, 0n] };
    assert.equal(runFilter(program('4.7.10'), d) >>> 0, EPERM);
    assert.equal(runFilter(program('4.8.0-generic'), d) >>> 0, ALLOW);
  });

  test('calls of another ABI get the default action: i386 (int 0x80) and x32', () => {
    const program = compileProfile(DEFAULT_PROFILE, { capabilities: DEFAULT_CAPS, kernel: '6.8' });
    assert.equal(runFilter(program, { nr: 0, arch: AUDIT_ARCH_I386, args: [] }) >>> 0, EPERM);
    assert.equal(runFilter(program, { nr: 0x40000000, arch: AUDIT_ARCH_X86_64, args: [] }) >>> 0, EPERM, 'x32 read');
  });
});
