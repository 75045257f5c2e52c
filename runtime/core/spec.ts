// The container spec: everything the init needs to know to build the
// container, as plain data. Its shape follows the OCI runtime spec
// (config.json: process, root, hostname, mounts, linux.namespaces,
// linux.devices) so that a learner who reads runc's config.json recognises
// every field. The host side builds it, layer by layer; the init inside the
// new namespaces carries it out, step by step.

/** Namespaces by their OCI names (clone flag in brackets). */
export type NamespaceName =
  | 'pid' //     CLONE_NEWPID: own process IDs, the command is PID 1
  | 'mount' //   CLONE_NEWNS: own mount table
  | 'uts' //     CLONE_NEWUTS: own hostname
  | 'ipc' //     CLONE_NEWIPC: own System V IPC and POSIX message queues
  | 'network' // CLONE_NEWNET: own interfaces, routes, ports
  | 'cgroup'; // CLONE_NEWCGROUP: own view of the cgroup tree

export interface MountSpec {
  /** where inside the container (absolute, resolved under the rootfs) */
  destination: string;
  /** filesystem type ("proc", "tmpfs", ...) or "bind" */
  type: string;
  source: string;
  /** OCI-style options: "nosuid", "ro", "bind", "mode=755", ... */
  options: string[];
}

export interface DeviceSpec {
  path: string;
  type: 'c';
  major: number;
  minor: number;
  /** permission bits, e.g. 0o666 */
  fileMode: number;
}

export interface ProcessSpec {
  args: string[];
  env: string[];
  cwd: string;
  /** allocate a pseudo-terminal for the process (-t) */
  terminal: boolean;
  /** window size to start the terminal with */
  consoleSize?: { rows: number; cols: number };
}

export interface ContainerSpec {
  id: string;
  root: { path: string };
  hostname: string;
  process: ProcessSpec;
  namespaces: NamespaceName[];
  mounts: MountSpec[];
  devices: DeviceSpec[];
  /** symlinks made inside the container's /dev after mounts: [target, path] */
  symlinks: [string, string][];
  /** paths hidden from the container (/dev/null or an empty tmpfs over them) */
  maskedPaths: string[];
  /** paths remounted read-only inside the container */
  readonlyPaths: string[];
}
