// A container's endpoint on a bridge network: a veth pair, one end in the
// container's network namespace named eth0 (eth1… for more networks), with
// its address, MAC and default route; the other end a port of the bridge.
//
// What is made is written down first (network.json in the container's
// directory, before each step), so that whoever cleans up after a killed
// CLI (the reaper), or after a detached container's end (its monitor, via
// `dockling network release`), undoes exactly what was made, no more.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../core/files.js';
import { HostCommandError, ip, ipBatch, iptables, sysctl } from './host-commands.js';
import { EMBEDDED_DNS } from './etc-files.js';
import type { PublishedPort } from './ports.js';

/** One endpoint as made, in the container's network.json. */
export interface MadeEndpoint {
  network: string; //   the network's ID
  name: string; //      the network's name
  bridge: string; //    its bridge device
  subnet: string;
  gateway: string;
  veth: string; //      the host end's name
  ifname: string; //    the container end's name (eth0, eth1…)
  address: string; //   the container's IPv4 address on it
  ports: PublishedPort[];
}

const stateFile = (dir: string) => path.join(dir, 'network.json');

export function readMade(dir: string): MadeEndpoint[] {
  try {
    return JSON.parse(fs.readFileSync(stateFile(dir), 'utf8')) as MadeEndpoint[];
  } catch {
    return []; // nothing made (or not yet): nothing to undo
  }
}

export function writeMade(dir: string, made: MadeEndpoint[]): void {
  if (made.length === 0) fs.rmSync(stateFile(dir), { force: true });
  else writeFileAtomic(stateFile(dir), JSON.stringify(made));
}

// #region mac-address
/**
 * Docker's MAC for an address: 02:42 (a locally administered, unicast
 * prefix), then the four bytes of the IPv4 address. 172.17.0.2 is
 * 02:42:ac:11:00:02, so a MAC seen in a packet capture names its container.
 */
export function macOf(address: string): string {
  return ['02', '42', ...address.split('.').map((b) => Number(b).toString(16).padStart(2, '0'))].join(':');
}
// #endregion mac-address

/** A host-side name as Docker's: "veth" and 7 hex digits (IFNAMSIZ leaves 15 characters). */
export const newVethName = () => 'veth' + crypto.randomBytes(4).toString('hex').slice(0, 7);

const prefixOf = (subnet: string) => Number(subnet.split('/')[1]);

// #region plug-veth
/**
 * Plug the container into the bridge. The pair is made in one step with
 * its container end already inside the container's namespace (the kernel
 * moves it there as it creates it, named eth0), so no interface of the
 * container's ever appears in the host's list. Then the host end joins
 * the bridge, and inside the container (nsenter --net, the host's `ip`):
 * the address, the link up, and the default route through the gateway.
 */
export function plugVeth(pid: number, ep: MadeEndpoint, mtu: number): void {
  ip(['link', 'add', ep.veth, 'mtu', String(mtu), 'type', 'veth', 'peer', 'name', ep.ifname, 'mtu', String(mtu), 'address', macOf(ep.address), 'netns', String(pid)]);
  ip(['link', 'set', ep.veth, 'master', ep.bridge, 'up']);
  const inside = [
    ['addr', 'add', `${ep.address}/${prefixOf(ep.subnet)}`, 'dev', ep.ifname],
    ['link', 'set', ep.ifname, 'up'],
  ];
  // The first network gives the default route (Docker: the endpoint that
  // provides the gateway); later ones only their own subnet.
  if (ep.ifname === 'eth0') inside.push(['route', 'add', 'default', 'via', ep.gateway]);
  ipBatch(inside, pid);
}
// #endregion plug-veth

/** Take the host end away (the container end goes with it: a veth is a pair). Gone already is fine. */
export function unplugVeth(veth: string): void {
  try {
    ip(['link', 'del', veth]);
  } catch (e) {
    // The container's namespace died with its last process and took the
    // pair with it: nothing left to do.
    if (!(e instanceof HostCommandError && /Cannot find device|does not exist/.test(e.stderr))) throw e;
  }
}

// #region dns-redirect
/**
 * Inside the container, 127.0.0.11:53 leads to the embedded DNS server,
 * which listens on the network's gateway (on the host's side of the
 * bridge). Docker's server answers in the container's own namespace; ours
 * is one process for every container, so the container's netfilter
 * rewrites the address: DNAT 127.0.0.11:53 to GATEWAY:53 as the packet
 * leaves, and SNAT it to the container's own address so the reply comes
 * back through eth0 (and conntrack rewrites it back into 127.0.0.11's).
 * route_localnet lets a packet with a 127.x source leave eth0 at all: the
 * kernel drops those as martians by default.
 */
export function redirectDns(pid: number, ep: MadeEndpoint): void {
  sysctl(`net.ipv4.conf.${ep.ifname}.route_localnet`, '1', pid);
  for (const proto of ['udp', 'tcp']) {
    iptables(['-t', 'nat', '-A', 'OUTPUT', '-d', `${EMBEDDED_DNS}/32`, '-p', proto, '--dport', '53', '-j', 'DNAT', '--to-destination', `${ep.gateway}:53`], pid);
    iptables(['-t', 'nat', '-A', 'POSTROUTING', '-d', `${ep.gateway}/32`, '-p', proto, '--dport', '53', '-j', 'SNAT', '--to-source', ep.address], pid);
  }
}
// #endregion dns-redirect
