// What a container runs: the image's ENTRYPOINT and CMD, `--entrypoint`,
// and the arguments after the image name, combined exactly as Docker does.
//
// An image config stores both as arrays. A Dockerfile's exec form
// (CMD ["a", "b"]) is kept as it is; its shell form (CMD a b) is stored as
// ["/bin/sh", "-c", "a b"]. The rules (moby's merge of the run's config with
// the image's):
//
//   1. --entrypoint X replaces the image's ENTRYPOINT and drops its CMD: only
//      the arguments given after the image follow X.
//   2. --entrypoint "" removes the ENTRYPOINT and drops the CMD too: the
//      arguments given are the whole command (none: an error).
//   3. Without --entrypoint: the image's ENTRYPOINT, then the arguments
//      given, or else the image's CMD. (An image ENTRYPOINT of [""] is no
//      ENTRYPOINT: it is how a Dockerfile's `ENTRYPOINT []`… resets it.)
//
// Each rule lives in the chapter that brings it: rule 3 is chapter 1's
// commandParts (runtime/process/layer.ts), the [""] reset chapter 4's
// imageOrigin (runtime/image/layer.ts), rules 1 and 2 are this chapter's,
// below.
//
// The command is ENTRYPOINT + CMD; empty is an error. A shell-form
// ENTRYPOINT (["/bin/sh", "-c", "x"]) therefore ignores CMD and arguments:
// sh -c takes only its first argument as the script, the next ones become $0, $1….

import type { Origin } from '../process/slots.js';

// #region entrypoint-flag
/**
 * --entrypoint replaces the image's ENTRYPOINT, and (Docker's rule) drops
 * its CMD too: the image's arguments were meant for its own entrypoint.
 * `--entrypoint ""` removes the entrypoint and runs the arguments alone.
 */
export function withEntrypointFlag(from: Origin, flag: string): Origin {
  return { ...from, entrypoint: flag ? [flag] : [], cmd: [] };
}
// #endregion entrypoint-flag
