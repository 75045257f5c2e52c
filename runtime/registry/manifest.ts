// Manifests: what a tag points at.
//
// A tag names a manifest; a manifest names blobs by digest:
//
//     tag "v1" ──> image manifest ──> config blob   (the image's JSON: its ID is this blob's digest)
//                                 └─> layer blobs   (compressed tars; their uncompressed digests are the diffIDs)
//
// or, for an image built for several platforms, a list of manifests:
//
//     tag "v1" ──> manifest list / OCI index ──> one image manifest per platform (linux/amd64, linux/arm64/v8…)
//
// Two families of media types say the same things: Docker's (schema 2,
// `application/vnd.docker.distribution.manifest.v2+json`) and the OCI's
// (`application/vnd.oci.image.manifest.v1+json`). A client must read both.
import os from 'node:os';
import { RunError } from '../core/pipeline.js';

export const MEDIA = {
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  dockerLayer: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  ociLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  ociLayer: 'application/vnd.oci.image.layer.v1.tar',
  ociLayerZstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
} as const;

/** What a pull asks for, best first: the Accept header of a manifest GET. */
export const ACCEPT = [MEDIA.dockerManifest, MEDIA.dockerList, MEDIA.ociManifest, MEDIA.ociIndex].join(', ');

/** The layer media types dockling can unpack: gzip or plain tars (chapter 4's extractor reads both). */
const LAYER_TYPES: string[] = [MEDIA.dockerLayer, MEDIA.ociLayerGzip, MEDIA.ociLayer];

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: Platform;
}

export type Manifest =
  | { kind: 'image'; mediaType: string; config: Descriptor; layers: Descriptor[] }
  | { kind: 'index'; mediaType: string; manifests: Descriptor[] };

const DIGEST = /^sha256:[0-9a-f]{64}$/;

// #region parse-manifest
/**
 * Read a manifest's bytes. Its type comes from the JSON's own mediaType,
 * or else the Content-Type the registry sent (OCI manifests may leave the
 * field out). Anything else is refused with the type named.
 */
export function parseManifest(bytes: Buffer, contentType: string | undefined, where: string): Manifest {
  let j: Record<string, unknown>;
  try {
    j = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new RunError(1, `${where}: the manifest is not JSON (Content-Type ${contentType ?? 'none'})`);
  }
  if (typeof j !== 'object' || j === null) throw new RunError(1, `${where}: the manifest is not a JSON object`);
  const type = (typeof j.mediaType === 'string' && j.mediaType) || (contentType ?? '').split(';')[0].trim();
  if (j.schemaVersion === 1 || /^application\/vnd\.docker\.distribution\.manifest\.v1\+(prettyjws|json)$/.test(type)) {
    throw new RunError(1, `${where}: Docker image manifest schema 1 is deprecated and not supported: push the image again with a current client`);
  }
  if (type === MEDIA.dockerList || type === MEDIA.ociIndex || (!j.mediaType && Array.isArray(j.manifests))) {
    if (!Array.isArray(j.manifests)) throw new RunError(1, `${where}: a manifest list without "manifests"`);
    return { kind: 'index', mediaType: type || MEDIA.ociIndex, manifests: j.manifests.map((d) => descriptor(d, where)) };
  }
  if (type === MEDIA.dockerManifest || type === MEDIA.ociManifest || (!j.mediaType && j.config)) {
    if (!Array.isArray(j.layers)) throw new RunError(1, `${where}: an image manifest without "layers"`);
    return { kind: 'image', mediaType: type || MEDIA.ociManifest, config: descriptor(j.config, where), layers: j.layers.map((d) => descriptor(d, where)) };
  }
  throw new RunError(1, `${where}: unsupported manifest media type ${JSON.stringify(type)}: dockling reads ${ACCEPT}`);
}

function descriptor(v: unknown, where: string): Descriptor {
  const d = v as Record<string, unknown> | null;
  if (!d || typeof d !== 'object' || typeof d.digest !== 'string' || typeof d.mediaType !== 'string' || typeof d.size !== 'number') {
    throw new RunError(1, `${where}: a descriptor without mediaType, digest and size`);
  }
  if (!DIGEST.test(d.digest)) throw new RunError(1, `${where}: unsupported digest ${JSON.stringify(d.digest)} (dockling verifies sha256 only)`);
  const p = d.platform as Record<string, unknown> | undefined;
  const platform = p && typeof p.os === 'string' && typeof p.architecture === 'string' ? { os: p.os, architecture: p.architecture, ...(typeof p.variant === 'string' ? { variant: p.variant } : {}) } : undefined;
  return { mediaType: d.mediaType, digest: d.digest, size: d.size, ...(platform ? { platform } : {}) };
}

/** A layer's media type must be one the extractor reads; zstd needs a Node.js with zstd in zlib. */
export function checkLayerType(d: Descriptor, where: string): void {
  if (LAYER_TYPES.includes(d.mediaType)) return;
  if (d.mediaType === MEDIA.ociLayerZstd) throw new RunError(1, `${where}: layer ${d.digest.slice(7, 19)} is zstd-compressed, and this Node.js ${process.version} has no zstd in zlib (Node.js 22.15 or newer does)`);
  throw new RunError(1, `${where}: unsupported layer media type ${JSON.stringify(d.mediaType)}`);
}
// #endregion parse-manifest

// #region platform
/** This machine's platform, as Go names it: x64 is amd64, arm64 is arm64 (variant v8). */
export function hostPlatform(): Platform {
  const arch = ({ x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' } as Record<string, string>)[os.arch()] ?? os.arch();
  return arch === 'arm64' ? { os: 'linux', architecture: arch, variant: 'v8' } : arch === 'arm' ? { os: 'linux', architecture: arch, variant: 'v7' } : { os: 'linux', architecture: arch };
}

/** "linux/arm64/v8" → a Platform; "arm64" alone means linux/arm64. */
export function parsePlatform(s: string): Platform {
  const parts = s.toLowerCase().split('/');
  if (parts.some((p) => !/^[a-z0-9_.-]+$/.test(p)) || parts.length > 3) throw new RunError(1, `"${s}": unknown operating system or architecture: write it as os/arch[/variant], like linux/amd64`);
  if (parts.length === 1) return { os: 'linux', architecture: parts[0] };
  return { os: parts[0], architecture: parts[1], ...(parts[2] ? { variant: parts[2] } : {}) };
}

export const platformString = (p: Platform) => [p.os, p.architecture, p.variant].filter(Boolean).join('/');

/**
 * Choose the manifest for a platform from a list: same os and
 * architecture; a wanted variant must match (arm64's "v8" is also the
 * entry with no variant); without a wanted variant the first entry of the
 * architecture is taken. None: Docker's message.
 */
export function choosePlatform(list: Descriptor[], want: Platform): Descriptor {
  const candidates = list.filter((d) => d.platform && d.platform.os === want.os && d.platform.architecture === want.architecture);
  const match =
    candidates.find((d) => (d.platform!.variant ?? '') === (want.variant ?? '')) ??
    candidates.find((d) => want.architecture === 'arm64' && want.variant === 'v8' && !d.platform!.variant) ??
    (want.variant ? undefined : candidates[0]);
  if (!match) throw new RunError(1, `no matching manifest for ${platformString(want)} in the manifest list entries`);
  return match;
}
// #endregion platform
