// Which subnet a new network gets when the user names none. Docker takes
// them from its "default address pools" (moby's ipamutils): the fifteen
// /16s 172.17.0.0 … 172.31.0.0, then 192.168.0.0/16 cut into /20s
// (192.168.0.0/20, 192.168.16.0/20 … 192.168.240.0/20). The default
// bridge takes the first one the host does not already reach through a
// route (a VPN, a LAN that happens to be 172.17.x); each user-defined
// network takes the next one that neither another network nor the host
// uses. Overlapping a host route would make that LAN unreachable: the
// bridge's more specific route would win for its addresses.
import { ipQuery } from './host-commands.js';
import { formatCidr, overlaps, parseCidr, parseSubnet, intToIp, type Cidr } from './ipam.js';
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

/**
 * The ranges the host already reaches, as CIDRs: the destinations of its
 * IPv4 routes (`ip -4 route show`; "default" is everything and is not
 * counted, else no pool would ever be free) and the subnets of the
 * addresses on its interfaces (`ip -4 -o addr show`), which have their
 * own routes but are read too in case a route was removed by hand.
 * `skipDevices` leaves out dockling's own bridges, whose ranges are
 * dockling's networks and are counted as those.
 */
export function hostRoutes(skipDevices: (dev: string) => boolean = () => false): string[] {
  const out: string[] = [];
  for (const line of safeQuery(['-4', 'route', 'show'])) {
    const words = line.trim().split(/\s+/);
    const dest = words[0];
    if (!dest || dest === 'default') continue;
    // "broadcast", "local", "unreachable"… come first in some tables' lines.
    const cidr = /^\d+\.\d+\.\d+\.\d+(\/\d+)?$/.test(dest) ? dest : words[1];
    const dev = words[words.indexOf('dev') + 1];
    if (!cidr || !/^\d+\.\d+\.\d+\.\d+(\/\d+)?$/.test(cidr) || (words.includes('dev') && skipDevices(dev))) continue;
    out.push(cidr.includes('/') ? cidr : `${cidr}/32`);
  }
  for (const line of safeQuery(['-4', '-o', 'addr', 'show'])) {
    // "2: eth0    inet 10.0.2.15/24 brd 10.0.2.255 scope global eth0 …"
    const m = /^\d+:\s+(\S+)\s+inet\s+(\d+\.\d+\.\d+\.\d+\/\d+)/.exec(line);
    if (!m || skipDevices(m[1]) || m[2].startsWith('127.')) continue;
    out.push(formatCidr(parseCidr(m[2])));
  }
  return out;
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

/** pickSubnet with the host's routes added to what the caller already counts as taken. */
export function pickSubnetOnHost(networkSubnets: string[]): string {
  return pickSubnet([...networkSubnets, ...hostRoutes(isDocklingBridge)]);
}
