// Classic BPF, the little machine a seccomp filter is written for.
//
// The kernel runs the filter on every system call the process makes. The
// filter sees one struct, seccomp_data (the call's number, the
// architecture, the instruction pointer and six 64-bit arguments), and
// returns a 32-bit verdict. The machine has an accumulator A, jumps only
// forward (so every program ends), and instructions of 8 bytes:
//
//   struct sock_filter { u16 code; u8 jt; u8 jf; u32 k; }
//
// `jt`/`jf` are how many instructions to skip when a comparison is true or
// false: at most 255. A longer jump needs the unconditional `ja`, whose
// offset is the 32-bit k. This file has the encoding, an assembler with
// labels that inserts those `ja`s where needed, and a disassembler.

// #region opcodes
// The opcodes a seccomp filter uses (linux/filter.h, linux/bpf_common.h).
export const BPF = {
  LD_W_ABS: 0x20, // A = *(u32 *)(seccomp_data + k)
  ALU_AND_K: 0x54, // A &= k
  JMP_JA: 0x05, // skip k instructions
  JMP_JEQ_K: 0x15, // A == k ? skip jt : skip jf
  JMP_JGT_K: 0x25, // A >  k (unsigned)
  JMP_JGE_K: 0x35, // A >= k (unsigned)
  JMP_JSET_K: 0x45, // A & k != 0
  RET_K: 0x06, // return k
} as const;

// Where the fields of struct seccomp_data are (linux/seccomp.h). x86_64 is
// little-endian: the low half of argument i is at 16 + 8i, the high at 20 + 8i.
export const SECCOMP_DATA = {
  nr: 0,
  arch: 4,
  argLow: (i: number) => 16 + 8 * i,
  argHigh: (i: number) => 20 + 8 * i,
} as const;

/** seccomp_data.arch of an x86_64 call (linux/audit.h: EM_X86_64 | 64-bit | little-endian). */
export const AUDIT_ARCH_X86_64 = 0xc000003e;
// #endregion opcodes

export interface Insn {
  code: number;
  jt: number;
  jf: number;
  k: number;
}

/** The array of struct sock_filter the kernel takes (native byte order: little-endian). */
export function encode(program: Insn[]): Buffer {
  const buf = Buffer.alloc(program.length * 8);
  program.forEach((i, n) => {
    buf.writeUInt16LE(i.code, n * 8);
    buf.writeUInt8(i.jt, n * 8 + 2);
    buf.writeUInt8(i.jf, n * 8 + 3);
    buf.writeUInt32LE(i.k >>> 0, n * 8 + 4);
  });
  return buf;
}

export function decode(buf: Buffer): Insn[] {
  if (buf.length % 8 !== 0) throw new Error(`a BPF program is a whole number of 8-byte instructions, not ${buf.length} bytes`);
  const out: Insn[] = [];
  for (let o = 0; o < buf.length; o += 8) {
    out.push({ code: buf.readUInt16LE(o), jt: buf.readUInt8(o + 2), jf: buf.readUInt8(o + 3), k: buf.readUInt32LE(o + 4) });
  }
  return out;
}

// --- the assembler ---

/** A jump target: a label, or null for "the next instruction". */
export type Target = string | null;

type Item =
  | { kind: 'label'; name: string }
  | { kind: 'op'; code: number; k: number }
  | { kind: 'jump'; code: number; k: number; jt: Target; jf: Target }
  | { kind: 'ja'; to: string };

// #region assembler
/**
 * Write a program with named jump targets; `assemble()` works out the
 * offsets. A conditional jump can skip at most 255 instructions. When a
 * target is farther, the jump is rewritten to land on an unconditional
 * `ja` placed right after it, which goes the rest of the way:
 *
 *     jeq #k, FAR, next          jeq #k, 0, 1     ; true: the ja below
 *                         →      ja  FAR           ; false: skip it
 *
 * Each rewrite makes the program longer, which can push another jump out
 * of range, so the layout is repeated until nothing changes.
 */
export class Assembler {
  private items: Item[] = [];

  label(name: string): this {
    this.items.push({ kind: 'label', name });
    return this;
  }
  /** A = the 32-bit word at `offset` in seccomp_data */
  load(offset: number): this {
    this.items.push({ kind: 'op', code: BPF.LD_W_ABS, k: offset });
    return this;
  }
  and(k: number): this {
    this.items.push({ kind: 'op', code: BPF.ALU_AND_K, k: k >>> 0 });
    return this;
  }
  ret(k: number): this {
    this.items.push({ kind: 'op', code: BPF.RET_K, k: k >>> 0 });
    return this;
  }
  /** if (A <op> k) go to jt, else go to jf */
  jump(op: 'jeq' | 'jgt' | 'jge' | 'jset', k: number, jt: Target, jf: Target): this {
    const code = { jeq: BPF.JMP_JEQ_K, jgt: BPF.JMP_JGT_K, jge: BPF.JMP_JGE_K, jset: BPF.JMP_JSET_K }[op];
    this.items.push({ kind: 'jump', code, k: k >>> 0, jt, jf });
    return this;
  }
  ja(to: string): this {
    this.items.push({ kind: 'ja', to });
    return this;
  }

  // #region far-jumps
  assemble(): Insn[] {
    // Which conditional jumps need a `ja` for their true / false branch.
    const farTrue = new Set<number>();
    const farFalse = new Set<number>();
    for (;;) {
      const at = this.layout(farTrue, farFalse);
      let changed = false;
      this.items.forEach((it, i) => {
        if (it.kind !== 'jump') return;
        const next = at.pos[i] + 1;
        if (!farTrue.has(i) && it.jt !== null && at.labels.get(it.jt)! - next > 255) (farTrue.add(i), (changed = true));
        if (!farFalse.has(i) && it.jf !== null && at.labels.get(it.jf)! - next > 255) (farFalse.add(i), (changed = true));
      });
      if (!changed) return this.emit(at, farTrue, farFalse);
    }
  }
  // #endregion far-jumps

  /** Where each item starts, and where each label points, with these rewrites. */
  private layout(farTrue: Set<number>, farFalse: Set<number>) {
    const pos: number[] = [];
    const labels = new Map<string, number>();
    let p = 0;
    this.items.forEach((it, i) => {
      pos.push(p);
      if (it.kind === 'label') {
        if (labels.has(it.name)) throw new Error(`BPF assembler: label ${it.name} defined twice`);
        labels.set(it.name, p);
      } else {
        p += 1 + (farTrue.has(i) ? 1 : 0) + (farFalse.has(i) ? 1 : 0);
      }
    });
    for (const it of this.items) {
      for (const t of it.kind === 'jump' ? [it.jt, it.jf] : it.kind === 'ja' ? [it.to] : []) {
        if (t !== null && !labels.has(t)) throw new Error(`BPF assembler: no label ${t}`);
      }
    }
    return { pos, labels };
  }

  private emit(at: { pos: number[]; labels: Map<string, number> }, farTrue: Set<number>, farFalse: Set<number>): Insn[] {
    const out: Insn[] = [];
    // Offsets count from the instruction after the jump; BPF only jumps forward.
    const skip = (from: number, t: Target): number => {
      if (t === null) return 0;
      const d = at.labels.get(t)! - (from + 1);
      if (d < 0) throw new Error(`BPF assembler: jump back to ${t} (classic BPF jumps only forward)`);
      return d;
    };
    this.items.forEach((it, i) => {
      const p = at.pos[i];
      if (it.kind === 'op') out.push({ code: it.code, jt: 0, jf: 0, k: it.k });
      if (it.kind === 'ja') out.push({ code: BPF.JMP_JA, jt: 0, jf: 0, k: skip(p, it.to) });
      if (it.kind !== 'jump') return;
      const t = farTrue.has(i);
      const f = farFalse.has(i);
      // The stubs sit right after the jump: first the true branch's, then
      // the false branch's; "next" means the instruction after them.
      const near = (to: Target) => (to === null ? (t ? 1 : 0) + (f ? 1 : 0) : skip(p, to));
      out.push({ code: it.code, k: it.k, jt: t ? 0 : near(it.jt), jf: f ? (t ? 1 : 0) : near(it.jf) });
      if (t) out.push({ code: BPF.JMP_JA, jt: 0, jf: 0, k: skip(p + 1, it.jt) });
      if (f) out.push({ code: BPF.JMP_JA, jt: 0, jf: 0, k: skip(p + 1 + (t ? 1 : 0), it.jf) });
    });
    for (const [n, i] of out.entries()) {
      if (i.jt > 255 || i.jf > 255) throw new Error(`BPF assembler: instruction ${n} jumps ${Math.max(i.jt, i.jf)} ahead (at most 255)`);
    }
    return out;
  }
}
// #endregion assembler
