// What every chapter test file sets up the same way: a state root of its
// own, a leak check around every test, and the few ways of running a
// container and judging its exit status that almost every test uses.
import { afterEach, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { dockling, tempRoot, type Result } from './dockling.js';
import { assertNoLeaks, snapshot, type HostSnapshot } from './leaks.js';
import { useDirectory } from './temp.js';

/**
 * A state root for the test file (made before its first test, removed after
 * its last), and the "nothing leaks" check around each test: the host is
 * snapshotted before it and compared after it. The check is a hook rather
 * than a line in each test so that no test can forget it, and so that a
 * test that fails half-way is still checked for what it left.
 *
 * Returns an accessor: the directory exists only once the tests start.
 */
export function useStateRoot(label: string): () => string {
  const root = useDirectory(() => tempRoot(label));
  let snap: HostSnapshot;
  beforeEach(() => {
    snap = snapshot(root());
  });
  afterEach(async () => {
    await assertNoLeaks(root(), snap);
  });
  return root;
}

/**
 * Assert dockling's exit status, and return the result for more checks. On
 * failure the message carries both outputs: a wrong status alone rarely
 * says why (dockling's stderr usually does).
 */
export function expectCode<R extends Result>(r: R, code: number): R {
  assert.equal(r.code, code, `exit status ${r.code}, wanted ${code}\n--- stdout\n${r.stdout}--- stderr\n${r.stderr}`);
  return r;
}

export type DocklingOptions = Parameters<typeof dockling>[2];

/**
 * `dockling run --rm`, the way nearly every chapter test runs a container,
 * bound to the file's state root: `run` returns the result whatever the
 * status, `ok` insists on 0 and returns the container's stdout. (--rm, so
 * that the leak check after the test finds nothing of it.)
 */
export function runners(root: () => string) {
  const run = (args: string[], opts: DocklingOptions = {}): Result => dockling(root(), ['run', '--rm', ...args], opts);
  const ok = (args: string[], opts: DocklingOptions = {}): string => expectCode(run(args, opts), 0).stdout;
  return { run, ok };
}
