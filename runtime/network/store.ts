// The network store: one NetworkRecord per network in
// <stateRoot>/network/networks/<id>.json, written atomically, changed
// under the store's lock (network/networks/.lock) so that two `network
// create`s cannot both take one name or one subnet.
//
// Three networks are there before the user makes any, as in Docker:
// `bridge` (the default bridge, device dockling0), `host` (the host's own
// network namespace) and `none` (a namespace with only lo). Docker's daemon
// makes them when it starts; dockling, which has no daemon, makes them the
// first time any command needs one (ensurePredefined).
import fs from 'node:fs';
import path from 'node:path';
import { withLock, writeFileAtomic } from '../core/files.js';
import { newContainerId } from '../core/ids.js';
import { nowRFC3339Nano } from '../core/time.js';
import { RunError } from '../core/pipeline.js';
import { DEFAULT_BRIDGE, networksDir, type IPAMConfig, type NetworkRecord } from './model.js';
import { CidrError, contains, dropNetworkLeases, formatCidr, ipToInt, lastOf, overlaps, parseSubnet } from './ipam.js';
import { gatewayOf, pickSubnetOnHost } from './pools.js';
import { BRIDGE_NAME_OPTION, uplinkMtu } from './bridge.js';

/** A network looked up and not there, or not one: Docker's message. */
export class NoSuchNetworkError extends Error {}

/** The names Docker keeps for itself (runconfig.IsPreDefinedNetwork): `default` is the daemon's word for bridge. */
export const PREDEFINED = ['bridge', 'host', 'none', 'default'];
export const isPredefined = (net: NetworkRecord) => ['bridge', 'host', 'none'].includes(net.Name);

const recordFile = (stateRoot: string, id: string) => path.join(networksDir(stateRoot), `${id}.json`);
const storeLock = (stateRoot: string) => path.join(networksDir(stateRoot), '.lock');

/** Every network record, oldest first (as `network ls` sorts them by name itself). */
export function listNetworks(stateRoot: string): NetworkRecord[] {
  let files: string[];
  try {
    files = fs.readdirSync(networksDir(stateRoot));
  } catch {
    return []; // no networks/ yet
  }
  const out: NetworkRecord[] = [];
  for (const f of files) {
    if (!/^[0-9a-f]{64}\.json$/.test(f)) continue;
    try {
      out.push(JSON.parse(fs.readFileSync(path.join(networksDir(stateRoot), f), 'utf8')) as NetworkRecord);
    } catch {
      /* removed meanwhile */
    }
  }
  return out.sort((a, b) => a.Created.localeCompare(b.Created));
}

// #region find-network
/**
 * Find a network as dockerd's FindNetwork does: a full ID first, then a
 * full name, then a unique prefix of an ID. Two networks may match one
 * prefix (or, in Docker, one name): that is refused rather than guessed.
 */
export function getNetwork(stateRoot: string, term: string): NetworkRecord {
  const all = listNetworks(stateRoot);
  const byId = all.find((n) => n.Id === term);
  if (byId) return byId;
  const byName = all.filter((n) => n.Name === term);
  if (byName.length > 1) throw new NoSuchNetworkError(`network ${term} is ambiguous (${byName.length} matches found on name)`);
  if (byName.length === 1) return byName[0];
  const byPrefix = term ? all.filter((n) => n.Id.startsWith(term)) : [];
  if (byPrefix.length > 1) throw new NoSuchNetworkError(`network ${term} is ambiguous (${byPrefix.length} matches found based on ID prefix)`);
  if (byPrefix.length === 1) return byPrefix[0];
  throw new NoSuchNetworkError(`network ${term} not found`);
}
// #endregion find-network

/** getNetwork, or null when there is none (or more than one) for the term. */
export function findNetwork(stateRoot: string, term: string): NetworkRecord | null {
  try {
    return getNetwork(stateRoot, term);
  } catch (e) {
    if (e instanceof NoSuchNetworkError) return null;
    throw e;
  }
}

function newRecord(name: string, driver: NetworkRecord['Driver'], config: IPAMConfig[], options: Record<string, string>, more: Partial<NetworkRecord> = {}): NetworkRecord {
  return {
    Name: name,
    Id: newContainerId(), // Docker's network IDs are made as its container IDs are: 32 random bytes
    Created: nowRFC3339Nano(),
    Scope: 'local',
    Driver: driver,
    EnableIPv6: false,
    IPAM: { Driver: 'default', Options: null, Config: config },
    Internal: false,
    Attachable: false,
    Ingress: false,
    ConfigFrom: { Network: '' },
    ConfigOnly: false,
    Options: options,
    Labels: {},
    ...more,
  };
}

// #region predefined
/**
 * Make `bridge`, `host` and `none` if they are not there yet. The default
 * bridge's subnet is 172.17.0.0/16 unless the host already routes a range
 * that overlaps it (pools.ts); its Options are the ones `docker network
 * inspect bridge` shows, with dockling0 for docker0 and the uplink's MTU.
 * Returns the default bridge's record.
 */
export function ensurePredefined(stateRoot: string): NetworkRecord {
  const have = () => listNetworks(stateRoot);
  const bridge = () => have().find((n) => n.Name === 'bridge');
  const found = bridge();
  if (found && have().some((n) => n.Name === 'host') && have().some((n) => n.Name === 'none')) return found;
  fs.mkdirSync(networksDir(stateRoot), { recursive: true, mode: 0o700 });
  return withLock(storeLock(stateRoot), () => {
    const all = have();
    if (!all.some((n) => n.Name === 'bridge')) {
      const subnet = pickSubnetOnHost(all.flatMap((n) => n.IPAM.Config.map((c) => c.Subnet)));
      save(
        stateRoot,
        newRecord('bridge', 'bridge', [{ Subnet: subnet, Gateway: gatewayOf(subnet) }], {
          'com.docker.network.bridge.default_bridge': 'true',
          'com.docker.network.bridge.enable_icc': 'true',
          'com.docker.network.bridge.enable_ip_masquerade': 'true',
          'com.docker.network.bridge.host_binding_ipv4': '0.0.0.0',
          [BRIDGE_NAME_OPTION]: DEFAULT_BRIDGE,
          'com.docker.network.driver.mtu': String(uplinkMtu()),
        }),
      );
    }
    if (!all.some((n) => n.Name === 'host')) save(stateRoot, newRecord('host', 'host', [], {}));
    if (!all.some((n) => n.Name === 'none')) save(stateRoot, newRecord('none', 'null', [], {}));
    return bridge()!;
  });
}
// #endregion predefined

const save = (stateRoot: string, net: NetworkRecord) => writeFileAtomic(recordFile(stateRoot, net.Id), JSON.stringify(net, null, 2) + '\n');

/** What `network create` asks for. */
export interface CreateNetworkOptions {
  name: string;
  driver?: string; //   only "bridge"
  subnet?: string;
  gateway?: string;
  ipRange?: string;
  labels?: Record<string, string>;
  options?: Record<string, string>;
  internal?: boolean;
}

/** A daemon refusal (`network create` exits 1 with it). */
const daemon = (message: string) => new RunError(1, `Error response from daemon: ${message}`);
/** A refusal of the docker CLI itself, before it asks the daemon (no prefix, exit 1). */
const cli = (message: string) => new RunError(1, message);

/**
 * Docker's rule for a network's name (libnetwork's config.IsValidName,
 * dockerd 20.10 as later): anything but blank. The name is only ever a key
 * (the record's file is named by the ID, the device by the ID's digits),
 * so nothing else about it can break anything.
 */
const validName = (name: string) => name.trim() !== '';

/** An interface name as the kernel takes it: 1..15 bytes, no "/", ":" or white space. */
const IFNAME = /^[^/:\s]{1,15}$/;

function subnetOrFail(flag: string, s: string) {
  try {
    return parseSubnet(s);
  } catch (e) {
    if (e instanceof CidrError) throw new RunError(1, `invalid ${flag}: ${e.message}`, { cause: e });
    throw e;
  }
}

// #region create-network
/**
 * Make a user-defined bridge network, checked as the docker CLI and the
 * daemon check it, in their words; returns its record. Only the record is
 * made here: `network create` then makes the bridge device and its rules at
 * once (join.ts, networkUp), as Docker's bridge driver does.
 */
export function createNetwork(stateRoot: string, opts: CreateNetworkOptions): NetworkRecord {
  const { name } = opts;
  const driver = opts.driver ?? 'bridge';
  if (driver !== 'bridge') {
    throw daemon(`dockling supports only the "bridge" driver for networks you create (got "${driver}"); "host" and "none" are there already, and overlay, macvlan, ipvlan are not built`);
  }
  if (!validName(name)) throw daemon(`invalid name: ${name}`);
  if (PREDEFINED.includes(name)) throw daemon(`operation is not permitted on predefined ${name} network `);

  // The docker CLI's own checks (consolidateIpam), before it asks the daemon.
  if (!opts.subnet && (opts.gateway || opts.ipRange)) throw cli('every ip-range or gateway must have a corresponding subnet');
  const subnet = opts.subnet ? subnetOrFail('--subnet', opts.subnet) : undefined;
  let gateway: string | undefined;
  let ipRange: string | undefined;
  if (subnet && opts.ipRange) {
    const r = subnetOrFail('--ip-range', opts.ipRange);
    if (!contains(subnet, r.base) || r.prefix < subnet.prefix) throw cli(`no matching subnet for range ${opts.ipRange}`);
    ipRange = formatCidr(r);
  }
  if (subnet && opts.gateway) {
    let g: number;
    try {
      g = ipToInt(opts.gateway);
    } catch (e) {
      throw new RunError(1, `invalid --gateway: ${(e as Error).message}`, { cause: e });
    }
    if (!contains(subnet, g)) throw cli(`no matching subnet for gateway ${opts.gateway}`);
    if (subnet.prefix <= 30 && (g === subnet.base || g === lastOf(subnet))) {
      throw daemon(`invalid gateway ${opts.gateway}: it is the network or broadcast address of ${formatCidr(subnet)}; choose an address between them`);
    }
    gateway = opts.gateway;
  }
  const options = { ...(opts.options ?? {}) };
  const device = options[BRIDGE_NAME_OPTION];
  if (device !== undefined && !IFNAME.test(device)) {
    throw daemon(`invalid ${BRIDGE_NAME_OPTION} "${device}": an interface name is 1 to 15 characters without "/", ":" or spaces`);
  }

  fs.mkdirSync(networksDir(stateRoot), { recursive: true, mode: 0o700 });
  ensurePredefined(stateRoot);
  return withLock(storeLock(stateRoot), () => {
    const all = listNetworks(stateRoot);
    if (all.some((n) => n.Name === name)) throw daemon(`network with name ${name} already exists`);
    if (device !== undefined && all.some((n) => n.Options[BRIDGE_NAME_OPTION] === device)) {
      throw daemon(`bridge name ${device} is already used by another network; choose another -o ${BRIDGE_NAME_OPTION}=…`);
    }
    const subnets = all.flatMap((n) => n.IPAM.Config.map((c) => c.Subnet));
    let chosen: string;
    if (subnet) {
      // Docker's address space is shared by all local networks: one subnet
      // inside (or around) another's would make their routes fight.
      if (subnets.some((s) => overlaps(parseSubnet(s), subnet))) throw daemon('Pool overlaps with other one on this address space');
      chosen = formatCidr(subnet);
    } else {
      chosen = pickSubnetOnHost(subnets);
    }
    const config: IPAMConfig = { Subnet: chosen, ...(ipRange ? { IPRange: ipRange } : {}), Gateway: gateway ?? gatewayOf(chosen) };
    const net = newRecord(name, 'bridge', [config], options, {
      Internal: Boolean(opts.internal),
      Labels: { ...(opts.labels ?? {}) },
      IPAM: { Driver: 'default', Options: {}, Config: [config] },
    });
    save(stateRoot, net);
    return net;
  });
}
// #endregion create-network

/** Remove a network's record and its lease files (the caller checked nobody uses it, and removes the device). */
export function removeNetworkRecord(stateRoot: string, id: string): void {
  withLock(storeLock(stateRoot), () => {
    fs.rmSync(recordFile(stateRoot, id), { force: true });
    dropNetworkLeases(stateRoot, id);
  });
}
