// Downloading a blob: content addressing checked byte by byte.
//
// A blob is asked for by its digest, so whatever arrives can be checked:
// the bytes are hashed as they are written, and a blob whose sha256 is not
// the digest asked for is deleted, never used (the registry, a mirror or
// the network changed it). A connection dropped half-way is picked up where
// it stopped, with a Range request for the rest, as Docker resumes.
import crypto from 'node:crypto';
import fs from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { RunError } from '../core/pipeline.js';
import { discard } from './http.js';
import { retryDelay, type RegistryClient } from './client.js';
import type { Descriptor } from './manifest.js';

/** Docker's attempts per layer download (xfer's maxDownloadAttempts). */
export const DOWNLOAD_ATTEMPTS = 5;

export class DigestMismatchError extends RunError {}

// #region download
/**
 * Fetch blob `d` of repository `repo` into `file`, hashing as it goes;
 * `progress` hears the bytes so far. Resumes with Range after a dropped
 * connection; throws DigestMismatchError (the file removed) if the bytes
 * are not the digest's.
 */
export async function downloadBlob(client: RegistryClient, repo: string, scopes: string[], d: Descriptor, file: string, progress: (bytes: number) => void, onRetry?: (attempt: number, why: string) => void): Promise<void> {
  let hash = crypto.createHash('sha256');
  let have = 0;
  fs.writeFileSync(file, '');
  for (let attempt = 1; ; attempt++) {
    try {
      const headers: Record<string, string> = have > 0 ? { Range: `bytes=${have}-` } : {};
      const res = await client.request(`/v2/${repo}/blobs/${d.digest}`, { headers, scopes });
      if (res.status === 200 && have > 0) {
        // The server ignored the Range: start again from nothing.
        hash = crypto.createHash('sha256');
        have = 0;
        fs.writeFileSync(file, '');
      } else if (res.status !== 200 && res.status !== 206) {
        if (res.status === 416) discard(res);
        await client.fail(res, `blob ${d.digest}`);
      }
      const out = fs.openSync(file, 'a');
      try {
        for await (const chunk of res.body) {
          const b = chunk as Buffer;
          fs.writeSync(out, b);
          hash.update(b);
          have += b.length;
          progress(have);
        }
      } finally {
        fs.closeSync(out);
      }
      // A body that ended early without an error (a proxy that closed
      // cleanly) is a short read: resume like a dropped connection.
      if (d.size > 0 && have < d.size) throw Object.assign(new Error(`unexpected EOF after ${have} of ${d.size} bytes`), { resumable: true });
      break;
    } catch (e) {
      const droppedMidBody = !(e instanceof RunError) || (e as { resumable?: boolean }).resumable;
      const retriable = droppedMidBody || (e instanceof RunError && /connection|EOF|reset|timeout/i.test(e.message));
      if (!retriable || attempt >= DOWNLOAD_ATTEMPTS) {
        fs.rmSync(file, { force: true });
        if (e instanceof RunError) throw e;
        throw new RunError(1, `blob ${d.digest}: ${(e as Error).message} (after ${attempt} attempts)`, { cause: e });
      }
      onRetry?.(attempt, (e as Error).message);
      await sleep(retryDelay(attempt));
    }
  }
  const got = 'sha256:' + hash.digest('hex');
  if (got !== d.digest || (d.size > 0 && have !== d.size)) {
    fs.rmSync(file, { force: true });
    // Docker's words for a layer whose bytes are not its digest.
    throw new DigestMismatchError(1, `filesystem layer verification failed for digest ${d.digest}`);
  }
}
// #endregion download
