// A small eBPF assembler: just the instructions a device program needs.
//
// An eBPF program is an array of 8-byte instructions (struct bpf_insn in
// <linux/bpf.h>) that the kernel checks (the verifier) and then runs, here
// on every device access of a process in the cgroup. The machine has eleven
// 64-bit registers: r1 holds the program's argument (a pointer to its
// context), r0 its return value; the others are free.
//
//   struct bpf_insn {
//     __u8  code;       operation: class | op | source (below)
//     __u8  dst_reg:4;  low nibble
//     __u8  src_reg:4;  high nibble
//     __s16 off;        memory offset, or how many instructions a jump skips
//     __s32 imm;        the constant operand
//   };

/** The instruction classes (low 3 bits of code) and the other fields, from <linux/bpf_common.h> and <linux/bpf.h>. */
export const BPF = {
  LDX: 0x01, ALU: 0x04, JMP: 0x05, // classes (ALU: 32-bit arithmetic; the upper half of dst is zeroed)
  W: 0x00, MEM: 0x60, //              LDX: a 32-bit word, from memory at src + off
  AND: 0x50, RSH: 0x70, MOV: 0xb0, // ALU operations
  JA: 0x00, JEQ: 0x10, JNE: 0x50, EXIT: 0x90, // JMP operations
  K: 0x00, X: 0x08, //                the operand: imm (K) or src_reg (X)
} as const;

export interface Insn {
  code: number;
  dst: number;
  src: number;
  off: number;
  imm: number;
}

/** A program as written: instructions, labels, and jumps that name a label instead of an offset. */
export type Line = Insn | { label: string } | (Insn & { to: string });

const insn = (code: number, dst: number, src: number, off: number, imm: number): Insn => ({ code, dst, src, off, imm });

/** dst = *(u32 *)(src + off) */
export const loadWord = (dst: number, src: number, off: number) => insn(BPF.LDX | BPF.MEM | BPF.W, dst, src, off, 0);
/** dst = imm (32-bit) */
export const movImm = (dst: number, imm: number) => insn(BPF.ALU | BPF.MOV | BPF.K, dst, 0, 0, imm);
/** dst = src (32-bit) */
export const movReg = (dst: number, src: number) => insn(BPF.ALU | BPF.MOV | BPF.X, dst, src, 0, 0);
/** dst &= imm (32-bit) */
export const andImm = (dst: number, imm: number) => insn(BPF.ALU | BPF.AND | BPF.K, dst, 0, 0, imm);
/** dst >>= imm (32-bit, logical) */
export const rshImm = (dst: number, imm: number) => insn(BPF.ALU | BPF.RSH | BPF.K, dst, 0, 0, imm);
/** if (dst != imm) goto label */
export const jneImm = (dst: number, imm: number, to: string) => ({ ...insn(BPF.JMP | BPF.JNE | BPF.K, dst, 0, 0, imm), to });
/** if (dst == imm) goto label */
export const jeqImm = (dst: number, imm: number, to: string) => ({ ...insn(BPF.JMP | BPF.JEQ | BPF.K, dst, 0, 0, imm), to });
/** if (dst != src) goto label */
export const jneReg = (dst: number, src: number, to: string) => ({ ...insn(BPF.JMP | BPF.JNE | BPF.X, dst, src, 0, 0), to });
/** return r0 */
export const exit = () => insn(BPF.JMP | BPF.EXIT, 0, 0, 0, 0);
export const label = (name: string) => ({ label: name });

/**
 * Resolve labels: a jump's `off` counts the instructions to skip after the
 * jump itself (the kernel adds it to the index of the NEXT instruction).
 * A device program only ever jumps forward, to the next rule or to the
 * end, so a backward jump here is a bug and is refused.
 */
export function assemble(lines: Line[]): Insn[] {
  const at = new Map<string, number>();
  let n = 0;
  for (const l of lines) {
    if ('label' in l) {
      if (at.has(l.label)) throw new Error(`eBPF: label ${l.label} defined twice`);
      at.set(l.label, n);
    } else n++;
  }
  const out: Insn[] = [];
  for (const l of lines) {
    if ('label' in l) continue;
    if ('to' in l) {
      const target = at.get(l.to);
      if (target === undefined) throw new Error(`eBPF: jump to an undefined label ${l.to}`);
      const off = target - (out.length + 1);
      if (off < 0 || off > 0x7fff) throw new Error(`eBPF: jump to ${l.to} out of range (${off})`);
      out.push({ code: l.code, dst: l.dst, src: l.src, off, imm: l.imm });
    } else out.push(l);
  }
  return out;
}

/** The bytes the kernel takes: struct bpf_insn[], little-endian as on x86-64 and arm64. */
export function encode(insns: Insn[]): Buffer {
  const b = Buffer.alloc(insns.length * 8);
  insns.forEach((i, k) => {
    b.writeUInt8(i.code, k * 8);
    b.writeUInt8((i.src << 4) | (i.dst & 0x0f), k * 8 + 1);
    b.writeInt16LE(i.off, k * 8 + 2);
    b.writeInt32LE(i.imm, k * 8 + 4);
  });
  return b;
}

export function decode(b: Buffer): Insn[] {
  const out: Insn[] = [];
  for (let k = 0; k + 8 <= b.length; k += 8) {
    out.push({ code: b[k], dst: b[k + 1] & 0x0f, src: b[k + 1] >> 4, off: b.readInt16LE(k + 2), imm: b.readInt32LE(k + 4) });
  }
  return out;
}

/** One instruction as text, in the kernel verifier's notation ("r2 &= 0xffff", "if r4 != 0x1 goto pc+3"). */
export function disassemble(i: Insn): string {
  const hex = (n: number) => '0x' + (n >>> 0).toString(16);
  const operand = (i.code & BPF.X) ? `r${i.src}` : hex(i.imm);
  switch (i.code) {
    case BPF.LDX | BPF.MEM | BPF.W:
      return `r${i.dst} = *(u32 *)(r${i.src} + ${i.off})`;
    case BPF.ALU | BPF.MOV | BPF.K:
    case BPF.ALU | BPF.MOV | BPF.X:
      return `w${i.dst} = ${operand.replace(/^r/, 'w')}`;
    case BPF.ALU | BPF.AND | BPF.K:
      return `w${i.dst} &= ${operand}`;
    case BPF.ALU | BPF.RSH | BPF.K:
      return `w${i.dst} >>= ${i.imm}`;
    case BPF.JMP | BPF.JEQ | BPF.K:
    case BPF.JMP | BPF.JNE | BPF.K:
    case BPF.JMP | BPF.JNE | BPF.X:
      return `if r${i.dst} ${(i.code & 0xf0) === BPF.JEQ ? '==' : '!='} ${operand} goto pc+${i.off}`;
    case BPF.JMP | BPF.EXIT:
      return 'exit';
    default:
      return `(code ${hex(i.code)})`;
  }
}
