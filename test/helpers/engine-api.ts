// The shape of `docker inspect`'s JSON, as the Docker Engine API defines it
// (api/swagger.yaml of moby at v20.10, API v1.41: ContainerInspectResponse
// under GET /containers/{id}/json, and the Image definition that
// GET /images/{name}/json answers with), written out here as key/type
// tables. What JSON carries is what Go's encoder makes of moby's structs,
// so two of Go's rules are part of the shape:
//
// - a nil slice or map is `null`: every array and map may be null;
// - a field tagged `json:",omitempty"` is left out when empty: those keys
//   are `optional` here (Runtime, Init, Tmpfs, ExposedPorts, StopSignal…).
//   Every other key must be there.
//
// check() walks a value against a table and returns what does not fit, so
// a failing test names every wrong key at once.

export type Shape =
  | 'string'
  | 'integer'
  | 'boolean'
  | { array: Shape }
  | { map: Shape } //                 an object with any keys, all of one shape
  | { object: Record<string, Field> }
  | { nullable: Shape } //            a Go pointer: the value or null
  | 'any';

export interface Field {
  shape: Shape;
  optional?: boolean;
}

const f = (shape: Shape, optional = false): Field => ({ shape, optional });
const obj = (fields: Record<string, Shape | Field>): Shape => ({
  object: Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, typeof v === 'object' && 'shape' in v ? v : f(v as Shape)])),
});
const opt = (shape: Shape): Field => f(shape, true);
const str: Shape = 'string';
const int: Shape = 'integer';
const bool: Shape = 'boolean';
const strings: Shape = { array: str };
const stringMap: Shape = { map: str };

/** PortMap: "80/tcp" → [{HostIp, HostPort}] or null */
const PORT_MAP: Shape = { map: { array: obj({ HostIp: str, HostPort: str }) } };
const THROTTLE: Shape = { array: obj({ Path: str, Rate: int }) };

const RESTART_POLICY = obj({ Name: str, MaximumRetryCount: int });

/** Resources (the cgroup part of HostConfig) */
const RESOURCES: Record<string, Shape | Field> = {
  CpuShares: int, Memory: int, NanoCpus: int, CgroupParent: str, BlkioWeight: int,
  BlkioWeightDevice: { array: obj({ Path: str, Weight: int }) },
  BlkioDeviceReadBps: THROTTLE, BlkioDeviceWriteBps: THROTTLE, BlkioDeviceReadIOps: THROTTLE, BlkioDeviceWriteIOps: THROTTLE,
  CpuPeriod: int, CpuQuota: int, CpuRealtimePeriod: int, CpuRealtimeRuntime: int, CpusetCpus: str, CpusetMems: str,
  Devices: { array: obj({ PathOnHost: str, PathInContainer: str, CgroupPermissions: str }) },
  DeviceCgroupRules: strings,
  DeviceRequests: { array: 'any' },
  KernelMemory: int, KernelMemoryTCP: int, MemoryReservation: int, MemorySwap: int,
  MemorySwappiness: { nullable: int },
  OomKillDisable: { nullable: bool },
  PidsLimit: { nullable: int },
  Ulimits: { array: obj({ Name: str, Soft: int, Hard: int }) },
  CpuCount: int, CpuPercent: int, IOMaximumIOps: int, IOMaximumBandwidth: int,
};

export const HOST_CONFIG: Shape = obj({
  Binds: strings, ContainerIDFile: str, LogConfig: obj({ Type: str, Config: stringMap }), NetworkMode: str,
  PortBindings: PORT_MAP, RestartPolicy: RESTART_POLICY, AutoRemove: bool, VolumeDriver: str, VolumesFrom: strings,
  CapAdd: strings, CapDrop: strings, CgroupnsMode: str, Dns: strings, DnsOptions: strings, DnsSearch: strings,
  ExtraHosts: strings, GroupAdd: strings, IpcMode: str, Cgroup: str, Links: strings, OomScoreAdj: int, PidMode: str,
  Privileged: bool, PublishAllPorts: bool, ReadonlyRootfs: bool, SecurityOpt: strings,
  StorageOpt: opt(stringMap), Tmpfs: opt(stringMap), UTSMode: str, UsernsMode: str, ShmSize: int, Sysctls: opt(stringMap),
  Runtime: opt(str), ConsoleSize: { array: int }, Isolation: str,
  ...RESOURCES,
  Mounts: opt({ array: 'any' }), MaskedPaths: strings, ReadonlyPaths: strings, Init: opt({ nullable: bool }),
});

/** ContainerConfig (the `Config` of a container, and of an image) */
export const CONTAINER_CONFIG: Shape = obj({
  Hostname: str, Domainname: str, User: str, AttachStdin: bool, AttachStdout: bool, AttachStderr: bool,
  ExposedPorts: opt({ map: obj({}) }), Tty: bool, OpenStdin: bool, StdinOnce: bool, Env: strings, Cmd: strings,
  Healthcheck: opt(obj({ Test: strings, Interval: int, Timeout: int, Retries: int, StartPeriod: int })),
  ArgsEscaped: opt(bool), Image: str, Volumes: { map: obj({}) }, WorkingDir: str, Entrypoint: strings,
  NetworkDisabled: opt(bool), MacAddress: opt(str), OnBuild: strings, Labels: stringMap, StopSignal: opt(str),
  StopTimeout: opt({ nullable: int }), Shell: opt(strings),
});

const GRAPH_DRIVER = obj({ Name: str, Data: stringMap });

const STATE = obj({
  Status: str, Running: bool, Paused: bool, Restarting: bool, OOMKilled: bool, Dead: bool, Pid: int, ExitCode: int,
  Error: str, StartedAt: str, FinishedAt: str, Health: opt('any'),
});

const ADDRESS = { array: obj({ Addr: str, PrefixLen: int }) };

const NETWORK_SETTINGS = obj({
  Bridge: str, SandboxID: str, HairpinMode: bool, LinkLocalIPv6Address: str, LinkLocalIPv6PrefixLen: int, Ports: PORT_MAP,
  SandboxKey: str, SecondaryIPAddresses: ADDRESS, SecondaryIPv6Addresses: ADDRESS, EndpointID: str, Gateway: str,
  GlobalIPv6Address: str, GlobalIPv6PrefixLen: int, IPAddress: str, IPPrefixLen: int, IPv6Gateway: str, MacAddress: str,
  Networks: { map: 'any' },
});

const MOUNT_POINT = obj({
  Type: opt(str), Name: opt(str), Source: str, Destination: str, Driver: opt(str), Mode: str, RW: bool, Propagation: str,
});

/** ContainerInspectResponse */
export const CONTAINER_INSPECT: Shape = obj({
  Id: str, Created: str, Path: str, Args: strings, State: STATE, Image: str, ResolvConfPath: str, HostnamePath: str,
  HostsPath: str, LogPath: str, Node: opt('any'), Name: str, RestartCount: int, Driver: str, Platform: str, MountLabel: str,
  ProcessLabel: str, AppArmorProfile: str, ExecIDs: strings, HostConfig: HOST_CONFIG, GraphDriver: GRAPH_DRIVER,
  SizeRw: opt(int), SizeRootFs: opt(int), Mounts: { array: MOUNT_POINT }, Config: CONTAINER_CONFIG,
  NetworkSettings: NETWORK_SETTINGS,
});

/** ImageInspect (the Image definition) */
export const IMAGE_INSPECT: Shape = obj({
  Id: str, RepoTags: strings, RepoDigests: strings, Parent: str, Comment: str, Created: str, Container: str,
  ContainerConfig: CONTAINER_CONFIG, DockerVersion: str, Author: str, Config: CONTAINER_CONFIG, Architecture: str,
  Variant: opt(str), Os: str, OsVersion: opt(str), Size: int, VirtualSize: int, GraphDriver: GRAPH_DRIVER,
  RootFS: obj({ Type: str, Layers: opt(strings), BaseLayer: opt(str) }),
  Metadata: obj({ LastTagTime: opt(str) }),
});

/** Go's RFC3339Nano in UTC: nanoseconds at most, no trailing zero in the fraction. */
export const GO_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{0,8}[1-9])?Z$/;

/**
 * Every place `value` does not fit `shape`, as "Path.To.Key: what is wrong".
 * `extra` names keys of the top object that are allowed beyond the table
 * (dockling's own, documented ones).
 */
export function check(value: unknown, shape: Shape, at = '', extra: string[] = []): string[] {
  const where = at || '(top)';
  const kind = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);
  if (shape === 'any') return [];
  if (typeof shape === 'object' && 'nullable' in shape) return value === null ? [] : check(value, shape.nullable, at);
  if (shape === 'string') return typeof value === 'string' ? [] : [`${where}: expected a string, got ${kind(value)}`];
  if (shape === 'boolean') return typeof value === 'boolean' ? [] : [`${where}: expected a boolean, got ${kind(value)}`];
  if (shape === 'integer') return Number.isInteger(value) ? [] : [`${where}: expected an integer, got ${kind(value)} ${JSON.stringify(value)}`];
  // A Go slice or map may be nil: null.
  if ('array' in shape) {
    if (value === null) return [];
    if (!Array.isArray(value)) return [`${where}: expected an array, got ${kind(value)}`];
    return value.flatMap((v, i) => check(v, shape.array, `${at}[${i}]`));
  }
  if ('map' in shape) {
    if (value === null) return [];
    if (kind(value) !== 'object') return [`${where}: expected an object, got ${kind(value)}`];
    return Object.entries(value as object).flatMap(([k, v]) => check(v, shape.map, `${at}[${JSON.stringify(k)}]`));
  }
  if (kind(value) !== 'object') return [`${where}: expected an object, got ${kind(value)}`];
  const o = value as Record<string, unknown>;
  const errors: string[] = [];
  for (const [k, field] of Object.entries(shape.object)) {
    const path = at ? `${at}.${k}` : k;
    if (!(k in o)) {
      if (!field.optional) errors.push(`${path}: missing`);
      continue;
    }
    errors.push(...check(o[k], field.shape, path));
  }
  for (const k of Object.keys(o)) if (!(k in shape.object) && !extra.includes(k)) errors.push(`${at ? `${at}.${k}` : k}: not a key of the Engine API's schema`);
  return errors;
}
