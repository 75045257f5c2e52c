// What the embedded DNS knows: the names of the running containers on each
// user-defined network, read from the container store at query time.
//
// Docker keeps these records in dockerd's memory (libnetwork's svcRecords,
// one table per network). dockling has no daemon, so the store is the one
// source of truth: a container's config.v2.json says, for each network it is
// on, its address there and the names it answers to
// (NetworkSettings.Networks[<network>].DNSNames).
import fs from 'node:fs';
import path from 'node:path';
import { alive, isRunning, listContainers, type ContainerConfig } from '../../core/containers.js';
import { networksDir, type EndpointSettings, type NetworkRecord } from '../model.js';

/** Docker's built-in networks: no embedded DNS on them (the default bridge gets /etc/hosts only). */
const BUILTIN = new Set(['bridge', 'host', 'none']);

/** One container's endpoint on one user-defined network. */
export interface DnsEndpoint {
  network: string; //  the network's name ("labnet")
  gateway: string; //  its gateway, where the server listens for it
  ip: string; //       the container's address on it
  names: string[]; //  what it answers to, in Docker's order (the first one names its PTR record)
  containerId: string;
}

const endpointsOf = (c: ContainerConfig): Record<string, EndpointSettings> =>
  (c as ContainerConfig & { NetworkSettings?: { Networks?: Record<string, EndpointSettings> } }).NetworkSettings?.Networks ?? {};

// #region dns-names
/**
 * The names an endpoint answers to. Docker (daemon/container_operations.go,
 * buildEndpointDNSNames) stores them as DNSNames: the container's name, its
 * aliases on that network, its short ID, and its hostname when one was set.
 * Older records without DNSNames get the same list made from their fields.
 */
export function endpointNames(c: ContainerConfig, ep: EndpointSettings): string[] {
  if (ep.DNSNames && ep.DNSNames.length > 0) return ep.DNSNames;
  const names = [c.Name.replace(/^\//, ''), ...(ep.Aliases ?? []), c.ID.slice(0, 12)];
  return [...new Set(names.filter((n) => n !== ''))];
}

/** The endpoints of the running containers on user-defined networks. */
export function runningEndpoints(stateRoot: string): DnsEndpoint[] {
  const out: DnsEndpoint[] = [];
  for (const c of listContainers(stateRoot)) {
    if (!isRunning(c)) continue; // as Docker: an endpoint's records exist while its container runs
    for (const [network, ep] of Object.entries(endpointsOf(c))) {
      if (BUILTIN.has(network) || !ep?.IPAddress) continue;
      out.push({ network, gateway: ep.Gateway, ip: ep.IPAddress, names: endpointNames(c, ep), containerId: c.ID });
    }
  }
  return out;
}
// #endregion dns-names

/**
 * Does any container need the DNS server? One running with an endpoint on a
 * user-defined network, or one being started by a live CLI (state "created"
 * while its MonitorPid, the CLI, is alive: `start` writes that before the
 * container runs), so that the server started for it is not stopped under it.
 */
export function dnsNeeded(stateRoot: string): boolean {
  return listContainers(stateRoot).some((c) => {
    const starting = c.State.Status === 'created' && alive(c.MonitorPid);
    if (!isRunning(c) && !starting) return false;
    return Object.entries(endpointsOf(c)).some(([network, ep]) => !BUILTIN.has(network) && !!ep);
  });
}

/** The gateways of the user-defined bridge networks that exist (network/networks/*.json). */
export function networkGateways(stateRoot: string): Map<string, string> {
  const byGateway = new Map<string, string>();
  let files: string[];
  try {
    files = fs.readdirSync(networksDir(stateRoot));
  } catch {
    return byGateway; // no network made yet
  }
  for (const f of files) {
    if (!f.endsWith('.json')) continue;
    try {
      const n = JSON.parse(fs.readFileSync(path.join(networksDir(stateRoot), f), 'utf8')) as NetworkRecord;
      if (BUILTIN.has(n.Name)) continue;
      for (const cfg of n.IPAM?.Config ?? []) if (cfg.Gateway) byGateway.set(cfg.Gateway, n.Name);
    } catch {
      /* being written, or not ours: skip it this time */
    }
  }
  return byGateway;
}

// #region dns-resolve
/**
 * The addresses for a name, as Docker's resolver finds them
 * (libnetwork Sandbox.ResolveName): case-insensitive, trailing dot ignored;
 * "a.b.c" is tried as the name "a.b.c" on every network the asking container
 * is on, then as "a.b" on network "c", then "a" on network "b.c". The first
 * network that knows the name answers (with every address that has it, as
 * several containers may share an alias). null: not a container's name, so
 * the question goes to the upstream resolvers.
 */
export function resolveName(endpoints: DnsEndpoint[], networks: string[], qname: string): string[] | null {
  const name = qname.replace(/\.$/, '').toLowerCase();
  const tries: [string, string | null][] = [[name, null]];
  for (let i = name.lastIndexOf('.'); i > 0; i = name.lastIndexOf('.', i - 1)) tries.push([name.slice(0, i), name.slice(i + 1)]);
  for (const [want, inNetwork] of tries) {
    for (const network of networks) {
      if (inNetwork !== null && inNetwork !== network.toLowerCase()) continue;
      const ips = endpoints.filter((e) => e.network === network && e.names.some((n) => n.toLowerCase() === want)).map((e) => e.ip);
      if (ips.length > 0) return [...new Set(ips)];
    }
  }
  return null;
}

/**
 * The name for an address (a PTR question "2.0.18.172.in-addr.arpa"), as
 * Docker answers it: the endpoint's first name, then its network's,
 * "web.labnet". null: not a container's address (forwarded).
 */
export function resolveAddress(endpoints: DnsEndpoint[], networks: string[], qname: string): string | null {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.in-addr\.arpa\.?$/i.exec(qname);
  if (!m) return null;
  const ip = [m[4], m[3], m[2], m[1]].map(Number).join('.');
  for (const network of networks) {
    const e = endpoints.find((x) => x.network === network && x.ip === ip);
    if (e) return `${e.names[0]}.${network}`;
  }
  return null;
}
// #endregion dns-resolve

/**
 * The networks whose names a query answers from: every user-defined network
 * of the container that asked (known by its source address on `network`,
 * the one the query came in on), that one first; only `network` when the
 * sender is not one of its containers.
 */
export function networksFor(endpoints: DnsEndpoint[], network: string, sourceIp: string): string[] {
  const asker = endpoints.find((e) => e.network === network && e.ip === sourceIp);
  if (!asker) return [network];
  const others = endpoints.filter((e) => e.containerId === asker.containerId && e.network !== network).map((e) => e.network);
  return [network, ...new Set(others)];
}
