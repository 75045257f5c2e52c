// `docker inspect CONTAINER`'s JSON: chapter 4's document (its config and
// its layers, image/container-commands.ts), with what chapter 5 adds: the
// state as it really is now (state.ts), the files the container is given,
// and the whole of Docker's HostConfig, Config and NetworkSettings, so that
// a script written against Docker's inspect finds every key it reads.
//
// Each layer records what it applied, under Docker's name for it, in the
// container's HostConfig when it makes the container (chapter 1 its
// namespaces, chapter 2 its limits, chapter 5 the restart policy and the
// log, chapter 11 its defences). Here, that record is laid over Docker's
// table of keys: a key no layer recorded shows the value Docker shows when
// its flag was not given. (Chapters 6 and 7, networks and volumes, record
// theirs the same way; until then their keys are Docker's empty ones.)
import path from 'node:path';
import type { ContainerConfig } from '../core/containers.js';
import type { Stores } from '../image/open-stores.js';
import { goTime } from '../core/time.js';
import { containerInspect as layersInspect } from '../image/container-commands.js';
import { containerDir, isPaused, liveStatus, monitorGone, readSavedRun } from './state.js';

/** The fields of `docker inspect`, in the order Docker prints them. */
const DOCKER_ORDER = [
  'Id', 'Created', 'Path', 'Args', 'State', 'Image', 'ResolvConfPath', 'HostnamePath', 'HostsPath', 'LogPath', 'Name',
  'RestartCount', 'Driver', 'Platform', 'MountLabel', 'ProcessLabel', 'AppArmorProfile', 'ExecIDs', 'HostConfig',
  'GraphDriver', 'Mounts', 'Config', 'NetworkSettings',
];

/**
 * Docker's HostConfig, key by key in its order (moby's HostConfig struct,
 * then its Resources), with what Docker shows for a flag not given: null
 * for a list the CLI leaves out, [] or {} for one it always sends, 0, "",
 * false. A layer's record replaces these.
 */
const HOST_CONFIG: [string, unknown][] = [
  ['Binds', null], //                 -v (chapter 7)
  ['ContainerIDFile', ''],
  ['LogConfig', { Type: 'json-file', Config: {} }],
  ['NetworkMode', ''], //             --network (chapter 6)
  ['PortBindings', {}], //            -p (chapter 6)
  ['RestartPolicy', { Name: 'no', MaximumRetryCount: 0 }],
  ['AutoRemove', false],
  ['VolumeDriver', ''],
  ['VolumesFrom', null],
  ['CapAdd', null],
  ['CapDrop', null],
  ['CgroupnsMode', ''],
  ['Dns', []], //                      --dns… (chapter 6)
  ['DnsOptions', []],
  ['DnsSearch', []],
  ['ExtraHosts', null],
  ['GroupAdd', null],
  ['IpcMode', ''],
  ['Cgroup', ''],
  ['Links', null],
  ['OomScoreAdj', 0],
  ['PidMode', ''],
  ['Privileged', false],
  ['PublishAllPorts', false],
  ['ReadonlyRootfs', false],
  ['SecurityOpt', null],
  ['Tmpfs', undefined], //           left out unless given (Go's omitempty)
  ['UTSMode', ''],
  ['UsernsMode', ''],
  ['ShmSize', 0],
  // Docker names the OCI runtime that made the container (runc); here it
  // is dockling's own: nsexec and the TypeScript init of chapter 1.
  ['Runtime', 'dockling'],
  ['ConsoleSize', [0, 0]],
  ['Isolation', ''],
  // Resources: the cgroup limits (chapter 2 records those it applies)
  ['CpuShares', 0],
  ['Memory', 0],
  ['NanoCpus', 0],
  ['CgroupParent', ''],
  ['BlkioWeight', 0],
  ['BlkioWeightDevice', []],
  ['BlkioDeviceReadBps', null],
  ['BlkioDeviceWriteBps', null],
  ['BlkioDeviceReadIOps', null],
  ['BlkioDeviceWriteIOps', null],
  ['CpuPeriod', 0],
  ['CpuQuota', 0],
  ['CpuRealtimePeriod', 0],
  ['CpuRealtimeRuntime', 0],
  ['CpusetCpus', ''],
  ['CpusetMems', ''],
  ['Devices', []],
  ['DeviceCgroupRules', null],
  ['DeviceRequests', null],
  ['KernelMemory', 0],
  ['KernelMemoryTCP', 0],
  ['MemoryReservation', 0],
  ['MemorySwap', 0],
  ['MemorySwappiness', null],
  ['OomKillDisable', false],
  ['PidsLimit', null],
  ['Ulimits', null],
  ['CpuCount', 0],
  ['CpuPercent', 0],
  ['IOMaximumIOps', 0],
  ['IOMaximumBandwidth', 0],
  ['MaskedPaths', null],
  ['ReadonlyPaths', null],
  ['Init', undefined], //            left out unless --init (a Go *bool, omitempty)
];

/** NetworkSettings as Docker shows a container with no network endpoint: chapter 6 fills it in. */
const NETWORK_SETTINGS = {
  Bridge: '', SandboxID: '', HairpinMode: false, LinkLocalIPv6Address: '', LinkLocalIPv6PrefixLen: 0, Ports: {},
  SandboxKey: '', SecondaryIPAddresses: null, SecondaryIPv6Addresses: null, EndpointID: '', Gateway: '',
  GlobalIPv6Address: '', GlobalIPv6PrefixLen: 0, IPAddress: '', IPPrefixLen: 0, IPv6Gateway: '', MacAddress: '', Networks: {},
};

// #region hostconfig-overlay
/** The layers' record laid over Docker's table, in Docker's order (a record Docker has no key for goes last). */
function hostConfig(recorded: Record<string, unknown>): Record<string, unknown> {
  const known = new Set(HOST_CONFIG.map(([k]) => k));
  const out: Record<string, unknown> = {};
  for (const [k, empty] of HOST_CONFIG) {
    const v = k in recorded ? recorded[k] : empty;
    if (k === 'Init' && !v) continue; // Docker's CLI sends Init only with --init
    if (v !== undefined) out[k] = v;
  }
  for (const [k, v] of Object.entries(recorded)) if (!known.has(k)) out[k] = v;
  return out;
}
// #endregion hostconfig-overlay

export function containerInspect(s: Stores, root: string, c: ContainerConfig): Record<string, unknown> {
  const dir = containerDir(root, c.ID);
  const status = liveStatus(c); // read once: Status, Running and Pid must agree
  const paused = status === 'running' && isPaused(c);
  const saved = readSavedRun(dir);
  const extra = c as unknown as Record<string, unknown>;
  const config = c.Config as ContainerConfig['Config'] & Record<string, unknown>;
  // Docker's CLI attaches stdout and stderr (and stdin with -i) unless -d.
  const attached = !saved?.Run.flags.detach;
  const doc: Record<string, unknown> = {
    ...layersInspect(s, c),
    State: {
      Status: paused ? 'paused' : status, // Docker's StateString: running and paused is "paused"
      Running: status === 'running',
      Paused: paused,
      Restarting: false,
      OOMKilled: Boolean((c.State as unknown as Record<string, unknown>).OOMKilled),
      Dead: status === 'dead',
      Pid: status === 'running' ? c.State.Pid : 0,
      ExitCode: c.State.ExitCode,
      Error: status === 'dead' ? 'its monitor was killed: how it ended was not recorded' : monitorGone(c) ? 'its monitor is gone: output is lost, the exit will not be recorded' : '',
      StartedAt: goTime(c.State.StartedAt),
      FinishedAt: goTime(c.State.FinishedAt),
    },
    ResolvConfPath: path.join(dir, 'resolv.conf'),
    HostnamePath: path.join(dir, 'hostname'),
    HostsPath: path.join(dir, 'hosts'),
    LogPath: path.join(dir, `${c.ID}-json.log`),
    RestartCount: (extra.RestartCount as number | undefined) ?? 0,
    Platform: 'linux',
    MountLabel: '',
    ProcessLabel: '',
    AppArmorProfile: '',
    ExecIDs: null,
    // The record as the layers left it (chapter 6 adds its own keys after chapter 5 saved its copy).
    HostConfig: hostConfig({ ...(saved?.HostConfig ?? {}), ...(c.HostConfig ?? {}) }),
    Mounts: mountsShown(extra.MountPoints as Record<string, Record<string, unknown>> | null | undefined),
    Config: {
      Hostname: c.Config.Hostname,
      Domainname: '',
      User: config.User ?? '',
      AttachStdin: attached && c.Config.OpenStdin,
      AttachStdout: attached,
      AttachStderr: attached,
      // omitempty in Docker: shown once a port is exposed (the image's EXPOSE, --expose, -p: chapter 6)
      ...(config.ExposedPorts ? { ExposedPorts: config.ExposedPorts } : {}),
      Tty: c.Config.Tty,
      OpenStdin: c.Config.OpenStdin,
      StdinOnce: attached && c.Config.OpenStdin, // an attached -i closes stdin when its client goes
      Env: c.Config.Env,
      Cmd: c.Config.Cmd,
      Image: c.Config.Image,
      Volumes: ((c.Config as Record<string, unknown>).Volumes as Record<string, object> | null | undefined) ?? null,
      WorkingDir: c.Config.WorkingDir,
      Entrypoint: c.Config.Entrypoint ?? null,
      OnBuild: null,
      Labels: imageLabels(s, c),
      StopSignal: config.StopSignal,
      StopTimeout: config.StopTimeout,
    },
    NetworkSettings: { ...NETWORK_SETTINGS, ...((extra.NetworkSettings as Record<string, unknown> | undefined) ?? {}) },
  };
  // Docker's order, chapter 5's fields among chapter 4's; dockling's own last.
  return { ...Object.fromEntries(DOCKER_ORDER.map((k) => [k, doc[k]])), ...doc, MonitorPid: c.MonitorPid };
}

// #region inspect-mounts
/**
 * Mounts as `docker inspect` lists them (Type, Name, Source, Destination,
 * Driver, Mode, RW, Propagation), from the mount points chapter 7 records
 * (none before it). A --tmpfs is not among them (Docker keeps it in
 * HostConfig.Tmpfs only); dockling's own fields are left out.
 */
function mountsShown(points: Record<string, Record<string, unknown>> | null | undefined): Record<string, unknown>[] {
  return Object.values(points ?? {})
    .filter((p) => !p.TmpfsFlag)
    .sort((a, b) => ((a.Destination as string) < (b.Destination as string) ? -1 : 1))
    .map((p) => ({
      Type: p.Type,
      ...(p.Type === 'volume' ? { Name: p.Name } : {}),
      Source: p.Source,
      Destination: p.Destination,
      ...(p.Type === 'volume' ? { Driver: p.Driver } : {}),
      Mode: p.Mode,
      RW: p.RW,
      Propagation: p.Propagation,
    }));
}
// #endregion inspect-mounts

/** Docker copies the image's labels into the container's (there is no --label yet). */
function imageLabels(s: Stores, c: ContainerConfig): Record<string, string> {
  if (!c.Image) return {};
  try {
    return { ...(s.images.get(c.Image).config.Labels ?? {}) };
  } catch {
    return {}; // the image was removed since (rmi -f): its labels are gone with it
  }
}
