// The WWW-Authenticate parser against RFC 7235's grammar: real headers,
// and a property test (any challenges, written out, parse back as
// themselves; any string parses without throwing).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { formatChallenge, parseChallenges, type Challenge } from '../../../runtime/registry/www-authenticate.js';

describe('WWW-Authenticate', () => {
  test("Docker Hub's Bearer challenge", () => {
    const h = 'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull"';
    assert.deepEqual(parseChallenges(h), [
      { scheme: 'bearer', params: { realm: 'https://auth.docker.io/token', service: 'registry.docker.io', scope: 'repository:library/busybox:pull' } },
    ]);
  });

  test("distribution's htpasswd challenge, and an error parameter", () => {
    assert.deepEqual(parseChallenges('Basic realm="basic-realm"'), [{ scheme: 'basic', params: { realm: 'basic-realm' } }]);
    const h = 'Bearer realm="http://127.0.0.1:1/token",service="lab",scope="repository:a/b:pull,push",error="insufficient_scope"';
    assert.equal(parseChallenges(h)[0].params.error, 'insufficient_scope');
    assert.equal(parseChallenges(h)[0].params.scope, 'repository:a/b:pull,push', 'the comma inside the quotes is the value');
  });

  test('two challenges in one header; case of scheme and names does not matter; tokens unquoted; escapes', () => {
    const got = parseChallenges('Newauth realm="apps", type=1, title="Login to \\"apps\\"", BASIC REALM=simple');
    assert.deepEqual(got, [
      { scheme: 'newauth', params: { realm: 'apps', type: '1', title: 'Login to "apps"' } },
      { scheme: 'basic', params: { realm: 'simple' } },
    ]);
  });

  test('a scheme alone, and junk, give what can be read', () => {
    assert.deepEqual(parseChallenges('Negotiate'), [{ scheme: 'negotiate', params: {} }]);
    assert.deepEqual(parseChallenges(''), []);
    assert.deepEqual(parseChallenges('Bearer realm="unterminated'), [{ scheme: 'bearer', params: {} }]);
  });

  // #region property
  const token = fc.stringMatching(/^[A-Za-z][A-Za-z0-9._-]{0,11}$/);
  const challenge: fc.Arbitrary<Challenge> = fc.record({
    scheme: token.map((t) => t.toLowerCase()),
    params: fc.dictionary(token.map((t) => t.toLowerCase()), fc.string({ maxLength: 30 }), { maxKeys: 4, noNullPrototype: true }),
  }, { noNullPrototype: true });

  test('property: challenges written by the grammar parse back as themselves', () => {
    fc.assert(
      fc.property(fc.array(challenge, { minLength: 1, maxLength: 3 }), fc.constantFrom(', ', ',', ' ,  '), (cs, sep) => {
        // A challenge with no parameters followed by another is ambiguous in
        // RFC 7235 only if the next scheme looks like a parameter name: it
        // cannot, since a parameter needs "=".
        const header = cs.map(formatChallenge).join(sep);
        assert.deepEqual(parseChallenges(header), cs);
      }),
      { numRuns: 300 },
    );
  });

  test('property: any string is read without throwing', () => {
    fc.assert(fc.property(fc.string({ maxLength: 200 }), (s) => Array.isArray(parseChallenges(s))), { numRuns: 500 });
  });
  // #endregion property
});
