// `docker inspect CONTAINER`'s JSON: chapter 4's document (its config and
// its layers, image/container-commands.ts), with what chapter 5 adds: the
// state as it really is now (state.ts), the files the container is given,
// the run's HostConfig and the Config as Docker shows it.
import path from 'node:path';
import type { ContainerConfig } from '../core/containers.js';
import type { Stores } from '../image/open-stores.js';
import { containerInspect as layersInspect } from '../image/container-commands.js';
import { containerDir, liveStatus, monitorGone, readSavedRun } from './state.js';

/** The fields of `docker inspect`, in the order Docker prints them. */
const DOCKER_ORDER = [
  'Id', 'Created', 'Path', 'Args', 'State', 'Image', 'ResolvConfPath', 'HostnamePath', 'HostsPath', 'LogPath', 'Name',
  'RestartCount', 'Driver', 'Platform', 'MountLabel', 'ProcessLabel', 'AppArmorProfile', 'ExecIDs', 'HostConfig',
  'GraphDriver', 'Mounts', 'Config', 'NetworkSettings',
];

export function containerInspect(s: Stores, root: string, c: ContainerConfig): Record<string, unknown> {
  const dir = containerDir(root, c.ID);
  const status = liveStatus(c); // read once: Status, Running and Pid must agree
  const saved = readSavedRun(dir);
  const extra = c as unknown as Record<string, unknown>;
  const doc: Record<string, unknown> = {
    ...layersInspect(s, c),
    State: {
      Status: status,
      Running: status === 'running',
      Paused: false,
      Restarting: false,
      OOMKilled: Boolean((c.State as unknown as Record<string, unknown>).OOMKilled),
      Dead: status === 'dead',
      Pid: status === 'running' ? c.State.Pid : 0,
      ExitCode: c.State.ExitCode,
      Error: status === 'dead' ? 'its monitor was killed: how it ended was not recorded' : monitorGone(c) ? 'its monitor is gone: output is lost, the exit will not be recorded' : '',
      StartedAt: c.State.StartedAt || '0001-01-01T00:00:00Z',
      FinishedAt: c.State.FinishedAt || '0001-01-01T00:00:00Z',
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
    HostConfig: { LogConfig: { Type: 'json-file', Config: {} }, ...(saved?.HostConfig ?? c.HostConfig ?? {}) },
    Mounts: [],
    Config: {
      Hostname: c.Config.Hostname,
      Domainname: '',
      User: (c.Config as { User?: string }).User ?? '',
      AttachStdin: c.Config.OpenStdin,
      AttachStdout: true,
      AttachStderr: true,
      Tty: c.Config.Tty,
      OpenStdin: c.Config.OpenStdin,
      StdinOnce: c.Config.OpenStdin,
      Env: c.Config.Env,
      Cmd: c.Config.Cmd,
      Image: c.Config.Image,
      Volumes: null,
      WorkingDir: c.Config.WorkingDir,
      Entrypoint: c.Config.Entrypoint ?? null,
      OnBuild: null,
      Labels: {},
      StopSignal: (c.Config as Record<string, unknown>).StopSignal,
    },
    NetworkSettings: {},
  };
  // Docker's order, chapter 5's fields among chapter 4's; dockling's own last.
  return { ...Object.fromEntries(DOCKER_ORDER.map((k) => [k, doc[k]])), ...doc, MonitorPid: c.MonitorPid };
}
