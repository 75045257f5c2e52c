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
//   2. --entrypoint "" removes the ENTRYPOINT; the arguments, or else the
//      image's CMD, are the whole command.
//   3. Without --entrypoint: the image's ENTRYPOINT, then the arguments
//      given, or else the image's CMD.
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
  if (p.entrypointFlag !== undefined && p.entrypointFlag !== '') return { entrypoint: [p.entrypointFlag], cmd: p.args };
  const entrypoint = p.entrypointFlag === '' ? [] : (p.imageEntrypoint ?? []);
  const cmd = p.args.length > 0 ? p.args : (p.imageCmd ?? []);
  return { entrypoint, cmd };
}
// #endregion combine

// #region restart-policy
export interface RestartPolicy {
  Name: 'no' | 'always' | 'unless-stopped' | 'on-failure';
  MaximumRetryCount: number;
}

/** --restart, with Docker's rules and messages. */
export function parseRestartPolicy(s: string): RestartPolicy {
  const [name, count, ...rest] = s.split(':');
  if (rest.length) throw new Error(`invalid restart policy format: ${s}`);
  if (name === '' && count === undefined) return { Name: 'no', MaximumRetryCount: 0 };
  if (name !== 'no' && name !== 'always' && name !== 'unless-stopped' && name !== 'on-failure') throw new Error(`invalid restart policy format: ${s}`);
  if (count === undefined) return { Name: name, MaximumRetryCount: 0 };
  if (name !== 'on-failure') throw new Error(`maximum retry count cannot be used with restart policy '${name}'`);
  const n = Number(count);
  if (!/^\d+$/.test(count) || !Number.isSafeInteger(n)) throw new Error(`invalid restart policy format: maximum retry count must be an integer`);
  return { Name: name, MaximumRetryCount: n };
}
// #endregion restart-policy

/** Docker's `docker ps` COMMAND column: the command line, quoted, cut at 20 characters. */
export function commandColumn(path: string, args: string[], noTrunc: boolean): string {
  const line = [path, ...args].join(' ');
  const cut = noTrunc || line.length <= 20 ? line : line.slice(0, 19) + '…';
  return `"${cut}"`;
}
