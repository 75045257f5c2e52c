// A container's NetworkSettings, as `docker inspect` shows them, made from
// what the network stage made (endpoint.ts); and the release of it all.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { listContainers, isRunning, readConfig, updateConfig } from '../core/containers.js';
import { writeFileAtomic } from '../core/files.js';
import { dnsDir, type EndpointSettings, type NetworkRecord, type PortMap } from './model.js';
import { macOf, readMade, type MadeEndpoint } from './endpoint.js';
import { leaveNetworks } from './join.js';
import { stopDnsServerIfIdle } from './dns/control.js';
import { findNetwork as getNetworkOrNull } from './store.js';
import { toPortMap } from './ports.js';
import type { Command } from '../core/layer.js';
import { RunError } from '../core/pipeline.js';

const hex64 = () => crypto.randomBytes(32).toString('hex');

/** One network's entry in NetworkSettings.Networks, for an endpoint (or none: a stopped container). */
export function endpointSettings(net: NetworkRecord | undefined, ep: MadeEndpoint | undefined, aliases: string[], dnsNames: string[] | null): EndpointSettings {
  return {
    IPAMConfig: null, Links: null, Aliases: aliases.length ? aliases : null,
    MacAddress: ep ? macOf(ep.address) : '', DriverOpts: null,
    NetworkID: net?.Id ?? '', EndpointID: ep ? hex64() : '',
    Gateway: ep?.gateway ?? '', IPAddress: ep?.address ?? '', IPPrefixLen: ep ? Number(ep.subnet.split('/')[1]) : 0,
    IPv6Gateway: '', GlobalIPv6Address: '', GlobalIPv6PrefixLen: 0,
    DNSNames: dnsNames,
  };
}

const EMPTY = {
  Bridge: '', SandboxID: '', HairpinMode: false, LinkLocalIPv6Address: '', LinkLocalIPv6PrefixLen: 0, Ports: {} as PortMap,
  SandboxKey: '', SecondaryIPAddresses: null, SecondaryIPv6Addresses: null, EndpointID: '', Gateway: '',
  GlobalIPv6Address: '', GlobalIPv6PrefixLen: 0, IPAddress: '', IPPrefixLen: 0, IPv6Gateway: '', MacAddress: '',
};

// #region network-settings
/**
 * A running container's NetworkSettings. The top-level IPAddress, Gateway
 * and MacAddress are Docker's old fields: filled in for the default bridge
 * only, as Docker does; every network's own are under Networks.
 */
export function settingsOf(id: string, pid: number, net: NetworkRecord, ep: MadeEndpoint, aliases: string[], name: string, exposed: string[]): Record<string, unknown> {
  const user = net.Name !== 'bridge';
  const ports = toPortMap(ep.ports, exposed);
  const e = endpointSettings(net, ep, aliases, user ? [name, ...aliases, id.slice(0, 12)] : null);
  return {
    ...EMPTY,
    SandboxID: hex64(), SandboxKey: `/proc/${pid}/ns/net`, Ports: ports,
    ...(user ? {} : { EndpointID: e.EndpointID, Gateway: e.Gateway, IPAddress: e.IPAddress, IPPrefixLen: e.IPPrefixLen, MacAddress: e.MacAddress }),
    Networks: { [net.Name]: e },
  };
}
// #endregion network-settings

/** A container that is not running: its networks named, nothing of them held (Docker's look of a stopped container). */
export function stoppedSettings(stateRoot: string, net: NetworkRecord | undefined, networkMode: string): Record<string, unknown> {
  const name = net?.Name ?? (networkMode.startsWith('container:') ? '' : networkMode === 'default' ? 'bridge' : networkMode);
  const known = net ?? (name ? getNetworkOrNull(stateRoot, name) ?? undefined : undefined);
  return { ...EMPTY, Networks: name ? { [name]: endpointSettings(known, undefined, [], null) } : {} };
}

/** Where the embedded DNS server forwards what it does not know (dns/control.ts reads it). */
export function writeUpstream(stateRoot: string, servers: string[]): void {
  fs.mkdirSync(dnsDir(stateRoot), { recursive: true });
  writeFileAtomic(path.join(dnsDir(stateRoot), 'upstream'), servers.map((s) => s + '\n').join(''));
}

/** Is any running container, other than `except`, on a user-defined network? Then the DNS server stays. */
export function dnsNeeded(stateRoot: string, except: string): boolean {
  return listContainers(stateRoot).some((c) => c.ID !== except && isRunning(c) && readMade(path.join(stateRoot, 'containers', c.ID)).some((e) => e.name !== 'bridge'));
}

// #region release-container
/**
 * Free everything the container holds of the network: its endpoints
 * (rules, veths, leases: join.ts), the DNS server if nobody else needs it,
 * and the addresses in its record (a stopped container shows its networks
 * but holds none of them). Used by the run's cleanup, the monitor's release
 * (`network release`), and the reaper: it works from the files alone.
 */
export async function releaseContainerAsync(stateRoot: string, dir: string, id: string): Promise<void> {
  const left = (() => {
    try {
      return leaveNetworks(stateRoot, dir, id);
    } finally {
      clearSettings(dir, id);
    }
  })();
  if (left.some((e) => e.name !== 'bridge')) await stopDnsServerIfIdle(stateRoot, () => dnsNeeded(stateRoot, id));
}

export function releaseContainer(stateRoot: string, dir: string, id: string): void {
  void releaseContainerAsync(stateRoot, dir, id);
}
// #endregion release-container

function clearSettings(dir: string, id: string): void {
  const c = readConfig(dir);
  if (!c) return;
  const s = (c as unknown as { NetworkSettings?: { Networks?: Record<string, EndpointSettings> } }).NetworkSettings;
  if (!s?.Networks) return;
  updateConfig({ id, name: c.Name.slice(1), dir }, (x) => {
    const networks = Object.fromEntries(Object.entries(s.Networks!).map(([n, e]) => [n, { ...e, EndpointID: '', Gateway: '', IPAddress: '', IPPrefixLen: 0, MacAddress: '', DNSNames: null }]));
    (x as unknown as Record<string, unknown>).NetworkSettings = { ...EMPTY, Networks: networks };
  });
}

/**
 * `dockling network release ID`: what a detached container's monitor runs
 * when the container ends (its release file's "run" step). Not for users:
 * hidden from help.
 */
export const releaseCommand: Command = {
  name: 'network release',
  hidden: true,
  summary: 'Free the network resources of an ended container (run by its monitor)',
  usage: 'network release CONTAINER-ID',
  flags: [],
  minArgs: 1,
  maxArgs: 1,
  async run(inv) {
    const id = inv.args[0];
    if (!/^[0-9a-f]{64}$/.test(id)) throw new RunError(125, `network release: "${id}" is not a full container ID`);
    await releaseContainerAsync(inv.stateRoot, path.join(inv.stateRoot, 'containers', id), id);
    return 0;
  },
};
