// What a registry taught the image store: image/overlay2/distribution/.
//
//   distribution/diffid-by-digest/sha256/<blob digest>      the diffID that blob unpacks to
//   distribution/v2metadata-by-diffid/sha256/<diffID>       [{"Digest", "SourceRepository", "HMAC"}]
//
// A layer travels compressed (its blob digest) and is stored unpacked (its
// diffID): two names for one layer. A pull learns the pair; a push reads it
// to skip the work: a layer whose blob is known to be in a repository is
// checked with one HEAD instead of being compressed and sent again, and one
// known in another repository of the same registry is mounted from there.
import fs from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../core/files.js';
import type { Stores } from '../image/open-stores.js';

const hex = (d: string) => d.replace(/^sha256:/, '');

export interface V2Metadata {
  Digest: string;
  /** the repository it was pulled from or pushed to: "127.0.0.1:5000/lab/web" */
  SourceRepository: string;
  HMAC: string;
}

const dirOf = (s: Stores) => path.join(s.images.home, 'distribution');

// #region record-layer
/** Remember that blob `digest` of `repository` unpacks to `diffID`. */
export function recordLayer(s: Stores, digest: string, diffID: string, repository: string): void {
  const byDigest = path.join(dirOf(s), 'diffid-by-digest/sha256', hex(digest));
  fs.mkdirSync(path.dirname(byDigest), { recursive: true });
  writeFileAtomic(byDigest, diffID);
  const list = v2Metadata(s, diffID).filter((m) => !(m.Digest === digest && m.SourceRepository === repository));
  list.push({ Digest: digest, SourceRepository: repository, HMAC: '' });
  const byDiffID = path.join(dirOf(s), 'v2metadata-by-diffid/sha256', hex(diffID));
  fs.mkdirSync(path.dirname(byDiffID), { recursive: true });
  writeFileAtomic(byDiffID, JSON.stringify(list));
}
// #endregion record-layer

/** Where the layer `diffID` is known to be, as a blob, in which repositories. */
export function v2Metadata(s: Stores, diffID: string): V2Metadata[] {
  try {
    const v = JSON.parse(fs.readFileSync(path.join(dirOf(s), 'v2metadata-by-diffid/sha256', hex(diffID)), 'utf8')) as unknown;
    return Array.isArray(v) ? v.filter((m): m is V2Metadata => typeof m?.Digest === 'string' && typeof m?.SourceRepository === 'string') : [];
  } catch {
    return []; // never pulled or pushed
  }
}

/** The diffID a blob unpacks to, if a pull or push has seen it. */
export function diffIDOf(s: Stores, digest: string): string | null {
  try {
    return fs.readFileSync(path.join(dirOf(s), 'diffid-by-digest/sha256', hex(digest)), 'utf8').trim();
  } catch {
    return null;
  }
}
