// The RunError a call throws, for tests of messages and exit codes: any
// other exception is passed on, and no exception at all fails the test.
import assert from 'node:assert/strict';
import { RunError } from '../../runtime/core/pipeline.ts';

export function runError(f: () => unknown): RunError {
  try {
    f();
  } catch (e) {
    if (e instanceof RunError) return e;
    throw e;
  }
  assert.fail('no RunError');
}
