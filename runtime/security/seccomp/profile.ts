// A seccomp profile in Docker's JSON format (`--security-opt
// seccomp=profile.json`, and Docker's own default profile), and the step
// that turns it into the rules of one container.
//
// A profile is a default action plus a list of rules, each naming system
// calls, an action, and perhaps conditions on the call's arguments. Docker
// adds conditions on the *container* to a rule: `includes` (use this rule
// only if the container has all these capabilities, runs on one of these
// architectures, on at least this kernel) and `excludes` (drop it if any
// holds). So the same profile gives a container started with --cap-add
// SYS_ADMIN more system calls than one without: the choice is made per
// container, in chooseRules below, before anything is compiled.
import os from 'node:os';
import { SYSCALLS_X86_64 } from './syscalls-x86_64.js';

export type ActionName =
  | 'SCMP_ACT_KILL' | 'SCMP_ACT_KILL_THREAD' | 'SCMP_ACT_KILL_PROCESS' | 'SCMP_ACT_TRAP'
  | 'SCMP_ACT_ERRNO' | 'SCMP_ACT_TRACE' | 'SCMP_ACT_LOG' | 'SCMP_ACT_ALLOW';

export type Operator =
  | 'SCMP_CMP_NE' | 'SCMP_CMP_LT' | 'SCMP_CMP_LE' | 'SCMP_CMP_EQ'
  | 'SCMP_CMP_GE' | 'SCMP_CMP_GT' | 'SCMP_CMP_MASKED_EQ';

/**
 * A condition on argument `index` (0-5) of the call, compared as an
 * unsigned 64-bit number. For MASKED_EQ, `value` is the mask and
 * `valueTwo` what the masked argument must equal.
 */
export interface ArgRule {
  index: number;
  value: bigint;
  valueTwo: bigint;
  op: Operator;
}

/** includes/excludes: conditions on the container, not on the call. */
export interface RuleFilter {
  caps?: string[];
  /** Go's architecture names, as Docker writes them: amd64, x32, arm64… */
  arches?: string[];
  /** "<kernel>.<major>", e.g. "4.8" */
  minKernel?: string;
}

export interface SyscallRule {
  names: string[];
  action: ActionName;
  errnoRet?: number;
  args?: ArgRule[];
  comment?: string;
  includes?: RuleFilter;
  excludes?: RuleFilter;
}

export interface Profile {
  defaultAction: ActionName;
  defaultErrnoRet?: number;
  architectures?: string[];
  archMap?: { architecture: string; subArchitectures: string[] | null }[];
  syscalls: SyscallRule[];
}

// #region actions
// What a filter returns to the kernel for a call (linux/seccomp.h): the
// action in the top 16 bits, its data (an errno, a tracer's value) below.
export const SECCOMP_RET = {
  KILL_PROCESS: 0x80000000,
  KILL_THREAD: 0x00000000,
  TRAP: 0x00030000,
  ERRNO: 0x00050000,
  TRACE: 0x7ff00000,
  LOG: 0x7ffc0000,
  ALLOW: 0x7fff0000,
} as const;

const EPERM = 1;

/** The 32-bit value a filter returns for an action (errno defaults to EPERM, as runc's). */
export function actionValue(action: ActionName, errnoRet: number | undefined): number {
  const data = (errnoRet ?? EPERM) & 0xffff;
  switch (action) {
    case 'SCMP_ACT_KILL':
    case 'SCMP_ACT_KILL_THREAD':
      return SECCOMP_RET.KILL_THREAD;
    case 'SCMP_ACT_KILL_PROCESS':
      return SECCOMP_RET.KILL_PROCESS;
    case 'SCMP_ACT_TRAP':
      return SECCOMP_RET.TRAP;
    case 'SCMP_ACT_ERRNO':
      return (SECCOMP_RET.ERRNO | data) >>> 0;
    case 'SCMP_ACT_TRACE':
      return (SECCOMP_RET.TRACE | data) >>> 0;
    case 'SCMP_ACT_LOG':
      return SECCOMP_RET.LOG;
    case 'SCMP_ACT_ALLOW':
      return SECCOMP_RET.ALLOW;
  }
}
// #endregion actions

// --- loading a profile file ---

const ACTIONS: ActionName[] = ['SCMP_ACT_KILL', 'SCMP_ACT_KILL_THREAD', 'SCMP_ACT_KILL_PROCESS', 'SCMP_ACT_TRAP', 'SCMP_ACT_ERRNO', 'SCMP_ACT_TRACE', 'SCMP_ACT_LOG', 'SCMP_ACT_ALLOW'];
const OPERATORS: Operator[] = ['SCMP_CMP_NE', 'SCMP_CMP_LT', 'SCMP_CMP_LE', 'SCMP_CMP_EQ', 'SCMP_CMP_GE', 'SCMP_CMP_GT', 'SCMP_CMP_MASKED_EQ'];
const ARCHES = [
  'SCMP_ARCH_X86', 'SCMP_ARCH_X86_64', 'SCMP_ARCH_X32', 'SCMP_ARCH_ARM', 'SCMP_ARCH_AARCH64',
  'SCMP_ARCH_MIPS', 'SCMP_ARCH_MIPS64', 'SCMP_ARCH_MIPS64N32', 'SCMP_ARCH_MIPSEL', 'SCMP_ARCH_MIPSEL64',
  'SCMP_ARCH_MIPSEL64N32', 'SCMP_ARCH_PPC', 'SCMP_ARCH_PPC64', 'SCMP_ARCH_PPC64LE', 'SCMP_ARCH_S390',
  'SCMP_ARCH_S390X', 'SCMP_ARCH_PARISC', 'SCMP_ARCH_PARISC64', 'SCMP_ARCH_RISCV64', 'SCMP_ARCH_LOONGARCH64',
];

/** A profile that cannot be used; the message is the one `run` prints. */
export class ProfileError extends Error {}

/**
 * Read a profile in Docker's JSON format and check it as Docker and runc
 * would: a profile is refused before any container is made.
 */
export function loadProfile(json: string): Profile | null {
  let raw: unknown;
  try {
    raw = JSON.parse(quoteBigValues(json));
  } catch (e) {
    throw new ProfileError(`Decoding seccomp profile failed: ${(e as Error).message}`, { cause: e });
  }
  const p = decode(raw);
  // Docker: "No default action specified, no syscalls listed, assume seccomp disabled"
  if (!p.defaultAction && p.syscalls.length === 0) return null;
  if (!p.defaultAction) throw new ProfileError('seccomp profile: no defaultAction (e.g. "defaultAction": "SCMP_ACT_ERRNO")');
  return p;
}

/**
 * Argument values are unsigned 64-bit numbers; JavaScript's numbers are
 * exact only to 2^53. Long numbers after "value"/"valueTwo" are read as
 * strings (then as BigInt), so 0xffffffffffffffff keeps its last bits.
 */
function quoteBigValues(json: string): string {
  return json.replace(/("value(?:Two)?"\s*:\s*)(\d{16,})/g, '$1"$2"');
}

/** A JSON type error in Go's words, as Docker reports one. */
function typeError(got: unknown, where: string, want: string): ProfileError {
  const kind = got === null ? 'null' : Array.isArray(got) ? 'array' : typeof got === 'object' ? 'object' : typeof got;
  return new ProfileError(`Decoding seccomp profile failed: json: cannot unmarshal ${kind} into Go struct field ${where} of type ${want}`);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function stringList(v: unknown, where: string): string[] | undefined {
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v)) throw typeError(v, where, '[]string');
  for (const s of v) if (typeof s !== 'string') throw typeError(s, where, 'string');
  return v as string[];
}

function uint(v: unknown, where: string, bits: number): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v >= 2 ** bits) throw typeError(v, where, `uint${bits}`);
  return v;
}

function uint64(v: unknown, where: string): bigint {
  if (v === undefined || v === null) return 0n;
  const ok = (typeof v === 'number' && Number.isInteger(v) && v >= 0) || (typeof v === 'string' && /^\d+$/.test(v));
  if (!ok || BigInt(v as number | string) >= 1n << 64n) throw typeError(v, where, 'uint64');
  return BigInt(v as number | string);
}

function action(v: unknown, where: string): ActionName {
  if (typeof v !== 'string') throw typeError(v, where, 'specs.LinuxSeccompAction');
  if (v === 'SCMP_ACT_NOTIFY') throw new ProfileError('seccomp: SCMP_ACT_NOTIFY needs a listener (--security-opt seccomp with a notify socket), which dockling does not support');
  if (!ACTIONS.includes(v as ActionName)) throw new ProfileError(`string ${v} is not a valid action for seccomp (use one of ${ACTIONS.join(', ')})`);
  return v as ActionName;
}

function arch(v: unknown, where: string): string {
  if (typeof v !== 'string') throw typeError(v, where, 'specs.Arch');
  if (!ARCHES.includes(v)) throw new ProfileError(`string ${v} is not a valid arch for seccomp`);
  return v;
}

function filter(v: unknown, where: string): RuleFilter | undefined {
  if (v === undefined || v === null) return undefined;
  if (!isObject(v)) throw typeError(v, where, 'seccomp.Filter');
  const f: RuleFilter = { caps: stringList(v.caps, `${where}.caps`), arches: stringList(v.arches, `${where}.arches`) };
  if (v.minKernel !== undefined && v.minKernel !== '') f.minKernel = kernelVersion(v.minKernel);
  return f;
}

/** Docker's "<kernel>.<major>" (e.g. "4.8"), checked as Docker checks it. */
function kernelVersion(v: unknown): string {
  const shown = JSON.stringify(v);
  if (typeof v !== 'string') throw new ProfileError(`Decoding seccomp profile failed: invalid kernel version: ${shown}, expected "<kernel>.<major>"`);
  const m = /^(\d+)\.(\d+)$/.exec(v);
  if (!m || Number(m[1]) > 255 || Number(m[2]) > 255) throw new ProfileError(`Decoding seccomp profile failed: invalid kernel version: ${shown}, expected "<kernel>.<major>"`);
  if (Number(m[1]) === 0 && Number(m[2]) === 0) throw new ProfileError(`Decoding seccomp profile failed: invalid kernel version: ${shown}, expected "<kernel>.<major>": version cannot be 0.0`);
  return v;
}

function decode(raw: unknown): Profile {
  if (!isObject(raw)) throw typeError(raw, 'Seccomp', 'seccomp.Seccomp');
  const defaultAction = raw.defaultAction === undefined || raw.defaultAction === '' ? ('' as ActionName) : action(raw.defaultAction, 'Seccomp.defaultAction');
  const architectures = stringList(raw.architectures, 'Seccomp.architectures')?.map((a) => arch(a, 'Seccomp.architectures'));
  let archMap: Profile['archMap'];
  if (raw.archMap !== undefined && raw.archMap !== null) {
    if (!Array.isArray(raw.archMap)) throw typeError(raw.archMap, 'Seccomp.archMap', '[]seccomp.Architecture');
    archMap = raw.archMap.map((a) => {
      if (!isObject(a)) throw typeError(a, 'Seccomp.archMap', 'seccomp.Architecture');
      return { architecture: arch(a.architecture, 'Architecture.architecture'), subArchitectures: stringList(a.subArchitectures, 'Architecture.subArchitectures')?.map((s) => arch(s, 'Architecture.subArchitectures')) ?? null };
    });
  }
  if (architectures?.length && archMap?.length) {
    throw new ProfileError("both 'architectures' and 'archMap' are specified in the seccomp profile, use either 'architectures' or 'archMap'");
  }
  if (raw.syscalls !== undefined && raw.syscalls !== null && !Array.isArray(raw.syscalls)) throw typeError(raw.syscalls, 'Seccomp.syscalls', '[]*seccomp.Syscall');
  const syscalls = ((raw.syscalls as unknown[] | undefined) ?? []).map((s, i): SyscallRule => {
    const where = `Seccomp.syscalls`;
    if (!isObject(s)) throw typeError(s, where, 'seccomp.Syscall');
    let names = stringList(s.names, 'Syscall.names') ?? [];
    if (s.name !== undefined && s.name !== '') {
      if (typeof s.name !== 'string') throw typeError(s.name, 'Syscall.name', 'string');
      if (names.length) throw new ProfileError("both 'name' and 'names' are specified in the seccomp profile, use either 'name' or 'names'");
      names = [s.name];
    }
    if (names.length === 0) throw new ProfileError(`seccomp profile: syscalls[${i}] names no system call (give "names": ["..."])`);
    const rule: SyscallRule = { names, action: action(s.action, 'Syscall.action') };
    rule.errnoRet = uint(s.errnoRet, 'Syscall.errnoRet', 16);
    if (s.args !== undefined && s.args !== null) {
      if (!Array.isArray(s.args)) throw typeError(s.args, 'Syscall.args', '[]specs.LinuxSeccompArg');
      rule.args = s.args.map((a): ArgRule => {
        if (!isObject(a)) throw typeError(a, 'Syscall.args', 'specs.LinuxSeccompArg');
        const index = uint(a.index, 'LinuxSeccompArg.index', 32) ?? 0;
        if (index > 5) throw new ProfileError(`seccomp profile: syscalls[${i}] (${names.join(', ')}): argument index ${index} is out of range (a system call has arguments 0 to 5)`);
        if (typeof a.op !== 'string' || !OPERATORS.includes(a.op as Operator)) throw new ProfileError(`string ${String(a.op)} is not a valid operator for seccomp (use one of ${OPERATORS.join(', ')})`);
        return { index, value: uint64(a.value, 'LinuxSeccompArg.value'), valueTwo: uint64(a.valueTwo, 'LinuxSeccompArg.valueTwo'), op: a.op as Operator };
      });
    }
    if (typeof s.comment === 'string') rule.comment = s.comment;
    rule.includes = filter(s.includes, 'Syscall.includes');
    rule.excludes = filter(s.excludes, 'Syscall.excludes');
    return rule;
  });
  return {
    defaultAction,
    defaultErrnoRet: uint(raw.defaultErrnoRet, 'Seccomp.defaultErrnoRet', 16),
    ...(architectures ? { architectures } : {}),
    ...(archMap ? { archMap } : {}),
    syscalls,
  };
}

// --- choosing a container's rules ---

export interface ChooseOptions {
  /** the container's capabilities (its bounding set), "CAP_SYS_ADMIN"… */
  capabilities: string[];
  /** the host's kernel release (default: this machine's, os.release()) */
  kernel?: string;
}

/** One rule for one system call, as the compiler needs it. */
export interface Rule {
  nr: number;
  name: string;
  /** the filter's return value (SECCOMP_RET_…) */
  ret: number;
  /** all must hold */
  args: ArgRule[];
}

export interface ChosenRules {
  defaultRet: number;
  /** by system call number, each call's rules in the profile's order */
  bySyscall: Map<number, Rule[]>;
}

/** Docker's name for the architecture we compile for (Go's GOARCH). */
export const NATIVE_ARCH = 'amd64';

/** "6.8.0-31-generic" → [6, 8]: Docker compares the kernel and major version only. */
export function kernelOf(release: string): [number, number] {
  const m = /^(\d+)\.(\d+)/.exec(release);
  if (!m) throw new ProfileError(`failed to parse kernel version "${release}"`);
  return [Number(m[1]), Number(m[2])];
}

function atLeast(kernel: [number, number], min: string): boolean {
  const [k, j] = min.split('.').map(Number);
  return kernel[0] > k || (kernel[0] === k && kernel[1] >= j);
}

// #region choose-rules
/**
 * Docker's rule selection (moby's profiles/seccomp, setupSeccomp): a rule
 * is dropped if the container matches any of its `excludes`, or misses any
 * of its `includes`. Then, as runc does for libseccomp: names this
 * architecture does not have are skipped, and a rule whose action is the
 * default action is skipped (it could change nothing).
 */
export function chooseRules(profile: Profile, opts: ChooseOptions): ChosenRules {
  const caps = new Set(opts.capabilities);
  const kernel = kernelOf(opts.kernel ?? os.release());
  const defaultRet = actionValue(profile.defaultAction, profile.defaultErrnoRet);
  const bySyscall = new Map<number, Rule[]>();
  for (const rule of profile.syscalls) {
    const ex = rule.excludes;
    if (ex?.arches?.includes(NATIVE_ARCH)) continue;
    if (ex?.caps?.some((c) => caps.has(c))) continue;
    if (ex?.minKernel && atLeast(kernel, ex.minKernel)) continue;
    const inc = rule.includes;
    if (inc?.arches?.length && !inc.arches.includes(NATIVE_ARCH)) continue;
    if (inc?.caps?.some((c) => !caps.has(c))) continue;
    if (inc?.minKernel && !atLeast(kernel, inc.minKernel)) continue;

    const ret = actionValue(rule.action, rule.errnoRet);
    if (ret === defaultRet) continue;
    for (const name of rule.names) {
      if (!Object.hasOwn(SYSCALLS_X86_64, name)) continue; // not a system call of x86_64
      const nr = SYSCALLS_X86_64[name];
      const rules = bySyscall.get(nr) ?? [];
      rules.push({ nr, name, ret, args: rule.args ?? [] });
      bySyscall.set(nr, rules);
    }
  }
  return { defaultRet, bySyscall };
}
// #endregion choose-rules
