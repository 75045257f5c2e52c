// Image references: Docker's grammar, its normalisation of familiar names,
// and its error messages (the expected messages below are what the docker 28
// CLI prints for the same input).
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  InvalidReferenceError,
  familiarName,
  familiarString,
  formatReference,
  fullName,
  isImageIdLike,
  parseName,
  parseReference,
  parseUnnormalized,
  referenceString,
  withDefaultTag,
  type Reference,
} from '../../../runtime/image/reference.js';

const H = '0123456789abcdef'.repeat(4); // 64 hex digits
const repeat = (c: string, n: number) => c.repeat(n);

describe('parseReference: examples', () => {
  // input → [fully qualified referenceString, familiarString]
  const cases: [string, string, string][] = [
    ['busybox', 'docker.io/library/busybox:latest', 'busybox:latest'],
    ['busybox:1.36', 'docker.io/library/busybox:1.36', 'busybox:1.36'],
    ['library/busybox', 'docker.io/library/busybox:latest', 'busybox:latest'],
    ['docker.io/library/busybox:latest', 'docker.io/library/busybox:latest', 'busybox:latest'],
    ['docker.io/busybox', 'docker.io/library/busybox:latest', 'busybox:latest'],
    ['index.docker.io/busybox', 'docker.io/library/busybox:latest', 'busybox:latest'],
    ['index.docker.io/user/app', 'docker.io/user/app:latest', 'user/app:latest'],
    ['user/app', 'docker.io/user/app:latest', 'user/app:latest'],
    ['library/a/b', 'docker.io/library/a/b:latest', 'library/a/b:latest'],
    ['localhost/app', 'localhost/app:latest', 'localhost/app:latest'],
    ['localhost:5000/ns/app:v1', 'localhost:5000/ns/app:v1', 'localhost:5000/ns/app:v1'],
    ['registry.example.com:443/a/b/c:tag', 'registry.example.com:443/a/b/c:tag', 'registry.example.com:443/a/b/c:tag'],
    ['example.com/library/x', 'example.com/library/x:latest', 'example.com/library/x:latest'],
    ['127.0.0.1:5000/x', '127.0.0.1:5000/x:latest', '127.0.0.1:5000/x:latest'],
    ['[::1]:5000/x:y', '[::1]:5000/x:y', '[::1]:5000/x:y'],
    ['[::1]/x', '[::1]/x:latest', '[::1]/x:latest'],
    [`name@sha256:${H}`, `docker.io/library/name@sha256:${H}`, `name@sha256:${H}`],
    [`name:tag@sha256:${H}`, `docker.io/library/name:tag@sha256:${H}`, `name:tag@sha256:${H}`],
    [`a@sha512:${H}${H}`, `docker.io/library/a@sha512:${H}${H}`, `a@sha512:${H}${H}`],
    ['a__b', 'docker.io/library/a__b:latest', 'a__b:latest'],
    ['a.b-c', 'docker.io/library/a.b-c:latest', 'a.b-c:latest'],
    ['a---b', 'docker.io/library/a---b:latest', 'a---b:latest'],
    ['busybox:V1_x.2-rc', 'docker.io/library/busybox:V1_x.2-rc', 'busybox:V1_x.2-rc'],
    // Docker's quirks, kept on purpose:
    // a capitalised first component can only be a host (paths are lowercase);
    ['Foo/x', 'Foo/x:latest', 'Foo/x:latest'],
    // only the exact spelling of the legacy Hub domain is rewritten;
    ['INDEX.docker.io/x', 'INDEX.docker.io/x:latest', 'INDEX.docker.io/x:latest'],
    // with no "/", a host:port is image "localhost" tagged "5000";
    ['localhost:5000', 'docker.io/library/localhost:5000', 'localhost:5000'],
    // and "sha256:abc" is image "sha256" tagged "abc" (see isImageIdLike).
    ['sha256:abc', 'docker.io/library/sha256:abc', 'sha256:abc'],
  ];
  for (const [input, full, familiar] of cases) {
    test(`${input.slice(0, 60)} → ${full.slice(0, 60)}`, () => {
      const r = parseReference(input);
      assert.equal(referenceString(r), full);
      assert.equal(formatReference(r), full);
      assert.equal(familiarString(r), familiar);
      assert.deepEqual(parseReference(full), r);
      assert.deepEqual(parseReference(familiar), r);
    });
  }

  test('the parts', () => {
    assert.deepEqual(parseReference('busybox'), { domain: 'docker.io', path: 'library/busybox', tag: 'latest' });
    assert.deepEqual(parseReference('localhost:5000/ns/app:v1'), { domain: 'localhost:5000', path: 'ns/app', tag: 'v1' });
    assert.deepEqual(parseReference(`name:t@sha256:${H}`), {
      domain: 'docker.io',
      path: 'library/name',
      tag: 't',
      digest: `sha256:${H}`,
    });
    const r = parseReference('busybox');
    assert.equal(fullName(r), 'docker.io/library/busybox');
    assert.equal(familiarName(r), 'busybox');
    assert.equal(familiarName(parseReference('user/app')), 'user/app');
    assert.equal(familiarName(parseReference('localhost:5000/app')), 'localhost:5000/app');
  });

  test('latest is added only when there is neither tag nor digest', () => {
    assert.equal(parseReference('busybox').tag, 'latest');
    assert.equal(parseReference('busybox:1').tag, '1');
    assert.equal(parseReference(`busybox@sha256:${H}`).tag, undefined);
    assert.deepEqual(parseName('busybox'), { domain: 'docker.io', path: 'library/busybox' });
    assert.deepEqual(withDefaultTag(parseName('busybox')), parseReference('busybox'));
    const digested: Reference = { domain: 'docker.io', path: 'library/a', digest: `sha256:${H}` };
    assert.deepEqual(withDefaultTag(digested), digested);
  });

  test('parseUnnormalized applies the grammar alone', () => {
    assert.deepEqual(parseUnnormalized('busybox'), { domain: '', path: 'busybox' });
    assert.deepEqual(parseUnnormalized('foo/bar:1'), { domain: 'foo', path: 'bar', tag: '1' });
    assert.deepEqual(parseUnnormalized('docker.io/x'), { domain: 'docker.io', path: 'x' });
    assert.equal(formatReference(parseUnnormalized('busybox')), 'busybox');
  });

  test('a name path of exactly 255 characters is accepted, the domain not counted', () => {
    assert.equal(parseReference(repeat('a', 247)).path.length, 255); // "library/" + 247
    assert.equal(parseReference('x/' + repeat('a', 253)).path.length, 255);
    assert.equal(parseReference('example.com/' + repeat('a', 255)).path.length, 255);
  });

  test('a tag of 128 characters is accepted', () => {
    assert.equal(parseReference('busybox:' + repeat('t', 128)).tag?.length, 128);
  });
});

describe('parseReference: bad input gets Docker\'s message', () => {
  const FORMAT = 'invalid reference format';
  const cases: [string, string][] = [
    ['Busybox', 'invalid reference format: repository name (library/Busybox) must be lowercase'],
    ['Busybox:1', 'invalid reference format: repository name (library/Busybox) must be lowercase'],
    ['user/App', 'invalid reference format: repository name (user/App) must be lowercase'],
    ['localhost:5000/Ab', 'invalid reference format: repository name (Ab) must be lowercase'],
    [`name@SHA256:${H}`, 'invalid reference format: repository name (library/name@SHA256) must be lowercase'],
    ['busybox:', FORMAT],
    [':tag', FORMAT],
    ['-abc', FORMAT],
    ['abc-', FORMAT],
    ['a..b', FORMAT],
    ['a_.b', FORMAT],
    ['a___b', FORMAT],
    ['a/', FORMAT],
    ['/a', FORMAT],
    ['a//b', FORMAT],
    ['busybox:tag with space', FORMAT],
    ['busybox:-tag', FORMAT],
    ['busybox:' + repeat('t', 129), FORMAT],
    ['a.b:5000:6/x', FORMAT],
    ['host:port/x', FORMAT],
    ['[::1/x', FORMAT],
    ['a@b', FORMAT],
    ['', FORMAT],
    ['name@sha256:abc', FORMAT], // fewer than 32 hex digits: not even digest-shaped
    ['name@sha256:', FORMAT],
    [`name@sha256:${H}0`, 'invalid checksum digest length'],
    [`name@sha256:${H.slice(0, 32)}`, 'invalid checksum digest length'],
    [`name@sha384:${H}`, 'invalid checksum digest length'],
    [`name@sha256:${H.toUpperCase()}`, 'invalid checksum digest format'],
    [`name:t@SHA256:${H}`, 'invalid checksum digest format'],
    [`name@md5:${H.slice(0, 32)}`, 'unsupported digest algorithm'],
    [`name@sha256+b:${H}`, 'unsupported digest algorithm'],
    [repeat('a', 248), 'repository name must not be more than 255 characters'],
    [repeat('a', 256), 'repository name must not be more than 255 characters'],
    ['x/' + repeat('a', 254), 'repository name must not be more than 255 characters'],
    [H, `invalid repository name (${H}), cannot specify 64-byte hexadecimal strings`],
  ];
  for (const [input, message] of cases) {
    test(`${JSON.stringify(input.slice(0, 50))} → ${message.slice(0, 60)}`, () => {
      assert.throws(
        () => parseReference(input),
        (e: unknown) => e instanceof InvalidReferenceError && e.name === 'InvalidReferenceError' && e.message === message,
      );
    });
  }

  test('the grammar alone has its own messages for empty and uppercase names', () => {
    assert.throws(() => parseUnnormalized(''), { name: 'InvalidReferenceError', message: 'repository name must have at least one component' });
    assert.throws(() => parseUnnormalized('Busybox'), { name: 'InvalidReferenceError', message: 'repository name must be lowercase' });
    assert.throws(() => parseUnnormalized('busybox:'), { name: 'InvalidReferenceError', message: 'invalid reference format' });
  });

  test('a long, nearly valid string is refused (and does not hang the regex)', () => {
    assert.throws(() => parseReference(repeat('a-', 5000) + '!'), InvalidReferenceError);
    assert.throws(() => parseReference(repeat('a.', 5000) + '/x!'), InvalidReferenceError);
  });
});

describe('isImageIdLike', () => {
  test('examples', () => {
    for (const s of ['3', '3f5ae', H, `sha256:${H}`, 'sha256:3f', 'abc']) assert.equal(isImageIdLike(s), true, s);
    for (const s of ['', 'sha256:', '3F5AE', 'g', `${H}0`, 'sha512:ab', 'busybox', ' 3f']) assert.equal(isImageIdLike(s), false, s);
  });
  test('any 1..64 lowercase hex digits, with or without sha256:', () => {
    const hex = fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: 1, maxLength: 64 });
    fc.assert(fc.property(hex, fc.boolean(), (h, prefixed) => isImageIdLike(prefixed ? `sha256:${h}` : h)));
  });
});

// ---- generators from the grammar ----

const chars = (s: string) => fc.constantFrom(...s);
const LOWER = 'abcdefghijklmnopqrstuvwxyz0123456789';
const LABEL_CHARS = LOWER + 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
const alnum = fc.string({ unit: chars(LOWER), minLength: 1, maxLength: 6 });
const separator = fc.constantFrom('.', '_', '__', '-', '--', '---');
/** path-component := alpha-numeric (separator alpha-numeric)* */
const component = fc
  .tuple(alnum, fc.array(fc.tuple(separator, alnum), { maxLength: 3 }))
  .map(([first, rest]) => first + rest.map(([s, a]) => s + a).join(''));
const path = fc.array(component, { minLength: 1, maxLength: 4 }).map((cs) => cs.join('/'));
/** A DNS label: letters and digits, hyphens only inside. */
const label = fc.oneof(
  fc.string({ unit: chars(LABEL_CHARS), minLength: 1, maxLength: 1 }),
  fc
    .tuple(chars(LABEL_CHARS), fc.string({ unit: chars(LABEL_CHARS + '-'), maxLength: 6 }), chars(LABEL_CHARS))
    .map(([a, m, b]) => a + m + b),
);
const port = fc.integer({ min: 0, max: 65535 }).map((p) => `:${p}`);
const byte = fc.integer({ min: 0, max: 255 });
const ipv6 = fc
  .array(fc.string({ unit: chars('0123456789abcdefABCDEF'), maxLength: 4 }), { minLength: 2, maxLength: 8 })
  .map((groups) => `[${groups.join(':')}]`);
/**
 * A domain that Docker recognises as one in the first position: it has a
 * "." or ":" (a port, or brackets around an IPv6 address), or is
 * "localhost", or has a capital letter.
 */
const domain = fc.oneof(
  fc.tuple(fc.constant('localhost'), fc.option(port, { nil: '' })).map(([h, p]) => h + p),
  fc.tuple(fc.array(label, { minLength: 2, maxLength: 4 }), fc.option(port, { nil: '' })).map(([ls, p]) => ls.join('.') + p),
  fc.tuple(label, port).map(([l, p]) => l + p),
  fc.tuple(fc.tuple(byte, byte, byte, byte), fc.option(port, { nil: '' })).map(([ip, p]) => ip.join('.') + p),
  fc.tuple(ipv6, fc.option(port, { nil: '' })).map(([h, p]) => h + p),
  label.filter((l) => l.toLowerCase() !== l),
);
const tag = fc
  .tuple(chars(LABEL_CHARS + '_'), fc.string({ unit: chars(LABEL_CHARS + '_.-'), maxLength: 127 }))
  .map(([a, b]) => a + b);
const digest = fc.oneof(
  ...([['sha256', 64], ['sha384', 96], ['sha512', 128]] as const).map(([alg, n]) =>
    fc.string({ unit: chars('0123456789abcdef'), minLength: n, maxLength: n }).map((h) => `${alg}:${h}`),
  ),
);
const suffixes = fc.tuple(fc.option(tag, { nil: undefined }), fc.option(digest, { nil: undefined }));

/** name[:tag][@digest] */
const withSuffixes = (name: string, [t, g]: [string | undefined, string | undefined]) =>
  `${name}${t ? `:${t}` : ''}${g ? `@${g}` : ''}`;

/**
 * Fully qualified references: domain/path[:tag][@digest], with `suffixed`
 * telling whether there is a tag or digest (without either, parsing adds
 * ":latest").
 */
const qualified = fc
  .oneof(
    fc.tuple(domain.filter((d) => d !== 'docker.io' && d !== 'index.docker.io'), path, suffixes),
    // Docker Hub names always have a namespace ("library/" for official images).
    fc.tuple(fc.constant('docker.io'), path.filter((p) => p.includes('/')), suffixes),
  )
  .map(([d, p, sfx]) => ({ x: withSuffixes(`${d}/${p}`, sfx), suffixed: sfx.some((v) => v !== undefined) }));

/** Familiar strings: what Docker prints, and what people type. */
const familiar = fc
  .tuple(
    fc.oneof(
      // A registry other than Docker Hub, written in full.
      fc.tuple(domain.filter((d) => d !== 'docker.io' && d !== 'index.docker.io'), path).map(([d, p]) => `${d}/${p}`),
      // Docker Hub: the first component must not look like a domain, and
      // "library/x" is written "x".
      path.filter((p) => {
        const parts = p.split('/');
        if (parts.length === 1) return true;
        return !parts[0].includes('.') && parts[0] !== 'localhost' && !(parts[0] === 'library' && parts.length === 2);
      }),
    ),
    suffixes,
  )
  .map(([name, sfx]) => ({ f: withSuffixes(name, sfx), suffixed: sfx.some((v) => v !== undefined) }));

describe('parseReference: properties', () => {
  test('formatReference(parseReference(x)) === x for normalised references', () => {
    fc.assert(
      fc.property(qualified, ({ x, suffixed }) => {
        const r = parseReference(x);
        assert.equal(formatReference(r), suffixed ? x : `${x}:latest`);
        assert.deepEqual(parseReference(formatReference(r)), r);
        assert.deepEqual(parseReference(referenceString(r)), r);
        assert.deepEqual(parseName(x), suffixed ? r : { domain: r.domain, path: r.path });
      }),
      { numRuns: 500 },
    );
  });

  test('familiarString(parseReference(f)) === f for familiar strings', () => {
    fc.assert(
      fc.property(familiar, ({ f, suffixed }) => {
        const r = parseReference(f);
        assert.equal(familiarString(r), suffixed ? f : `${f}:latest`);
        assert.deepEqual(parseReference(familiarString(r)), r);
        assert.deepEqual(parseReference(formatReference(r)), r);
      }),
      { numRuns: 500 },
    );
  });

  test('the familiar string of any valid reference reads back as itself', () => {
    // Not always as the same reference: docker.io/a.b/c prints as "a.b/c",
    // which reads back as registry a.b (Docker has the same ambiguity).
    fc.assert(
      fc.property(qualified, ({ x }) => {
        const f = familiarString(parseReference(x));
        assert.equal(familiarString(parseReference(f)), f);
      }),
      { numRuns: 300 },
    );
  });

  test('any string either parses (and re-parses the same) or throws InvalidReferenceError', () => {
    const refChars = fc.string({ unit: chars('abcAB09.:/@_-[]+ é'), maxLength: 30 });
    // Valid references with a slice replaced by up to 2 random characters.
    const mutated = fc
      .tuple(qualified, fc.nat(), fc.string({ maxLength: 2 }))
      .map(([{ x }, i, s]) => x.slice(0, i % (x.length + 1)) + s + x.slice((i % (x.length + 1)) + 1));
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.string({ unit: 'grapheme' }), refChars, mutated), (s) => {
        let r: Reference;
        try {
          r = parseReference(s);
        } catch (e) {
          assert.ok(e instanceof InvalidReferenceError, `${JSON.stringify(s)}: ${String(e)}`);
          return;
        }
        assert.deepEqual(parseReference(formatReference(r)), r);
        const f = familiarString(r);
        assert.equal(familiarString(parseReference(f)), f);
      }),
      { numRuns: 2000 },
    );
  });
});
