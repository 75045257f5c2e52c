// Chapter 6's IP address management: which address each container gets on
// each network, kept in the state root so that every dockling process (a
// `run`, a `network connect`, the reaper) sees the same leases.
//
// Two parts. First IPv4 arithmetic: an address is a 32-bit number, a subnet
// "172.17.0.0/16" is a base and a prefix length, and everything else
// (contains, overlaps, the broadcast address) is masking. Then the leases:
// one JSON file per network, `{ "172.17.0.2": "<container id>", … }`,
// read and rewritten whole under that network's lock.
//
// Docker's daemon keeps the same thing in memory (libnetwork's bitmap: one
// bit per address of the pool) and serializes changes through its own
// goroutines. dockling has no daemon: the lock file is what keeps two
// concurrent `run`s from taking one address.
import fs from 'node:fs';
import path from 'node:path';
import { withLock, writeFileAtomic } from '../core/files.js';
import { containersDir } from '../core/containers.js';
import { RunError } from '../core/pipeline.js';
import { trace } from '../trace/trace.js';
import { ipamDir, networksDir, type NetworkRecord } from './model.js';

// ---------------------------------------------------------------------------
// IPv4 arithmetic
// ---------------------------------------------------------------------------

/** A malformed address or subnet, in words that say what is wrong. */
export class CidrError extends Error {}

/** An IPv4 subnet: its first address (host bits zero) and prefix length. */
export interface Cidr {
  base: number; //   uint32, host bits cleared
  prefix: number; // 0..32
}

// #region ipv4-math
/**
 * "172.17.0.2" as a 32-bit unsigned number. Strict, as Go's net.ParseIP is
 * (since Go 1.17): four decimal octets 0..255, no leading zeros (which some
 * C libraries would read as octal: 010 = 8), nothing else.
 */
export function ipToInt(s: string): number {
  const parts = s.split('.');
  if (parts.length !== 4) throw new CidrError(`invalid IPv4 address "${s}": expected four numbers separated by dots, like 172.17.0.2`);
  let n = 0;
  for (const p of parts) {
    if (!/^(0|[1-9]\d{0,2})$/.test(p) || Number(p) > 255) {
      throw new CidrError(`invalid IPv4 address "${s}": "${p}" is not a number from 0 to 255 (without leading zeros)`);
    }
    n = n * 256 + Number(p);
  }
  return n; // at most 2^32-1: a plain JavaScript number holds it exactly
}

/** A 32-bit number as dotted quad. */
export function intToIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

/** The netmask of a prefix length as a number: /16 -> 0xffff0000. */
const maskOf = (prefix: number) => (prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0);

/** How many addresses a subnet spans (2^(32-prefix)). */
export const sizeOf = (c: Cidr) => 2 ** (32 - c.prefix);

/** The last address of the subnet: on a LAN, its broadcast address. */
export const lastOf = (c: Cidr) => c.base + sizeOf(c) - 1;

/**
 * "ADDRESS/PREFIX" read as it is written. `hostBits` keeps the address's
 * host part: "172.17.0.1/16" is a gateway's address with its prefix, the
 * form `ip addr` prints; a subnet must have them all zero (parseSubnet).
 */
export function parseCidr(s: string): Cidr & { address: number } {
  const at = s.indexOf('/');
  if (at < 0) throw new CidrError(`invalid CIDR address "${s}": no prefix length; write it as ADDRESS/LENGTH, like 172.18.0.0/16`);
  const address = ipToInt(s.slice(0, at));
  const len = s.slice(at + 1);
  if (!/^(0|[1-9]\d?)$/.test(len) || Number(len) > 32) {
    throw new CidrError(`invalid CIDR address "${s}": the prefix length "${len}" must be a number from 0 to 32`);
  }
  const prefix = Number(len);
  return { address, base: (address & maskOf(prefix)) >>> 0, prefix };
}

/**
 * A subnet ("172.18.0.0/16"): a CIDR whose host bits are all zero.
 * "172.18.0.1/16" names an address in it, not the subnet, and is refused
 * with the subnet it probably meant.
 */
export function parseSubnet(s: string): Cidr {
  const c = parseCidr(s);
  if (c.address !== c.base) {
    throw new CidrError(`invalid subnet "${s}": its host bits are not zero; did you mean ${formatCidr(c)}?`);
  }
  return { base: c.base, prefix: c.prefix };
}

export const formatCidr = (c: Cidr) => `${intToIp(c.base)}/${c.prefix}`;

/** Is the address (a number) inside the subnet? */
export const contains = (c: Cidr, ip: number) => ((ip & maskOf(c.prefix)) >>> 0) === c.base;

/** Do two subnets share an address? (Two CIDR blocks either nest or are apart.) */
export const overlaps = (a: Cidr, b: Cidr) => contains(a, b.base) || contains(b, a.base);
// #endregion ipv4-math

// ---------------------------------------------------------------------------
// Leases
// ---------------------------------------------------------------------------

/** address -> container ID, as the lease file holds it */
export type Leases = Record<string, string>;

const leaseFile = (stateRoot: string, netId: string) => path.join(ipamDir(stateRoot), `${netId}.json`);
const lockOf = (stateRoot: string, netId: string) => path.join(ipamDir(stateRoot), `${netId}.lock`);

function readJSON<T>(file: string, empty: T): T {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return empty;
    throw e;
  }
}

/** A network's leases as they are now (read without the lock: a snapshot, for showing). */
export function readLeases(stateRoot: string, netId: string): Leases {
  return readJSON<Leases>(leaseFile(stateRoot, netId), {});
}

/** Read, change and write back one network's leases under its lock. */
function changeLeases<T>(stateRoot: string, netId: string, change: (leases: Leases) => T): T {
  fs.mkdirSync(ipamDir(stateRoot), { recursive: true, mode: 0o700 });
  return withLock(lockOf(stateRoot, netId), () => {
    const leases = readLeases(stateRoot, netId);
    const before = JSON.stringify(leases);
    const result = change(leases);
    if (JSON.stringify(leases) !== before) writeFileAtomic(leaseFile(stateRoot, netId), JSON.stringify(leases, null, 2) + '\n');
    return result;
  });
}

/** The name to show for a network in the trace: its name if its record is there, else its ID. */
function nameOf(stateRoot: string, netId: string): string {
  return readJSON<{ Name?: string }>(path.join(networksDir(stateRoot), `${netId}.json`), {}).Name ?? netId;
}

const emitLease = (network: string, address: string, action: 'take' | 'free') =>
  trace.emit(6, { op: 'lease', network, address, action });

/**
 * An IPAM failure, in the daemon's words: `docker run` prints it after
 * "Error response from daemon:" and exits 125. `detail` is the bare
 * message, for a caller that answers with another code (`network connect`: 1).
 */
export class IpamError extends RunError {
  constructor(readonly detail: string, options?: ErrorOptions) {
    super(125, `Error response from daemon: ${detail}`, options);
  }
}

/** The addresses a network may hand out, and the ones it never hands out. */
export interface Pool {
  subnet: Cidr;
  /** where dynamic addresses come from: IPRange if set, else the subnet */
  range: Cidr;
  gateway: number;
  reserved: Set<number>;
}

// #region reserved
/**
 * What a network's IPAM config allows. Never handed out: the subnet's own
 * address (it names the network), its last (the broadcast address, where
 * a packet reaches every host on the link), and the gateway (the bridge's
 * own address on the host). A /31 or /32 has no room for network and
 * broadcast addresses (RFC 3021), so there only the gateway is kept back.
 */
export function poolOf(net: NetworkRecord): Pool {
  const cfg = net.IPAM.Config[0];
  if (!cfg) throw new IpamError(`network ${net.Name} has no IPv4 subnet to take addresses from (driver "${net.Driver}")`);
  const subnet = parseSubnet(cfg.Subnet);
  const range = cfg.IPRange ? parseSubnet(cfg.IPRange) : subnet;
  const gateway = ipToInt(cfg.Gateway);
  const reserved = new Set([gateway]);
  if (subnet.prefix <= 30) {
    reserved.add(subnet.base);
    reserved.add(lastOf(subnet));
  }
  return { subnet, range, gateway, reserved };
}
// #endregion reserved

/** The predefined default bridge ("bridge"), where Docker refuses a chosen address. */
const isDefaultBridge = (net: NetworkRecord) => net.Options['com.docker.network.bridge.default_bridge'] === 'true';

/** Does this container still exist? A lease of one that does not is stale. */
const containerExists = (stateRoot: string, id: string) => fs.existsSync(path.join(containersDir(stateRoot), id));

// #region allocate
/**
 * Lease an address on `net` to a container, and return it ("172.17.0.2").
 *
 * Without `wanted`: the LOWEST free address of the range, as Docker hands
 * them to containers. libnetwork's bitmap can also search serially (from
 * where the last search stopped, so that a just-freed address rests before
 * it is reused), but only swarm's allocator asks for that; a local
 * container's endpoint asks for "any", which is the first free bit. So
 * `docker run --rm busybox ip addr` shows 172.17.0.2 every time on an
 * otherwise empty bridge, and so does dockling: an address is reused as
 * soon as it is released.
 *
 * With `wanted` (`--ip`): that address or an error. Docker allows it only
 * on user-defined networks, where it may lie outside --ip-range but not
 * outside the subnet.
 *
 * A container already holding an address here gets it back (a retried
 * step must not take a second one).
 */
export function allocate(stateRoot: string, net: NetworkRecord, containerId: string, wanted?: string): string {
  if (wanted !== undefined && isDefaultBridge(net)) {
    throw new IpamError('user specified IP address is supported on user defined networks only');
  }
  const pool = poolOf(net);
  let want: number | undefined;
  if (wanted !== undefined) {
    try {
      want = ipToInt(wanted);
    } catch (e) {
      throw new IpamError(`invalid IPv4 address: ${wanted}`, { cause: e });
    }
    if (!contains(pool.subnet, want)) {
      throw new IpamError(`Invalid address ${wanted}: It does not belong to any of this network's subnets (${formatCidr(pool.subnet)})`);
    }
  }
  return changeLeases(stateRoot, net.Id, (leases) => {
    // Leases of containers whose directory is gone (removed by a CLI that
    // was killed before it could release them) free their addresses now.
    for (const [address, holder] of Object.entries(leases)) {
      if (holder !== containerId && !containerExists(stateRoot, holder)) {
        delete leases[address];
        emitLease(net.Name, address, 'free');
      }
    }
    const mine = Object.entries(leases).find(([, holder]) => holder === containerId)?.[0];
    if (mine !== undefined && (want === undefined || intToIp(want) === mine)) return mine;

    const taken = (n: number) => pool.reserved.has(n) || Object.hasOwn(leases, intToIp(n));
    let chosen: number | undefined;
    if (want !== undefined) {
      if (taken(want)) {
        const why = want === pool.gateway ? ' (it is the gateway of this network)' : pool.reserved.has(want) ? ' (it is the network or broadcast address of this subnet)' : '';
        throw new IpamError(`Address already in use${why}`);
      }
      chosen = want;
    } else {
      chosen = firstFree(pool, taken);
      if (chosen === undefined) throw new IpamError(`no available IPv4 addresses on this network's address pools: ${net.Name} (${net.Id})`);
    }
    const address = intToIp(chosen);
    leases[address] = containerId;
    emitLease(net.Name, address, 'take');
    return address;
  });
}
// #endregion allocate

/** The lowest address of the pool's range that is not taken. */
export function firstFree(pool: Pool, taken: (n: number) => boolean): number | undefined {
  for (let n = pool.range.base; n <= lastOf(pool.range); n++) if (!taken(n)) return n;
  return undefined;
}

/** Free every address the container holds on one network. */
export function release(stateRoot: string, netId: string, containerId: string): void {
  if (!fs.existsSync(leaseFile(stateRoot, netId))) return; // nothing was ever leased there
  const name = nameOf(stateRoot, netId);
  changeLeases(stateRoot, netId, (leases) => {
    for (const [address, holder] of Object.entries(leases)) {
      if (holder !== containerId) continue;
      delete leases[address];
      emitLease(name, address, 'free');
    }
  });
}

/** Free the container's addresses on every network (rm, the reaper, the monitor's end). */
export function releaseAll(stateRoot: string, containerId: string): void {
  let files: string[];
  try {
    files = fs.readdirSync(ipamDir(stateRoot));
  } catch {
    return; // no ipam/ yet: nothing was leased
  }
  for (const f of files) if (f.endsWith('.json')) release(stateRoot, f.slice(0, -'.json'.length), containerId);
}

/** Remove a network's lease files (when the network itself is removed). */
export function dropNetworkLeases(stateRoot: string, netId: string): void {
  fs.rmSync(leaseFile(stateRoot, netId), { force: true });
}
