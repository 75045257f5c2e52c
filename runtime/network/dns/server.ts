// The embedded DNS server: one process per state root, serving every
// user-defined network.
//
// Docker runs one resolver per container, inside the container's network
// namespace on 127.0.0.11 (its iptables rules send port 53 to the random
// ports it really listens on). dockling has no daemon to own those
// listeners, so one process listens on port 53 of each user-defined
// network's gateway (172.18.0.1:53), on the host's side of the bridge, and
// each container's 127.0.0.11:53 is DNATed there. The address a query
// arrives on says which network it is for; its source address says which
// container asks.
//
// Names are read from the container store when asked (cached for 200 ms),
// so a container that starts, stops, connects or disconnects is answered
// for at once, with nothing to tell the server.
import dgram from 'node:dgram';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { writeFileAtomic } from '../../core/files.js';
import { dnsDir } from '../model.js';
import { buildMessage, clientUdpSize, headerOnlyReply, MAX_SIZE, parseMessage, RCODE, replyTo, TYPE, type Message } from './packet.js';
import { dnsNeeded, networkGateways, networksFor, resolveAddress, resolveName, runningEndpoints, type DnsEndpoint } from './records.js';

export const pidFile = (stateRoot: string) => path.join(dnsDir(stateRoot), 'pid');
export const controlSocket = (stateRoot: string) => path.join(dnsDir(stateRoot), 'control.sock');
export const upstreamFile = (stateRoot: string) => path.join(dnsDir(stateRoot), 'upstream');
export const lockDir = (stateRoot: string) => path.join(dnsDir(stateRoot), 'lock');

/** Docker's TTL for the names it answers (libnetwork resolver.go respTTL). */
export const TTL = 600;
/** Docker tries at most three upstream servers, four seconds each (maxExtDNS, extIOTimeout). */
const MAX_UPSTREAMS = 3;
/** Docker's cap on queries being forwarded at once (maxConcurrent); more are REFUSED. */
const MAX_FORWARDING = 1024;

export interface ServerOptions {
  stateRoot: string;
  /** the port to listen on at each gateway: 53 */
  port?: number;
  /** how long to wait for each upstream server: Docker's 4 s */
  upstreamTimeoutMs?: number;
  /** how often to check whether it is still needed: 2 s */
  idleCheckMs?: number;
  /** after a bind, how long it stays even if no container runs yet (the one it was started for is starting) */
  graceMs?: number;
}

// #region dns-answer
/**
 * The answer from the container store, or null when the name is not a
 * container's (the question then goes upstream). As Docker's resolver:
 * A gets the addresses (in random order); AAAA and MX for a known name get
 * NOERROR with no records (the networks have no IPv6; "implicit MX", RFC
 * 5321 5.1), so the client does not look the name up elsewhere; PTR of a
 * container's address gets "name.network".
 */
export function answerLocally(query: Message, endpoints: DnsEndpoint[], networks: string[]): Message | null {
  const q = query.questions[0];
  switch (q.type) {
    case TYPE.A: {
      const ips = resolveName(endpoints, networks, q.name);
      if (!ips) return null;
      const reply = replyTo(query);
      for (const ip of shuffle(ips)) reply.answers.push({ name: q.name, type: TYPE.A, class: q.class, ttl: TTL, data: ip, rdata: Buffer.alloc(0) });
      return reply;
    }
    case TYPE.AAAA:
    case TYPE.MX:
      return resolveName(endpoints, networks, q.name) ? replyTo(query) : null;
    case TYPE.PTR: {
      const host = resolveAddress(endpoints, networks, q.name);
      if (!host) return null;
      const reply = replyTo(query);
      reply.answers.push({ name: q.name, type: TYPE.PTR, class: q.class, ttl: TTL, data: host, rdata: Buffer.alloc(0) });
      return reply;
    }
    default:
      return null;
  }
}
// #endregion dns-answer

function shuffle<T>(xs: T[]): T[] {
  const a = [...xs];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

/** The upstream resolvers: one per line, "IP" (port 53) or "IP:PORT" / "[IPv6]:PORT". */
export function readUpstreams(stateRoot: string): { address: string; port: number }[] {
  let text = '';
  try {
    text = fs.readFileSync(upstreamFile(stateRoot), 'utf8');
  } catch {
    return []; // none written: nothing to forward to
  }
  const out: { address: string; port: number }[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*/, '').trim();
    if (!line) continue;
    const v6port = /^\[([0-9a-fA-F:.]+)\]:(\d+)$/.exec(line);
    const v4port = /^(\d+\.\d+\.\d+\.\d+):(\d+)$/.exec(line);
    if (v6port) out.push({ address: v6port[1], port: Number(v6port[2]) });
    else if (v4port) out.push({ address: v4port[1], port: Number(v4port[2]) });
    else if (net.isIP(line)) out.push({ address: line, port: 53 });
  }
  return out;
}

// #region dns-forward
/**
 * Ask the upstream servers in turn, as Docker's forwardExtDNS: the query
 * as the client sent it (its EDNS OPT record included), under a new random
 * ID from a fresh socket, so that answers to two clients that chose the same
 * ID cannot be mixed up; an answer that is SERVFAIL or REFUSED, or none in
 * time, moves on to the next server. The answer goes back as it came, with
 * the client's ID put back; a query that came over TCP goes upstream over
 * TCP too (as Docker's: a UDP answer could be truncated). null: no server
 * answered.
 */
export async function forward(raw: Buffer, upstreams: { address: string; port: number }[], timeoutMs: number, proto: 'udp' | 'tcp' = 'udp'): Promise<Buffer | null> {
  for (const up of upstreams.slice(0, MAX_UPSTREAMS)) {
    const answer = await (proto === 'tcp' ? exchangeTcp : exchange)(raw, up, timeoutMs);
    if (!answer) continue;
    const rcode = answer.readUInt16BE(2) & 0xf;
    if (rcode === RCODE.SERVFAIL || rcode === RCODE.REFUSED) continue;
    answer.writeUInt16BE(raw.readUInt16BE(0), 0);
    return answer;
  }
  return null;
}

function exchange(raw: Buffer, up: { address: string; port: number }, timeoutMs: number): Promise<Buffer | null> {
  return new Promise((resolve) => {
    const id = Math.floor(Math.random() * 0x10000);
    const query = Buffer.from(raw);
    query.writeUInt16BE(id, 0);
    const sock = dgram.createSocket(net.isIPv6(up.address) ? 'udp6' : 'udp4');
    const done = (b: Buffer | null) => {
      clearTimeout(timer);
      sock.close();
      resolve(b);
    };
    const timer = setTimeout(() => done(null), timeoutMs);
    sock.on('error', () => done(null));
    sock.on('message', (msg, from) => {
      // Only the server asked, with our ID, in a response: anything else is spoofed or stray.
      if (from.port !== up.port || msg.length < 12 || msg.readUInt16BE(0) !== id || (msg[2] & 0x80) === 0) return;
      done(Buffer.from(msg));
    });
    sock.send(query, up.port, up.address, (err) => {
      if (err) done(null);
    });
  });
}
/** The same over TCP: one connection per query, the length before the message. */
function exchangeTcp(raw: Buffer, up: { address: string; port: number }, timeoutMs: number): Promise<Buffer | null> {
  return new Promise((resolve) => {
    const id = Math.floor(Math.random() * 0x10000);
    const query = Buffer.from(raw);
    query.writeUInt16BE(id, 0);
    const len = Buffer.alloc(2);
    len.writeUInt16BE(query.length);
    const conn = net.createConnection({ host: up.address, port: up.port });
    let buf = Buffer.alloc(0);
    const done = (b: Buffer | null) => {
      clearTimeout(timer);
      conn.destroy();
      resolve(b);
    };
    const timer = setTimeout(() => done(null), timeoutMs);
    conn.on('error', () => done(null));
    conn.on('close', () => done(null));
    conn.on('connect', () => conn.write(Buffer.concat([len, query])));
    conn.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length < 2 || buf.length < 2 + buf.readUInt16BE(0)) return;
      const msg = buf.subarray(2, 2 + buf.readUInt16BE(0));
      done(msg.length >= 12 && msg.readUInt16BE(0) === id && (msg[2] & 0x80) !== 0 ? Buffer.from(msg) : null);
    });
  });
}
// #endregion dns-forward

/** The server's running state: its sockets by gateway, its control socket, its timers. */
export class DnsServer {
  /** by gateway: the UDP socket and the TCP listener on its port 53 */
  private sockets = new Map<string, { udp: dgram.Socket; tcp: net.Server }>();
  private control: net.Server | null = null;
  private idleTimer: NodeJS.Timeout | null = null;
  private lastBind = Date.now();
  private cache: { at: number; endpoints: DnsEndpoint[]; gateways: Map<string, string> } | null = null;
  private stopping = false;
  private forwarding = 0;
  readonly port: number;
  private timeoutMs: number;
  private idleCheckMs: number;
  private graceMs: number;
  /** called once the server has stopped (the entry exits then) */
  onStopped: () => void = () => {};

  constructor(private opts: ServerOptions) {
    this.port = opts.port ?? 53;
    this.timeoutMs = opts.upstreamTimeoutMs ?? 4000;
    this.idleCheckMs = opts.idleCheckMs ?? 2000;
    this.graceMs = opts.graceMs ?? 10_000;
  }

  get stateRoot() {
    return this.opts.stateRoot;
  }

  /** The gateways listened on now. */
  bound(): string[] {
    return [...this.sockets.keys()].sort();
  }

  // #region dns-lifetime
  /** Listen on the control socket, write the pid file, and start the idle check. */
  async start(): Promise<void> {
    fs.mkdirSync(dnsDir(this.stateRoot), { recursive: true, mode: 0o700 });
    const sockPath = controlSocket(this.stateRoot);
    fs.rmSync(sockPath, { force: true }); // left by a server that was killed: the caller holds the lock
    this.control = net.createServer((conn) => this.serveControl(conn));
    await new Promise<void>((resolve, reject) => {
      this.control!.once('error', reject);
      this.control!.listen(sockPath, () => resolve());
    });
    fs.chmodSync(sockPath, 0o600);
    writeFileAtomic(pidFile(this.stateRoot), `${process.pid}\n`);
    this.idleTimer = setInterval(() => this.checkIdle(), this.idleCheckMs);
  }

  /**
   * The backstop: every 2 s, stop listening on gateways whose network is
   * gone, and exit when no container needs the server any more (after the
   * grace that follows a bind: the container it was bound for is still
   * being started). `rm` and the monitor stop it sooner
   * (stopDnsServerIfIdle); this covers a CLI killed before it could.
   */
  checkIdle(): void {
    if (this.stopping) return;
    try {
      const recent = Date.now() - this.lastBind < this.graceMs;
      if (!recent) {
        const gateways = networkGateways(this.stateRoot);
        for (const gw of this.sockets.keys()) if (!gateways.has(gw)) this.unbind(gw);
        if (!dnsNeeded(this.stateRoot)) void this.stop();
      }
    } catch {
      /* the store is being changed: look again next time */
    }
  }

  /** Close everything, and remove the pid file and the control socket (only if they are this process's). */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    if (this.idleTimer) clearInterval(this.idleTimer);
    for (const gw of [...this.sockets.keys()]) this.unbind(gw);
    try {
      if (fs.readFileSync(pidFile(this.stateRoot), 'utf8').trim() === String(process.pid)) {
        fs.rmSync(controlSocket(this.stateRoot), { force: true });
        fs.rmSync(pidFile(this.stateRoot), { force: true });
      }
    } catch {
      /* no pid file: removed already */
    }
    await new Promise<void>((resolve) => (this.control ? this.control.close(() => resolve()) : resolve()));
    this.onStopped();
  }
  // #endregion dns-lifetime

  /**
   * Listen on port 53 of a gateway, UDP and TCP (as Docker's resolver: a
   * client that gets a truncated answer asks again over TCP). Nothing to do
   * when already listening there.
   */
  async bind(gateway: string): Promise<void> {
    if (!net.isIPv4(gateway)) throw new Error(`not an IPv4 address: ${JSON.stringify(gateway)}`);
    this.lastBind = Date.now();
    if (this.sockets.has(gateway)) return;
    const udp = dgram.createSocket({ type: 'udp4' });
    await new Promise<void>((resolve, reject) => {
      udp.once('error', reject);
      udp.bind({ address: gateway, port: this.port, exclusive: true }, () => {
        udp.off('error', reject);
        resolve();
      });
    });
    udp.on('error', () => {
      /* a send to a client that went away: nothing to do */
    });
    udp.on('message', (msg, rinfo) => {
      this.answer(msg, rinfo.address, gateway, 'udp')
        .then((b) => b && udp.send(b, rinfo.port, rinfo.address))
        .catch(() => {
          /* never let one query end the server */
        });
    });
    const tcp = net.createServer((conn) => this.serveTcp(conn, gateway));
    try {
      await new Promise<void>((resolve, reject) => {
        tcp.once('error', reject);
        tcp.listen({ host: gateway, port: this.port, exclusive: true }, () => {
          tcp.off('error', reject);
          resolve();
        });
      });
    } catch (e) {
      udp.close();
      throw e;
    }
    tcp.on('error', () => {});
    this.sockets.set(gateway, { udp, tcp });
  }

  /** DNS over TCP: each message is preceded by its length in two bytes (RFC 1035 4.2.2). */
  private serveTcp(conn: net.Socket, gateway: string): void {
    let buf = Buffer.alloc(0);
    conn.on('error', () => {});
    conn.setTimeout(10_000, () => conn.destroy()); // an idle client does not hold a socket forever
    conn.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        const msg = buf.subarray(2, 2 + buf.readUInt16BE(0));
        buf = buf.subarray(2 + msg.length);
        this.answer(Buffer.from(msg), conn.remoteAddress ?? '', gateway, 'tcp')
          .then((b) => {
            if (!b || conn.destroyed) return;
            const len = Buffer.alloc(2);
            len.writeUInt16BE(b.length);
            conn.write(Buffer.concat([len, b]));
          })
          .catch(() => {});
      }
    });
  }

  unbind(gateway: string): void {
    const s = this.sockets.get(gateway);
    if (!s) return;
    this.sockets.delete(gateway);
    try {
      s.udp.close();
    } catch {
      /* closed already */
    }
    s.tcp.close();
  }

  private records(): { endpoints: DnsEndpoint[]; gateways: Map<string, string> } {
    if (!this.cache || Date.now() - this.cache.at > 200) {
      this.cache = { at: Date.now(), endpoints: runningEndpoints(this.stateRoot), gateways: networkGateways(this.stateRoot) };
    }
    return this.cache;
  }

  // #region dns-handle
  /** One query: read it, answer it from the store or upstream; null: drop it. */
  private async answer(msg: Buffer, sourceIp: string, gateway: string, proto: 'udp' | 'tcp'): Promise<Buffer | null> {
    // A response, or less than a header: not a question to us. Dropped, so
    // that two servers cannot be made to answer each other forever.
    if (msg.length < 12 || (msg[2] & 0x80) !== 0) return null;
    const parsed = parseMessage(msg);
    if ('error' in parsed) return headerOnlyReply(msg, RCODE.FORMERR);
    const query = parsed.message;
    if (query.header.opcode !== 0) return headerOnlyReply(msg, RCODE.NOTIMP);
    // A query asks one question (RFC 9619; miekg/dns rejects others with FORMERR).
    if (query.questions.length !== 1) return headerOnlyReply(msg, RCODE.FORMERR);

    const { endpoints, gateways } = this.records();
    const network = gateways.get(gateway) ?? endpoints.find((e) => e.gateway === gateway)?.network;
    const local = network ? answerLocally(query, endpoints, networksFor(endpoints, network, sourceIp.replace(/^::ffff:/, ''))) : null;
    // Over UDP an answer must fit what the client takes (512, or its EDNS size); over TCP, 64 KiB.
    if (local) return buildMessage(local, proto === 'tcp' ? MAX_SIZE : clientUdpSize(query));

    if (this.forwarding >= MAX_FORWARDING) return buildMessage(replyTo(query, RCODE.REFUSED));
    this.forwarding++;
    const upstream = await forward(msg, readUpstreams(this.stateRoot), this.timeoutMs, proto).finally(() => this.forwarding--);
    // No upstream, or none answered: SERVFAIL, as Docker's resolver.
    return upstream ?? buildMessage(replyTo(query, RCODE.SERVFAIL));
  }
  // #endregion dns-handle

  /** The control socket: "bind IP" / "unbind IP" / "ping", one per line; answers "ok" or "error MESSAGE". */
  private serveControl(conn: net.Socket): void {
    let buf = '';
    conn.on('error', () => {});
    conn.on('data', (d) => {
      buf += d.toString();
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        void this.command(line).then((answer) => conn.write(answer + '\n'));
      }
    });
  }

  private async command(line: string): Promise<string> {
    const [verb, arg] = line.split(/\s+/);
    try {
      if (this.stopping) return 'error the DNS server is stopping';
      if (verb === 'bind') {
        await this.bind(arg);
        return 'ok';
      }
      if (verb === 'unbind') {
        this.unbind(arg);
        return 'ok';
      }
      if (verb === 'ping') return `ok ${process.pid} ${this.bound().join(' ')}`.trim();
      return `error unknown command ${JSON.stringify(verb)}`;
    } catch (e) {
      return `error ${bindError(arg, this.port, e)}`;
    }
  }
}

/** What went wrong listening on gateway:port, in words that say what to do. */
export function bindError(gateway: string, port: number, e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'EADDRNOTAVAIL') return `cannot listen on ${gateway}:${port}: no interface has that address (is the network's bridge up?)`;
  if (code === 'EADDRINUSE') return `cannot listen on ${gateway}:${port}: another program already uses that port there`;
  if (code === 'EACCES') return `cannot listen on ${gateway}:${port}: port ${port} needs root (or CAP_NET_BIND_SERVICE)`;
  return `cannot listen on ${gateway}:${port}: ${(e as Error).message ?? String(e)}`;
}
