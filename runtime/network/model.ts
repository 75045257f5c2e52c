// Chapter 6's records: what a network is, what a container's endpoint on it
// is, and where they are kept. The names are Docker's (`docker network
// inspect`, a container's NetworkSettings), so that what dockling writes
// reads like what Docker prints.
//
// On disk, under the state root:
//   network/networks/<id>.json     one NetworkRecord per network (bridge, host, none, user-defined)
//   network/ipam/<id>.json         that network's leases: { "172.17.0.2": "<container id>", ... }
//   network/ipam/<id>.lock         held while the leases are read and changed
//   network/dns/                   the embedded DNS server: pid file and control socket
import path from 'node:path';

export const networkRoot = (stateRoot: string) => path.join(stateRoot, 'network');
export const networksDir = (stateRoot: string) => path.join(networkRoot(stateRoot), 'networks');
export const ipamDir = (stateRoot: string) => path.join(networkRoot(stateRoot), 'ipam');
export const dnsDir = (stateRoot: string) => path.join(networkRoot(stateRoot), 'dns');

/** The default bridge's device, as docker0 is Docker's. */
export const DEFAULT_BRIDGE = 'dockling0';

/** One subnet of a network, as `network inspect` shows IPAM.Config[i]. */
export interface IPAMConfig {
  Subnet: string; //   "172.17.0.0/16"
  Gateway: string; //  "172.17.0.1"
  IPRange?: string; // "172.18.5.0/24": where addresses are handed out, inside Subnet
}

/** A network, as `docker network inspect` shows it (Containers is computed when shown). */
export interface NetworkRecord {
  Name: string; //      "bridge", "host", "none", or the user's name
  Id: string; //        64 hex
  Created: string; //   RFC 3339 with nanoseconds
  Scope: 'local';
  Driver: 'bridge' | 'host' | 'null';
  EnableIPv6: boolean;
  IPAM: { Driver: 'default'; Options: Record<string, string> | null; Config: IPAMConfig[] };
  Internal: boolean;
  Attachable: boolean;
  Ingress: boolean;
  ConfigFrom: { Network: string };
  ConfigOnly: boolean;
  /** for a bridge network, com.docker.network.bridge.name is its device (dockling0, br-<12 hex>) */
  Options: Record<string, string>;
  Labels: Record<string, string>;
}

/** A published port's host side, as Docker's nat.PortBinding. */
export interface PortBinding {
  HostIp: string; //   "0.0.0.0", "127.0.0.1", "" (all)
  HostPort: string; // "49153"; "" before one is picked
}
/** "80/tcp" -> its bindings (null when exposed but not published), as Docker's nat.PortMap. */
export type PortMap = Record<string, PortBinding[] | null>;

/** A container's endpoint on one network: NetworkSettings.Networks[name]. */
export interface EndpointSettings {
  IPAMConfig: { IPv4Address?: string } | null;
  Links: string[] | null;
  Aliases: string[] | null;
  MacAddress: string;
  DriverOpts: Record<string, string> | null;
  NetworkID: string;
  EndpointID: string;
  Gateway: string;
  IPAddress: string;
  IPPrefixLen: number;
  IPv6Gateway: string;
  GlobalIPv6Address: string;
  GlobalIPv6PrefixLen: number;
  /** the names the embedded DNS answers for: the container's name, its aliases, its short ID */
  DNSNames: string[] | null;
}
