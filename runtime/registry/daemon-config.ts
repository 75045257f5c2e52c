// The registry settings of dockling's daemon.json.
//
// dockerd reads /etc/docker/daemon.json; dockling reads its own,
// /etc/dockling/daemon.json (or the file $DOCKLING_DAEMON_CONFIG names), with
// the same keys:
//
//     { "registry-mirrors": ["http://10.0.0.2:5000"],
//       "insecure-registries": ["lab.local:5000", "10.0.0.0/8"] }
//
// registry-mirrors: where to pull Docker Hub's images from first (a
// classroom's pull-through cache). Only Docker Hub's: a mirror stands in for
// docker.io, never for another registry (Docker's rule).
//
// insecure-registries: registries that may be spoken to without verified
// TLS, or in plain HTTP. Loopback (127.0.0.0/8, ::1, localhost) is insecure
// by default, as in Docker: a registry on your own machine needs no
// certificate. Every other registry must present one this machine trusts;
// CA certificates for one registry go in /etc/dockling/certs.d/HOST:PORT/*.crt
// (Docker's /etc/docker/certs.d).
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { RunError } from '../core/pipeline.js';

export const DEFAULT_DAEMON_CONFIG = '/etc/dockling/daemon.json';

export interface RegistrySettings {
  /** the file read (for messages) */
  file: string;
  mirrors: URL[];
  insecure: string[];
  /** where the per-registry CA certificates are: <dir of daemon.json>/certs.d */
  certsDir: string;
}

export function daemonConfigFile(): string {
  return process.env.DOCKLING_DAEMON_CONFIG || DEFAULT_DAEMON_CONFIG;
}

// #region read-config
/** The registry settings, checked: a typo in daemon.json is said with the file's name. */
export function registrySettings(): RegistrySettings {
  const file = daemonConfigFile();
  const settings: RegistrySettings = { file, mirrors: [], insecure: [], certsDir: path.join(path.dirname(file), 'certs.d') };
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return settings; // no file: the defaults
    throw new RunError(1, `cannot read ${file}: ${(e as Error).message}`, { cause: e });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new RunError(1, `${file} is not valid JSON (${(e as Error).message}): fix it or remove it`, { cause: e });
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new RunError(1, `${file} must hold one JSON object, like {"registry-mirrors": []}`);
  const o = json as Record<string, unknown>;
  const strings = (key: string): string[] => {
    const v = o[key];
    if (v === undefined) return [];
    if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw new RunError(1, `${file}: "${key}" must be a list of strings`);
    return v as string[];
  };
  settings.mirrors = strings('registry-mirrors').map((m) => mirrorURL(m, file));
  settings.insecure = strings('insecure-registries');
  return settings;
}

/** A mirror must be an http(s) URL with no path (dockerd's ValidateMirror). */
function mirrorURL(s: string, file: string): URL {
  let u: URL;
  try {
    u = new URL(s);
  } catch {
    throw new RunError(1, `${file}: invalid mirror: ${JSON.stringify(s)} is not a URL: write it like "http://10.0.0.2:5000"`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new RunError(1, `${file}: invalid mirror: unsupported scheme ${JSON.stringify(u.protocol.slice(0, -1))} in ${JSON.stringify(s)}: use http or https`);
  if (u.pathname !== '/' && u.pathname !== '' || u.search || u.username) throw new RunError(1, `${file}: invalid mirror: path, query and credentials are not allowed in ${JSON.stringify(s)}`);
  return u;
}
// #endregion read-config

// #region insecure
/**
 * May `host` ("127.0.0.1:5000", "lab.local:5000") be spoken to in plain
 * HTTP or with unverified TLS? Loopback always; otherwise only when
 * insecure-registries names it, or a CIDR that holds its address.
 */
export function isInsecure(host: string, settings: RegistrySettings): boolean {
  const name = hostName(host);
  if (name === 'localhost' || isLoopback(name)) return true;
  for (const entry of settings.insecure) {
    if (entry === host || entry === name) return true;
    const cidr = /^(.+)\/(\d+)$/.exec(entry);
    if (cidr && net.isIP(name) && inCIDR(name, cidr[1], Number(cidr[2]))) return true;
  }
  return false;
}

/** "[::1]:5000" → "::1", "lab:5000" → "lab". */
export function hostName(host: string): string {
  const v6 = /^\[([^\]]+)\]/.exec(host);
  if (v6) return v6[1];
  return host.replace(/:\d+$/, '');
}

const isLoopback = (ip: string) => (net.isIPv4(ip) && ip.startsWith('127.')) || ip === '::1';

function inCIDR(ip: string, base: string, bits: number): boolean {
  const list = new net.BlockList();
  try {
    list.addSubnet(base, bits, net.isIPv6(base) ? 'ipv6' : 'ipv4');
  } catch {
    return false; // not a CIDR this entry could mean
  }
  return list.check(ip, net.isIPv6(ip) ? 'ipv6' : 'ipv4');
}
// #endregion insecure

/** The CA certificates trusted for one registry: certs.d/HOST:PORT/*.crt. */
export function registryCAs(host: string, settings: RegistrySettings): Buffer[] {
  const dir = path.join(settings.certsDir, host);
  try {
    return fs.readdirSync(dir).filter((f) => f.endsWith('.crt')).map((f) => fs.readFileSync(path.join(dir, f)));
  } catch {
    return []; // no directory for this registry: the system's CAs only
  }
}
