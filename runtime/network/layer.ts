// Chapter 6's layer: networking. Chapter 1 gave every container a network
// namespace of its own holding only a loopback interface (Docker's
// --network none). This layer plugs it into the host: a bridge, a veth pair
// per container, an address from IPAM, NAT for the way out and for
// published ports (-p), and names: /etc/hosts everywhere, an embedded DNS
// server on user-defined networks. It adds --network, -p/-P, --expose, --ip,
// --network-alias, --add-host, --dns* to `run`, and the `network` and `port`
// commands.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FlagSpec } from '../core/flags.js';
import { Slot, type Layer, type RunContext } from '../core/layer.js';
import { RunError } from '../core/pipeline.js';
import { isRunning, readConfig, resolveContainer, updateConfig, type ContainerConfig } from '../core/containers.js';
import { writeFileAtomic } from '../core/files.js';
import { releaseFirst } from '../container/layer.js';
import { existingContainer } from '../container/lifecycle.js';
import { DOCKLING_BIN } from '../container/launch.js';
import { imageOf } from '../image/layer.js';
import { openStores } from '../image/open-stores.js';
import { ensurePredefined, getNetwork } from './store.js';
import type { NetworkRecord } from './model.js';
import { hostResolvConf, hostsFile, resolvConf, splitAddHost, upstreamServers, writeEtcFile, type DnsSettings } from './etc-files.js';
import { joinNetwork } from './join.js';
import { parsePorts, requestsOf, withHostPorts, type PortPlan } from './publish.js';
import { exposedPorts } from './ports.js';
import { networkCommands, pruneNetworks } from './network-commands.js';
import { portCommand } from './port-command.js';
import { connectCommand, disconnectCommand } from './connect.js';
import { releaseCommand, releaseContainer, releaseContainerAsync, stoppedSettings, settingsOf, writeUpstream } from './settings.js';
import { ensureDnsServer } from './dns/control.js';

const CH = 6;

const RUN_FLAGS: FlagSpec[] = [
  { name: 'network', kind: 'string', usage: 'Connect a container to a network (bridge, none, host, container:NAME, or a network you created)', valueName: 'network' },
  { name: 'net', kind: 'string', usage: 'Connect a container to a network (the old name of --network)', valueName: 'network' },
  { name: 'network-alias', kind: 'stringArray', usage: 'Add network-scoped alias for the container', valueName: 'list' },
  { name: 'net-alias', kind: 'stringArray', usage: 'Add network-scoped alias for the container (the old name of --network-alias)', valueName: 'list' },
  { name: 'ip', kind: 'string', usage: 'IPv4 address (e.g., 172.30.100.104)' },
  { name: 'publish', short: 'p', kind: 'stringArray', usage: "Publish a container's port(s) to the host", valueName: 'list' },
  { name: 'publish-all', short: 'P', kind: 'bool', usage: 'Publish all exposed ports to random ports' },
  { name: 'expose', kind: 'stringArray', usage: 'Expose a port or a range of ports', valueName: 'list' },
  { name: 'add-host', kind: 'stringArray', usage: 'Add a custom host-to-IP mapping (host:ip)', valueName: 'list' },
  { name: 'dns', kind: 'stringArray', usage: 'Set custom DNS servers', valueName: 'list' },
  { name: 'dns-search', kind: 'stringArray', usage: 'Set custom DNS search domains', valueName: 'list' },
  { name: 'dns-option', kind: 'stringArray', usage: 'Set DNS options', valueName: 'list' },
];

/** How the container is networked (Docker's HostConfig.NetworkMode, resolved). */
type Mode =
  | { kind: 'none' }
  | { kind: 'host' }
  | { kind: 'container'; of: ContainerConfig }
  | { kind: 'bridge'; net: NetworkRecord; user: boolean };

interface Plan {
  mode: Mode;
  networkMode: string; // as recorded: default, bridge, none, host, container:ID, NAME
  ports: PortPlan;
  aliases: string[];
  ip?: string;
  extraHosts: string[];
  dns: DnsSettings;
}
const plan = new Slot<Plan>('network-plan');

const list = (ctx: RunContext, ...names: string[]) => names.flatMap((n) => (ctx.flags.get(n) as string[] | undefined) ?? []);

// #region network-mode
/**
 * --network, as Docker reads it: `bridge` (the default), `none` (chapter
 * 1's loopback alone), `host` (no network namespace: the host's own
 * interfaces), `container:NAME` (another container's namespace, shared),
 * or the name or ID of a network made with `network create`.
 */
function modeOf(ctx: RunContext, wanted: string): Mode {
  if (wanted === 'none') return { kind: 'none' };
  if (wanted === 'host') return { kind: 'host' };
  if (wanted.startsWith('container:')) {
    const of = resolveContainer(ctx.stateRoot, wanted.slice('container:'.length));
    return { kind: 'container', of };
  }
  const net = getNetwork(ctx.stateRoot, wanted === 'default' ? 'bridge' : wanted);
  if (net.Driver === 'null') return { kind: 'none' };
  if (net.Driver === 'host') return { kind: 'host' };
  return { kind: 'bridge', net, user: net.Name !== 'bridge' };
}
// #endregion network-mode

function validate(ctx: RunContext): void {
  ensurePredefined(ctx.stateRoot);
  const wanted = (ctx.flags.get('network') ?? ctx.flags.get('net') ?? 'default') as string;
  const mode = modeOf(ctx, wanted);
  const aliases = list(ctx, 'network-alias', 'net-alias');
  const ip = ctx.flags.get('ip') as string | undefined;
  const extraHosts = list(ctx, 'add-host');
  const dns: DnsSettings = { servers: list(ctx, 'dns'), search: list(ctx, 'dns-search'), options: list(ctx, 'dns-option') };
  for (const h of extraHosts) {
    try {
      splitAddHost(h);
    } catch (e) {
      throw new RunError(125, (e as Error).message);
    }
  }
  const ports = parsePorts(ctx.flags);
  const publishing = ports.published.length > 0;
  // Docker's refusals, in Docker's words.
  if (mode.kind === 'container') {
    if (publishing || ctx.flags.get('publish-all')) throw new RunError(125, 'conflicting options: port publishing and the container type network mode');
    if (ctx.flags.has('hostname')) throw new RunError(125, 'conflicting options: hostname and the network mode');
    if (dns.servers.length || dns.search.length || dns.options.length) throw new RunError(125, 'conflicting options: dns and the network mode');
    if (extraHosts.length) throw new RunError(125, 'conflicting options: custom host-to-IP mapping and the network mode');
    if (!isRunning(mode.of) && !existingContainer.get(ctx)) throw new RunError(125, `cannot join network of a non running container: ${mode.of.ID}`);
  }
  if ((mode.kind !== 'bridge' || !mode.user) && ip !== undefined) throw new RunError(125, 'user specified IP address is supported on user defined networks only');
  if ((mode.kind !== 'bridge' || !mode.user) && aliases.length) throw new RunError(125, 'network-scoped alias is supported only for containers in user defined networks');
  if (mode.kind === 'host' && publishing) process.stderr.write('WARNING: Published ports are discarded when using host network mode\n');
  const networkMode = mode.kind === 'container' ? `container:${mode.of.ID}` : wanted;
  plan.set(ctx, { mode, networkMode, ports, aliases, ip, extraHosts, dns });
}

/** The image's ExposedPorts ("80/tcp": {}), for -P. */
function imageExposed(ctx: RunContext): string[] {
  const img = imageOf.get(ctx);
  if (!img) return [];
  try {
    return Object.keys(openStores(ctx.stateRoot).images.get(img.id).config.ExposedPorts ?? {});
  } catch {
    return []; // the image is gone since: nothing it exposed to publish
  }
}

function prepare(ctx: RunContext): void {
  const p = plan.get(ctx)!;
  const dir = ctx.container.dir;
  // Not a namespace of its own: the host's (host), or another container's.
  if (p.mode.kind === 'host' || p.mode.kind === 'container') ctx.spec.namespaces = ctx.spec.namespaces.filter((n) => n !== 'network');
  if (p.mode.kind === 'container') ctx.spec.joinNetwork = `/proc/${p.mode.of.State.Pid}/ns/net`;
  if (p.mode.kind === 'host' && !ctx.flags.has('hostname')) ctx.spec.hostname = os.hostname();
  const exposed = exposedPorts(Object.fromEntries(imageExposed(ctx).map((k) => [k, {}])), p.ports.exposed, p.ports.published);
  updateConfig(ctx.container, (c) => {
    c.HostConfig = {
      ...c.HostConfig,
      NetworkMode: p.networkMode,
      PortBindings: p.ports.bindings,
      PublishAllPorts: Boolean(ctx.flags.get('publish-all')),
      Dns: p.dns.servers, DnsSearch: p.dns.search, DnsOptions: p.dns.options,
      ExtraHosts: p.extraHosts.length ? p.extraHosts : null,
    };
    const config = c.Config as ContainerConfig['Config'] & Record<string, unknown>;
    config.Hostname = ctx.spec.hostname;
    if (exposed.length) config.ExposedPorts = Object.fromEntries(exposed.map((k) => [k, {}]));
    (c as unknown as Record<string, unknown>).NetworkSettings = stoppedSettings(ctx.stateRoot, p.mode.kind === 'bridge' ? p.mode.net : undefined, p.networkMode);
  });
  writeEtcFile(dir, 'hostname', ctx.spec.hostname + '\n');
  // A detached container's end is its monitor's: it must free the lease,
  // the rules and the DNS server too. It runs `dockling network release`
  // first among its release steps (chapter 5's monitor, "run" step).
  const argv = [process.execPath, DOCKLING_BIN, '--root', ctx.stateRoot, '--chapter', String(ctx.chapter), 'network', 'release', ctx.container.id];
  writeFileAtomic(path.join(dir, 'network-release'), argv.join('\0'));
  releaseFirst.set(ctx, [...(releaseFirst.get(ctx) ?? []), `run ${path.join(dir, 'network-release')}`]);
}

// #region network-stage
/**
 * The network stage: the init waits in its new namespaces for its spec,
 * so the container's side can be wired before its command runs.
 */
async function network(ctx: RunContext): Promise<void> {
  const p = plan.get(ctx)!;
  const dir = ctx.container.dir;
  const hostname = ctx.spec.hostname;
  const hostResolv = hostResolvConf();
  if (p.mode.kind !== 'bridge') {
    // none: chapter 1's files stand (loopback only). host: the host's own
    // hosts and resolv.conf, loopback servers included (they are reachable
    // from the host's namespace). container: the other container's files.
    if (p.mode.kind === 'host') {
      writeEtcFile(dir, 'hosts', hostsFile(hostname, null, p.extraHosts).replace(/\n$/, '') + `\n127.0.1.1\t${hostname}\n`);
      writeEtcFile(dir, 'resolv.conf', hostResolv || '\n');
    }
    if (p.mode.kind === 'container') {
      const other = path.join(path.dirname(dir), p.mode.of.ID);
      for (const f of ['hosts', 'resolv.conf', 'hostname'] as const) writeEtcFile(dir, f, readText(path.join(other, f)));
    }
    if (p.mode.kind === 'none' && p.extraHosts.length) writeEtcFile(dir, 'hosts', hostsFile(hostname, null, p.extraHosts).replace(/\n$/, '') + `\n127.0.1.1\t${hostname}\n`);
    return;
  }
  const pid = await ctx.init!.ready;
  const net = p.mode.net;
  const user = p.mode.user;
  const name = ctx.container.name;
  const exposed = exposedOf(readConfig(dir)!);
  const requests = requestsOf(p.ports, ctx.flags.get('publish-all') ? exposed : null);
  const ep = await withHostPorts(ctx.stateRoot, ctx.container.id, name, requests, (pick) =>
    joinNetwork(ctx.stateRoot, { pid, containerId: ctx.container.id, dir, net, wantedIp: p.ip, ports: pick, dns: user }),
  );
  if (user) {
    writeUpstream(ctx.stateRoot, upstreamServers(hostResolv, p.dns));
    await ensureDnsServer(ctx.stateRoot, [ep.gateway]);
  }
  writeEtcFile(dir, 'hosts', hostsFile(hostname, ep.address, p.extraHosts));
  writeEtcFile(dir, 'resolv.conf', resolvConf(hostResolv, p.dns, user));
  updateConfig(ctx.container, (c) => {
    (c as unknown as Record<string, unknown>).NetworkSettings = settingsOf(c.ID, pid, net, ep, p.aliases, name, exposed);
  });
}
// #endregion network-stage

function readText(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

/** Config.ExposedPorts' keys ("80/tcp"): the image's, --expose's and -p's. */
const exposedOf = (c: ContainerConfig) => Object.keys((c.Config as { ExposedPorts?: Record<string, object> }).ExposedPorts ?? {});

/** The run is over (or never got going): free what it holds, unless its monitor carries on. */
async function cleanup(ctx: RunContext): Promise<void> {
  if (ctx.outcome === 'leave' || !ctx.container) return;
  await releaseContainerAsync(ctx.stateRoot, ctx.container.dir, ctx.container.id);
}

export const networkLayer: Layer = {
  chapter: CH,
  name: 'networking',
  runFlags: RUN_FLAGS,
  commands: [...networkCommands, connectCommand, disconnectCommand, portCommand, releaseCommand],
  stages: { validate, prepare, network, cleanup },
  systemPrune: { what: 'all networks not used by at least one container', title: 'Deleted Networks:', run: (root) => pruneNetworks(root, new Map()) },
  reap: (c, stateRoot) => releaseContainer(stateRoot, path.join(stateRoot, 'containers', c.ID), c.ID),
  release: (c, stateRoot) => {
    releaseContainer(stateRoot, path.join(stateRoot, 'containers', c.ID), c.ID);
  },
};
