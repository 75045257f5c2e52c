// #region chapter-1-slots
// The places where a later chapter changes what chapter 1 does. Chapter 1
// reads each slot and, when nobody filled it, does its own thing; it never
// knows who answered. (core/layer.ts explains slots.)
import { Slot, type RunContext } from '../core/layer.js';
import type { ContainerRecord } from '../core/containers.js';
import type { LaunchedInit, LaunchOptions } from './launch.js';

/**
 * What the container is made from and how it wants to be run. Empty,
 * chapter 1 uses a rootfs directory and runs `sh`; chapter 4 fills it with
 * an image's config.
 */
export interface Origin {
  /** the root filesystem, or null when a later layer mounts one in prepare */
  rootfs: string | null;
  /** recorded as the container's Config.Image */
  image: string;
  /** the environment to start from, before -e */
  env: string[];
  /** run when no command is given after IMAGE */
  cmd: string[];
  /** put in front of the command */
  entrypoint: string[] | null;
  /** the working directory unless -w says otherwise ('' for /) */
  workingDir: string;
}
export const origin = new Slot<Origin>('origin');

/** The container prepare works on: its record, and what to run in it. */
export interface PreparedContainer {
  rec: ContainerRecord;
  rootfs: string;
  command: string[];
  cwd: string;
  hostname: string;
  env: string[];
}
/**
 * Where the container comes from. Empty, prepare makes a new one; a later
 * layer may hand in one that exists already (chapter 5's `start`).
 */
export const containerSource = new Slot<(ctx: RunContext) => PreparedContainer>('container-source');

/** How the init is started. Empty, `launchInit`; chapter 5 puts a monitor around it. */
export const launcher = new Slot<(opts: LaunchOptions) => Promise<LaunchedInit>>('launcher');

/**
 * The command runs in the background: the CLI neither waits for it nor
 * relays its stdio (set by chapter 5's `run -d`, and by its detach keys).
 */
export const inBackground = new Slot<true>('in-background');

/**
 * With -i, the container's stdin is kept open, but this CLI does not send
 * its own into it (chapter 5's `start -a` without -i: another `attach`
 * may type): no TTY check, no raw mode here.
 */
export const stdinNotSent = new Slot<true>('stdin-not-sent');
// #endregion chapter-1-slots
