// --restart (runtime/container/restart-policy.ts): docker/cli's
// ParseRestartPolicy and the daemon's ValidateRestartPolicy
// (api/types/container/hostconfig.go), with their messages.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseRestartPolicy } from '../../../runtime/container/restart-policy.js';

// --- parseRestartPolicy ------------------------------------------------------

describe('parseRestartPolicy', () => {
  test('valid policies', () => {
    const cases: [string, string, number][] = [
      ['no', 'no', 0],
      ['always', 'always', 0],
      ['unless-stopped', 'unless-stopped', 0],
      ['on-failure', 'on-failure', 0],
      ['on-failure:0', 'on-failure', 0],
      ['on-failure:2', 'on-failure', 2],
      ['on-failure:10', 'on-failure', 10],
      ['', 'no', 0], // --restart "" is the default
    ];
    for (const [s, name, n] of cases) assert.deepEqual(parseRestartPolicy(s), { Name: name, MaximumRetryCount: n }, s);
  });

  test('also valid in Docker: an empty count ("on-failure:") and a zero count on any policy ("always:0")', () => {
    // The CLI reads no count from "", and the daemon refuses only a count other than 0.
    for (const [s, name] of [['on-failure:', 'on-failure'], ['always:0', 'always'], ['no:0', 'no'], ['unless-stopped:0', 'unless-stopped']]) {
      assert.deepEqual(parseRestartPolicy(s), { Name: name, MaximumRetryCount: 0 }, s);
    }
  });

  // docker/cli opts.ParseRestartPolicy, then the daemon's ValidateRestartPolicy (Docker 25+).
  const UNKNOWN = (p: string) => `invalid restart policy: unknown policy '${p}'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'`;
  const invalid: [string, string][] = [
    ['on-failure:x', 'invalid restart policy format: maximum retry count must be an integer'],
    ['on-failure:1.5', 'invalid restart policy format: maximum retry count must be an integer'],
    ['on-failure:1:2', 'invalid restart policy format: maximum retry count must be an integer'],
    ['on-failure:-1', 'invalid restart policy: maximum retry count cannot be negative'],
    ['always:3', "invalid restart policy: maximum retry count can only be used with 'on-failure'"],
    ['unless-stopped:1', "invalid restart policy: maximum retry count can only be used with 'on-failure'"],
    ['no:2', "invalid restart policy: maximum retry count can only be used with 'on-failure'"],
    [':3', 'invalid restart policy format: no policy provided before colon'],
    ['sometimes', UNKNOWN('sometimes')],
    ['Always', UNKNOWN('Always')],
  ];
  for (const [s, msg] of invalid) {
    test(`--restart ${JSON.stringify(s)} is refused: ${msg}`, () => {
      assert.throws(() => parseRestartPolicy(s), (e: Error) => {
        assert.equal(e.message, msg);
        return true;
      });
    });
  }

  test('random strings: either a valid policy or an Error, never anything else', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 20 }), fc.constantFrom('on-failure:', 'always:', 'no:')), (s) => {
        let r;
        try {
          r = parseRestartPolicy(s);
        } catch (e) {
          assert.ok(e instanceof Error && e.message.length > 0, JSON.stringify(s));
          return;
        }
        assert.ok(['no', 'always', 'unless-stopped', 'on-failure'].includes(r.Name), JSON.stringify(s));
        assert.ok(Number.isSafeInteger(r.MaximumRetryCount) && r.MaximumRetryCount >= 0);
        if (r.Name !== 'on-failure') assert.equal(r.MaximumRetryCount, 0);
      }),
      { numRuns: 2000 },
    );
  });
});
