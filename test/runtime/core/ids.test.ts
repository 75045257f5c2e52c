// Container IDs and names, as Docker makes and checks them.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { generateName, newContainerId, shortId, validateName } from '../../../runtime/core/ids.js';

describe('newContainerId', () => {
  test('64 lower-case hex digits; the short id (12) is never all digits; no repeats', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 5000; i++) {
      const id = newContainerId();
      assert.match(id, /^[0-9a-f]{64}$/);
      assert.doesNotMatch(shortId(id), /^\d+$/);
      assert.ok(!seen.has(id));
      seen.add(id);
    }
  });

  test('shortId is the first 12 characters', () => {
    assert.equal(shortId('0123456789abcdef'.repeat(4)), '0123456789ab');
  });
});

describe('validateName', () => {
  test("accepts Docker's names, dropping a leading slash", () => {
    for (const [n, want] of [['ab', 'ab'], ['a1', 'a1'], ['9z', '9z'], ['/ab', 'ab'], ['a.b-c_d', 'a.b-c_d'], ['A9__..--', 'A9__..--'], ['web_1', 'web_1']]) {
      assert.equal(validateName(n), want, n);
    }
  });

  test('refuses everything else, naming the name', () => {
    for (const n of ['', 'a', '/a', '/', '//ab', '_ab', '.ab', '-ab', 'a b', 'a/b', 'ab/', 'äb', 'ab\n', '\nab', 'a:b', 'a+b']) {
      assert.throws(() => validateName(n), (e: Error) => e.message.includes(`Invalid container name (${n})`), JSON.stringify(n));
    }
  });

  test("agrees with Docker's rule ^/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$ (written out by hand)", () => {
    const alnum = (c: string) => /^[a-zA-Z0-9]$/.test(c);
    const rest = (c: string) => alnum(c) || c === '_' || c === '.' || c === '-';
    const docker = (s: string) => {
      const t = s.startsWith('/') ? s.slice(1) : s;
      return t.length >= 2 && alnum(t[0]) && [...t.slice(1)].every(rest);
    };
    const ch = fc.constantFrom('a', 'Z', '0', '9', '_', '.', '-', '/', ' ', '\n', 'é', ':');
    fc.assert(
      fc.property(fc.array(ch, { maxLength: 8 }).map((a) => a.join('')), (s) => {
        let ok = true;
        try {
          assert.equal(validateName(s), s.replace(/^\//, ''));
        } catch (e) {
          if (e instanceof assert.AssertionError) throw e;
          ok = false;
        }
        assert.equal(ok, docker(s), JSON.stringify(s));
      }),
      { numRuns: 2000 },
    );
  });
});

describe('generateName', () => {
  test('adjective_surname, a valid container name', () => {
    for (let i = 0; i < 200; i++) {
      const n = generateName(() => false);
      assert.match(n, /^[a-z]+_[a-z]+$/);
      assert.equal(validateName(n), n);
    }
  });

  test('never returns a taken name, as names fill up', () => {
    const taken = new Set<string>();
    for (let i = 0; i < 600; i++) {
      const n = generateName((x) => taken.has(x));
      assert.ok(!taken.has(n), `${n} was taken`);
      taken.add(n);
    }
  });

  test('when every plain adjective_surname is taken, it adds a digit', () => {
    const n = generateName((x) => /^[a-z]+_[a-z]+$/.test(x));
    assert.match(n, /^[a-z]+_[a-z]+\d$/);
  });
});
