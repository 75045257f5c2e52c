// `dockling seccomp show`: print a seccomp program for a person to read.
//
//   dockling seccomp show                      Docker's profile, for Docker's default capabilities
//   dockling seccomp show --cap-add SYS_ADMIN  … for a container given CAP_SYS_ADMIN
//   dockling seccomp show --profile p.json     a profile of your own
//   dockling seccomp show CONTAINER            the program a container was given
//
// Not a Docker command: Docker never shows the program it makes (libseccomp
// makes it, inside runc). This is the chapter's window into it.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Command } from '../../core/layer.js';
import { containersDir, NoSuchContainerError, resolveContainer } from '../../core/containers.js';
import { RunError } from '../../core/pipeline.js';
import { DEFAULT_PROFILE } from './default-profile.js';
import { loadProfile, ProfileError, type Profile } from './profile.js';
import { compileProfile } from './compile.js';
import { BPF, decode, type Insn } from './bpf.js';
import { disassemble, verdictName } from './disasm.js';

/** Every capability (linux/capability.h, 0 to 40), for --cap-add ALL. */
const ALL_CAPS = [
  'CHOWN', 'DAC_OVERRIDE', 'DAC_READ_SEARCH', 'FOWNER', 'FSETID', 'KILL', 'SETGID', 'SETUID', 'SETPCAP',
  'LINUX_IMMUTABLE', 'NET_BIND_SERVICE', 'NET_BROADCAST', 'NET_ADMIN', 'NET_RAW', 'IPC_LOCK', 'IPC_OWNER',
  'SYS_MODULE', 'SYS_RAWIO', 'SYS_CHROOT', 'SYS_PTRACE', 'SYS_PACCT', 'SYS_ADMIN', 'SYS_BOOT', 'SYS_NICE',
  'SYS_RESOURCE', 'SYS_TIME', 'SYS_TTY_CONFIG', 'MKNOD', 'LEASE', 'AUDIT_WRITE', 'AUDIT_CONTROL', 'SETFCAP',
  'MAC_OVERRIDE', 'MAC_ADMIN', 'SYSLOG', 'WAKE_ALARM', 'BLOCK_SUSPEND', 'AUDIT_READ', 'PERFMON', 'BPF',
  'CHECKPOINT_RESTORE',
].map((c) => `CAP_${c}`);

const DEFAULT_CAPS = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FSETID', 'CAP_FOWNER', 'CAP_MKNOD', 'CAP_NET_RAW', 'CAP_SETGID',
  'CAP_SETUID', 'CAP_SETFCAP', 'CAP_SETPCAP', 'CAP_NET_BIND_SERVICE', 'CAP_SYS_CHROOT', 'CAP_KILL', 'CAP_AUDIT_WRITE',
];

/** "sys_admin", "CAP_SYS_ADMIN", "ALL" → Docker's spelling, or an error naming the bad one. */
function capName(given: string): string {
  const name = given.toUpperCase() === 'ALL' ? 'ALL' : 'CAP_' + given.toUpperCase().replace(/^CAP_/, '');
  if (name !== 'ALL' && !ALL_CAPS.includes(name)) throw new RunError(1, `unknown capability: "${given}"`);
  return name;
}

/** Docker's default set, then --cap-add, then --cap-drop (ALL: every one). */
function capabilities(add: string[], drop: string[]): string[] {
  let caps = new Set(DEFAULT_CAPS);
  const adds = add.map(capName);
  const drops = drop.map(capName);
  if (drops.includes('ALL')) caps = new Set();
  for (const c of adds) (c === 'ALL' ? ALL_CAPS : [c]).forEach((x) => caps.add(x));
  for (const c of drops) if (c !== 'ALL') caps.delete(c);
  return [...caps];
}

/** The verdict for a call of another architecture: follow the arch check's "no" branch to its return. */
function defaultVerdict(program: Insn[]): string {
  let pc = 1;
  for (let steps = 0; steps < 4 && program[pc]; steps++) {
    const i = program[pc];
    if (i.code === BPF.RET_K) return verdictName(i.k);
    pc = i.code === BPF.JMP_JA ? pc + 1 + i.k : pc + 1 + i.jf;
  }
  return '?';
}

function header(program: Insn[], what: string): string {
  return `# ${what}\n# ${program.length} instructions (${program.length * 8} bytes); default action: ${defaultVerdict(program)}\n`;
}

// #region show-command
const show: Command = {
  name: 'seccomp show',
  summary: 'Print the seccomp BPF program of a profile, or of a container',
  usage: 'seccomp show [OPTIONS] [CONTAINER]',
  flags: [
    { name: 'cap-add', kind: 'stringArray', usage: 'Compile for a container given these capabilities' },
    { name: 'cap-drop', kind: 'stringArray', usage: 'Compile for a container without these capabilities' },
    { name: 'profile', kind: 'string', usage: "A profile in Docker's JSON format instead of Docker's default" },
  ],
  async run(inv) {
    if (inv.args.length > 0) return showContainer(inv.stateRoot, inv.args[0]);
    const caps = capabilities((inv.flags.get('cap-add') as string[]) ?? [], (inv.flags.get('cap-drop') as string[]) ?? []);
    const file = inv.flags.get('profile') as string | undefined;
    let profile: Profile | null = DEFAULT_PROFILE;
    try {
      if (file) profile = loadProfile(fs.readFileSync(file, 'utf8'));
      if (!profile) {
        process.stdout.write(`# ${file}: no defaultAction and no rules: no filter (as Docker, seccomp is off)\n`);
        return 0;
      }
      const program = decode(compileProfile(profile, { capabilities: caps, kernel: os.release() }));
      process.stdout.write(header(program, `${file ?? "Docker's default profile"}, for capabilities ${caps.map((c) => c.slice(4)).sort().join(' ') || '(none)'}`));
      process.stdout.write(disassemble(program));
      return 0;
    } catch (e) {
      if (e instanceof ProfileError) throw new RunError(1, e.message, { cause: e });
      const err = e as NodeJS.ErrnoException;
      const why: Record<string, string> = { ENOENT: 'no such file or directory', EACCES: 'permission denied', EISDIR: 'is a directory' };
      if (err.code && why[err.code]) throw new RunError(1, `opening seccomp profile (${file}) failed: open ${file}: ${why[err.code]}`, { cause: e });
      throw e;
    }
  },
};
// #endregion show-command

function showContainer(stateRoot: string, ref: string): number {
  let id: string;
  try {
    id = resolveContainer(stateRoot, ref).ID;
  } catch (e) {
    if (e instanceof NoSuchContainerError) throw new RunError(1, `Error response from daemon: ${e.message}`, { cause: e });
    throw e;
  }
  const file = path.join(containersDir(stateRoot), id, 'seccomp.bpf');
  if (!fs.existsSync(file)) {
    process.stdout.write(`# container ${ref} has no seccomp filter (unconfined, privileged, or made before chapter 11)\n`);
    return 0;
  }
  const program = decode(fs.readFileSync(file));
  process.stdout.write(header(program, `the filter of container ${ref}`));
  process.stdout.write(disassemble(program));
  return 0;
}

export const seccompCommands: Command[] = [show];
