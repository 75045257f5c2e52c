// A storage driver: how a stack of image layers plus one writable layer
// becomes a container's root filesystem. Docker calls this a graph driver;
// aufs (chapter 3) and overlay2 (chapter 4) are two answers to the same
// questions, so the layer store above talks only to this interface.
//
// Layers are named by a driver-level id (Docker's "cache-id": a random
// 64-hex id, not the layer's content digest), and each names its parent:
// a layer is always "these changes on top of that stack".
import type { Readable } from 'node:stream';

/** One line of `docker diff`: A added, C changed, D deleted. */
export interface Change {
  kind: 'A' | 'C' | 'D';
  /** absolute path inside the container, e.g. "/etc/passwd" */
  path: string;
}

/** What unpacking a layer tar gave: its content digest and size. */
export interface ApplyResult {
  /** sha256 of the uncompressed tar, "sha256:<hex>": the layer's diffID */
  diffID: string;
  /** bytes of file content the layer added (what `docker history` shows) */
  size: number;
  /** a compact record of the tar's headers that, with the layer's files, re-creates the exact tar bytes (Docker keeps this as tar-split.json.gz) */
  tarSplit: Buffer;
}

/** A tar stream to read: a file path (tar or tar.gz), or a stream. */
export type TarSource = string | Readable;

export interface StorageDriver {
  /** "overlay2" or "aufs", as `docker info` shows it */
  readonly name: string;
  /** the driver's own directory, <root>/<name> */
  readonly home: string;

  /** a new, empty layer on top of `parent` (null: a base layer) */
  create(id: string, parent: string | null): void;
  /** a container's writable layer on top of `parent` (the image's top layer) */
  createReadWrite(id: string, parent: string | null): void;
  /**
   * Unpack a layer tar into the layer `id` (just made with create): whiteout
   * entries become the driver's own form of "deleted here". A tar that tries
   * to reach outside the layer is refused and the layer is left empty.
   */
  applyDiff(id: string, parent: string | null, tar: TarSource): Promise<ApplyResult>;
  /** mount (if needed) the union of `id` and its parents; returns the merged directory */
  get(id: string): string;
  /** where get() mounts the union of `id` (overlay2: <id>/merged, aufs: mnt/<id>), mounted or not */
  mountPoint(id: string): string;
  /** undo get: unmount the merged directory */
  put(id: string): void;
  /** is the merged directory of `id` mounted now? */
  mounted(id: string): boolean;
  /** the changes `id` makes on top of `parent`, as a layer tar with OCI whiteouts */
  diff(id: string, parent: string | null, out: NodeJS.WritableStream): Promise<{ diffID: string; size: number }>;
  /** the changes `id` makes on top of `parent`, as `docker diff` lists them */
  changes(id: string, parent: string | null): Change[];
  /** the directory holding the files of this layer alone (overlay2: diff/) */
  layerDir(id: string): string;
  exists(id: string): boolean;
  /** unmount if mounted, and delete the layer's directories */
  remove(id: string): void;
  /** what `remove` deletes, in order (for a remover that runs without Node: chapter 5's monitor) */
  removalPaths(id: string): string[];
  /** the layer's directories, as `inspect` shows them under GraphDriver.Data (overlay2: LowerDir, UpperDir, WorkDir, MergedDir) */
  metadata(id: string): Record<string, string>;
  /** key/value lines for `docker info` (e.g. "Backing Filesystem") */
  status(): [string, string][];
}
