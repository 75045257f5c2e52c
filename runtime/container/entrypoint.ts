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
// The command is ENTRYPOINT + CMD; empty is an error. A shell-form
// ENTRYPOINT (["/bin/sh", "-c", "x"]) therefore ignores CMD and arguments:
// sh -c takes only its first argument as the script, the next ones become $0, $1….

// #region combine
export interface CommandParts {
  /** the image's config */
  imageEntrypoint: string[] | null | undefined;
  imageCmd: string[] | null | undefined;
  /** --entrypoint: undefined when not given, "" to remove the image's */
  entrypointFlag: string | undefined;
  /** the arguments after IMAGE */
  args: string[];
}

export function combineCommand(p: CommandParts): { entrypoint: string[]; cmd: string[] } {
  if (p.entrypointFlag !== undefined) return { entrypoint: p.entrypointFlag ? [p.entrypointFlag] : [], cmd: p.args };
  const image = p.imageEntrypoint ?? [];
  const entrypoint = image.length === 1 && image[0] === '' ? [] : image;
  const cmd = p.args.length > 0 ? p.args : (p.imageCmd ?? []);
  return { entrypoint, cmd };
}
// #endregion combine
