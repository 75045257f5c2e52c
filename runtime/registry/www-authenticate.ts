// The WWW-Authenticate header: how a registry says "who are you?".
//
// A registry answers a request it will not serve anonymously with 401 and
// one or more challenges (RFC 7235, section 4.1):
//
//     WWW-Authenticate: Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull"
//     WWW-Authenticate: Basic realm="basic-realm"
//
// The grammar, as this file reads it:
//
//     challenges = challenge *( OWS "," OWS challenge )
//     challenge  = scheme [ 1*SP auth-param *( OWS "," OWS auth-param ) ]
//     auth-param = token BWS "=" BWS ( token / quoted-string )
//     quoted-string = DQUOTE *( qdtext / "\" any-char ) DQUOTE
//
// Bearer means "get a token from realm for this service and scope" (the
// token dance, auth.ts); Basic means "send the user and password with every
// request". Parameter names are case-insensitive; values are kept as sent.

export interface Challenge {
  /** lowercased: "bearer", "basic" */
  scheme: string;
  /** parameter names lowercased: realm, service, scope, error… */
  params: Record<string, string>;
}

/** RFC 7230's tchar: what a token (a scheme, a name, an unquoted value) is made of. */
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+/;

// #region parse
/**
 * Every challenge in a header's value. A malformed tail is dropped rather
 * than thrown: a registry's odd header must not stop a pull that might not
 * need it, and the caller says "no usable challenge" when none is found.
 */
export function parseChallenges(header: string): Challenge[] {
  const out: Challenge[] = [];
  let rest = header;
  const skip = (re: RegExp) => (rest = rest.replace(re, ''));
  skip(/^[\s,]+/);
  while (rest) {
    const scheme = TOKEN.exec(rest)?.[0];
    if (!scheme) break;
    rest = rest.slice(scheme.length);
    const challenge: Challenge = { scheme: scheme.toLowerCase(), params: {} };
    out.push(challenge);
    // Parameters follow until the next thing that is a scheme, not "name=".
    for (;;) {
      skip(/^[ \t]*,?[ \t]*/);
      const name = TOKEN.exec(rest)?.[0];
      if (!name) break;
      const after = rest.slice(name.length).replace(/^[ \t]*/, '');
      if (!after.startsWith('=')) break; // a new challenge's scheme
      rest = after.slice(1).replace(/^[ \t]*/, '');
      let value: string;
      if (rest.startsWith('"')) {
        const q = readQuoted(rest);
        if (!q) return out; // an unterminated quote: the rest is unreadable
        [value, rest] = q;
      } else {
        value = TOKEN.exec(rest)?.[0] ?? '';
        rest = rest.slice(value.length);
      }
      challenge.params[name.toLowerCase()] = value;
    }
    skip(/^[\s,]+/);
  }
  return out;
}

/** A quoted-string at the start of s: its value (escapes undone) and what follows it. */
function readQuoted(s: string): [string, string] | null {
  let value = '';
  for (let i = 1; i < s.length; i++) {
    const c = s[i];
    if (c === '\\' && i + 1 < s.length) value += s[++i];
    else if (c === '"') return [value, s.slice(i + 1)];
    else value += c;
  }
  return null;
}
// #endregion parse

/** A challenge as a header value: the parser's inverse (for tests and the test servers). */
export function formatChallenge(c: Challenge): string {
  const params = Object.entries(c.params).map(([k, v]) => `${k}="${v.replace(/["\\]/g, (m) => '\\' + m)}"`);
  return params.length ? `${c.scheme} ${params.join(',')}` : c.scheme;
}
