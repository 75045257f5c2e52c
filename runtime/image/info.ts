// `dockling info`: the machine and the stores, in `docker info`'s shape
// (the Server part: where Docker lists its storage driver, cgroup driver,
// security options, kernel and root dir).
import fs from 'node:fs';
import os from 'node:os';
import type { Command } from '../core/layer.js';
import { isRunning, listContainers } from '../core/containers.js';
import { cgroupMode, cgroupModeReason } from '../cgroups/detect.js';
import { storesWithBusybox } from './busybox.js';

function osName(): string {
  try {
    return /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(fs.readFileSync('/etc/os-release', 'utf8'))?.[1] ?? 'Linux';
  } catch {
    return 'Linux'; // a host without /etc/os-release: the kernel's name says enough
  }
}

const gib = (n: number) => `${(n / 1024 ** 3).toFixed(2).replace(/\.?0+$/, '')}GiB`;

// #region security-options
/**
 * The defences in force, from the layers that add them (chapter 11), in
 * `docker info`'s block: each option's name two spaces in, its details
 * ("Profile: builtin", given by a layer as " Profile: builtin") one deeper.
 * Without such a layer there is no block, as on a Docker without any.
 */
export function securityOptions(lines: string[]): string[] {
  return lines.length ? [' Security Options:', ...lines.map((l) => `  ${l}`)] : [];
}
// #endregion security-options

export const infoCommand: Command = {
  name: 'info',
  aliases: ['system info'],
  summary: 'Display system-wide information',
  usage: 'info',
  maxArgs: 0,
  flags: [],
  async run(inv) {
    const s = await storesWithBusybox(inv.stateRoot);
    const containers = listContainers(inv.stateRoot);
    const running = containers.filter(isRunning).length;
    const mountinfo = fs.readFileSync('/proc/self/mountinfo', 'utf8');
    const mode = cgroupMode(mountinfo);
    const lines = [
      'Server:',
      ` Containers: ${containers.length}`,
      `  Running: ${running}`,
      '  Paused: 0',
      `  Stopped: ${containers.length - running}`,
      ` Images: ${s.images.list().length}`,
      ` Server Version: dockling 0.1.0 (chapters 1..${inv.chapter})`,
      ` Storage Driver: ${s.driver.name}`,
      ...s.driver.status().map(([k, v]) => `  ${k}: ${v}`),
      // #region info-cgroups
      // docker info's two lines (cgroupfs: dockling writes the cgroup files
      // itself, no systemd in between), then why, from what is mounted.
      ` Cgroup Driver: ${mode === 'none' ? 'none' : 'cgroupfs'}`,
      ` Cgroup Version: ${mode === 'v2' ? 2 : 1}`,
      `  Detected: ${cgroupModeReason(mountinfo)}`,
      // #endregion info-cgroups
      ...securityOptions(inv.layers.flatMap((l) => l.info?.(inv.stateRoot) ?? [])),
      ` Kernel Version: ${os.release()}`,
      ` Operating System: ${osName()}`,
      ' OSType: linux',
      ` Architecture: ${os.machine()}`,
      ` CPUs: ${os.cpus().length}`,
      ` Total Memory: ${gib(os.totalmem())}`,
      ` Name: ${os.hostname()}`,
      ` Docker Root Dir: ${inv.stateRoot}`,
    ];
    process.stdout.write(lines.join('\n') + '\n');
    return 0;
  },
};
