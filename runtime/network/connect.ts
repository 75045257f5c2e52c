// `network connect` and `network disconnect`: a running container gains or
// loses an interface live. The same steps as the network stage (join.ts),
// done to a container whose command already runs: a new veth pair appears
// in its namespace as eth1, eth2…; disconnecting takes it away again.
import path from 'node:path';
import type { Command } from '../core/layer.js';
import { RunError } from '../core/pipeline.js';
import { isRunning, NoSuchContainerError, resolveContainer, updateConfig, type ContainerConfig } from '../core/containers.js';
import { daemonError } from '../core/filters.js';
import { getNetwork, NoSuchNetworkError } from './store.js';
import { joinNetwork, leaveNetworks } from './join.js';
import { readMade } from './endpoint.js';
import { endpointSettings, dnsNeeded } from './settings.js';
import { ensureDnsServer, stopDnsServerIfIdle } from './dns/control.js';
import type { EndpointSettings } from './model.js';

type WithNetworks = ContainerConfig & { NetworkSettings?: { Networks?: Record<string, EndpointSettings> } };

/**
 * The network and the container named, or the daemon's refusal (exit 1):
 * "network NAME not found", "No such container: NAME", as dockerd answers
 * the client's POST /networks/NAME/connect.
 */
function networkAndContainer(stateRoot: string, netRef: string, ref: string) {
  try {
    return { net: getNetwork(stateRoot, netRef), c: resolveContainer(stateRoot, ref) as WithNetworks };
  } catch (e) {
    if (e instanceof NoSuchNetworkError || e instanceof NoSuchContainerError) throw daemonError(e.message, e);
    throw e;
  }
}

const modeOf = (c: ContainerConfig) => String(c.HostConfig?.NetworkMode ?? 'default');

export const connectCommand: Command = {
  name: 'network connect',
  summary: 'Connect a container to a network',
  usage: 'network connect [OPTIONS] NETWORK CONTAINER',
  flags: [
    { name: 'alias', kind: 'stringArray', usage: 'Add network-scoped alias for the container', valueName: 'strings' },
    { name: 'ip', kind: 'string', usage: 'IPv4 address (e.g., 172.30.100.104)' },
  ],
  minArgs: 2,
  maxArgs: 2,
  async run(inv) {
    const [netRef, ref] = inv.args;
    const { net, c } = networkAndContainer(inv.stateRoot, netRef, ref);
    const mode = modeOf(c);
    if (net.Driver === 'host' || mode === 'host') throw new RunError(1, 'container cannot be disconnected from host network or connected to host network');
    if (net.Driver === 'null' || mode === 'none') throw new RunError(1, 'container cannot be connected to multiple networks with one of the networks in private (none) mode');
    if (mode.startsWith('container:')) throw new RunError(1, 'conflicting options: container type network can\'t be used with other networks');
    if (!isRunning(c)) throw new RunError(1, `container ${c.ID} is not running: dockling connects running containers only (start it, then connect it)`);
    const dir = path.join(inv.stateRoot, 'containers', c.ID);
    if (readMade(dir).some((e) => e.network === net.Id)) throw new RunError(1, `endpoint with name ${c.Name.slice(1)} already exists in network ${net.Name}`);
    const user = net.Name !== 'bridge';
    const aliases = (inv.flags.get('alias') as string[] | undefined) ?? [];
    if (!user && aliases.length) throw new RunError(1, 'network-scoped alias is supported only for containers in user defined networks');
    const wanted = inv.flags.get('ip') as string | undefined;
    if (!user && wanted !== undefined) throw new RunError(1, 'user specified IP address is supported on user defined networks only');
    let ep;
    try {
      ep = await joinNetwork(inv.stateRoot, { pid: c.State.Pid, containerId: c.ID, dir, net, wantedIp: wanted, ports: async () => [], dns: false });
    } catch (e) {
      // Half-joined: take back what was made for this network only.
      try {
        leaveNetworks(inv.stateRoot, dir, c.ID, net.Id);
      } catch {
        /* the first error is the one to tell */
      }
      throw e instanceof RunError ? e : new RunError(1, (e as Error).message, { cause: e });
    }
    if (user) await ensureDnsServer(inv.stateRoot, [ep.gateway]);
    updateConfig({ id: c.ID, name: c.Name.slice(1), dir }, (x) => {
      const s = ((x as WithNetworks).NetworkSettings ??= {});
      s.Networks = { ...(s.Networks ?? {}), [net.Name]: endpointSettings(net, ep, aliases, user ? [c.Name.slice(1), ...aliases, c.ID.slice(0, 12)] : null) };
    });
    return 0;
  },
};

export const disconnectCommand: Command = {
  name: 'network disconnect',
  summary: 'Disconnect a container from a network',
  usage: 'network disconnect [OPTIONS] NETWORK CONTAINER',
  flags: [{ name: 'force', short: 'f', kind: 'bool', usage: 'Force the container to disconnect from a network' }],
  minArgs: 2,
  maxArgs: 2,
  async run(inv) {
    const [netRef, ref] = inv.args;
    const { net, c } = networkAndContainer(inv.stateRoot, netRef, ref);
    if (net.Driver === 'host' || modeOf(c) === 'host') throw new RunError(1, 'container cannot be disconnected from host network or connected to host network');
    const dir = path.join(inv.stateRoot, 'containers', c.ID);
    const listed = c.NetworkSettings?.Networks?.[net.Name];
    if (!listed && !readMade(dir).some((e) => e.network === net.Id)) throw new RunError(1, `container ${c.ID} is not connected to network ${net.Name}`);
    leaveNetworks(inv.stateRoot, dir, c.ID, net.Id);
    updateConfig({ id: c.ID, name: c.Name.slice(1), dir }, (x) => {
      const s = (x as WithNetworks).NetworkSettings;
      if (s?.Networks) delete s.Networks[net.Name];
    });
    if (net.Name !== 'bridge') await stopDnsServerIfIdle(inv.stateRoot, () => dnsNeeded(inv.stateRoot, ''));
    return 0;
  },
};
