// Print a seccomp BPF program for a person, one instruction a line, in the
// style of the kernel's bpf_dbg and of seccomp-tools: the line number, the
// raw fields, and what the instruction does, with system calls, the
// architecture and the verdicts named. It reads only the program (it works
// on any filter, e.g. one saved in a container's seccomp.bpf).
import { AUDIT_ARCH_X86_64, BPF, SECCOMP_DATA, type Insn } from './bpf.js';
import { SECCOMP_RET } from './profile.js';
import { SYSCALLS_X86_64 } from './syscalls-x86_64.js';

const ARCH_NAMES: Record<number, string> = { [AUDIT_ARCH_X86_64]: 'AUDIT_ARCH_X86_64', 0x40000003: 'AUDIT_ARCH_I386', 0xc00000b7: 'AUDIT_ARCH_AARCH64' };

let syscallNames: Map<number, string> | undefined;
function syscallName(nr: number): string {
  syscallNames ??= new Map(Object.entries(SYSCALLS_X86_64).map(([n, v]) => [v, n]));
  return syscallNames.get(nr) ?? `0x${hex(nr)}`;
}

/** A verdict in words: ALLOW, ERRNO(1), KILL_PROCESS… */
export function verdictName(ret: number): string {
  const action = (ret & 0xffff0000) >>> 0;
  const data = ret & 0xffff;
  switch (action) {
    case SECCOMP_RET.ALLOW: return 'ALLOW';
    case SECCOMP_RET.ERRNO: return `ERRNO(${data})`;
    case SECCOMP_RET.TRACE: return `TRACE(${data})`;
    case SECCOMP_RET.TRAP: return 'TRAP';
    case SECCOMP_RET.LOG: return 'LOG';
    case SECCOMP_RET.KILL_PROCESS: return 'KILL_PROCESS';
    case SECCOMP_RET.KILL_THREAD: return 'KILL_THREAD';
    default: return `0x${hex(ret)}`;
  }
}

const hex = (n: number, w = 8) => (n >>> 0).toString(16).padStart(w, '0');
const line = (n: number) => String(n).padStart(4, '0');

/** What the word at offset k of seccomp_data is. */
function fieldName(k: number): string {
  if (k === SECCOMP_DATA.nr) return 'sys_number';
  if (k === SECCOMP_DATA.arch) return 'arch';
  if (k >= 16 && k < 64) return `args[${(k - 16) >> 3}] ${(k & 4) === 0 ? 'low' : 'high'} half`;
  return `seccomp_data[${k}]`;
}

// #region disassemble
export function disassemble(program: Insn[]): string {
  const out = [' line  code  jt   jf      k'];
  let a = ''; // what the accumulator holds, for naming constants
  program.forEach((i, n) => {
    const raw = ` ${line(n)}: 0x${hex(i.code, 2)} 0x${hex(i.jt, 2)} 0x${hex(i.jf, 2)} 0x${hex(i.k)}  `;
    const at = (skip: number) => line(n + 1 + skip);
    const value = a === 'sys_number' ? syscallName(i.k) : a === 'arch' ? (ARCH_NAMES[i.k] ?? `0x${hex(i.k)}`) : `0x${hex(i.k)}`;
    const cond = (op: string, neg: string) =>
      i.jf === 0 ? `if (A ${op} ${value}) goto ${at(i.jt)}`
        : i.jt === 0 ? `if (A ${neg} ${value}) goto ${at(i.jf)}`
          : `if (A ${op} ${value}) goto ${at(i.jt)} else goto ${at(i.jf)}`;
    let text: string;
    switch (i.code) {
      case BPF.LD_W_ABS: a = fieldName(i.k); text = `A = ${a}`; break;
      case BPF.ALU_AND_K: a = `${a} & 0x${hex(i.k)}`; text = `A &= 0x${hex(i.k)}`; break;
      case BPF.JMP_JA: text = `goto ${at(i.k)}`; break;
      case BPF.JMP_JEQ_K: text = cond('==', '!='); break;
      case BPF.JMP_JGT_K: text = cond('>', '<='); break;
      case BPF.JMP_JGE_K: text = cond('>=', '<'); break;
      case BPF.JMP_JSET_K: text = cond('&', '!&'); break;
      case BPF.RET_K: text = `return ${verdictName(i.k)}`; break;
      default: text = `(opcode 0x${hex(i.code, 2)})`;
    }
    out.push(raw + text);
  });
  return out.join('\n') + '\n';
}
// #endregion disassemble
