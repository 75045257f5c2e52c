// Which subnet a new network gets when the user names none. Docker takes
// them from its "default address pools" (moby's ipamutils): the fifteen
// /16s 172.17.0.0 … 172.31.0.0, then 192.168.0.0/16 cut into /20s
// (192.168.0.0/20, 192.168.16.0/20 … 192.168.240.0/20). The default
// bridge takes the first one that overlaps neither the host's on-link
// routes (a LAN that happens to be 172.17.x) nor its nameservers; each
// user-defined network takes the next one that neither another network
// nor the host uses. Overlapping the host's own subnet
// would make that LAN unreachable: two routes for the same addresses.
import fs from 'node:fs';
import { ipQuery } from './host-commands.js';
import { overlaps, parseCidr, parseSubnet, intToIp, type Cidr } from './ipam.js';
import { RunError } from '../core/pipeline.js';

// #region default-pools
/** Docker's local-scope default address pools, in the order it tries them. */
export const DEFAULT_POOLS: string[] = [
  ...Array.from({ length: 15 }, (_, i) => `172.${17 + i}.0.0/16`),
  ...Array.from({ length: 16 }, (_, i) => `192.168.${i * 16}.0/20`),
];

/**
 * The first default pool that overlaps none of `taken` (CIDRs: other
 * networks' subnets, the host's routes). Pure: the caller says what is taken.
 */
export function pickSubnet(taken: string[]): string {
  const used: Cidr[] = taken.map((t) => parseCidr(t));
  for (const candidate of DEFAULT_POOLS) {
    const c = parseSubnet(candidate);
    if (!used.some((u) => overlaps(c, u))) return candidate;
  }
  // moby's words, then what to do about it.
  throw new RunError(
    1,
    'Error response from daemon: could not find an available, non-overlapping IPv4 address pool among the defaults to assign to the network' +
      ' (remove unused networks with `dockling network prune`, or give one with --subnet)',
  );
}
// #endregion default-pools

/** A subnet's gateway as Docker picks it: the first address after the network's own. */
export function gatewayOf(subnet: string): string {
  return intToIp(parseSubnet(subnet).base + 1);
}

// #region host-reserved
/**
 * The ranges the host already uses, as CIDRs, the two heuristics of
 * moby's netutils.InferReservedNetworks (Docker 23 and later):
 *
 * - its ON-LINK routes (`ip -4 route show scope link`): the subnets the
 *   host is itself part of, as its interfaces' addresses bring them
 *   ("10.0.2.0/24 dev eth0 proto kernel scope link"). Routes through a
 *   gateway are not counted: a VPN's broad "10.0.0.0/8 via …" or
 *   OpenVPN's 0.0.0.0/1 + 128.0.0.0/1 say little about which addresses
 *   are really in use, and counting them left no pool free at all;
 * - its nameservers (/etc/resolv.conf), each as a /32: a bridge over the
 *   resolver's address would swallow every DNS query.
 *
 * `skipDevices` leaves out dockling's own bridges, whose ranges are
 * dockling's networks and are counted as those.
 */
export function hostRoutes(skipDevices: (dev: string) => boolean = () => false): string[] {
  const out: string[] = [];
  for (const line of safeQuery(['-4', 'route', 'show', 'scope', 'link'])) {
    // "172.17.0.0/16 dev dockling0 proto kernel scope link src 172.17.0.1"
    const words = line.trim().split(/\s+/);
    const dest = words[0];
    if (!/^\d+\.\d+\.\d+\.\d+(\/\d+)?$/.test(dest) || dest.startsWith('0.0.0.0')) continue;
    const at = words.indexOf('dev');
    if (at >= 0 && skipDevices(words[at + 1])) continue;
    out.push(dest.includes('/') ? dest : `${dest}/32`);
  }
  for (const ns of nameservers()) out.push(`${ns}/32`);
  return out;
}
// #endregion host-reserved

/**
 * The IPv4 nameservers the host's resolver uses. With systemd-resolved,
 * /etc/resolv.conf names only its stub (127.0.0.53); the servers it
 * forwards to are in /run/systemd/resolve/resolv.conf, as moby reads them.
 */
function nameservers(): string[] {
  const read = (f: string) => {
    try {
      return [...fs.readFileSync(f, 'utf8').matchAll(/^\s*nameserver\s+(\d+\.\d+\.\d+\.\d+)\s*$/gm)].map((m) => m[1]);
    } catch {
      return []; // no such file: nothing to keep clear of
    }
  };
  const etc = read('/etc/resolv.conf');
  const upstream = etc.length > 0 && etc.every((a) => a.startsWith('127.')) ? read('/run/systemd/resolve/resolv.conf') : [];
  return [...etc, ...upstream].filter((a) => !a.startsWith('127.'));
}

function safeQuery(argv: string[]): string[] {
  try {
    return ipQuery(argv).split('\n').filter(Boolean);
  } catch {
    return []; // no iproute2: nothing known to avoid (the bridge set-up will say what is missing)
  }
}

/** Is this device one of dockling's bridges? */
export const isDocklingBridge = (dev: string) => dev === 'dockling0' || /^br-[0-9a-f]{12}$/.test(dev);

/** pickSubnet with the host's on-link routes and nameservers added to what the caller already counts as taken. */
export function pickSubnetOnHost(networkSubnets: string[]): string {
  return pickSubnet([...networkSubnets, ...hostRoutes(isDocklingBridge)]);
}
