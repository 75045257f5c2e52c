// A classic BPF interpreter for seccomp programs, written for the tests
// from the kernel's rules (Documentation/networking/filter.rst,
// kernel/seccomp.c), independently of the compiler it checks. It also
// checks what the kernel's loader checks: every jump lands inside the
// program, and the program can only end on a `ret`.

/** struct seccomp_data, with the arguments as unsigned 64-bit numbers. */
export interface SeccompData {
  nr: number;
  arch: number;
  instructionPointer?: bigint;
  args: bigint[];
}

/** The 32-bit word at byte offset k of seccomp_data (little-endian, as on x86_64). */
function word(d: SeccompData, k: number): number {
  if (k % 4 !== 0 || k < 0 || k >= 64) throw new Error(`load of seccomp_data[${k}]: not an aligned word inside the struct`);
  if (k === 0) return d.nr >>> 0;
  if (k === 4) return d.arch >>> 0;
  const u64 = k < 16 ? (d.instructionPointer ?? 0n) : (d.args[(k - 16) >> 3] ?? 0n);
  const half = (k & 4) === 0 ? u64 & 0xffffffffn : u64 >> 32n;
  return Number(half & 0xffffffffn);
}

export function runFilter(program: Buffer, d: SeccompData): number {
  const n = program.length / 8;
  if (!Number.isInteger(n) || n === 0 || n > 4096) throw new Error(`bad program length ${program.length}`);
  let a = 0;
  let pc = 0;
  for (let steps = 0; steps <= n; steps++) {
    if (pc >= n) throw new Error(`fell off the end of the program at ${pc}`);
    const o = pc * 8;
    const code = program.readUInt16LE(o);
    const jt = program.readUInt8(o + 2);
    const jf = program.readUInt8(o + 3);
    const k = program.readUInt32LE(o + 4);
    const branch = (cond: boolean) => {
      pc = pc + 1 + (cond ? jt : jf);
    };
    switch (code) {
      case 0x20: // BPF_LD | BPF_W | BPF_ABS
        a = word(d, k);
        pc++;
        break;
      case 0x54: // BPF_ALU | BPF_AND | BPF_K
        a = (a & k) >>> 0;
        pc++;
        break;
      case 0x05: // BPF_JMP | BPF_JA
        pc = pc + 1 + k;
        break;
      case 0x15: // BPF_JMP | BPF_JEQ | BPF_K
        branch(a === k);
        break;
      case 0x25: // JGT
        branch(a > k);
        break;
      case 0x35: // JGE
        branch(a >= k);
        break;
      case 0x45: // JSET
        branch((a & k) !== 0);
        break;
      case 0x06: // BPF_RET | BPF_K
        return k;
      default:
        throw new Error(`opcode 0x${code.toString(16)} at ${pc}: not used by seccomp filters here`);
    }
  }
  throw new Error('program did not return');
}

/** What the kernel's loader checks before accepting a program: jumps in range, ends in ret. */
export function checkProgram(program: Buffer): void {
  const n = program.length / 8;
  for (let pc = 0; pc < n; pc++) {
    const code = program.readUInt16LE(pc * 8);
    const jt = program.readUInt8(pc * 8 + 2);
    const jf = program.readUInt8(pc * 8 + 3);
    const k = program.readUInt32LE(pc * 8 + 4);
    if (code === 0x05 && pc + 1 + k >= n) throw new Error(`ja at ${pc} jumps out of the program`);
    if ([0x15, 0x25, 0x35, 0x45].includes(code) && (pc + 1 + jt >= n || pc + 1 + jf >= n)) throw new Error(`jump at ${pc} leaves the program`);
  }
  if (program.readUInt16LE((n - 1) * 8) !== 0x06) throw new Error('the last instruction is not a ret');
}
