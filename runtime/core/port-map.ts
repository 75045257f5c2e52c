// How a container's published ports are shown: the PORTS column of `ps`
// and the lines of `port`. Both read the PortMap a container records (its
// NetworkSettings.Ports, chapter 6), so this lives in the core that `ps`
// (chapter 5) and `port` (chapter 6) share. The PortMap's types are
// restated here (the core may not import network/model.ts, which is above
// it); the two are the same shape, Docker's nat.PortMap.
//
// Docker splits the work in two: the daemon turns the map into a flat list
// of ports (moby's container/view.go), and the docker CLI sorts, groups
// and prints that list (docker/cli's formatter.DisplayablePorts). The
// steps below follow that split, so their odd corners are Docker's too.
import { RunError } from './pipeline.js';

/** One host side of a published port, as Docker's nat.PortBinding. */
export interface HostBinding {
  HostIp: string;
  HostPort: string;
}
/** "80/tcp" -> its bindings (null when exposed but not published): Docker's nat.PortMap. */
export type PortMapLike = Record<string, HostBinding[] | null>;

/** One row of the daemon's flat list (the API's container.Port). */
export interface DisplayPort {
  IP: string; //          "" when the port is only exposed
  PrivatePort: number; // the container's port
  PublicPort: number; //  0 when the port is only exposed
  Type: string; //        tcp, udp, sctp
}

/** Go's strconv.ParseUint(s, 10, 16): decimal digits only, at most 65535. */
function parseUint16(s: string): number | null {
  if (!/^[0-9]+$/.test(s)) return null;
  const n = Number(s);
  return n <= 65535 ? n : null;
}

/** Go's net.JoinHostPort: an IPv6 host goes in brackets, so the port's colon is not read as part of it. */
export const joinHostPort = (host: string, port: string | number) => (host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`);

// #region port-list
/**
 * The daemon's side (moby container/view.go): one row per binding, and one
 * row without a host side for a port that is exposed but not published. A
 * key or host port that is not a single number ("80-82/tcp", a host range
 * never picked) is left out, as the daemon logs and skips it.
 */
export function portList(ports: PortMapLike | null | undefined): DisplayPort[] {
  const rows: DisplayPort[] = [];
  for (const [key, bindings] of Object.entries(ports ?? {})) {
    const [num, proto] = key.split('/');
    const p = num === '' ? 0 : parseUint16(num);
    if (p === null) continue;
    const type = proto || 'tcp';
    if (!bindings || bindings.length === 0) {
      rows.push({ IP: '', PrivatePort: p, PublicPort: 0, Type: type });
      continue;
    }
    for (const b of bindings) {
      const h = b.HostPort === '' ? 0 : parseUint16(b.HostPort);
      if (h === null) continue;
      rows.push({ IP: b.HostIp, PrivatePort: p, PublicPort: h, Type: type });
    }
  }
  return rows;
}
// #endregion port-list

/** docker/cli's comparePorts: by container port, then host address, host port, protocol. */
function comparePorts(a: DisplayPort, b: DisplayPort): number {
  if (a.PrivatePort !== b.PrivatePort) return a.PrivatePort - b.PrivatePort;
  if (a.IP !== b.IP) return a.IP < b.IP ? -1 : 1;
  if (a.PublicPort !== b.PublicPort) return a.PublicPort - b.PublicPort;
  return a.Type < b.Type ? -1 : a.Type > b.Type ? 1 : 0;
}

// #region displayable-ports
/**
 * The docker CLI's PORTS column (formatter.DisplayablePorts), step by step:
 *
 * 1. sort the rows (container port, host address, host port, protocol);
 * 2. a row whose host port differs from its container port is printed on
 *    its own, at the end: `0.0.0.0:49153->80/tcp`;
 * 3. the other rows (exposed only, or published on the same number) are
 *    grouped by host address and protocol, and a run of consecutive ports
 *    in one group becomes one range: `80-82/tcp`,
 *    `0.0.0.0:8000-8002->8000-8002/tcp`. A run that ends is printed when
 *    it ends; the last run of each group comes after, in the order the
 *    groups first appeared.
 *
 * So `-p 8000-8002:80-82` shows three entries (the numbers differ) while
 * `-p 80-82:80-82` shows one: Docker only collapses ports mapped to
 * themselves. IPv6 host addresses are bracketed (`[::]:49153->80/tcp`), as
 * the docker CLI does since 27.3 (older ones printed `:::49153`).
 */
export function displayablePorts(rows: DisplayPort[]): string {
  const sorted = [...rows].sort(comparePorts);
  const groups = new Map<string, { first: number; last: number }>(); // kept in the order keys first appear
  const result: string[] = [];
  const hostMappings: string[] = [];
  for (const port of sorted) {
    const current = port.PrivatePort;
    let key = port.Type;
    if (port.IP !== '') {
      if (port.PublicPort !== current) {
        hostMappings.push(`${joinHostPort(port.IP, port.PublicPort)}->${port.PrivatePort}/${port.Type}`);
        continue;
      }
      key = `${port.IP}/${port.Type}`;
    }
    const group = groups.get(key);
    if (!group) {
      groups.set(key, { first: current, last: current });
      continue;
    }
    // uint16 in Go: 65535 + 1 wraps to 0
    if (current === ((group.last + 1) & 0xffff)) {
      group.last = current;
      continue;
    }
    result.push(formGroup(key, group.first, group.last));
    // a new run for the same key: the key keeps its place in the order
    group.first = current;
    group.last = current;
  }
  for (const [key, g] of groups) result.push(formGroup(key, g.first, g.last));
  return [...result, ...hostMappings].join(', ');
}

/** One run of a group: `80-82/tcp`, or `IP:80-82->80-82/tcp` when published on the same numbers. */
function formGroup(key: string, first: number, last: number): string {
  // an address never holds a "/", so the key splits cleanly
  const parts = key.split('/');
  const [ip, type] = parts.length > 1 ? [parts[0], parts[1]] : ['', parts[0]];
  let group = String(first);
  if (first !== last) group += `-${last}`;
  if (ip !== '') group = `${joinHostPort(ip, group)}->${group}`;
  return `${group}/${type}`;
}
// #endregion displayable-ports

/** `ps`'s PORTS column for a container's PortMap ("" for none). */
export function formatPorts(ports: PortMapLike | null | undefined): string {
  return displayablePorts(portList(ports));
}

/**
 * fvbommel/sortorder's NaturalLess, which `docker port` sorts its lines
 * with: runs of digits compare as numbers (49153 before 100000, "8080"
 * after "80"), digits before other characters, the rest byte by byte.
 */
export function naturalLess(a: string, b: string): boolean {
  const isDigit = (c: number) => c >= 0x30 && c <= 0x39;
  const s1 = Buffer.from(a);
  const s2 = Buffer.from(b);
  let i = 0;
  let j = 0;
  while (i < s1.length && j < s2.length) {
    const c1 = s1[i];
    const c2 = s2[j];
    const d1 = isDigit(c1);
    const d2 = isDigit(c2);
    if (d1 !== d2) return d1;
    if (!d1) {
      if (c1 !== c2) return c1 < c2;
      i++;
      j++;
      continue;
    }
    while (i < s1.length && s1[i] === 0x30) i++;
    while (j < s2.length && s2[j] === 0x30) j++;
    const nz1 = i;
    const nz2 = j;
    while (i < s1.length && isDigit(s1[i])) i++;
    while (j < s2.length && isDigit(s2[j])) j++;
    if (i - nz1 !== j - nz2) return i - nz1 < j - nz2;
    const n1 = s1.subarray(nz1, i).toString('latin1');
    const n2 = s2.subarray(nz2, j).toString('latin1');
    if (n1 !== n2) return n1 < n2;
    if (nz1 !== nz2) return nz1 < nz2;
  }
  // identical so far and one has ended: the longer one sorts last
  return s1.length < s2.length;
}

/** Go's strconv.Quote for what a user typed (quotes, backslashes, control characters escaped). */
const goQuote = (s: string) => JSON.stringify(s).replace(/\\u00([0-9a-f]{2})/g, '\\x$1').replace(/\u007f/g, '\\x7f');

// #region port-command
/**
 * `docker port CONTAINER [PRIVATE_PORT[/PROTO]]` (docker/cli's runPort):
 * every binding as `80/tcp -> 0.0.0.0:49153`, or, for one port, just its
 * host sides. A port given without a protocol means tcp. The lines are
 * sorted naturally (numbers as numbers). A port with no binding is an
 * error naming the port as it was typed; `container` is the name the user
 * gave, for that message.
 */
export function formatPortCommand(ports: PortMapLike | null | undefined, filter?: string, container = ''): string[] {
  const map = ports ?? {};
  const out: string[] = [];
  if (filter !== undefined && filter !== '') {
    const slash = filter.indexOf('/');
    const port = slash >= 0 ? filter.slice(0, slash) : filter;
    const proto = (slash >= 0 ? filter.slice(slash + 1) : '') || 'tcp';
    if (parseUint16(port) === null) {
      const why = /^[0-9]+$/.test(port) ? 'value out of range' : 'invalid syntax';
      throw new RunError(1, `Error: invalid port (${port}): strconv.ParseUint: parsing ${goQuote(port)}: ${why}`);
    }
    // The key is looked up as typed: "080" is not "80/tcp" (the CLI does not normalise it either).
    const frontends = Object.hasOwn(map, `${port}/${proto}`) ? map[`${port}/${proto}`] : null;
    if (!frontends || frontends.length === 0) throw new RunError(1, `Error: No public port '${filter}' published for ${container}`);
    for (const f of frontends) out.push(joinHostPort(f.HostIp, f.HostPort));
  } else {
    for (const [from, frontends] of Object.entries(map)) {
      for (const f of frontends ?? []) out.push(`${from} -> ${joinHostPort(f.HostIp, f.HostPort)}`);
    }
  }
  return out.sort((x, y) => (naturalLess(x, y) ? -1 : naturalLess(y, x) ? 1 : 0));
}
// #endregion port-command
