// A directory for one test file, made before its first test and removed
// after its last, whatever happened in between. A file registers it once, at
// the top, and reads the path through the accessor it gets back: while the
// file is being loaded the directory does not exist yet, only once the
// runner has started its tests.
import { after, before } from 'node:test';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** Register `make()` before the file's first test, and removal of what it made after its last. */
export function useDirectory(make: () => string): () => string {
  let dir: string | undefined;
  before(() => {
    dir = make();
  });
  after(() => {
    // (A `before` that failed made nothing to remove, and reports itself.)
    if (dir !== undefined) fs.rmSync(dir, { recursive: true, force: true });
  });
  return () => {
    if (dir === undefined) throw new Error('the directory is made in before(): read it from a test or a hook, not while the file loads');
    return dir;
  };
}

/**
 * A fresh PREFIX-XXXXXX under os.tmpdir() for the file. os.tmpdir() is read
 * when the tests start, not when the file loads, so it is the TMPDIR that
 * test/run.ts gives each run (or one the file set for itself).
 */
export function useTempDir(prefix: string): () => string {
  return useDirectory(() => fs.mkdtempSync(path.join(os.tmpdir(), prefix)));
}
