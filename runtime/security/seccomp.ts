// Chapter 11's seccomp part: a filter on the container's system calls.
//
// Capabilities decide what root in the container may do with a call the
// kernel checks; seccomp decides which calls the kernel hears at all.
// Most of the kernel's ~380 calls are never needed by a containerized
// program, and each is code a bug could hide in: keyctl, add_key, the
// module calls, kexec, bpf, userfaultfd, open_by_handle_at… Docker's
// default profile allows about 360 of them and refuses the rest with
// EPERM. Here the profile is chosen (validate), compiled to classic BPF for
// this container's capabilities (prepare), and handed to the init, which
// installs it just before execve (seccomp/install.ts).
//
//   --security-opt seccomp=unconfined     no filter
//   --security-opt seccomp=profile.json   a profile in Docker's JSON format
//   --privileged                          no filter (as Docker)
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Slot, type RunContext } from '../core/layer.js';
import type { ContainerConfig } from '../core/containers.js';
import { updateConfig } from '../core/containers.js';
import { writeFileAtomic } from '../core/files.js';
import { RunError } from '../core/pipeline.js';
import { trace } from '../trace/trace.js';
import { recordHostConfig, type HardeningPart } from './part.js';
import { securityOpts } from './layer.js';
import { DEFAULT_PROFILE } from './seccomp/default-profile.js';
import { loadProfile, ProfileError, type Profile } from './seccomp/profile.js';
import { compileProfile } from './seccomp/compile.js';
import { seccompCommands } from './seccomp/command.js';

const CH = 11;

/** Docker's default capabilities: what a container has when the capabilities part has not said. */
export const DOCKER_DEFAULT_CAPS = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FSETID', 'CAP_FOWNER', 'CAP_MKNOD', 'CAP_NET_RAW', 'CAP_SETGID',
  'CAP_SETUID', 'CAP_SETFCAP', 'CAP_SETPCAP', 'CAP_NET_BIND_SERVICE', 'CAP_SYS_CHROOT', 'CAP_KILL', 'CAP_AUDIT_WRITE',
];

/** The file in the container's directory that keeps its program, for `exec`. */
export const PROGRAM_FILE = 'seccomp.bpf';

/** What validate decided: no filter, or the profile to compile. */
type Choice = { profile: Profile; builtin: boolean } | null;
const chosen = new Slot<Choice>('seccomp');

// #region choose-profile
function validate(ctx: RunContext): void {
  const opt = securityOpts(ctx).seccomp;
  let choice: Choice;
  if (ctx.flags.get('privileged') === true || opt === 'unconfined') {
    choice = null; // Docker: a privileged container has no seccomp filter
  } else if (process.arch !== 'x64') {
    // The compiler knows x86_64's numbers and AUDIT_ARCH only: an x86_64
    // filter on another machine would refuse every call, execve included.
    process.stderr.write(`dockling: warning: no seccomp filter: dockling compiles filters for x86_64 only, and this machine is ${process.arch}\n`);
    choice = null;
  } else if (opt === 'builtin') {
    choice = { profile: DEFAULT_PROFILE, builtin: true };
  } else {
    // A profile is checked now, so that a bad one stops `run` before anything is made.
    try {
      const profile = loadProfile(opt.json);
      choice = profile ? { profile, builtin: false } : null;
    } catch (e) {
      if (e instanceof ProfileError) throw new RunError(125, `${e.message} (in ${opt.file})`, { cause: e });
      throw e;
    }
  }
  chosen.set(ctx, choice);
}
// #endregion choose-profile

// Compiling Docker's profile takes about a millisecond once warm (ten the
// first time): kept per capability set, for a process that runs many
// containers (the Engine API server of chapter 10).
const compiled = new Map<string, Buffer>();

function compile(choice: NonNullable<Choice>, capabilities: string[]): Buffer {
  const opts = { capabilities, kernel: os.release() };
  if (!choice.builtin) return compileProfile(choice.profile, opts);
  const key = [...capabilities].sort().join(',');
  let program = compiled.get(key);
  if (!program) compiled.set(key, (program = compileProfile(choice.profile, opts)));
  return program;
}

// #region prepare
function prepare(ctx: RunContext): void {
  const given = securityOpts(ctx).given;
  recordHostConfig(ctx, { SecurityOpt: given.length ? given : null });
  const choice = chosen.get(ctx)!;
  if (!choice) return;

  // Docker's profile allows more calls to a container with more
  // capabilities (e.g. mount and unshare with CAP_SYS_ADMIN): what counts is
  // the bounding set the capabilities part chose before us.
  const capabilities = ctx.spec.process.capabilities?.bounding ?? DOCKER_DEFAULT_CAPS;
  let program: Buffer;
  try {
    program = compile(choice, capabilities);
  } catch (e) {
    if (e instanceof ProfileError) throw new RunError(125, e.message, { cause: e });
    throw e;
  }
  ctx.spec.seccomp = { program: program.toString('base64') };

  // Kept with the container, so that `exec` gives its processes the same filter.
  const file = path.join(ctx.container.dir, PROGRAM_FILE);
  trace.emit(CH, { op: 'write', path: file, value: `(${program.length / 8} BPF instructions)` });
  writeFileAtomic(file, program, 0o600);
  updateConfig(ctx.container, (c) => {
    (c as ContainerConfig & { SeccompProgramPath?: string }).SeccompProgramPath = file;
  });
}
// #endregion prepare

export const seccomp: HardeningPart = {
  name: 'seccomp',
  flags: [],
  validate,
  prepare,
  commands: seccompCommands,
  // `exec`: the new process gets the container's filter (runc does the same:
  // an exec'd process is held as the container's own are).
  exec(c, _flags, settings) {
    const file = (c as ContainerConfig & { SeccompProgramPath?: string }).SeccompProgramPath;
    if (!file) return; // made without a filter (unconfined, privileged) or before chapter 11
    settings.seccomp = { program: fs.readFileSync(file).toString('base64') };
  },
  info() {
    return ['seccomp', ' Profile: builtin'];
  },
};
