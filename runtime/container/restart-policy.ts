// --restart: what the monitor does when a container exits (monitor.c
// restarts it, after a growing delay, while the policy says so).
//
//   no               never (the default)
//   always           whatever the exit code, until `stop`
//   unless-stopped   the same; Docker tells the two apart only when the
//                    daemon restarts, and dockling has no daemon
//   on-failure[:N]   when the exit code is not 0, at most N times (0: no limit)

// #region restart-policy
export interface RestartPolicy {
  Name: 'no' | 'always' | 'unless-stopped' | 'on-failure';
  MaximumRetryCount: number;
}

/**
 * --restart, read as the docker CLI reads it (NAME[:COUNT], split at the
 * first colon) and then checked as the daemon checks it, with their messages.
 */
export function parseRestartPolicy(s: string): RestartPolicy {
  const colon = s.indexOf(':');
  const name = colon < 0 ? s : s.slice(0, colon);
  const count = colon < 0 ? '' : s.slice(colon + 1);
  if (colon >= 0 && name === '') throw new Error('invalid restart policy format: no policy provided before colon');
  let n = 0;
  if (count !== '') {
    if (!/^[+-]?\d+$/.test(count) || !Number.isSafeInteger(Number(count))) throw new Error('invalid restart policy format: maximum retry count must be an integer');
    n = Number(count);
  }
  switch (name) {
    case '':
      return { Name: 'no', MaximumRetryCount: n };
    case 'no':
    case 'always':
    case 'unless-stopped':
      if (n !== 0) throw new Error("invalid restart policy: maximum retry count can only be used with 'on-failure'");
      return { Name: name, MaximumRetryCount: 0 };
    case 'on-failure':
      if (n < 0) throw new Error('invalid restart policy: maximum retry count cannot be negative');
      return { Name: name, MaximumRetryCount: n };
    default:
      throw new Error(`invalid restart policy: unknown policy '${name}'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'`);
  }
}
// #endregion restart-policy
