// Network safety for tests. test/run.ts runs every suite (unit and chapters)
// in a network namespace of its own holding only lo, and names the one it
// was started in (DOCKLING_HOST_NETNS). A test that makes bridges, NAT
// rules or sysctls asks this first, and refuses to run on the machine's
// own network.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';

/** Is this process in a namespace other than the runner's, with no way off the machine (no default route)? */
export function inPrivateNetns(): boolean {
  const host = process.env.DOCKLING_HOST_NETNS;
  if (!host || fs.readlinkSync('/proc/self/ns/net') === host) return false;
  return spawnSync('ip', ['route', 'show', 'default'], { encoding: 'utf8' }).stdout.trim() === '';
}

export const NOT_PRIVATE = 'this test makes bridges and NAT rules: run it with test/run.ts, which gives it a network namespace of its own (unshare --net)';
