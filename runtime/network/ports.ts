// Publishing ports: `-p`, `--expose`, `-P`, and the host ports they get.
//
// Docker reads `-p` in the CLI (docker/go-connections' nat.ParsePortSpecs,
// v0.5.0 in Docker 28) and picks host ports in the daemon (libnetwork's
// portallocator, then a bind to reserve each port). dockling has no daemon:
// the same steps happen here, as plain functions the network stage calls:
//
//   parsePublish / parseExpose   what the user asked for, or Docker's error
//   exposedPorts, publishAll     which ports the container exposes; -P
//   pickHostPort, allocateHostPorts   a free host port for each request
//   toPortMap, toPortBindings    what the container records (inspect, ps, port)
//
// The words of every error are Docker's (Docker 28.2), because users compare
// them line by line; where dockling must say something Docker never says, it
// says what was wrong and how to fix it.
import fs from 'node:fs';
import net from 'node:net';
import dgram from 'node:dgram';
import { RunError } from '../core/pipeline.js';
import { joinHostPort } from '../core/port-map.js';
import type { PortBinding, PortMap } from './model.js';

export type Proto = 'tcp' | 'udp' | 'sctp';
const PROTOS: readonly string[] = ['tcp', 'udp', 'sctp'];

/** One container port to publish: what one `-p` asks for, per container port. */
export interface PublishRequest {
  containerPort: number;
  proto: Proto;
  /** the host address as given ("" = every address, Docker's default 0.0.0.0); IPv6 without brackets */
  hostIp: string;
  /** the host port, or the range to pick one from; 0..0 = an ephemeral port */
  hostPortStart: number;
  hostPortEnd: number;
}

/** A request with its host port picked: one DNAT rule, one PortMap binding. */
export interface PublishedPort {
  containerPort: number;
  proto: Proto;
  /** canonical host address: "0.0.0.0" for every IPv4 address, "::1" for [0:0::1] */
  hostIp: string;
  hostPort: number;
}

/** The PortMap key: "80/tcp". */
export const portKey = (port: number, proto: string) => `${port}/${proto}`;

const invalid = (message: string) => new RunError(125, message);

/** Go's strconv.Quote, for a value echoed in a Go error. */
const goQuote = (s: string) => JSON.stringify(s).replace(/\\u00([0-9a-f]{2})/g, '\\x$1').replace(/\u007f/g, '\\x7f');

/** Go's strconv.ParseUint(s, 10, 16), with Go's error text. */
function parseUint16(s: string): { n: number } | { err: string } {
  if (!/^[0-9]+$/.test(s)) return { err: `strconv.ParseUint: parsing ${goQuote(s)}: invalid syntax` };
  const n = Number(s);
  if (n > 65535) return { err: `strconv.ParseUint: parsing ${goQuote(s)}: value out of range` };
  return { n };
}

// #region port-range
/**
 * nat.ParsePortRange: "80" or "8000-8010", each end a number of 0..65535
 * and the range not backwards. As in Docker, only the first two pieces of
 * "a-b-c" are read.
 */
export function parsePortRange(s: string): { start: number; end: number } | { err: string } {
  if (s === '') return { err: 'empty string specified for ports' };
  if (!s.includes('-')) {
    const one = parseUint16(s);
    return 'err' in one ? one : { start: one.n, end: one.n };
  }
  const parts = s.split('-');
  const start = parseUint16(parts[0]);
  if ('err' in start) return start;
  const end = parseUint16(parts[1]);
  if ('err' in end) return end;
  if (end.n < start.n) return { err: `invalid range specified for port: ${s}` };
  return { start: start.n, end: end.n };
}
// #endregion port-range

/** Go's net.ParseIP: a dotted IPv4 (no leading zeros) or an IPv6 address without a zone. */
const isGoIP = (s: string) => net.isIP(s) !== 0 && !s.includes('%');

/**
 * One address, one spelling: IPv6 compressed as Go prints it (the URL
 * parser does RFC 5952), an IPv4-mapped IPv6 as its IPv4 (Docker unmaps
 * those), "" as 0.0.0.0 (Docker's default host address).
 */
export function canonicalIp(ip: string): string {
  if (ip === '') return '0.0.0.0';
  if (net.isIPv4(ip)) return ip;
  const v6 = new URL(`http://[${ip}]/`).hostname.slice(1, -1);
  const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(v6);
  if (mapped) {
    const [hi, lo] = [parseInt(mapped[1], 16), parseInt(mapped[2], 16)];
    return [hi >> 8, hi & 255, lo >> 8, lo & 255].join('.');
  }
  return v6;
}

/** nat's splitParts: the last piece is the container port, the one before the host port, the rest the address. */
function splitParts(raw: string): [ip: string, hostPort: string, containerPort: string] {
  const parts = raw.split(':');
  const n = parts.length;
  if (n === 1) return ['', '', parts[0]];
  if (n === 2) return ['', parts[0], parts[1]];
  return [parts.slice(0, n - 2).join(':'), parts[n - 2], parts[n - 1]];
}

/** nat.SplitProtoPort: "80/udp" -> udp and 80; no protocol is tcp; "/udp" is no port at all. */
function splitProtoPort(raw: string): [proto: string, port: string] {
  const parts = raw.split('/');
  if (raw === '' || parts[0] === '') return ['', ''];
  if (parts.length === 1) return ['tcp', raw];
  return [parts[1] === '' ? 'tcp' : parts[1], parts[0]];
}

/** Go's net.SplitHostPort(ip + ":") for a bracketed address: the address inside, or Go's error. */
function stripBrackets(ip: string): { host: string } | { err: string } {
  const hostport = ip + ':';
  const fail = (why: string) => ({ err: `address ${hostport}: ${why}` });
  const i = hostport.lastIndexOf(':');
  const end = hostport.indexOf(']');
  if (end < 0) return fail("missing ']' in address");
  if (end + 1 === hostport.length) return fail('missing port in address');
  if (end + 1 !== i) return fail(hostport[end + 1] === ':' ? 'too many colons in address' : 'missing port in address');
  if (hostport.indexOf('[', 1) >= 0) return fail("unexpected '[' in address");
  if (hostport.indexOf(']', end + 1) >= 0) return fail("unexpected ']' in address");
  return { host: hostport.slice(1, end) };
}

/**
 * The docker CLI's convertToStandardNotation: the long form
 * `published=8080,target=80,protocol=udp` becomes `8080:80/udp`.
 */
function standardNotation(spec: string): string {
  if (!spec.includes('=')) return spec;
  const params: Record<string, string> = { protocol: 'tcp' };
  for (const param of spec.split(',')) {
    const eq = param.indexOf('=');
    if (eq <= 0) throw invalid(`invalid publish opts format (should be name=value but got '${param}')`);
    params[param.slice(0, eq)] = param.slice(eq + 1);
  }
  return `${params.published ?? ''}:${params.target ?? ''}/${params.protocol}`;
}

// #region parse-publish
/**
 * One `-p` value, as nat.ParsePortSpec reads it:
 *
 *   [IP:][HOST_PORT[-END]:]CONTAINER_PORT[-END][/PROTO]
 *
 * in Docker's order of checks, so that a value wrong in two ways gets
 * Docker's first complaint. A container range needs a host range of the
 * same length (or no host port); a host range for one container port is a
 * range to pick one free port from.
 */
export function parsePublishSpec(spec: string): PublishRequest[] {
  const raw = standardNotation(spec);
  let [ip, hostPort, containerPort] = splitParts(raw);
  const [proto, port] = splitProtoPort(containerPort);
  containerPort = port;

  // 1. the host address: "[::1]" loses its brackets; it must be an IP
  if (ip !== '' && ip[0] === '[') {
    const stripped = stripBrackets(ip);
    if ('err' in stripped) throw invalid(`invalid IP address ${ip}: ${stripped.err}`);
    ip = stripped.host;
  }
  if (ip !== '' && !isGoIP(ip)) throw invalid(`invalid IP address: ${ip}`);

  // 2. the container port (or range)
  if (containerPort === '') throw invalid(`no port specified: ${raw}<empty>`);
  const ctr = parsePortRange(containerPort);
  if ('err' in ctr) throw invalid(`invalid containerPort: ${containerPort}`);

  // 3. the host port (or range); "" and "0" both mean "any free port"
  let host = { start: 0, end: 0 };
  if (hostPort !== '') {
    const h = parsePortRange(hostPort);
    if ('err' in h) throw invalid(`invalid hostPort: ${hostPort}`);
    host = h;
    if (ctr.end - ctr.start !== host.end - host.start && ctr.end !== ctr.start) {
      throw invalid(`invalid ranges specified for container and host Ports: ${containerPort} and ${hostPort}`);
    }
  }

  // 4. the protocol, in any case
  const p = proto.toLowerCase();
  if (!PROTOS.includes(p)) throw invalid(`invalid proto: ${proto}`);

  // 5. one request per container port
  const out: PublishRequest[] = [];
  for (let i = 0; i <= ctr.end - ctr.start; i++) {
    const single = ctr.start === ctr.end;
    const hs = hostPort === '' ? 0 : host.start + i;
    out.push({
      containerPort: ctr.start + i,
      proto: p as Proto,
      hostIp: ip,
      hostPortStart: hs,
      // a host range for one container port stays a range to pick from
      hostPortEnd: hostPort !== '' && single ? host.end : hs,
    });
  }
  // The daemon refuses a container port 0 (there is nothing to forward to).
  for (const r of out) {
    if (r.containerPort === 0) throw invalid(`Error response from daemon: invalid port specification: "${portKey(0, r.proto)}"`);
  }
  return out;
}

/** Every `-p` of a run, in the order given (nat.ParsePortSpecs). */
export function parsePublish(specs: string[]): PublishRequest[] {
  return specs.flatMap(parsePublishSpec);
}
// #endregion parse-publish

// #region parse-expose
/**
 * `--expose 80`, `--expose 7000-7002/udp` (the docker CLI's loop over
 * --expose): each port of the range becomes a key "7000/udp". No host
 * side may be given. (Docker leaves the protocol unchecked here; dockling
 * checks it as -p does, since it would have to forward it.)
 */
export function parseExpose(specs: string[]): string[] {
  const keys: string[] = [];
  for (const e of specs) {
    if (e.includes(':')) throw invalid(`invalid port format for --expose: ${e}`);
    const [proto, port] = splitProtoPort(e);
    const range = parsePortRange(port);
    if ('err' in range) throw invalid(`invalid range format for --expose: ${e}, error: ${range.err}`);
    const p = proto.toLowerCase();
    if (!PROTOS.includes(p)) throw invalid(`invalid proto: ${proto}`);
    for (let n = range.start; n <= range.end; n++) if (!keys.includes(portKey(n, p))) keys.push(portKey(n, p));
  }
  return keys;
}
// #endregion parse-expose

const PROTO_ORDER: Record<string, number> = { tcp: 0, udp: 1, sctp: 2 };

/** Sort "80/tcp" keys by port number, then tcp < udp < sctp. */
export function sortPortKeys(keys: Iterable<string>): string[] {
  const split = (k: string) => {
    const [n, p] = k.split('/');
    return { n: Number(n), p: PROTO_ORDER[p ?? 'tcp'] ?? 3 };
  };
  return [...new Set(keys)].sort((a, b) => split(a).n - split(b).n || split(a).p - split(b).p);
}

/**
 * Normalise an image's ExposedPorts keys ("80/tcp", "80", "7000-7002/udp")
 * into single-port keys; a key that is no port is skipped, as the daemon
 * skips it.
 */
function imageExposedKeys(exposed: Record<string, unknown> | null | undefined): string[] {
  const keys: string[] = [];
  for (const k of Object.keys(exposed ?? {})) {
    const [proto, port] = splitProtoPort(k);
    const range = parsePortRange(port);
    if ('err' in range || !PROTOS.includes(proto.toLowerCase())) continue;
    for (let n = range.start; n <= range.end; n++) keys.push(portKey(n, proto.toLowerCase()));
  }
  return keys;
}

/**
 * The ports a container exposes (its Config.ExposedPorts): the image's,
 * the --expose ones, and every port -p publishes (ParsePortSpecs exposes
 * those too). Sorted by number, tcp before udp before sctp.
 */
export function exposedPorts(imageExposedPorts: Record<string, unknown> | null | undefined, expose: string[], requests: PublishRequest[]): string[] {
  return sortPortKeys([...imageExposedKeys(imageExposedPorts), ...expose, ...requests.map((r) => portKey(r.containerPort, r.proto))]);
}

// #region publish-all
/**
 * `-P` (--publish-all): every exposed port that no -p publishes gets an
 * ephemeral host port on every address, as the daemon adds an empty
 * binding for it when PublishAllPorts is set. A port -p publishes keeps
 * only its -p bindings.
 */
export function publishAll(exposed: string[], requests: PublishRequest[]): PublishRequest[] {
  const published = new Set(requests.map((r) => portKey(r.containerPort, r.proto)));
  const extra: PublishRequest[] = [];
  for (const key of sortPortKeys(exposed)) {
    if (published.has(key)) continue;
    const [n, p] = key.split('/');
    extra.push({ containerPort: Number(n), proto: (p ?? 'tcp') as Proto, hostIp: '', hostPortStart: 0, hostPortEnd: 0 });
  }
  return [...requests, ...extra];
}
// #endregion publish-all

// #region ephemeral-range
/** Docker's own range when the kernel's cannot be read (portallocator's defaults). */
export const DEFAULT_EPHEMERAL_RANGE: [number, number] = [49153, 65535];

/**
 * The ports the kernel hands out to sockets that do not ask for one
 * (net.ipv4.ip_local_port_range: "32768\t60999"). Docker's allocator picks
 * ephemeral host ports from the same range, so a published port looks like
 * any other ephemeral port on the host.
 */
export function readEphemeralRange(file = '/proc/sys/net/ipv4/ip_local_port_range'): [number, number] {
  try {
    const m = /^\s*(\d+)\s+(\d+)/.exec(fs.readFileSync(file, 'utf8'));
    if (m) {
      const [lo, hi] = [Number(m[1]), Number(m[2])];
      if (lo >= 1 && lo <= hi && hi <= 65535) return [lo, hi];
    }
  } catch {
    /* no /proc (or not Linux): Docker's fallback */
  }
  return DEFAULT_EPHEMERAL_RANGE;
}
// #endregion ephemeral-range

/** An allocation key: "0.0.0.0/tcp/8080" (canonical address, protocol, port). */
export const allocationKey = (ip: string, proto: string, port: number) => `${canonicalIp(ip)}/${proto}/${port}`;

/** The allocation keys a container's PortMap holds (for the set of ports other containers hold). */
export function allocatedKeys(ports: PortMap | null | undefined): string[] {
  const keys: string[] = [];
  for (const [key, bindings] of Object.entries(ports ?? {})) {
    const proto = key.split('/')[1] || 'tcp';
    for (const b of bindings ?? []) {
      const port = Number(b.HostPort);
      if (Number.isInteger(port) && port > 0 && isGoIP(b.HostIp || '0.0.0.0')) keys.push(allocationKey(b.HostIp, proto, port));
    }
  }
  return keys;
}

/**
 * Does an allocated key overlap (ip, proto, port)? The same address, or
 * either side the wildcard of the same family: 0.0.0.0:8080 holds
 * 127.0.0.1:8080 too, as the kernel refuses to bind both. (Docker's
 * allocator keys by exact address and lets the bind find the overlap;
 * dockling holds no socket, so the allocator has to.)
 */
export function allocatedHolder(ip: string, proto: string, port: number, allocated: ReadonlySet<string>): string | null {
  const want = canonicalIp(ip);
  const wildcard = net.isIPv4(want) ? '0.0.0.0' : '::';
  const candidates = want === wildcard ? null : [want, wildcard];
  if (candidates) {
    for (const c of candidates) if (allocated.has(`${c}/${proto}/${port}`)) return c;
    return null;
  }
  // the wildcard overlaps every address of its family
  for (const k of allocated) {
    const [a, p, n] = splitKey(k);
    if (p === proto && n === port && (net.isIPv4(a) ? '0.0.0.0' : '::') === wildcard) return a;
  }
  return null;
}

function splitKey(k: string): [string, string, number] {
  const i = k.lastIndexOf('/');
  const j = k.lastIndexOf('/', i - 1);
  return [k.slice(0, j), k.slice(j + 1, i), Number(k.slice(i + 1))];
}

/** Where the container side is, for the messages (Docker 28 names both ends of the binding). */
export interface PickOptions {
  /** the container's address on the network, for the messages */
  containerIp?: string;
  /** the last port picked from this range: the search starts after it (Docker's round robin) */
  after?: number;
}

/** Docker's portallocator: an exact port already taken by another container. */
export const alreadyAllocated = (ip: string, port: number) => `Bind for ${canonicalIp(ip)}:${port} failed: port is already allocated`;

/** libnetwork's PortBinding.String(): host side, container side: "0.0.0.0:8080:172.17.0.2:80/tcp". */
function bindingString(req: PublishRequest, containerIp: string): string {
  const hp = req.hostPortStart === req.hostPortEnd ? String(req.hostPortStart) : `${req.hostPortStart}-${req.hostPortEnd}`;
  return `${joinHostPort(canonicalIp(req.hostIp), hp)}:${containerIp}:${portKey(req.containerPort, req.proto)}`;
}

/**
 * Docker 28's words for a host port some process on the host holds
 * (the bridge driver's bindTCPOrUDP): "failed to bind host port for
 * 0.0.0.0:8080:172.17.0.2:80/tcp: address already in use", with the
 * port tried first when it was picked from a range.
 */
export function portInUse(req: PublishRequest, port: number, containerIp = ''): string {
  const exact = req.hostPortStart === req.hostPortEnd && req.hostPortStart !== 0;
  return exact
    ? `failed to bind host port for ${bindingString(req, containerIp)}: address already in use`
    : `failed to bind host port ${port} for ${bindingString(req, containerIp)}: address already in use`;
}

/** Docker tries this many ports of a range that the host's own sockets hold, then gives up. */
export const MAX_BIND_ATTEMPTS = 10;

// #region candidates
/**
 * The ports to try for one request, in the order Docker's allocator hands
 * them out. An exact port is the only candidate (or Docker's "already
 * allocated" error). For a range (or the ephemeral range) the search
 * starts after the last port picked (the end of the range the first time,
 * so the first pick is the range's first port) and goes round once,
 * skipping ports other containers hold.
 */
export function* candidatePorts(req: PublishRequest, allocated: ReadonlySet<string>, ephemeral: [number, number], after?: number): Generator<number> {
  const ip = req.hostIp;
  if (req.hostPortStart !== 0 && req.hostPortStart === req.hostPortEnd) {
    if (allocatedHolder(ip, req.proto, req.hostPortStart, allocated) !== null) throw new RunError(125, alreadyAllocated(ip, req.hostPortStart));
    yield req.hostPortStart;
    return;
  }
  let [lo, hi] = ephemeral;
  if (req.hostPortStart !== 0 || req.hostPortEnd !== 0) {
    if (req.hostPortStart === 0 || req.hostPortEnd === 0 || req.hostPortEnd < req.hostPortStart) {
      throw new RunError(125, `invalid port range: ${req.hostPortStart}-${req.hostPortEnd}`);
    }
    [lo, hi] = [req.hostPortStart, req.hostPortEnd];
  }
  let port = after !== undefined && after >= lo && after <= hi ? after : hi;
  for (let i = lo; i <= hi; i++) {
    port = port + 1 > hi ? lo : port + 1;
    if (allocatedHolder(ip, req.proto, port, allocated) === null) yield port;
  }
  throw new RunError(125, 'all ports are allocated');
}
// #endregion candidates

// #region pick-host-port
/**
 * A host port for one request: the first candidate the host can give
 * (`isFree` says whether a bind would succeed). An exact port that the
 * host holds fails at once; a range gives up after MAX_BIND_ATTEMPTS
 * ports the host holds, with the last one's error, as Docker does.
 * Pure: the caller brings what is allocated and how to test a port.
 */
export function pickHostPort(
  req: PublishRequest,
  allocated: ReadonlySet<string>,
  range: [number, number],
  isFree: (ip: string, proto: Proto, port: number) => boolean,
  opts: PickOptions = {},
): number {
  let attempts = 0;
  for (const port of candidatePorts(req, allocated, range, opts.after)) {
    if (isFree(canonicalIp(req.hostIp), req.proto, port)) return port;
    if (++attempts >= MAX_BIND_ATTEMPTS || (req.hostPortStart === req.hostPortEnd && req.hostPortStart !== 0)) {
      throw new RunError(125, portInUse(req, port, opts.containerIp));
    }
  }
  throw new RunError(125, 'all ports are allocated'); // not reached: candidatePorts throws when it runs out
}
// #endregion pick-host-port

/**
 * The order Docker's bridge driver binds a container's ports in
 * (cmpPortBindingReqs): exact host ports before ranges (so an exact port
 * inside someone's range gets its number first), then by container port,
 * protocol (tcp, udp, sctp) and host port.
 */
export function bindingOrder(a: PublishRequest, b: PublishRequest): number {
  const range = (r: PublishRequest) => (r.hostPortStart === 0 || r.hostPortStart !== r.hostPortEnd ? 1 : 0);
  return (
    range(a) - range(b) ||
    a.containerPort - b.containerPort ||
    PROTO_ORDER[a.proto] - PROTO_ORDER[b.proto] ||
    a.hostPortStart - b.hostPortStart ||
    a.hostPortEnd - b.hostPortEnd ||
    (canonicalIp(a.hostIp) < canonicalIp(b.hostIp) ? -1 : canonicalIp(a.hostIp) > canonicalIp(b.hostIp) ? 1 : 0)
  );
}

// #region host-port-in-use
/**
 * Is (ip, proto, port) held on the host? Asked the only sure way: bind it,
 * then let go. TCP listens (a listening socket is what conflicts; the
 * kernel lets TIME_WAIT leftovers be, as it does for Docker's
 * SO_REUSEADDR socket); UDP binds. An IPv6 socket is IPv6-only, so [::]
 * and 0.0.0.0 are separate, as in Docker. Node has no SCTP sockets: an
 * SCTP port is taken as free. An address that is not the host's is an
 * error of its own, with the kernel's words.
 */
export async function hostPortInUse(ip: string, proto: Proto, port: number): Promise<boolean> {
  const host = canonicalIp(ip);
  const v6 = net.isIPv6(host);
  const verdict = (e: NodeJS.ErrnoException | null): boolean => {
    if (!e) return false;
    if (e.code === 'EADDRINUSE') return true;
    const why = e.code === 'EADDRNOTAVAIL' ? 'cannot assign requested address' : e.code === 'EACCES' ? 'permission denied' : e.message;
    throw new RunError(125, `listen ${proto}${v6 ? '6' : '4'} ${joinHostPort(host, port)}: bind: ${why}`, { cause: e });
  };
  if (proto === 'sctp') return false;
  if (proto === 'tcp') {
    return new Promise((resolve, reject) => {
      const server = net.createServer();
      server.once('error', (e: NodeJS.ErrnoException) => {
        try {
          resolve(verdict(e));
        } catch (err) {
          reject(err);
        }
      });
      server.listen({ host, port, exclusive: true, ipv6Only: v6 }, () => server.close(() => resolve(false)));
    });
  }
  return new Promise((resolve, reject) => {
    const sock = dgram.createSocket({ type: v6 ? 'udp6' : 'udp4', ipv6Only: v6 });
    sock.once('error', (e: NodeJS.ErrnoException) => {
      sock.close();
      try {
        resolve(verdict(e));
      } catch (err) {
        reject(err);
      }
    });
    sock.bind({ address: host, port, exclusive: true }, () => sock.close(() => resolve(false)));
  });
}
// #endregion host-port-in-use

// #region allocate
/**
 * Host ports for every request of one container, in Docker's binding
 * order, each tested with a real bind: what `run` calls once the
 * container's address is known. Ports picked for earlier requests count as
 * allocated for later ones. `allocated` is what other containers hold
 * (allocatedKeys of their PortMaps); it is not changed. Returns the
 * published ports in the order of `requests`, or throws Docker's error and
 * holds nothing.
 */
export async function allocateHostPorts(
  requests: PublishRequest[],
  allocated: ReadonlySet<string>,
  range: [number, number],
  opts: PickOptions & { inUse?: (ip: string, proto: Proto, port: number) => Promise<boolean> } = {},
): Promise<PublishedPort[]> {
  const inUse = opts.inUse ?? hostPortInUse;
  const held = new Set(allocated);
  const picked = new Map<PublishRequest, number>();
  let after = opts.after;
  for (const req of [...requests].sort(bindingOrder)) {
    let attempts = 0;
    let port = 0;
    const ephemeral = req.hostPortStart === 0 && req.hostPortEnd === 0;
    for (const p of candidatePorts(req, held, range, ephemeral ? after : undefined)) {
      if (!(await inUse(canonicalIp(req.hostIp), req.proto, p))) {
        port = p;
        break;
      }
      if (++attempts >= MAX_BIND_ATTEMPTS || (req.hostPortStart === req.hostPortEnd && req.hostPortStart !== 0)) {
        throw new RunError(125, portInUse(req, p, opts.containerIp));
      }
    }
    if (ephemeral) after = port;
    held.add(allocationKey(req.hostIp, req.proto, port));
    picked.set(req, port);
  }
  return requests.map((r) => ({ containerPort: r.containerPort, proto: r.proto, hostIp: canonicalIp(r.hostIp), hostPort: picked.get(r)! }));
}
// #endregion allocate

// #region port-map
/**
 * NetworkSettings.Ports as Docker records it: every exposed port, with
 * its bindings, or null when it is exposed but not published. Keys in
 * Go's JSON order (sorted as strings), bindings in the order picked.
 */
export function toPortMap(published: PublishedPort[], exposed: Iterable<string>): PortMap {
  const map: PortMap = {};
  for (const key of exposed) map[key] = null;
  for (const p of published) {
    const key = portKey(p.containerPort, p.proto);
    const binding: PortBinding = { HostIp: p.hostIp, HostPort: String(p.hostPort) };
    map[key] = [...(map[key] ?? []), binding];
  }
  return Object.fromEntries(Object.keys(map).sort().map((k) => [k, map[k]]));
}

/**
 * HostConfig.PortBindings as `docker inspect` shows what was asked:
 * HostIp as given ("" for all), HostPort "" for any, "8000-8010" for a
 * range to pick from.
 */
export function toPortBindings(requests: PublishRequest[]): PortMap {
  const map: PortMap = {};
  for (const r of requests) {
    const hp = r.hostPortStart === 0 && r.hostPortEnd === 0 ? '' : r.hostPortStart === r.hostPortEnd ? String(r.hostPortStart) : `${r.hostPortStart}-${r.hostPortEnd}`;
    const key = portKey(r.containerPort, r.proto);
    map[key] = [...(map[key] ?? []), { HostIp: r.hostIp, HostPort: hp }];
  }
  return Object.fromEntries(Object.keys(map).sort().map((k) => [k, map[k]]));
}
// #endregion port-map
