// Layers: "each chapter adds one layer" is literal.
//
// The core knows a container's life only as a pipeline of named stages. A
// layer (one per chapter) plugs code into stages, adds flags to `run`, and
// adds CLI commands. `dockling --chapter N` runs with layers 1..N only, so the
// runtime can be run as it stands at the end of any chapter.
import type { FlagSpec, FlagValue } from './flags.js';
import type { ContainerSpec, ExecSettings } from './spec.js';
import type { ContainerConfig, ContainerRecord } from './containers.js';

// #region stages
/**
 * The stages of `run`, in order. Host-side stages run in the CLI; what
 * happens inside the container is described by the spec and done by the
 * init between `create` and `start`.
 */
export const STAGES = [
  'validate', //  check the flags: nothing is made until every layer accepts them
  'prepare', //   choose the rootfs, build the spec, write the container's files
  'create', //    make the namespaces and the init process in them (paused)
  'limit', //     put the init into its cgroups (chapter 2)
  'network', //   wire the network namespace to the host (chapter 6)
  'start', //     let the init build the container and exec the command
  'wait', //      relay stdio and signals until the command exits
  'cleanup', //   undo everything, in reverse layer order, whatever happened
] as const;
export type Stage = (typeof STAGES)[number];
// #endregion stages

/** The running init, as the host side sees it once `create` is done. */
export interface InitHandle {
  /**
   * Resolves with the init's PID on the host (it is PID 1 inside) once it
   * has booted. Host stages can do their own work while Node boots in the
   * init and await this only when they need the PID.
   */
  ready: Promise<number>;
  /** the PID, once `ready` has resolved (0 before) */
  pid: number;
  /** send the spec and let it go */
  start(spec: ContainerSpec): Promise<void>;
  /** resolves with the command's exit status */
  exited: Promise<{ code: number; signal: NodeJS.Signals | null }>;
  signal(sig: NodeJS.Signals): void;
}

// #region run-context
/**
 * What the stages of one `run` share. Only what every chapter needs is
 * named here; a layer keeps the rest in slots of its own (below).
 */
export interface RunContext {
  chapter: number;
  stateRoot: string;
  /** the parsed `run` flags, by long name */
  flags: Map<string, FlagValue>;
  /** IMAGE (in chapter 1, a rootfs name) and the command after it */
  image: string;
  command: string[];
  container: ContainerRecord;
  spec: ContainerSpec;
  init?: InitHandle;
  /** set once the start stage has let the command run */
  started?: boolean;
  /** what becomes of the container when the run ends (see Outcome) */
  outcome: Outcome;
  /**
   * Run the stages only up to this one, then clean up with this outcome
   * (if every layer got through it). `create` is `run` until `prepare`,
   * kept: the container is made, nothing of it runs. Without it, every
   * stage runs.
   */
  until?: { stage: Stage; outcome: Outcome };
  exitCode?: number;
  /** the stage running now, or the one that failed (set by the pipeline) */
  stage?: Stage;
  /** the layer that owns a stage's failure sets this to Docker's code */
  failure?: { code: number; message: string; cause?: unknown };
  /** each layer's own state for this run, by slot (see Slot) */
  slots: Map<Slot<unknown>, unknown>;
  /** the layers of this run, in chapter order (set by the pipeline) */
  layers?: Layer[];
}

/**
 * The end of a run, as every layer's cleanup reads it:
 * - remove: undo everything made for the container, its record too
 *   (chapter 1's answer: a container is only its command);
 * - keep: end its processes and free its cgroups and mounts, but keep
 *   the container, stopped, for later (a layer with something worth
 *   keeping says so: chapter 4's writable layer);
 * - leave: it runs on in someone else's care, touch nothing of it (a
 *   layer that hands it on says so: chapter 5's monitor).
 */
export type Outcome = 'remove' | 'keep' | 'leave';

/** A new run's context: nothing made yet, and removed at the end unless a layer says otherwise. */
export function newRunContext(fields: Pick<RunContext, 'chapter' | 'stateRoot' | 'flags' | 'image' | 'command'>): RunContext {
  return { ...fields, container: undefined as never, spec: undefined as never, outcome: 'remove', slots: new Map() };
}
// #endregion run-context

// #region slots
/**
 * A typed place in the run context, owned by the layer that declares it.
 * This is how chapters stay apart: a layer keeps its own state in its own
 * slots (chapter 2's cgroup, chapter 4's mount), and an earlier layer that
 * lets later ones change what it does declares a slot for it and reads it
 * without knowing who filled it. Chapter 1 asks its `origin` slot what the
 * container is made from: empty, it uses its own rootfs; chapter 4 fills it
 * with an image. Chapters 6 to 11 plug in the same way.
 */
export class Slot<T> {
  constructor(readonly name: string) {}
  get(ctx: RunContext): T | undefined {
    return ctx.slots.get(this as Slot<unknown>) as T | undefined;
  }
  set(ctx: RunContext, value: T): void {
    ctx.slots.set(this as Slot<unknown>, value);
  }
  delete(ctx: RunContext): void {
    ctx.slots.delete(this as Slot<unknown>);
  }
}
// #endregion slots

export type StageFn = (ctx: RunContext) => Promise<void> | void;

export interface Command {
  /** one word ("images"), or a group and a word ("image inspect") */
  name: string;
  /** other names for it, as Docker has (`image ls` for `images`) */
  aliases?: string[];
  /**
   * The chapter whose command of the same name this one replaces (chapter
   * 5's `rm` and `inspect` replace chapter 4's). One name is one command:
   * without this, a second definition of a name is refused (cli/main.ts).
   */
  replaces?: number;
  /** left out of help: dockling's own plumbing (chapter 6's `network release`, run by a monitor) */
  hidden?: boolean;
  summary: string;
  usage: string;
  flags: FlagSpec[];
  /** stop flag parsing at the first argument (like `run IMAGE CMD -x`) */
  stopAtFirstArg?: boolean;
  minArgs?: number;
  /** at most this many arguments (ps: none), as the docker CLI checks */
  maxArgs?: number;
  run(inv: Invocation): Promise<number>;
}

export interface Invocation {
  chapter: number;
  stateRoot: string;
  flags: Map<string, FlagValue>;
  args: string[];
  layers: Layer[];
}

export interface Layer {
  chapter: number;
  name: string;
  /** flags this layer adds to `run` */
  runFlags: FlagSpec[];
  commands: Command[];
  stages: Partial<Record<Stage, StageFn>>;
  /**
   * undo what this layer made for a container being removed (`rm`), or
   * whose CLI died before its cleanup; `volumes`: `rm -v` was asked
   * (chapter 7 removes the container's anonymous volumes)
   */
  reap?(c: ContainerConfig, stateRoot: string, opts?: { volumes?: boolean }): void;
  /**
   * release what this layer holds for a kept container that ended with
   * nobody to do it (its monitor was killed, chapter 5); a layer that
   * knows how it ended returns the exit code
   */
  release?(c: ContainerConfig, stateRoot: string): number | void;
  /** the storage drivers this layer brings (chapter 3: aufs, chapter 4: overlay2); storage/choose.ts picks among them */
  storageDrivers?: string[];
  /** flags this layer adds to `exec` (chapter 11: --privileged) */
  execFlags?: FlagSpec[];
  /**
   * what this layer adds to an `exec` in container c, given the exec's flags
   * (chapter 11: the container's capabilities, no_new_privs and seccomp
   * filter, so that exec'd processes are held as the container's own are)
   */
  exec?(c: ContainerConfig, flags: Map<string, FlagValue>, settings: ExecSettings): void;
  /**
   * the details of this layer's component in `version`'s Server block (chapter
   * 2: the cgroup driver and version), as docker lists containerd's and runc's
   */
  version?(): Record<string, string>;
  /**
   * what this layer's part of `system prune` removes (chapter 6: unused
   * networks), between the containers and the images, as Docker orders it:
   * the warning's line, the report's heading, and the removal (the names
   * of what went)
   */
  systemPrune?: {
    what: string;
    title: string;
    /** only when this flag of `system prune` is given (chapter 7's volumes: --volumes) */
    flag?: string;
    /** the names of what went, and the bytes given back when the layer counts them */
    run(stateRoot: string): string[] | { names: string[]; bytes: number };
  };
  /**
   * the volumes this layer keeps, for `system df` (chapter 7): each one's
   * name, how many containers use it, and the bytes of its files
   */
  localVolumes?(stateRoot: string): { name: string; links: number; size: number }[];
  /** lines this layer adds to `info` (chapter 11: the Security Options) */
  info?(stateRoot: string): string[];
  /**
   * fetch an image that is not here, by name, and return its ID (chapter 8:
   * from a registry). Chapter 4 calls it when `run` names a missing image;
   * `out` is where the pull's progress goes (the CLI's stderr for `run`)
   */
  pullImage?(stateRoot: string, name: string, out: NodeJS.WritableStream): Promise<string>;
}
