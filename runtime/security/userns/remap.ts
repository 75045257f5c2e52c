// --userns-remap: which host ids root in a container becomes.
//
// A user namespace maps a range of ids inside to a range outside: uid 0 in
// the container can be uid 100000 on the host, which owns nothing there. The
// host ids come from the subordinate id files /etc/subuid and /etc/subgid
// (lines "USER:START:COUNT", the files newuidmap(1) reads too): the first
// range given to the remap user is the container's 0..COUNT-1.
//
// Docker makes this a daemon option (dockerd --userns-remap); dockling has
// no daemon, so it is a global flag, or $DOCKLING_USERNS_REMAP. The words:
//
//   default            the user and group "dockremap", made if missing, with
//                      a 65536-id range added to /etc/subuid and /etc/subgid
//   USER[:GROUP]       an existing user (and group; default: the user's name)
//   UID[:GID]          the same, by number
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import type { IdMapping } from '../../core/spec.js';
import { RunError } from '../../core/pipeline.js';
import { withLock } from '../../core/files.js';
import { trace } from '../../trace/trace.js';

const CH = 11;
export const SUBUID = '/etc/subuid';
export const SUBGID = '/etc/subgid';
export const DEFAULT_REMAP_USER = 'dockremap';
/** how many ids Docker gives dockremap, and where its search for a free range starts */
const DEFAULT_RANGE = 65536;
const FIRST_SUBORDINATE = 100000;
/** held while "default" makes dockremap (a lock directory, core/files.ts) */
const DEFAULT_USER_LOCK = fs.existsSync('/run/lock') ? '/run/lock/dockling-userns-remap.lock' : '/tmp/dockling-userns-remap.lock';

export interface Remap {
  /** as given: "default", "USER[:GROUP]" or "UID[:GID]" */
  given: string;
  user: string;
  group: string;
  uidMappings: IdMapping[];
  gidMappings: IdMapping[];
}

/** The host ids that root in the container becomes (the first map line's start). */
export const rootPair = (r: Remap) => ({ uid: r.uidMappings[0].hostID, gid: r.gidMappings[0].hostID });

interface Entry {
  name: string;
  id: number;
}

/** One passwd or group entry, by name or by number (getent asks NSS, as Go's os/user does). */
function lookup(db: 'passwd' | 'group', key: string): Entry | undefined {
  const r = spawnSync('getent', [db, key], { encoding: 'utf8' });
  if (r.status !== 0) return undefined;
  const f = r.stdout.split('\n')[0].split(':');
  return { name: f[0], id: Number(f[2]) };
}

interface Range {
  owner: string;
  start: number;
  count: number;
}

function readRanges(file: string): Range[] {
  let text = '';
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => l.split(':'))
    .filter((f) => f.length === 3 && /^\d+$/.test(f[1]) && /^\d+$/.test(f[2]))
    .map(([owner, start, count]) => ({ owner, start: Number(start), count: Number(count) }));
}

/**
 * The ranges of a user (or group) in a subordinate id file, as one map:
 * container ids 0.. laid over the host ranges in file order. A line may name
 * its owner by name or by number (subuid(5)).
 */
function mappingsFor(file: string, who: Entry): IdMapping[] {
  let next = 0;
  return readRanges(file)
    .filter((r) => r.owner === who.name || r.owner === String(who.id))
    .map((r) => {
      const m = { containerID: next, hostID: r.start, size: r.count };
      next += r.count;
      return m;
    });
}

// #region default-user
/**
 * `--userns-remap default`, as dockerd does it: the system user and group
 * "dockremap" (shell /bin/false, no home), and, if they have none, a range
 * of 65536 ids above every range already given out, in both files.
 */
function ensureDefaultUser(): void {
  const missing = () =>
    !lookup('group', DEFAULT_REMAP_USER) || !lookup('passwd', DEFAULT_REMAP_USER) ||
    [SUBUID, SUBGID].some((f) => !readRanges(f).some((r) => r.owner === DEFAULT_REMAP_USER));
  if (!missing()) return;
  // Two dockling commands starting at once must not both add a range:
  // one makes what is missing, the other then finds it made.
  withLock(DEFAULT_USER_LOCK, () => {
    if (!lookup('group', DEFAULT_REMAP_USER)) run(['groupadd', '--system', DEFAULT_REMAP_USER]);
    if (!lookup('passwd', DEFAULT_REMAP_USER)) {
      run(['useradd', '--system', '--shell', '/bin/false', '--no-create-home', '--gid', DEFAULT_REMAP_USER, DEFAULT_REMAP_USER]);
    }
    for (const file of [SUBUID, SUBGID]) {
      const ranges = readRanges(file);
      if (ranges.some((r) => r.owner === DEFAULT_REMAP_USER)) continue;
      const start = Math.max(FIRST_SUBORDINATE, ...ranges.map((r) => r.start + r.count));
      const line = `${DEFAULT_REMAP_USER}:${start}:${DEFAULT_RANGE}\n`;
      trace.emit(CH, { op: 'write', path: file, value: line.trim() });
      const old = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
      fs.appendFileSync(file, (old && !old.endsWith('\n') ? '\n' : '') + line, { mode: 0o644 });
    }
  });
}
// #endregion default-user

function run(argv: string[]): void {
  trace.emit(CH, { op: 'spawn', argv });
  const r = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8' });
  if (r.status !== 0) {
    throw new RunError(125, `Error during "${DEFAULT_REMAP_USER}" user creation: ${argv.join(' ')}: ${(r.stderr || r.error?.message || `exit ${r.status}`).trim()}`, { cause: r.error });
  }
}

// #region parse-remap
/** Read --userns-remap's value and find its id ranges (errors are Docker's). */
export function resolveRemap(given: string): Remap {
  if (given === '') throw new RunError(125, 'invalid --userns-remap "": use default, USER[:GROUP] or UID[:GID]');
  let [userPart, groupPart] = given.split(':', 2) as [string, string | undefined];
  if (given === 'default') {
    ensureDefaultUser();
    userPart = groupPart = DEFAULT_REMAP_USER;
  }
  const user = lookup('passwd', userPart);
  if (!user) {
    throw new RunError(125, `Can't create ID mappings: ${/^\d+$/.test(userPart) ? `Uid ${userPart} has no entry in /etc/passwd` : `user ${JSON.stringify(userPart)} does not exist`} (use --userns-remap default, or make the user with useradd)`);
  }
  // Without a group, Docker uses the user's name as the group's.
  const group = lookup('group', groupPart ?? user.name);
  if (!group) throw new RunError(125, `Can't create ID mappings: group ${JSON.stringify(groupPart ?? user.name)} does not exist`);
  const uidMappings = mappingsFor(SUBUID, user);
  if (uidMappings.length === 0) throw new RunError(125, `Can't create ID mappings: No subuid ranges found for user ${JSON.stringify(user.name)} (add a line "${user.name}:100000:65536" to ${SUBUID})`);
  const gidMappings = mappingsFor(SUBGID, group);
  if (gidMappings.length === 0) throw new RunError(125, `Can't create ID mappings: No subgid ranges found for group ${JSON.stringify(group.name)} (add a line "${group.name}:100000:65536" to ${SUBGID})`);
  return { given, user: user.name, group: group.name, uidMappings, gidMappings };
}
// #endregion parse-remap

/** Map a host-side id into the container through a map (-1 if unmapped). */
export function toHost(maps: IdMapping[], id: number): number {
  const m = maps.find((x) => id >= x.containerID && id < x.containerID + x.size);
  return m ? m.hostID + (id - m.containerID) : -1;
}

// The remap in force for this command (set once by main.ts; undefined:
// no user namespaces, the state root as given).
let active: Remap | undefined;
export const activeRemap = () => active;
export function setActiveRemap(r: Remap | undefined): void {
  active = r;
}
