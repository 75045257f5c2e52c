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
  /** character or block device (block ones only from --device and --privileged, chapter 11) */
  type: 'c' | 'b';
  major: number;
  minor: number;
  /** permission bits, e.g. 0o666 */
  fileMode: number;
  /**
   * the host's node for it, when not at the same path (--device
   * /dev/sda:/dev/xvda): in a user namespace, where mknod is refused, the
   * init bind-mounts this node instead (chapter 11)
   */
  hostPath?: string;
}

export interface ProcessSpec {
  args: string[];
  env: string[];
  cwd: string;
  /** allocate a pseudo-terminal for the process (-t) */
  terminal: boolean;
  /** window size to start the terminal with */
  consoleSize?: { rows: number; cols: number };
  /**
   * chapter 5: the user to run as, as given (USER or --user: "name",
   * "uid", "name:group", "uid:gid") and --group-add's groups. The init
   * looks the names up in the container's /etc/passwd and /etc/group, from
   * inside its root (container/user.ts). Absent: root, as before.
   */
  user?: {
    spec: string;
    groupAdd: string[];
    /** HOME is chapter 1's default (/root), not given: the passwd entry's home replaces it */
    home: boolean;
  };
  // The fields below are chapter 11's (hardening). A spec without them is
  // carried out as before: the command keeps every privilege of root.
  /** the capability sets the command starts with, by name ("CAP_CHOWN") */
  capabilities?: CapabilitySets;
  /** prctl(PR_SET_NO_NEW_PRIVS): execve can never raise privileges (setuid bits, file caps) */
  noNewPrivileges?: boolean;
  /** setrlimit(2) before execve: type is the OCI name ("RLIMIT_NOFILE"); -1 is unlimited (RLIM_INFINITY) */
  rlimits?: { type: string; soft: number; hard: number }[];
}

/** The five capability sets of a thread (capabilities(7)), as OCI names them. */
export interface CapabilitySets {
  bounding: string[];
  effective: string[];
  permitted: string[];
  inheritable: string[];
  ambient: string[];
}

/** One line of a user namespace's uid_map or gid_map (user_namespaces(7)). */
export interface IdMapping {
  containerID: number;
  hostID: number;
  size: number;
}

export interface ContainerSpec {
  id: string;
  /** readonly: the root is remounted read-only once built (--read-only, chapter 11) */
  root: { path: string; readonly?: boolean };
  /**
   * OCI's linux.rootfsPropagation: how the container's copy of the mount
   * table hears of the host's. Absent: private, cut off both ways (chapter
   * 1). "rslave": the host's mounts reach it, its own never reach the host
   * (chapter 7 asks for it when a bind mount wants propagation).
   */
  rootfsPropagation?: 'rslave';
  hostname: string;
  process: ProcessSpec;
  namespaces: NamespaceName[];
  /**
   * Join this network namespace (a /proc/PID/ns/net path) instead of making
   * one: Docker's --network container:NAME (chapter 6). As OCI's
   * linux.namespaces entry with a `path`; `network` is then not in namespaces.
   */
  joinNetwork?: string;
  mounts: MountSpec[];
  devices: DeviceSpec[];
  /** symlinks made inside the container's /dev after mounts: [target, path] */
  symlinks: [string, string][];
  /** paths hidden from the container (/dev/null or an empty tmpfs over them) */
  maskedPaths: string[];
  /** paths remounted read-only inside the container */
  readonlyPaths: string[];
  /**
   * A seccomp filter installed just before execve (chapter 11): the classic
   * BPF program as base64 of its struct sock_filter array (8 bytes each).
   */
  seccomp?: { program: string };
  /** a user namespace with these maps (chapter 11, --userns-remap) */
  uidMappings?: IdMapping[];
  gidMappings?: IdMapping[];
}

/**
 * What a process started by `exec` in a running container is given besides
 * its command (chapter 11 fills it in: see Layer.exec in layer.ts).
 */
export interface ExecSettings {
  /** each set as a bit mask (bit N is capability N, as /proc/PID/status prints them) */
  capabilities?: { [set in keyof CapabilitySets]: bigint };
  noNewPrivileges?: boolean;
  rlimits?: ProcessSpec['rlimits'];
  seccomp?: { program: string };
}
