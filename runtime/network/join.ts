// Joining a container to a bridge network, and leaving it: the steps in
// the order they must happen, each written down before it is taken
// (endpoint.ts, network.json) so that an interrupted join is undone whole.
import fs from 'node:fs';
import path from 'node:path';
import { withLock } from '../core/files.js';
import { RunError } from '../core/pipeline.js';
import { networkRoot, type NetworkRecord } from './model.js';
import { allocate, release as releaseLease } from './ipam.js';
import { bridgeDevice, setUpBridge, uplinkMtu } from './bridge.js';
import { listNetworks } from './store.js';
import { addPortRules, enableForwarding, ensureBaseRules, ensureNetworkRules, removePortRules, type BridgeNet } from './netfilter.js';
import type { PublishedPort } from './ports.js';
import { newVethName, plugVeth, readMade, redirectDns, unplugVeth, writeMade, type MadeEndpoint } from './endpoint.js';

/** The bridge device of a bridge network. */
export const bridgeOf = (net: NetworkRecord) => bridgeDevice(net);

export function bridgeNet(net: NetworkRecord): BridgeNet {
  const cfg = net.IPAM.Config[0];
  return { id: net.Id, name: net.Name, bridge: bridgeOf(net), subnet: cfg.Subnet, gateway: cfg.Gateway, internal: net.Internal };
}

// #region network-up
/**
 * The network's side, made once and kept (Docker keeps docker0 and its
 * rules for as long as the daemon runs): the bridge with the gateway's
 * address, forwarding on, dockling's chains, and this bridge's NAT and
 * isolation rules. Under a lock, as two `run`s may both find it missing.
 */
export function networkUp(stateRoot: string, net: NetworkRecord): void {
  fs.mkdirSync(networkRoot(stateRoot), { recursive: true });
  withLock(path.join(networkRoot(stateRoot), 'setup.lock'), () => {
    setUpBridge(net);
    enableForwarding();
    ensureBaseRules();
    const others = listNetworks(stateRoot).filter((n) => n.Driver === 'bridge' && n.Id !== net.Id).map(bridgeNet);
    ensureNetworkRules(bridgeNet(net), others);
  });
}
// #endregion network-up

export interface JoinRequest {
  pid: number; //          the container's init, whose network namespace this is
  containerId: string;
  dir: string; //          the container's state directory
  net: NetworkRecord;
  wantedIp?: string; //    --ip
  /** the host ports to publish, picked once the container's address is known (publish.ts) */
  ports: (address: string) => Promise<PublishedPort[]>;
  dns: boolean; //         redirect 127.0.0.11 to this network's DNS server
}

// #region join-network
/**
 * The container's side: an address from IPAM, the published ports' rules,
 * the veth pair, and on a user-defined network the way to its DNS server.
 * Returns what was made. Any failure leaves network.json saying what to
 * undo, and the caller's cleanup undoes it (leaveNetworks).
 */
export async function joinNetwork(stateRoot: string, req: JoinRequest): Promise<MadeEndpoint> {
  networkUp(stateRoot, req.net);
  const made = readMade(req.dir);
  const b = bridgeNet(req.net);
  const ep: MadeEndpoint = {
    network: b.id, name: b.name, bridge: b.bridge, subnet: b.subnet, gateway: b.gateway,
    veth: newVethName(), ifname: firstFreeIfname(made), address: '', ports: [],
  };
  // Written down before the lease is taken: a crash after it frees the
  // lease by the container's ID (ipam.ts), and a veth that was never made
  // is "gone already".
  writeMade(req.dir, [...made, ep]);
  ep.address = allocate(stateRoot, req.net, req.containerId, req.wantedIp);
  writeMade(req.dir, [...made, ep]);
  ep.ports = await req.ports(ep.address);
  writeMade(req.dir, [...made, ep]);
  addPortRules(b, ep.address, ep.ports);
  plugVeth(req.pid, ep, uplinkMtu());
  if (req.dns) redirectDns(req.pid, ep);
  return ep;
}
// #endregion join-network

/** eth0 for the first network, then the lowest ethN not taken (after a disconnect, a gap is reused). */
function firstFreeIfname(made: MadeEndpoint[]): string {
  const taken = new Set(made.map((e) => e.ifname));
  let n = 0;
  while (taken.has(`eth${n}`)) n++;
  return `eth${n}`;
}

// #region leave-networks
/**
 * Undo what joinNetwork made, from network.json alone (the reaper and the
 * monitor's release have nothing else): the port rules, the veth, the
 * lease. Each step tolerates its thing being gone already, and a failure
 * of one does not stop the others. `only` leaves just that network
 * (`network disconnect`).
 */
export function leaveNetworks(stateRoot: string, dir: string, containerId: string, only?: string): MadeEndpoint[] {
  const made = readMade(dir);
  const leaving = made.filter((e) => only === undefined || e.network === only);
  const errors: string[] = [];
  for (const ep of leaving) {
    const b: BridgeNet = { id: ep.network, name: ep.name, bridge: ep.bridge, subnet: ep.subnet, gateway: ep.gateway };
    const steps: [string, () => void][] = [
      ['port rules', () => ep.address && removePortRules(b, ep.address, ep.ports)],
      ['veth', () => unplugVeth(ep.veth)],
      ['lease', () => releaseLease(stateRoot, ep.network, containerId)],
    ];
    for (const [what, step] of steps) {
      try {
        step();
      } catch (e) {
        errors.push(`${what} on ${ep.name}: ${(e as Error).message}`);
      }
    }
  }
  writeMade(dir, made.filter((e) => !leaving.includes(e)));
  if (errors.length) throw new RunError(125, `leaving the network: ${errors.join('; ')}`);
  return leaving;
}
// #endregion leave-networks
