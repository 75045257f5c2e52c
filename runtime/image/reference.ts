// Image references: the names a learner types (`busybox`, `user/app:v1`,
// `localhost:5000/ns/app@sha256:…`) and the fully qualified form Docker files
// them under (`docker.io/library/busybox:latest`).
//
// Docker takes its grammar from the distribution project's `reference`
// package (the same rules a registry applies to repository names):
//
//     reference      := name [ ":" tag ] [ "@" digest ]
//     name           := [ domain "/" ] remote-name
//     domain         := host [ ":" port-number ]
//     host           := domain-name | "[" IPv6 "]"      (an IPv4 address is a domain-name)
//     remote-name    := path-component ( "/" path-component )*
//     path-component := alpha-numeric ( separator alpha-numeric )*
//     alpha-numeric  := [a-z0-9]+                          (lowercase only)
//     separator      := "." | "_" | "__" | "-"+
//     tag            := [\w][\w.-]{0,127}                 (at most 128 characters)
//     digest         := algorithm ":" hex                 (sha256 → 64 lowercase hex)
//
// On top of the grammar, Docker *normalises* the short ("familiar") names
// people type: `busybox` is `docker.io/library/busybox:latest`. This file
// does both, with Docker's error messages word for word (checked against the
// docker 28 CLI, which parses a reference before it ever talks to a daemon).
// The code and its comments are dockling's own.

/** A parsed reference. `domain` is "" only from parseUnnormalized. */
export interface Reference {
  /** The registry: "docker.io", "localhost:5000", "[::1]:5000"… */
  domain: string;
  /** The repository inside the registry: "library/busybox", "ns/app". */
  path: string;
  /** "latest", "1.36"… absent when the reference names no tag. */
  tag?: string;
  /** "sha256:<64 hex>": pins the exact content, whatever the tag says now. */
  digest?: string;
}

/**
 * What every parse failure throws. (Not a subclass of JavaScript's own
 * ReferenceError, which means "undeclared variable": catching that by mistake
 * would hide real bugs.) The message is Docker's, so a learner can search it.
 */
export class InvalidReferenceError extends Error {
  override name = 'InvalidReferenceError';
}

/** Docker Hub's domain, which familiar names leave out. */
export const DEFAULT_DOMAIN = 'docker.io';
/** Docker Hub's old name ("the Docker Index"); still accepted, rewritten to docker.io. */
export const LEGACY_DEFAULT_DOMAIN = 'index.docker.io';
/** Docker Hub's namespace for official images: `busybox` is `library/busybox`. */
export const OFFICIAL_REPO_PREFIX = 'library/';
/** The tag `docker pull busybox` means. */
export const DEFAULT_TAG = 'latest';
/** A repository path (without the domain) longer than this is refused. */
export const MAX_PATH_LENGTH = 255;

// #region grammar
// The grammar above, one rule per constant, composed into two regular
// expressions. Each rule is written so that only one split of the input can
// match it (a separator always sits between two alpha-numeric runs), which
// keeps the regular expressions fast even on long, nearly valid input.
const ALPHA_NUMERIC = '[a-z0-9]+';
// "__" must be tried after "_" fails: `a__b` is a, "__", b.
const SEPARATOR = '(?:[._]|__|-+)';
const PATH_COMPONENT = `${ALPHA_NUMERIC}(?:${SEPARATOR}${ALPHA_NUMERIC})*`;
const REMOTE_NAME = `${PATH_COMPONENT}(?:/${PATH_COMPONENT})*`;
// A DNS label: letters (either case), digits, inner hyphens. Unlike the
// repository path, a domain may have capitals (DNS ignores case).
const DOMAIN_LABEL = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const DOMAIN_NAME = `${DOMAIN_LABEL}(?:\\.${DOMAIN_LABEL})*`;
const IPV6 = '\\[[a-fA-F0-9:]+\\]';
const DOMAIN = `(?:${DOMAIN_NAME}|${IPV6})(?::[0-9]+)?`;
const TAG = '\\w[\\w.-]{0,127}';
// The grammar only requires "some algorithm, then at least 32 hex digits";
// which algorithms exist and how long they are is checked afterwards (see
// checkDigest), so that those mistakes get their own messages.
const DIGEST = '[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}';

/** name [":" tag] ["@" digest]; captures: 1 name, 2 tag, 3 digest. */
const REFERENCE_RE = new RegExp(`^((?:${DOMAIN}/)?${REMOTE_NAME})(?::(${TAG}))?(?:@(${DIGEST}))?$`);
/** A name split into [domain "/"] remote-name; captures: 1 domain, 2 path. */
const NAME_RE = new RegExp(`^(?:(${DOMAIN})/)?(${REMOTE_NAME})$`);
// #endregion grammar

// Digest algorithms Docker knows, with the length of their hex encoding
// (twice the hash size in bytes).
const DIGEST_HEX_LENGTH = new Map([
  ['sha256', 64],
  ['sha384', 96],
  ['sha512', 128],
]);
// Any well-formed algorithm name, known or not (used to tell "unsupported"
// from "malformed").
const ANY_DIGEST_RE = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;

/** Throw Docker's message if `d` ("algorithm:hex") is not a digest Docker can verify. */
function checkDigest(d: string): void {
  const colon = d.indexOf(':');
  const algorithm = d.slice(0, colon);
  const hex = d.slice(colon + 1);
  if (colon < 0 || hex === '') throw new InvalidReferenceError('invalid checksum digest format');
  const length = DIGEST_HEX_LENGTH.get(algorithm);
  if (length === undefined) {
    throw new InvalidReferenceError(ANY_DIGEST_RE.test(d) ? 'unsupported digest algorithm' : 'invalid checksum digest format');
  }
  // Length first: "sha256:" with 63 digits is a length mistake even if a
  // digit is also out of range.
  if (hex.length !== length) throw new InvalidReferenceError('invalid checksum digest length');
  // Only lowercase hex: a digest is compared as a string, and two spellings
  // of one hash would be two different images.
  if (!/^[a-f0-9]+$/.test(hex)) throw new InvalidReferenceError('invalid checksum digest format');
}

/** A reference object with no `tag: undefined` keys (so deepEqual compares what matters). */
function make(domain: string, path: string, tag?: string, digest?: string): Reference {
  const r: Reference = { domain, path };
  if (tag) r.tag = tag;
  if (digest) r.digest = digest;
  return r;
}

// #region parse
/**
 * The grammar alone, with no normalisation: `busybox` stays domain "" and
 * path "busybox", and `foo/bar` has domain "foo". This is what a registry
 * applies to the names it is sent. (Docker's `reference.Parse`.)
 */
export function parseUnnormalized(s: string): Reference {
  if (s === '') throw new InvalidReferenceError('repository name must have at least one component');
  const m = REFERENCE_RE.exec(s);
  if (!m) {
    // If lowercasing would have made it valid, say what is wrong.
    const lower = s.toLowerCase();
    if (lower !== s && REFERENCE_RE.test(lower)) throw new InvalidReferenceError('repository name must be lowercase');
    throw new InvalidReferenceError('invalid reference format');
  }
  const [, name, tag, digest] = m;
  // NAME_RE matches whatever REFERENCE_RE accepted as a name; its first
  // group is the domain, if the name starts with something shaped like one.
  const n = NAME_RE.exec(name)!;
  const domain = n[1] ?? '';
  const path = n[2];
  // The limit is on the repository path only: the domain does not count.
  if (path.length > MAX_PATH_LENGTH) {
    throw new InvalidReferenceError(`repository name must not be more than ${MAX_PATH_LENGTH} characters`);
  }
  if (digest) checkDigest(digest);
  return make(domain, path, tag, digest);
}

/**
 * Split a familiar name into domain and the rest, as Docker decides it.
 *
 * `a/b` is ambiguous: is `a` a registry or a Docker Hub user? Docker's rule:
 * the first component is a registry only if it contains "." or ":"
 * (`example.com/x`, `myhost:5000/x`, `127.0.0.1/x`, `[::1]:5000/x`), is
 * exactly `localhost`, or has a capital letter (repository paths are always
 * lowercase, so `Myhost/x` can only mean a host). Anything else is a user or
 * organisation on Docker Hub. A name with no "/" at all is always an official
 * Docker Hub image, even `localhost:5000` (that is image "localhost" with
 * tag "5000"!).
 */
function splitDockerDomain(name: string): [domain: string, rest: string] {
  const slash = name.indexOf('/');
  let domain: string;
  let rest: string;
  if (slash < 0) {
    [domain, rest] = [DEFAULT_DOMAIN, name];
  } else {
    const first = name.slice(0, slash);
    const looksLikeHost = first === 'localhost' || /[.:]/.test(first) || first.toLowerCase() !== first;
    [domain, rest] = looksLikeHost ? [first, name.slice(slash + 1)] : [DEFAULT_DOMAIN, name];
  }
  // Only the exact lowercase spelling is rewritten; `INDEX.docker.io` is
  // left alone (Docker compares the string, not the DNS name).
  if (domain === LEGACY_DEFAULT_DOMAIN) domain = DEFAULT_DOMAIN;
  // On Docker Hub a one-component name is an official image: add "library/".
  // (Tag and digest are still attached to `rest`: they contain no "/".)
  if (domain === DEFAULT_DOMAIN && !rest.includes('/')) rest = OFFICIAL_REPO_PREFIX + rest;
  return [domain, rest];
}

/**
 * Parse and normalise a name as typed to docker, without adding a tag:
 * `busybox` → docker.io, library/busybox, no tag. Use this where "no tag"
 * must stay distinguishable from ":latest" (`docker push user/app` pushes
 * every tag). (Docker's `reference.ParseNormalizedNamed`.)
 */
export function parseName(s: string): Reference {
  // 64 hex digits is the form of an image ID; Docker refuses it as a *name*
  // so that `docker tag x <id>` cannot create a name that shadows an ID.
  if (/^[a-f0-9]{64}$/.test(s)) {
    throw new InvalidReferenceError(`invalid repository name (${s}), cannot specify 64-byte hexadecimal strings`);
  }
  const [domain, rest] = splitDockerDomain(s);
  // Docker checks case before the grammar, to give the common mistake
  // (`docker run Ubuntu`) a message that says what is wrong. It checks the
  // part before the first ":" of what follows the domain, i.e. the path and,
  // with no tag, the digest's algorithm: `Busybox@sha256:…` is reported as
  // "(library/Busybox@sha256)". The domain itself may have capitals.
  const colon = rest.indexOf(':');
  const remote = colon < 0 ? rest : rest.slice(0, colon);
  if (remote.toLowerCase() !== remote) {
    throw new InvalidReferenceError(`invalid reference format: repository name (${remote}) must be lowercase`);
  }
  // Then the grammar, on the fully qualified string.
  return parseUnnormalized(`${domain}/${rest}`);
}

/**
 * Parse a reference as `docker pull` and `docker run` do: normalise it and,
 * if it names neither a tag nor a digest, add ":latest".
 * `busybox` → { domain: "docker.io", path: "library/busybox", tag: "latest" }.
 * Throws InvalidReferenceError with Docker's message.
 */
export function parseReference(s: string): Reference {
  return withDefaultTag(parseName(s));
}
// #endregion parse

/**
 * Add the "latest" tag if the reference has neither tag nor digest. A
 * digest alone is left alone: it already says exactly which image.
 */
export function withDefaultTag(r: Reference): Reference {
  if (r.tag || r.digest) return r;
  return make(r.domain, r.path, DEFAULT_TAG);
}

// #region format
/** domain/path: "docker.io/library/busybox". */
export function fullName(r: Reference): string {
  return r.domain ? `${r.domain}/${r.path}` : r.path;
}

/** The name as Docker prints it: without "docker.io/" and, for official images, without "library/". */
export function familiarName(r: Reference): string {
  if (r.domain !== DEFAULT_DOMAIN) return fullName(r);
  // Only a single component after "library/" is shortened: Docker keeps
  // `library/a/b` as is (it would not read back as the same name otherwise).
  const rest = r.path.startsWith(OFFICIAL_REPO_PREFIX) ? r.path.slice(OFFICIAL_REPO_PREFIX.length) : '';
  return rest && !rest.includes('/') ? rest : r.path;
}

/** name[:tag][@digest] for any name. */
function withSuffixes(name: string, r: Reference): string {
  return name + (r.tag ? `:${r.tag}` : '') + (r.digest ? `@${r.digest}` : '');
}

/** The reference as Docker prints it: "busybox:latest", "localhost:5000/a/b@sha256:…". */
export function familiarString(r: Reference): string {
  return withSuffixes(familiarName(r), r);
}

/**
 * The reference exactly as held, fully qualified, adding nothing:
 * formatReference(parseReference(x)) === x for every normalised x.
 */
export function formatReference(r: Reference): string {
  return withSuffixes(fullName(r), r);
}

/** Fully qualified, with the default tag if needed: "docker.io/library/busybox:latest". */
export function referenceString(r: Reference): string {
  return formatReference(withDefaultTag(r));
}
// #endregion format

/**
 * Could `s` be (a prefix of) an image ID? `docker run 3f5ae` works when
 * 3f5ae starts exactly one image's ID: 1 to 64 lowercase hex digits,
 * optionally after "sha256:".
 *
 * Such a string is usually a valid *name* too (`abc`, `3f5ae`, even
 * `sha256:abc`, which is image "sha256" with tag "abc"). Docker looks a
 * short string up as a name first (with ":latest") and only then as an ID
 * prefix; only a full 64-digit ID (bare or with "sha256:") is taken as an ID
 * straight away.
 */
export function isImageIdLike(s: string): boolean {
  return /^(?:sha256:)?[a-f0-9]{1,64}$/.test(s);
}
