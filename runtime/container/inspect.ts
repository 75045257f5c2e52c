// `docker inspect CONTAINER`'s JSON, from config.v2.json and hostconfig.json,
// with the state as it really is now (state.ts).
import path from 'node:path';
import type { ContainerConfig } from '../core/containers.js';
import { openStores } from '../image/open-stores.js';
import { containerDir, liveStatus, monitorGone, readSavedRun } from './state.js';

export function containerInspect(root: string, c: ContainerConfig): Record<string, unknown> {
  const dir = containerDir(root, c.ID);
  const status = liveStatus(c);
  const s = c.Driver ? openStores(root) : null;
  const m = s?.layers.getMount(c.ID);
  const saved = readSavedRun(dir);
  const extra = c as unknown as Record<string, unknown>;
  return {
    Id: c.ID,
    Created: c.Created,
    Path: c.Path,
    Args: c.Args,
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
    Image: c.Image ?? '',
    ResolvConfPath: path.join(dir, 'resolv.conf'),
    HostnamePath: path.join(dir, 'hostname'),
    HostsPath: path.join(dir, 'hosts'),
    LogPath: path.join(dir, `${c.ID}-json.log`),
    Name: c.Name,
    RestartCount: (extra.RestartCount as number | undefined) ?? 0,
    Driver: c.Driver ?? '',
    Platform: 'linux',
    MountLabel: '',
    ProcessLabel: '',
    AppArmorProfile: '',
    ExecIDs: null,
    HostConfig: { LogConfig: { Type: 'json-file', Config: {} }, ...(saved?.HostConfig ?? c.HostConfig ?? {}) },
    GraphDriver: s && m ? { Data: s.driver.metadata(m.mountID), Name: s.driver.name } : null,
    Mounts: [],
    Config: {
      Hostname: c.Config.Hostname,
      Domainname: '',
      User: '',
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
    MonitorPid: c.MonitorPid,
  };
}
