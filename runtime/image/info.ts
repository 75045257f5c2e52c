// `dockling info`: the machine and the stores, in `docker info`'s shape
// (the Server part: where Docker lists its storage driver, cgroup driver,
// security options, kernel and root dir).
import fs from 'node:fs';
import os from 'node:os';
import type { Command, Layer } from '../core/layer.js';
import { RunError } from '../core/pipeline.js';
import { formatTemplate, templateError } from '../core/format.js';
import { docklingVersion, versionDocument } from '../process/version.js';
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

// #region info-document
/**
 * docker info's document (the Engine API's SystemInfo, and the client's
 * part as ClientInfo): what --format templates run on, with Docker's field
 * names. Only what dockling has is filled in: no swarm, no plugins, no
 * registry, and no daemon to report its own ID.
 */
export async function infoDocument(stateRoot: string, chapter: number, layers: Layer[]) {
  const s = await storesWithBusybox(stateRoot);
  const containers = listContainers(stateRoot);
  const running = containers.filter(isRunning).length;
  const mountinfo = fs.readFileSync('/proc/self/mountinfo', 'utf8');
  const mode = cgroupMode(mountinfo);
  const security = layers.flatMap((l) => l.info?.(stateRoot) ?? []);
  return {
    ID: '',
    Containers: containers.length,
    ContainersRunning: running,
    ContainersPaused: 0,
    ContainersStopped: containers.length - running,
    Images: s.images.list().length,
    Driver: s.driver.name,
    DriverStatus: s.driver.status(),
    // docker info's two lines (cgroupfs: dockling writes the cgroup files
    // itself, no systemd in between).
    CgroupDriver: mode === 'none' ? 'none' : 'cgroupfs',
    CgroupVersion: mode === 'v2' ? '2' : '1',
    KernelVersion: os.release(),
    OperatingSystem: osName(),
    OSType: 'linux',
    Architecture: os.machine(),
    NCPU: os.cpus().length,
    MemTotal: os.totalmem(),
    DockerRootDir: stateRoot,
    Name: os.hostname(),
    ServerVersion: `dockling ${docklingVersion()} (chapters 1..${chapter})`,
    SecurityOptions: securityOptionNames(security),
    Warnings: null,
    // docker/cli adds the client's side: `version`'s Client block
    ClientInfo: { Debug: false, ...versionDocument(chapter, layers).Client, Plugins: [], Warnings: null },
    // for the text only: why this cgroup version ("hybrid: … using v1")
    CgroupReason: cgroupModeReason(mountinfo),
    SecurityLines: security,
  };
}
// #endregion info-document

/**
 * The Engine API's SecurityOptions from the block's lines: each option
 * ("seccomp") with its details (" Profile: builtin") as docker's daemon
 * gives them, "name=seccomp,profile=builtin".
 */
function securityOptionNames(lines: string[]): string[] {
  const out: string[] = [];
  for (const l of lines) {
    const detail = /^\s+([^:]+):\s*(.*)$/.exec(l);
    if (detail && out.length) out[out.length - 1] += `,${detail[1].trim().toLowerCase()}=${detail[2]}`;
    else out.push(`name=${l.trim()}`);
  }
  return out;
}

export const infoCommand: Command = {
  name: 'info',
  aliases: ['system info'],
  summary: 'Display system-wide information',
  usage: 'info [OPTIONS]',
  maxArgs: 0,
  flags: [{ name: 'format', short: 'f', kind: 'string', usage: "Format output using a custom template: 'json' prints in JSON format, 'TEMPLATE' prints output using the given Go template" }],
  async run(inv) {
    const given = inv.flags.get('format') as string | undefined;
    // docker/cli: the template is parsed first (exit 64), `json` is {{json .}}.
    const format = given === 'json' ? '{{json .}}' : given;
    if (format) {
      const bad = templateError(format);
      if (bad) throw new RunError(64, bad);
    }
    const { CgroupReason, SecurityLines, ...doc } = await infoDocument(inv.stateRoot, inv.chapter, inv.layers);
    if (format) {
      process.stdout.write(formatTemplate(format, doc) + '\n');
      return 0;
    }
    const lines = [
      'Server:',
      ` Containers: ${doc.Containers}`,
      `  Running: ${doc.ContainersRunning}`,
      `  Paused: ${doc.ContainersPaused}`,
      `  Stopped: ${doc.ContainersStopped}`,
      ` Images: ${doc.Images}`,
      ` Server Version: ${doc.ServerVersion}`,
      ` Storage Driver: ${doc.Driver}`,
      ...doc.DriverStatus.map(([k, v]) => `  ${k}: ${v}`),
      // #region info-cgroups
      // docker info's two lines, then why, from what is mounted.
      ` Cgroup Driver: ${doc.CgroupDriver}`,
      ` Cgroup Version: ${doc.CgroupVersion}`,
      `  Detected: ${CgroupReason}`,
      // #endregion info-cgroups
      ...securityOptions(SecurityLines),
      ` Kernel Version: ${doc.KernelVersion}`,
      ` Operating System: ${doc.OperatingSystem}`,
      ` OSType: ${doc.OSType}`,
      ` Architecture: ${doc.Architecture}`,
      ` CPUs: ${doc.NCPU}`,
      ` Total Memory: ${gib(doc.MemTotal)}`,
      ` Name: ${doc.Name}`,
      ` Docker Root Dir: ${doc.DockerRootDir}`,
    ];
    process.stdout.write(lines.join('\n') + '\n');
    return 0;
  },
};
