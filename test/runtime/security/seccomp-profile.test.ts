// Docker's JSON profile format: what the loader accepts, and the errors it
// gives for a bad profile (Docker's and runc's words where they have them).
// Also the assembler's long jumps and the disassembler's reading.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { loadProfile, ProfileError } from '../../../runtime/security/seccomp/profile.js';
import { Assembler, decode, encode } from '../../../runtime/security/seccomp/bpf.js';
import { disassemble } from '../../../runtime/security/seccomp/disasm.js';
import { compileProfile } from '../../../runtime/security/seccomp/compile.js';
import { DEFAULT_PROFILE } from '../../../runtime/security/seccomp/default-profile.js';
import { runFilter } from './bpf-interpreter.js';

const refused = (json: string, message: RegExp) => assert.throws(() => loadProfile(json), (e: unknown) => e instanceof ProfileError && message.test(e.message));

describe('loading a profile', () => {
  test('a profile in Docker’s format is read, with argument values kept to 64 bits', () => {
    const p = loadProfile(JSON.stringify({
      defaultAction: 'SCMP_ACT_ERRNO',
      defaultErrnoRet: 1,
      architectures: ['SCMP_ARCH_X86_64'],
      syscalls: [
        { names: ['mkdir'], action: 'SCMP_ACT_ERRNO', errnoRet: 30 },
        { name: 'read', action: 'SCMP_ACT_ALLOW' },
        { names: ['personality'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 0, op: 'SCMP_CMP_EQ' }], includes: { minKernel: '4.8', caps: ['CAP_SYS_ADMIN'] } },
      ],
    }).replace('"value":0', '"value":18446744073709551615'));
    assert.ok(p);
    assert.deepEqual(p.syscalls[1].names, ['read'], 'the old "name" field');
    assert.equal(p.syscalls[2].args![0].value, 0xffffffffffffffffn, 'no precision lost past 2^53');
    assert.equal(p.syscalls[2].args![0].valueTwo, 0n);
  });

  test('no defaultAction and no rules: no filter at all (as Docker)', () => {
    assert.equal(loadProfile('{}'), null);
  });

  test('bad profiles are refused with a message naming what is wrong', () => {
    refused('{"defaultAction": ', /^Decoding seccomp profile failed: /);
    refused('[]', /^Decoding seccomp profile failed: json: cannot unmarshal array into Go struct field Seccomp/);
    refused('{"defaultAction":"SCMP_ACT_NOPE"}', /^string SCMP_ACT_NOPE is not a valid action for seccomp/);
    refused('{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["read"],"action":"SCMP_ACT_ERRNO","args":[{"index":0,"value":1,"op":"SCMP_CMP_LIKE"}]}]}', /^string SCMP_CMP_LIKE is not a valid operator for seccomp/);
    refused('{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["read"],"action":"SCMP_ACT_ERRNO","args":[{"index":6,"value":1,"op":"SCMP_CMP_EQ"}]}]}', /argument index 6 is out of range/);
    refused('{"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_Z80"]}', /^string SCMP_ARCH_Z80 is not a valid arch for seccomp/);
    refused('{"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_X86_64"],"archMap":[{"architecture":"SCMP_ARCH_X86_64","subArchitectures":[]}]}', /both 'architectures' and 'archMap' are specified/);
    refused('{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"name":"read","names":["write"],"action":"SCMP_ACT_ALLOW"}]}', /both 'name' and 'names' are specified/);
    refused('{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":"read","action":"SCMP_ACT_ALLOW"}]}', /cannot unmarshal string into Go struct field Syscall.names of type \[\]string/);
    refused('{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["read"],"action":"SCMP_ACT_ALLOW","includes":{"minKernel":"4"}}]}', /invalid kernel version: "4", expected "<kernel>.<major>"/);
    refused('{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["read"],"action":"SCMP_ACT_NOTIFY"}]}', /SCMP_ACT_NOTIFY/);
    refused('{"syscalls":[{"names":["read"],"action":"SCMP_ACT_ALLOW"}]}', /no defaultAction/);
    refused('{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["read"],"action":"SCMP_ACT_ERRNO","errnoRet":70000}]}', /cannot unmarshal number into Go struct field Syscall.errnoRet of type uint16/);
  });
});

describe('the assembler and the disassembler', () => {
  test('a conditional jump farther than 255 instructions goes through a ja', () => {
    const asm = new Assembler().load(0).jump('jeq', 7, 'far', null);
    for (let i = 0; i < 300; i++) asm.ret(i);
    const program = asm.label('far').ret(0x7fff0000).assemble();
    assert.equal(program.length, 2 + 1 + 300 + 1);
    assert.deepEqual(program[1], { code: 0x15, jt: 0, jf: 1, k: 7 });
    assert.deepEqual(program[2], { code: 0x05, jt: 0, jf: 0, k: 300 });
    const buf = encode(program);
    assert.deepEqual(decode(buf), program);
    assert.equal(runFilter(buf, { nr: 7, arch: 0, args: [] }), 0x7fff0000);
    assert.equal(runFilter(buf, { nr: 8, arch: 0, args: [] }), 0);
  });

  test('the disassembly names the architecture, the system calls and the verdicts', () => {
    const text = disassemble(decode(compileProfile(DEFAULT_PROFILE, { capabilities: [], kernel: '6.8' })));
    assert.match(text, /^ 0000: 0x20 0x00 0x00 0x00000004  A = arch$/m);
    assert.match(text, /if \(A == AUDIT_ARCH_X86_64\) goto 0003/);
    assert.match(text, /if \(A != read\) goto/);
    assert.match(text, /A = args\[0\] low half/);
    assert.match(text, /return ERRNO\(1\)$/m);
    assert.match(text, /return ERRNO\(38\)$/m, 'clone3');
    assert.match(text, /return ALLOW$/m);
    assert.doesNotMatch(text, /keyctl/, 'keyctl has no rule: it is never named');
  });
});
