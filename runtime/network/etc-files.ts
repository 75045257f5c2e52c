// The three files Docker writes for every container and bind-mounts over
// its /etc: hostname, hosts and resolv.conf. Chapter 1 wrote them for a
// container without a network; here they get what the network gave it.
import fs from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../core/files.js';
import { trace } from '../trace/trace.js';
import { LOCALHOST_LINES } from '../process/defaults.js';

const CH = 6;

/** Docker's embedded DNS server's address, as containers on a user-defined network see it. */
export const EMBEDDED_DNS = '127.0.0.11';

// #region hosts-file
/**
 * /etc/hosts as Docker writes it: localhost and the IPv6 names, then the
 * --add-host entries, then the container's own address and host name (on
 * the default bridge, this and the --add-host lines are all the names a
 * container knows; user-defined networks have the DNS server too).
 */
export function hostsFile(hostname: string, ip: string | null, extra: string[]): string {
  const lines = [...LOCALHOST_LINES]; // chapter 1's
  for (const e of extra) {
    const [name, addr] = splitAddHost(e);
    lines.push(`${addr}\t${name}`);
  }
  if (ip) lines.push(`${ip}\t${hostname}`);
  return lines.join('\n') + '\n';
}
// #endregion hosts-file

/**
 * --add-host NAME:IP (Docker also takes NAME=IP). The IP is the part after
 * the first separator, so an IPv6 address keeps its colons.
 */
export function splitAddHost(v: string): [string, string] {
  const at = v.search(/[:=]/);
  if (at <= 0 || at === v.length - 1) throw new Error(`invalid argument "${v}" for "--add-host" flag: bad format for add-host: "${v}" (expected host:ip)`);
  let addr = v.slice(at + 1);
  if (addr.startsWith('[') && addr.endsWith(']')) addr = addr.slice(1, -1);
  return [v.slice(0, at), addr];
}

export interface DnsSettings {
  servers: string[]; //  --dns
  search: string[]; //   --dns-search
  options: string[]; //  --dns-option
}

// #region resolv-conf
/**
 * /etc/resolv.conf. On a user-defined network the only nameserver is the
 * embedded DNS server (127.0.0.11), which answers the containers' names
 * and forwards the rest to the host's servers (or --dns). Elsewhere it is
 * the host's file, minus nameservers on loopback: the container's own
 * loopback has no server on it (Docker's rule, and its fallback to
 * Google's servers when none is left, which we leave out: no traffic off
 * this machine unless the host's own file says so).
 */
export function resolvConf(host: string, dns: DnsSettings, embedded: boolean): string {
  const lines = host.split('\n');
  const hostServers = lines.map((l) => /^\s*nameserver\s+(\S+)/.exec(l)?.[1]).filter((s): s is string => Boolean(s));
  const hostSearch = lines.map((l) => /^\s*search\s+(.*)$/.exec(l)?.[1]).filter(Boolean).join(' ').split(/\s+/).filter(Boolean);
  const hostOptions = lines.map((l) => /^\s*options\s+(.*)$/.exec(l)?.[1]).filter(Boolean).join(' ').split(/\s+/).filter(Boolean);
  const servers = embedded ? [EMBEDDED_DNS] : dns.servers.length ? dns.servers : hostServers.filter((s) => !isLoopback(s));
  const search = dns.search.length ? dns.search.filter((s) => s !== '.') : hostSearch;
  const options = dns.options.length ? dns.options : hostOptions;
  const out: string[] = [];
  if (embedded) out.push('# dockling: the embedded DNS server; other names go to ' + (upstreamServers(host, dns).join(', ') || 'no server'));
  for (const s of servers) out.push(`nameserver ${s}`);
  if (search.length) out.push(`search ${search.join(' ')}`);
  if (options.length || embedded) out.push(`options ${[...(embedded ? ['ndots:0'] : []), ...options].join(' ')}`);
  return out.join('\n') + '\n';
}
// #endregion resolv-conf

/**
 * Where the embedded server sends names it does not know: --dns, else the
 * host's servers. Loopback ones are kept here: the server runs on the host,
 * where the host's 127.0.0.53 is reachable.
 */
export function upstreamServers(host: string, dns: DnsSettings): string[] {
  if (dns.servers.length) return dns.servers;
  return host.split('\n').map((l) => /^\s*nameserver\s+(\S+)/.exec(l)?.[1]).filter((s): s is string => Boolean(s));
}

const isLoopback = (addr: string) => /^127\./.test(addr) || addr === '::1';

export function hostResolvConf(): string {
  try {
    return fs.readFileSync('/etc/resolv.conf', 'utf8');
  } catch {
    return ''; // a host without one: the container gets none either
  }
}

/** Write one of the container's /etc files (in its state directory; chapter 1 bind-mounts it). */
export function writeEtcFile(dir: string, name: 'hostname' | 'hosts' | 'resolv.conf', text: string): void {
  const file = path.join(dir, name);
  trace.emit(CH, { op: 'write', path: file, value: text.length > 40 ? text.slice(0, 37) + '...' : text });
  writeFileAtomic(file, text);
}
