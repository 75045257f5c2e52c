// Chapter 6's `network` commands: ls, inspect, create, rm, prune, with the
// docker CLI's flags, columns and messages. (`connect` and `disconnect`
// change a running container's namespace and belong with the layer.)
//
// Which containers use a network is read from their configs
// (NetworkSettings.Networks, one entry per network, keyed by its name, as
// `docker inspect` shows it): dockling has no daemon holding endpoints in
// memory, so the container store is where that fact lives.
import type { Command } from '../core/layer.js';
import { RunError } from '../core/pipeline.js';
import { isRunning, listContainers, type ContainerConfig } from '../core/containers.js';
import { boolFilter, daemonError, exactMatches, matches, matchesLabels, parseFilters, validateFilters, valuesOf, type Filters } from '../core/filters.js';
import { formatList, goTimeString, headerOf } from '../core/list-format.js';
import { GoStruct } from '../core/template/index.js';
import { templateError } from '../core/format.js';
import { printInspected } from '../image/commands.js';
import { reportFailure } from '../core/failure.js';
import { eachArgument } from '../image/container-commands.js';
import { confirmed, pruneReport } from '../image/prune.js';
import type { EndpointSettings, NetworkRecord } from './model.js';
import { createNetwork, ensurePredefined, getNetwork, isPredefined, listNetworks, NoSuchNetworkError, removeNetworkRecord } from './store.js';
import { removeBridge } from './bridge.js';
import { removeNetworkRules } from './netfilter.js';
import { bridgeNet, networkUp } from './join.js';

/** A container's endpoints, as the layer records them in its config. */
export function endpointsOf(c: ContainerConfig): Record<string, EndpointSettings> {
  return (c as ContainerConfig & { NetworkSettings?: { Networks?: Record<string, EndpointSettings> | null } }).NetworkSettings?.Networks ?? {};
}

/** Is this container's config attached to the network (by ID, or by name for an entry without one)? */
const attached = (c: ContainerConfig, net: NetworkRecord) =>
  Object.entries(endpointsOf(c)).some(([name, ep]) => (ep.NetworkID ? ep.NetworkID === net.Id : name === net.Name));

/** The containers whose configs list the network. */
export const containersOn = (stateRoot: string, net: NetworkRecord) => listContainers(stateRoot).filter((c) => attached(c, net));

/** getNetwork, a missing or ambiguous one as the daemon's refusal (exit 1). */
export function networkOrFail(stateRoot: string, term: string): NetworkRecord {
  try {
    return getNetwork(stateRoot, term);
  } catch (e) {
    if (e instanceof NoSuchNetworkError) throw daemonError(e.message, e);
    throw e;
  }
}

// ---------------------------------------------------------------------------
// network ls
// ---------------------------------------------------------------------------

const NETWORK_HEADER = headerOf('*formatter.networkContext', {
  ID: 'NETWORK ID', Name: 'NAME', Driver: 'DRIVER', Scope: 'SCOPE', IPv6: 'IPV6', Internal: 'INTERNAL', Labels: 'LABELS', CreatedAt: 'CREATED AT',
});
const NETWORK_TABLE = 'table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}';

/** One row for --format: docker/cli's networkContext. */
function networkContext(n: NetworkRecord, trunc: boolean): GoStruct {
  return new GoStruct('*formatter.networkContext', {
    ID: () => (trunc ? n.Id.slice(0, 12) : n.Id),
    Name: () => n.Name,
    Driver: () => n.Driver,
    Scope: () => n.Scope,
    IPv6: () => String(n.EnableIPv6),
    Internal: () => String(n.Internal),
    Labels: () => Object.entries(n.Labels ?? {}).map(([k, v]) => `${k}=${v}`).join(','),
    Label: (name: string) => n.Labels?.[name] ?? '',
    CreatedAt: () => goTimeString(Date.parse(n.Created)),
  });
}

/**
 * docker/cli sorts networks by name "naturally" (sortorder.NaturalLess):
 * runs of digits compare as numbers, so net2 comes before net10.
 */
export function naturalLess(a: string, b: string): number {
  const pa = a.match(/\d+|\D+/g) ?? [];
  const pb = b.match(/\d+|\D+/g) ?? [];
  for (let i = 0; i < Math.min(pa.length, pb.length); i++) {
    const [x, y] = [pa[i], pb[i]];
    if (/^\d/.test(x) && /^\d/.test(y)) {
      const d = Number(x) - Number(y);
      if (d !== 0) return d;
      if (x.length !== y.length) return x.length - y.length;
    } else if (x !== y) return x < y ? -1 : 1;
  }
  return pa.length - pb.length;
}

const LS_FILTERS = ['driver', 'id', 'label', 'name', 'scope', 'type', 'dangling'];

// #region network-filters
/** The daemon's network filters (daemon/network/filter.go). */
export function filterNetworks(stateRoot: string, all: NetworkRecord[], f: Filters): NetworkRecord[] {
  validateFilters(f, LS_FILTERS);
  for (const t of valuesOf(f, 'type')) {
    if (t !== 'custom' && t !== 'builtin') throw daemonError(`invalid filter: 'type'='${t}'`);
  }
  const dangling = boolFilter(f, 'dangling');
  const used = dangling === undefined ? null : new Set(listContainers(stateRoot).flatMap((c) => all.filter((n) => attached(c, n)).map((n) => n.Id)));
  return all.filter((n) => {
    if (!exactMatches(f, 'driver', n.Driver)) return false;
    if (!matches(f, 'id', n.Id) || !matches(f, 'name', n.Name)) return false;
    if (!exactMatches(f, 'scope', n.Scope)) return false;
    if (!matchesLabels(f, 'label', n.Labels)) return false;
    const types = valuesOf(f, 'type');
    if (types.length && !types.includes(isPredefined(n) ? 'builtin' : 'custom')) return false;
    // dangling=true: user networks no container uses; false: the others.
    if (used) return dangling === (!isPredefined(n) && !used.has(n.Id));
    return true;
  });
}
// #endregion network-filters

const lsCommand: Command = {
  name: 'network ls',
  aliases: ['network list'],
  summary: 'List networks',
  usage: 'network ls [OPTIONS]',
  maxArgs: 0,
  flags: [
    { name: 'filter', short: 'f', kind: 'stringArray', usage: 'Provide filter values (e.g. "driver=bridge")', valueName: 'filter' },
    { name: 'format', kind: 'string', usage: "Format output using a custom template: 'table' (the default), 'table TEMPLATE', 'json', or a Go TEMPLATE" },
    { name: 'no-trunc', kind: 'bool', usage: 'Do not truncate the output' },
    { name: 'quiet', short: 'q', kind: 'bool', usage: 'Only display network IDs' },
  ],
  async run(inv) {
    ensurePredefined(inv.stateRoot);
    const f = parseFilters((inv.flags.get('filter') as string[] | undefined) ?? [], 'network ls');
    const nets = filterNetworks(inv.stateRoot, listNetworks(inv.stateRoot), f).sort((a, b) => naturalLess(a.Name, b.Name));
    const trunc = !inv.flags.get('no-trunc');
    // docker/cli: -q stands in for the default table; a --format wins over it.
    const given = inv.flags.get('format') as string | undefined;
    const format = given && given !== 'table' ? given : inv.flags.get('quiet') ? '{{.ID}}' : NETWORK_TABLE;
    process.stdout.write(formatList(format, nets.map((n) => networkContext(n, trunc)), NETWORK_HEADER));
    return 0;
  },
};

// ---------------------------------------------------------------------------
// network inspect
// ---------------------------------------------------------------------------

// #region network-inspect
/**
 * `network inspect`'s object: the record with Docker's key order, and
 * Containers (the running containers on it, by ID) between ConfigOnly and
 * Options, as Docker places it.
 */
export function networkInspect(stateRoot: string, n: NetworkRecord): Record<string, unknown> {
  const containers: Record<string, unknown> = {};
  for (const c of listContainers(stateRoot)) {
    if (!isRunning(c)) continue; // a stopped container holds no endpoint in Docker
    const ep = Object.entries(endpointsOf(c)).find(([name, e]) => (e.NetworkID ? e.NetworkID === n.Id : name === n.Name))?.[1];
    if (!ep) continue;
    containers[c.ID] = {
      Name: c.Name.replace(/^\//, ''),
      EndpointID: ep.EndpointID,
      MacAddress: ep.MacAddress,
      IPv4Address: ep.IPAddress ? `${ep.IPAddress}/${ep.IPPrefixLen}` : '',
      IPv6Address: ep.GlobalIPv6Address ? `${ep.GlobalIPv6Address}/${ep.GlobalIPv6PrefixLen}` : '',
    };
  }
  return {
    Name: n.Name, Id: n.Id, Created: n.Created, Scope: n.Scope, Driver: n.Driver, EnableIPv6: n.EnableIPv6, IPAM: n.IPAM,
    Internal: n.Internal, Attachable: n.Attachable, Ingress: n.Ingress, ConfigFrom: n.ConfigFrom, ConfigOnly: n.ConfigOnly,
    Containers: containers, Options: n.Options, Labels: n.Labels,
  };
}
// #endregion network-inspect

const inspectCommand: Command = {
  name: 'network inspect',
  summary: 'Display detailed information on one or more networks',
  usage: 'network inspect [OPTIONS] NETWORK [NETWORK...]',
  minArgs: 1,
  flags: [
    { name: 'format', short: 'f', kind: 'string', usage: "Format output using a custom template: 'json' prints in JSON format, 'TEMPLATE' prints output using the given Go template" },
    { name: 'verbose', short: 'v', kind: 'bool', usage: 'Verbose output for diagnostics (the same as without it: dockling has no swarm)' },
  ],
  async run(inv) {
    const format = inv.flags.get('format') as string | undefined;
    // The template is parsed before anything is looked up (exit 64 when it does not parse).
    const bad = format && format !== 'json' ? templateError(format) : null;
    if (bad) throw new RunError(64, bad);
    ensurePredefined(inv.stateRoot);
    const found: unknown[] = [];
    let code = 0;
    for (const ref of inv.args) {
      try {
        found.push(networkInspect(inv.stateRoot, getNetwork(inv.stateRoot, ref)));
      } catch (e) {
        if (!(e instanceof NoSuchNetworkError)) throw e;
        // The docker CLI's words for a reference the daemon does not know.
        process.stderr.write(e.message.endsWith('not found') ? `Error: No such network: ${ref}\n` : `Error response from daemon: ${e.message}\n`);
        code = 1;
      }
    }
    return printInspected(found, format, code);
  },
};

// ---------------------------------------------------------------------------
// network create
// ---------------------------------------------------------------------------

/** "k=v" pairs (--label, --opt): a key alone is an empty value, as the docker CLI reads them. */
function keyValues(values: string[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const v of values ?? []) {
    const at = v.indexOf('=');
    out[at < 0 ? v : v.slice(0, at)] = at < 0 ? '' : v.slice(at + 1);
  }
  return out;
}

/** One value of a flag the docker CLI allows several of and dockling only one. */
function single(inv: { flags: Map<string, unknown> }, name: string): string | undefined {
  const v = inv.flags.get(name) as string[] | undefined;
  if (v && v.length > 1) throw new RunError(1, `dockling networks have one IPv4 subnet: give --${name} once (got ${v.join(', ')})`);
  return v?.[0];
}

const createCommand: Command = {
  name: 'network create',
  summary: 'Create a network',
  usage: 'network create [OPTIONS] NETWORK',
  minArgs: 1,
  maxArgs: 1,
  flags: [
    { name: 'driver', short: 'd', kind: 'string', usage: 'Driver to manage the Network (default "bridge"; the only one dockling has)' },
    { name: 'subnet', kind: 'stringArray', usage: 'Subnet in CIDR format that represents a network segment' },
    { name: 'gateway', kind: 'stringArray', usage: 'IPv4 Gateway for the master subnet' },
    { name: 'ip-range', kind: 'stringArray', usage: 'Allocate container ip from a sub-range' },
    { name: 'label', kind: 'stringArray', usage: 'Set metadata on a network' },
    { name: 'opt', short: 'o', kind: 'stringArray', usage: 'Set driver specific options (com.docker.network.bridge.name=NAME)' },
    { name: 'internal', kind: 'bool', usage: 'Restrict external access to the network' },
    { name: 'ipv6', kind: 'bool', usage: 'Enable IPv6 networking (not in dockling)' },
    { name: 'attachable', kind: 'bool', usage: 'Enable manual container attachment (always, without swarm)' },
  ],
  async run(inv) {
    if (inv.flags.get('ipv6')) throw new RunError(1, 'dockling networks are IPv4 only: drop --ipv6');
    const net = createNetwork(inv.stateRoot, {
      name: inv.args[0],
      driver: (inv.flags.get('driver') as string | undefined) || 'bridge',
      subnet: single(inv, 'subnet'),
      gateway: single(inv, 'gateway'),
      ipRange: single(inv, 'ip-range'),
      labels: keyValues(inv.flags.get('label') as string[] | undefined),
      options: keyValues(inv.flags.get('opt') as string[] | undefined),
      internal: Boolean(inv.flags.get('internal')),
    });
    // Its bridge and rules now, as Docker makes them at create: `ip link`
    // shows br-… at once. If that fails, the network is not half made.
    try {
      networkUp(inv.stateRoot, net);
    } catch (e) {
      removeNetwork(inv.stateRoot, net);
      throw new RunError(1, `could not set up the network's bridge: ${(e as Error).message}`, { cause: e });
    }
    process.stdout.write(net.Id + '\n');
    return 0;
  },
};

// ---------------------------------------------------------------------------
// network rm, network prune
// ---------------------------------------------------------------------------

// #region network-rm
/**
 * Remove one network, as dockerd refuses and does it: never a predefined
 * one, never one a container still lists; then its bridge device (and
 * with it the address and the route) and its record and leases.
 */
export function removeNetwork(stateRoot: string, n: NetworkRecord): void {
  if (isPredefined(n)) throw daemonError(`${n.Name} is a pre-defined network and cannot be removed`);
  // dockerd 20.10's words (libnetwork's ActiveEndpointsError; Docker 25+ lists the endpoints too).
  if (containersOn(stateRoot, n).length > 0) {
    throw daemonError(`error while removing network: network ${n.Name} id ${n.Id} has active endpoints`);
  }
  if (n.Driver === 'bridge') {
    removeNetworkRules(bridgeNet(n)); // its NAT, forwarding and isolation rules (netfilter.ts)
    removeBridge(n);
  }
  removeNetworkRecord(stateRoot, n.Id);
}
// #endregion network-rm

const rmCommand: Command = {
  name: 'network rm',
  aliases: ['network remove'],
  summary: 'Remove one or more networks',
  usage: 'network rm NETWORK [NETWORK...]',
  minArgs: 1,
  flags: [{ name: 'force', short: 'f', kind: 'bool', usage: 'Do not error if the network does not exist' }],
  async run(inv) {
    ensurePredefined(inv.stateRoot);
    const force = Boolean(inv.flags.get('force'));
    return eachArgument(inv.args, async (ref) => {
      let n: NetworkRecord;
      try {
        n = getNetwork(inv.stateRoot, ref);
      } catch (e) {
        if (!(e instanceof NoSuchNetworkError)) throw e;
        if (force && e.message.endsWith('not found')) return null;
        throw daemonError(e.message, e);
      }
      removeNetwork(inv.stateRoot, n);
      return ref; // the docker CLI prints the argument as given
    });
  },
};

export const PRUNE_WARNING = 'WARNING! This will remove all custom networks not used by at least one container.';

/** A Go duration ("24h", "1h30m", "90s") in milliseconds, or null. */
function goDuration(s: string): number | null {
  if (!/^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/.test(s)) return null;
  const unit: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  let ms = 0;
  for (const [, n, , u] of s.matchAll(/(\d+(\.\d+)?)(ns|us|µs|ms|s|m|h)/g)) ms += Number(n) * unit[u];
  return ms;
}

/** prune's until=: a duration before now, a date, or Unix seconds, as Docker reads it. */
function untilTime(v: string): number {
  const d = goDuration(v);
  if (d !== null) return Date.now() - d;
  if (/^\d+(\.\d+)?$/.test(v)) return Number(v) * 1000;
  const t = Date.parse(v);
  if (Number.isNaN(t)) throw daemonError(`failed to parse value as time or duration: "${v}"`);
  return t;
}

// #region network-prune
/** The user networks prune takes: unused, and matching its filters (until, label, label!). */
export function pruneNetworks(stateRoot: string, f: Filters): string[] {
  validateFilters(f, ['until', 'label', 'label!']);
  const until = valuesOf(f, 'until').map(untilTime);
  const removed: string[] = [];
  for (const n of listNetworks(stateRoot).sort((a, b) => naturalLess(a.Name, b.Name))) {
    if (isPredefined(n) || containersOn(stateRoot, n).length > 0) continue;
    if (until.some((t) => Date.parse(n.Created) >= t)) continue;
    if (!matchesLabels(f, 'label', n.Labels)) continue;
    if (f.has('label!') && matchesLabelsAny(valuesOf(f, 'label!'), n.Labels)) continue;
    try {
      removeNetwork(stateRoot, n);
      removed.push(n.Name);
    } catch (e) {
      if (!(e instanceof RunError)) throw e;
      reportFailure(e); // one that cannot go does not stop the others
    }
  }
  return removed;
}
// #endregion network-prune

/** label!=: a network with ANY of these labels is kept. */
function matchesLabelsAny(values: string[], labels: Record<string, string>): boolean {
  return values.some((v) => {
    const at = v.indexOf('=');
    const k = at < 0 ? v : v.slice(0, at);
    return Object.hasOwn(labels, k) && (at < 0 || labels[k] === v.slice(at + 1));
  });
}

const pruneCommand: Command = {
  name: 'network prune',
  summary: 'Remove all unused networks',
  usage: 'network prune [OPTIONS]',
  maxArgs: 0,
  flags: [
    { name: 'filter', kind: 'stringArray', usage: 'Provide filter values (e.g. "until=<timestamp>")', valueName: 'filter' },
    { name: 'force', short: 'f', kind: 'bool', usage: 'Do not prompt for confirmation' },
  ],
  async run(inv) {
    const f = parseFilters((inv.flags.get('filter') as string[] | undefined) ?? [], 'network prune');
    if (!inv.flags.get('force') && !(await confirmed(PRUNE_WARNING))) return 0;
    process.stdout.write(pruneReport('Deleted Networks:', pruneNetworks(inv.stateRoot, f)));
    return 0;
  },
};

export const networkCommands: Command[] = [lsCommand, inspectCommand, createCommand, rmCommand, pruneCommand];
