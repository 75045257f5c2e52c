// A bridge network's device on the host: a Linux bridge (a software
// switch) named dockling0 for the default network, br-<12 hex of the ID>
// for the user's own, holding the gateway address. The containers' veth
// ends are plugged into it (the lead's veth set-up); the host reaches the
// containers through the route the gateway address brings with it
// ("172.17.0.0/16 dev dockling0 proto kernel scope link").
//
// Every step is an `ip` command through host-commands.ts, so `--trace`
// shows the commands a learner could type to build the same by hand.
import crypto from 'node:crypto';
import { HostCommandError, ip, ipQuery } from './host-commands.js';
import { DEFAULT_BRIDGE, type NetworkRecord } from './model.js';
import { parseSubnet } from './ipam.js';

/** The option that names a bridge network's device, as Docker's bridge driver reads it. */
export const BRIDGE_NAME_OPTION = 'com.docker.network.bridge.name';

/**
 * A bridge network's device: the name given with
 * `-o com.docker.network.bridge.name=…` (the default bridge's is dockling0),
 * else br- and the first 12 hex digits of the network's ID, as Docker names
 * them (an interface name holds at most 15 characters).
 */
export function bridgeDevice(net: NetworkRecord): string {
  return net.Options[BRIDGE_NAME_OPTION] || (net.Name === 'bridge' ? DEFAULT_BRIDGE : `br-${net.Id.slice(0, 12)}`);
}

/** Is there a network device of this name (in this process's network namespace)? */
export function bridgeExists(name: string): boolean {
  try {
    ipQuery(['-o', 'link', 'show', 'dev', name]);
    return true;
  } catch {
    return false;
  }
}

/**
 * The MTU of the host's uplink (the device of its default route), which
 * the bridge takes so that a container's full-size packet fits the wire
 * it leaves by; 1500 (Ethernet's) when there is no default route. Read
 * through `ip`, not /sys/class/net: sysfs shows the network namespace it
 * was mounted in, which need not be this process's.
 */
export function uplinkMtu(): number {
  try {
    const route = ipQuery(['-4', 'route', 'show', 'default']);
    const dev = /\bdev\s+(\S+)/.exec(route)?.[1];
    if (!dev) return 1500;
    const link = ipQuery(['-o', 'link', 'show', 'dev', dev]);
    const mtu = Number(/\bmtu\s+(\d+)/.exec(link)?.[1]);
    return mtu > 0 ? mtu : 1500;
  } catch {
    return 1500;
  }
}

/** Run an `ip` change that another dockling process may have made already ("File exists"). */
function idempotent(argv: string[]): void {
  try {
    ip(argv);
  } catch (e) {
    if (e instanceof HostCommandError && /File exists/i.test(e.stderr)) return;
    throw e;
  }
}

// #region set-up-bridge
/**
 * Make the network's bridge as it should be, whatever part of it is there
 * already (made by an earlier run, or by another `run` this very moment):
 *
 *   ip link add NAME mtu MTU type bridge    the switch
 *   ip addr add GATEWAY/PREFIX dev NAME     the host's port on it; the kernel adds the subnet's route
 *   ip link set NAME up
 *
 * Each step is done only if it is missing, and "File exists" from a racing
 * process counts as done. Returns the device's name.
 */
export function setUpBridge(net: NetworkRecord): string {
  const name = bridgeDevice(net);
  const cfg = net.IPAM.Config[0];
  if (net.Driver !== 'bridge' || !cfg) throw new Error(`network ${net.Name} is not a bridge network with a subnet: it has no bridge to set up`);
  const prefix = parseSubnet(cfg.Subnet).prefix;
  if (!bridgeExists(name)) {
    const mtu = Number(net.Options['com.docker.network.driver.mtu']) || uplinkMtu();
    // A MAC of its own, as Docker gives docker0: a bridge without one takes
    // the lowest of its ports' (all zeros while it has none), and changes it
    // as containers come and go; the containers' ARP caches would go stale.
    const mac = ['02', '42', ...crypto.randomBytes(4).toString('hex').match(/../g)!].join(':');
    idempotent(['link', 'add', name, 'address', mac, 'mtu', String(mtu), 'type', 'bridge']);
  }
  const addrs = ipQuery(['-4', '-o', 'addr', 'show', 'dev', name]);
  if (!addrs.includes(` ${cfg.Gateway}/${prefix} `)) idempotent(['addr', 'add', `${cfg.Gateway}/${prefix}`, 'dev', name]);
  const link = ipQuery(['-o', 'link', 'show', 'dev', name]);
  // The flags in "<BROADCAST,MULTICAST,UP,LOWER_UP>": UP is the administrative state we set.
  if (!/[<,]UP[,>]/.test(link)) ip(['link', 'set', name, 'up']);
  return name;
}
// #endregion set-up-bridge

/** Remove a network's bridge (its address and route go with it); nothing if it is not there. */
export function removeBridge(net: NetworkRecord): void {
  const name = bridgeDevice(net);
  if (!bridgeExists(name)) return;
  try {
    ip(['link', 'del', name]);
  } catch (e) {
    // Removed by another process between the check and here: the goal holds.
    if (e instanceof HostCommandError && /Cannot find device/i.test(e.stderr)) return;
    throw e;
  }
}
