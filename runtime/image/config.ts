// An image is a config and a list of layers. The config (the OCI image
// spec's "image configuration", which Docker shares) says how to run the
// image — Env, Cmd, Entrypoint, WorkingDir… — and lists the layers by their
// diffIDs; its sha256 *is* the image ID. Change one byte of one layer and the
// diffID changes, so the config changes, so the ID changes: content
// addressing all the way down.

/** What a container made from the image starts with (the config's "config"). */
export interface RunConfig {
  User?: string;
  Env?: string[];
  Cmd?: string[] | null;
  Entrypoint?: string[] | null;
  WorkingDir?: string;
  ExposedPorts?: Record<string, object>;
  Volumes?: Record<string, object>;
  Labels?: Record<string, string>;
  StopSignal?: string;
}

export interface HistoryEntry {
  created: string;
  created_by?: string;
  author?: string;
  comment?: string;
  /** true for a step that changed only the config (no layer of its own) */
  empty_layer?: boolean;
}

export interface ImageConfig {
  architecture: string;
  os: string;
  created: string;
  author?: string;
  config: RunConfig;
  rootfs: { type: 'layers'; diff_ids: string[] };
  history: HistoryEntry[];
  /** Docker keeps which container a commit came from */
  container?: string;
  /** and that container's config, as it was (Docker's "ContainerConfig") */
  container_config?: RunConfig & Record<string, unknown>;
  docker_version?: string;
  variant?: string;
  comment?: string;
}


/** Go's GOARCH names, which image configs use. */
export function goArch(): string {
  return ({ x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x' } as Record<string, string>)[process.arch] ?? process.arch;
}

/**
 * The config's bytes. The ID is the digest of exactly these bytes, so they
 * are made once, stored as they are, and never re-serialised: two JSON
 * encoders may order keys differently, and the ID would change.
 */
export function encodeConfig(c: ImageConfig): Buffer {
  return Buffer.from(JSON.stringify(c));
}

/** Read a config, checking the parts dockling relies on. */
export function decodeConfig(bytes: Buffer, where: string): ImageConfig {
  let c: ImageConfig;
  try {
    c = JSON.parse(bytes.toString('utf8')) as ImageConfig;
  } catch (e) {
    throw new Error(`${where}: the image config is not JSON (${(e as Error).message})`, { cause: e });
  }
  if (!c || typeof c !== 'object' || !c.rootfs || !Array.isArray(c.rootfs.diff_ids) || !c.rootfs.diff_ids.every((d) => /^sha256:[0-9a-f]{64}$/.test(d))) {
    throw new Error(`${where}: the image config has no valid rootfs.diff_ids`);
  }
  c.config ??= {};
  c.history ??= [];
  return c;
}
