// What `docker inspect` shows in HostConfig for chapter 11's fields when a
// container was run with none of its flags (a plain `docker run busybox`):
// Docker always fills them in, with null, false, "" or [] as its API types
// say, and the daemon's defaults for /dev/shm and the masked paths. The
// hardening layer's first part writes these, only where nothing is recorded
// yet; each part then records what its flags chose (recordHostConfig), which
// overwrites the default.
import type { RunContext } from '../core/layer.js';
import { recordHostConfigUnder } from './part.js';
import { MASKED_PATHS, READONLY_PATHS } from '../process/defaults.js';

/** Docker's /dev/shm when --shm-size is not given (the daemon's DefaultShmSize): 64 MiB. */
export const DEFAULT_SHM_SIZE = 64 * 1024 * 1024;

// #region hostconfig-defaults
export function hostConfigDefaults(): Record<string, unknown> {
  return {
    CapAdd: null, //            []string, omitted by the CLI: null
    CapDrop: null,
    Privileged: false,
    ReadonlyRootfs: false,
    SecurityOpt: null,
    UsernsMode: '', //          "" = the daemon's default (host, or its --userns-remap)
    ShmSize: DEFAULT_SHM_SIZE,
    Devices: [], //             the CLI always sends a list, empty without --device
    Ulimits: [], //             likewise without --ulimit
    MaskedPaths: [...MASKED_PATHS], // filled in by the daemon at create
    ReadonlyPaths: [...READONLY_PATHS],
    // (Tmpfs is left out, as Docker's `json:",omitempty"` leaves it out)
  };
}
// #endregion hostconfig-defaults

/**
 * Record the defaults under what is already recorded: a field a part (or an
 * earlier `run` of the same container) has set is kept.
 */
export function recordHostConfigDefaults(ctx: RunContext): void {
  recordHostConfigUnder(ctx, hostConfigDefaults());
}
