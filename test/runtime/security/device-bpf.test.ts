// The device program compiler (runtime/security/devices/program.ts), checked
// against the rules it compiles: the program's bytes are run in a small
// eBPF interpreter written here (only the instructions a device program
// uses), for random rule lists and random accesses, and its answer must be
// the one the rules give when read by hand: the last matching rule decides,
// an allow rule must cover all the access asked, a deny rule any of it, no
// match denies. Rule order and jump offsets are what such a compiler gets
// wrong; a wrong one answers differently here. As root, every program is
// also handed to the kernel, whose verifier must accept it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import fc from 'fast-check';
import { deviceFilter, DEV_TYPE, accessBits } from '../../../runtime/security/devices/program.ts';
import { decode, disassemble, encode, type Insn } from '../../../runtime/security/devices/ebpf.ts';
import { DEFAULT_DEVICE_RULES, rule, ruleText, type DeviceRule } from '../../../runtime/security/devices/rules.ts';
import { loadDeviceProgram } from '../../../runtime/security/devices/bpf.ts';

interface Access {
  type: 'b' | 'c';
  major: number;
  minor: number;
  /** some of m, r, w (never none: the kernel always asks for something) */
  access: string;
}

/** The rules read by hand (the semantics program.ts promises). */
function verdict(rules: DeviceRule[], a: Access): 0 | 1 {
  const asked = new Set(a.access);
  for (const r of [...rules].reverse()) {
    if (r.type !== 'a' && r.type !== a.type) continue;
    if (r.major !== null && r.major !== a.major) continue;
    if (r.minor !== null && r.minor !== a.minor) continue;
    const covered = [...asked].filter((c) => r.access.includes(c));
    if (r.allow ? covered.length === asked.size : covered.length > 0) return r.allow ? 1 : 0;
  }
  return 0;
}

/** A tiny eBPF machine: 11 registers, the context as 12 bytes, the instructions the compiler emits. */
function run(program: Buffer, a: Access): number {
  const insns: Insn[] = decode(program);
  const ctx = Buffer.alloc(12);
  ctx.writeUInt32LE(DEV_TYPE[a.type] | (accessBits(a.access) << 16), 0);
  ctx.writeUInt32LE(a.major, 4);
  ctx.writeUInt32LE(a.minor, 8);
  const CTX = 0x1000n; // r1: a "pointer" to the context
  const r: bigint[] = Array(11).fill(0n);
  r[1] = CTX;
  const u32 = (v: bigint) => v & 0xffffffffn;
  for (let pc = 0, steps = 0; steps < 10_000; steps++) {
    const i = insns[pc];
    assert.ok(i, `ran off the end of the program at ${pc}`);
    const k = BigInt(i.imm); // sign-extended, as the kernel does for 64-bit compares
    const src = i.code & 0x08 ? r[i.src] : k;
    pc++;
    switch (i.code) {
      case 0x61: { // ldxw: only the context may be read, 4 bytes at a time
        assert.equal(r[i.src], CTX, `load through r${i.src}, which is not the context`);
        assert.ok(i.off >= 0 && i.off <= 8 && i.off % 4 === 0, `context offset ${i.off}`);
        r[i.dst] = BigInt(ctx.readUInt32LE(i.off));
        break;
      }
      case 0xb4: case 0xbc: r[i.dst] = u32(src); break; //           w = imm / w = src
      case 0x54: r[i.dst] = u32(r[i.dst] & u32(k)); break; //        w &= imm
      case 0x74: r[i.dst] = u32(r[i.dst]) >> BigInt(i.imm & 31); break; // w >>= imm
      case 0x15: if (r[i.dst] === k) pc += i.off; break; //          if == imm
      case 0x55: case 0x5d: if (r[i.dst] !== src) pc += i.off; break; // if != imm / src
      case 0x05: pc += i.off; break; //                               goto
      case 0x95: return Number(r[0]); //                              exit
      default: assert.fail(`instruction ${i.code.toString(16)} the interpreter does not know`);
    }
  }
  assert.fail('the program did not end');
}

const small = fc.integer({ min: 0, max: 3 });
const accessArb = fc.subarray(['r', 'w', 'm'], { minLength: 1 }).map((a) => a.join(''));
const ruleArb: fc.Arbitrary<DeviceRule> = fc.record({
  allow: fc.boolean(),
  type: fc.constantFrom('a' as const, 'b' as const, 'c' as const),
  major: fc.option(small, { nil: null }),
  minor: fc.option(small, { nil: null }),
  access: accessArb,
});
const accessOf: fc.Arbitrary<Access> = fc.record({ type: fc.constantFrom('b' as const, 'c' as const), major: small, minor: small, access: accessArb });

const show = (rules: DeviceRule[], prog: Buffer) =>
  `rules: ${rules.map((r) => `${r.allow ? 'allow' : 'deny'} ${ruleText(r)}`).join('; ')}\n${decode(prog).map((i, k) => `${k}: ${disassemble(i)}`).join('\n')}`;

test('for random rule lists and accesses, the program answers as the rules do', () => {
  fc.assert(
    fc.property(fc.array(ruleArb, { maxLength: 12 }), fc.array(accessOf, { minLength: 1, maxLength: 20 }), (rules, accesses) => {
      const prog = encode(deviceFilter(rules));
      for (const a of accesses) assert.equal(run(prog, a), verdict(rules, a), `${JSON.stringify(a)}\n${show(rules, prog)}`);
    }),
    { numRuns: 2000 },
  );
});

test('Docker\'s default list: the harmless devices are open, any device may be made, nothing else may be opened', () => {
  const prog = encode(deviceFilter(DEFAULT_DEVICE_RULES));
  const at = (type: 'b' | 'c', major: number, minor: number, access: string) => run(prog, { type, major, minor, access });
  assert.equal(at('c', 1, 3, 'rw'), 1, '/dev/null');
  assert.equal(at('c', 136, 7, 'rw'), 1, '/dev/pts/7');
  assert.equal(at('c', 1, 11, 'm'), 1, 'mknod of /dev/kmsg');
  assert.equal(at('b', 8, 0, 'm'), 1, 'mknod of a disk');
  assert.equal(at('c', 1, 11, 'r'), 0, 'reading /dev/kmsg');
  assert.equal(at('b', 8, 0, 'r'), 0, 'reading a disk');
  assert.equal(at('c', 1, 1, 'r'), 0, 'reading /dev/mem');
  assert.equal(at('c', 1, 3, 'rm'), 1);
  // and for random accesses, with real device numbers
  fc.assert(
    fc.property(fc.record({ type: fc.constantFrom('b' as const, 'c' as const), major: fc.integer({ min: 0, max: 4095 }), minor: fc.integer({ min: 0, max: 1 << 20 }), access: accessArb }), (a) => {
      assert.equal(run(prog, a), verdict(DEFAULT_DEVICE_RULES, a), JSON.stringify(a));
    }),
    { numRuns: 2000 },
  );
});

test('an allow rule added after a deny wins over it, and a deny added after an allow wins over that', () => {
  const a: Access = { type: 'c', major: 1, minor: 11, access: 'r' };
  assert.equal(run(encode(deviceFilter([rule('a', false), rule('c 1:11 r')])), a), 1);
  assert.equal(run(encode(deviceFilter([rule('c 1:11 r'), rule('c 1:11 rw', false)])), a), 0);
  assert.equal(run(encode(deviceFilter([])), a), 0, 'no rule: deny');
});

test('the bytes are struct bpf_insn: code, dst in the low nibble, src in the high one, off, imm, little-endian', () => {
  const b = encode([{ code: 0x5d, dst: 1, src: 3, off: 2, imm: -1 }]);
  assert.deepEqual([...b], [0x5d, 0x31, 2, 0, 0xff, 0xff, 0xff, 0xff]);
});

const root = process.getuid?.() === 0;
test('the kernel\'s verifier accepts every program the compiler makes', { skip: !root && 'needs root (bpf(2))' }, () => {
  fc.assert(
    fc.property(fc.array(ruleArb, { maxLength: 12 }), (rules) => {
      fs.closeSync(loadDeviceProgram(deviceFilter(rules)));
    }),
    { numRuns: 100 },
  );
  fs.closeSync(loadDeviceProgram(deviceFilter(DEFAULT_DEVICE_RULES)));
});

test('a program the verifier refuses is reported with the verifier\'s reason', { skip: !root && 'needs root (bpf(2))' }, () => {
  // exit without setting r0: the verifier refuses to return an unset register
  assert.throws(() => loadDeviceProgram([{ code: 0x95, dst: 0, src: 0, off: 0, imm: 0 }]), /BPF_PROG_LOAD: EACCES \(verifier: .*R0 !read_ok/);
});
