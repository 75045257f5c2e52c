// From a profile's rules to a classic BPF program for seccomp(2).
//
// The program has three parts:
//
//   1. the architecture check: a filter compares numbers, and the same
//      number is a different call on another ABI (on x86_64 a process can
//      also make i386 calls through `int 0x80`, where 1 is exit, not
//      write). Anything not AUDIT_ARCH_X86_64 gets the default action, and
//      so do x32 calls (numbers with bit 30 set, 0x40000000 and up), which
//      share the x86_64 architecture value. (Docker, through libseccomp,
//      also builds filters for i386 and x32; dockling keeps to the native
//      ABI, so those calls are refused.)
//   2. the dispatch: one comparison per system call that has a rule, in
//      number order. A call whose first rule has no condition on its
//      arguments jumps straight to that rule's verdict.
//   3. the argument checks of the other calls: their rules in the
//      profile's order; the first whose conditions all hold decides; if
//      none does, the default action. Calls with the same rules share them.
//
// The verdicts (return instructions) come last, one per distinct verdict.
// A profile's `architectures`/`archMap` are checked when it is loaded, but
// the filter is always for x86_64 alone (see 1.).
import { Assembler, AUDIT_ARCH_X86_64, encode, SECCOMP_DATA, type Insn } from './bpf.js';
import { chooseRules, ProfileError, type ArgRule, type ChooseOptions, type ChosenRules, type Profile, type Rule } from './profile.js';

/** x32 system calls are numbered from here (__X32_SYSCALL_BIT). */
const X32_SYSCALL_BIT = 0x40000000;
/** The longest program the kernel loads (linux/bpf_common.h). */
const BPF_MAXINSNS = 4096;

const retLabel = (ret: number) => `ret_${ret >>> 0}`;

// #region compile
export function compileRules(chosen: ChosenRules): Insn[] {
  const asm = new Assembler();
  const verdicts = new Set<number>([chosen.defaultRet]);
  const DEFAULT = retLabel(chosen.defaultRet);

  // 1. The architecture check.
  asm.load(SECCOMP_DATA.arch);
  asm.jump('jeq', AUDIT_ARCH_X86_64, null, DEFAULT);
  asm.load(SECCOMP_DATA.nr);
  asm.jump('jge', X32_SYSCALL_BIT, DEFAULT, null);

  // 2. The dispatch on the call's number.
  // Calls with the same rules (one rule on many names, say) share one body.
  const numbers = [...chosen.bySyscall.keys()].sort((x, y) => x - y);
  const bodies = new Map<string, { label: string; rules: Rule[] }>();
  for (const nr of numbers) {
    const rules = chosen.bySyscall.get(nr)!;
    if (rules[0].args.length === 0) {
      verdicts.add(rules[0].ret);
      asm.jump('jeq', nr, retLabel(rules[0].ret), null);
      continue;
    }
    const key = JSON.stringify(rules.map((r) => [r.ret, r.args.map((a) => [a.index, a.op, String(a.value), String(a.valueTwo)])]));
    if (!bodies.has(key)) bodies.set(key, { label: `sys_${nr}`, rules });
    asm.jump('jeq', nr, bodies.get(key)!.label, null);
  }
  asm.ja(DEFAULT);

  // 3. The argument checks, rule after rule.
  for (const { label, rules } of bodies.values()) {
    asm.label(label);
    for (const [i, rule] of rules.entries()) {
      const nextRule = `${label}_rule_${i + 1}`;
      for (const [j, arg] of rule.args.entries()) compareArg(asm, arg, nextRule, `${label}_rule_${i}_arg_${j}_ok`);
      verdicts.add(rule.ret);
      asm.ja(retLabel(rule.ret));
      asm.label(nextRule);
      if (rule.args.length === 0) break; // the rules after an unconditional one are never reached
    }
    asm.ja(DEFAULT);
  }

  // The verdicts.
  for (const ret of verdicts) asm.label(retLabel(ret)).ret(ret);
  const program = asm.assemble();
  if (program.length > BPF_MAXINSNS) throw new ProfileError(`seccomp profile too large: its filter has ${program.length} instructions, the kernel takes at most ${BPF_MAXINSNS}`);
  return program;
}
// #endregion compile

// #region compare-arg
/**
 * One condition on a 64-bit argument, with a 32-bit machine: compare the
 * high halves first; only when they are equal do the low halves decide.
 * Falls through when the condition holds, jumps to `fail` when not.
 */
function compareArg(asm: Assembler, arg: ArgRule, fail: string, ok: string): void {
  const hi = Number(arg.value >> 32n);
  const lo = Number(arg.value & 0xffffffffn);
  const loadHi = () => asm.load(SECCOMP_DATA.argHigh(arg.index));
  const loadLo = () => asm.load(SECCOMP_DATA.argLow(arg.index));
  switch (arg.op) {
    case 'SCMP_CMP_EQ': // hi == vhi && lo == vlo
      loadHi().jump('jeq', hi, null, fail);
      loadLo().jump('jeq', lo, ok, fail);
      break;
    case 'SCMP_CMP_NE': // hi != vhi || lo != vlo
      loadHi().jump('jeq', hi, null, ok);
      loadLo().jump('jeq', lo, fail, ok);
      break;
    case 'SCMP_CMP_GT': // hi > vhi, or equal and lo > vlo
    case 'SCMP_CMP_GE':
      loadHi().jump('jgt', hi, ok, null);
      asm.jump('jeq', hi, null, fail);
      loadLo().jump(arg.op === 'SCMP_CMP_GT' ? 'jgt' : 'jge', lo, ok, fail);
      break;
    case 'SCMP_CMP_LT': // hi < vhi, or equal and lo < vlo
    case 'SCMP_CMP_LE':
      loadHi().jump('jge', hi, null, ok);
      asm.jump('jeq', hi, null, fail);
      loadLo().jump(arg.op === 'SCMP_CMP_LT' ? 'jge' : 'jgt', lo, fail, ok);
      break;
    case 'SCMP_CMP_MASKED_EQ': { // (arg & value) == valueTwo
      const mask = { hi, lo };
      const want = { hi: Number(arg.valueTwo >> 32n), lo: Number(arg.valueTwo & 0xffffffffn) };
      loadHi().and(mask.hi).jump('jeq', want.hi, null, fail);
      loadLo().and(mask.lo).jump('jeq', want.lo, ok, fail);
      break;
    }
  }
  asm.label(ok);
}
// #endregion compare-arg

/** The program for one container: its profile's rules, chosen by its capabilities. */
export function compileProfile(profile: Profile, opts: ChooseOptions): Buffer {
  return encode(compileRules(chooseRules(profile, opts)));
}

export type { Rule };
