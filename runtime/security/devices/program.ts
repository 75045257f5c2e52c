// The device rules, compiled to a BPF_PROG_TYPE_CGROUP_DEVICE program.
//
// cgroup2 has no devices.allow file. Instead, a program attached to a
// cgroup runs each time a process in it opens a device node or makes one
// (mknod), and its answer decides: 1 allow, 0 deny (EPERM). The kernel
// hands it one argument, a pointer to
//
//   struct bpf_cgroup_dev_ctx {
//     __u32 access_type;  low 16 bits: the device's type, BPF_DEVCG_DEV_BLOCK (1) or _CHAR (2)
//                         high 16 bits: the access, BPF_DEVCG_ACC_MKNOD (1) | _READ (2) | _WRITE (4)
//     __u32 major;
//     __u32 minor;
//   };
//
// The program reads the four values into registers, then tests the rules
// from the LAST to the first: the first rule that matches answers, so a
// later rule wins over an earlier one, as a later write does in v1. No rule
// matching means deny.
import type { DeviceRule } from './rules.js';
import { andImm, assemble, exit, jeqImm, jneImm, jneReg, label, loadWord, movImm, movReg, rshImm, type Insn, type Line } from './ebpf.js';

/** <linux/bpf.h>: BPF_DEVCG_DEV_* and BPF_DEVCG_ACC_*. */
export const DEV_TYPE = { b: 1, c: 2 } as const;
export const ACCESS = { m: 1, r: 2, w: 4 } as const;

/** "rw" → BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE */
export const accessBits = (access: string): number => [...access].reduce((bits, c) => bits | ACCESS[c as keyof typeof ACCESS], 0);

// The registers the program keeps its facts in (r1 is free again once they are read).
const TYPE = 2;
const ACC = 3;
const MAJOR = 4;
const MINOR = 5;
const TMP = 1;

// #region device-filter
export function deviceFilter(rules: DeviceRule[]): Insn[] {
  const p: Line[] = [
    loadWord(TYPE, 1, 0), andImm(TYPE, 0xffff), // r2 = access_type & 0xffff: the type
    loadWord(ACC, 1, 0), rshImm(ACC, 16), //      r3 = access_type >> 16: the access asked for
    loadWord(MAJOR, 1, 4), //                     r4 = major
    loadWord(MINOR, 1, 8), //                     r5 = minor
  ];
  for (let i = rules.length - 1; i >= 0; i--) {
    const r = rules[i];
    const next = `rule-${i - 1}`;
    const start = p.length;
    p.push(label(`rule-${i}`));
    if (r.type !== 'a') p.push(jneImm(TYPE, DEV_TYPE[r.type], next));
    const bits = accessBits(r.access);
    if (bits !== 7) {
      p.push(movReg(TMP, ACC), andImm(TMP, bits));
      // An allow rule must cover ALL the access asked for ("rw" asked, "r"
      // allowed: no match); a deny rule needs to cover only ONE of them.
      p.push(r.allow ? jneReg(TMP, ACC, next) : jeqImm(TMP, 0, next));
    }
    if (r.major !== null) p.push(jneImm(MAJOR, r.major, next));
    if (r.minor !== null) p.push(jneImm(MINOR, r.minor, next));
    p.push(movImm(0, r.allow ? 1 : 0), exit());
    // A rule that tests nothing ("a", Docker's first) answers every access:
    // the rules before it could never run, and the verifier refuses a
    // program with instructions no path reaches.
    if (p.length - start === 3) return assemble(p);
  }
  p.push(label('rule--1'), movImm(0, 0), exit()); // no rule matched: deny
  return assemble(p);
}
// #endregion device-filter
