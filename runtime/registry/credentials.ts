// Saved logins: the docker CLI's config.json, in dockling's own directory.
//
//     ~/.dockling/config.json          (or $DOCKLING_CONFIG/config.json)
//     { "auths": { "localhost:5000": { "auth": "c3R1ZGVudDpzM2NyZXQ=" } } }
//
// "auth" is base64 of "user:password": an encoding, not encryption. Anyone
// who can read the file has the password, which is why it is written with
// mode 0600 and why `login` says so (Docker prints the same warning unless a
// credential helper is set up). Docker Hub's key is its old index URL,
// "https://index.docker.io/v1/", as the docker CLI writes it.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writeFileAtomic } from '../core/files.js';
import { RunError } from '../core/pipeline.js';
import { trace } from '../trace/trace.js';
import { DEFAULT_DOMAIN } from '../image/reference.js';

const CH = 8;

/** Docker Hub's entry in auths. */
export const HUB_AUTH_KEY = 'https://index.docker.io/v1/';

export interface Credentials {
  username: string;
  password: string;
}

export function configDir(): string {
  return process.env.DOCKLING_CONFIG || path.join(os.homedir(), '.dockling');
}

export const configFile = () => path.join(configDir(), 'config.json');

/** The auths key for a registry: its host, or Hub's URL for docker.io. */
export function authKey(domain: string): string {
  return domain === DEFAULT_DOMAIN || domain === 'index.docker.io' || domain === 'registry-1.docker.io' ? HUB_AUTH_KEY : domain;
}

type ConfigJSON = Record<string, unknown> & { auths?: Record<string, { auth?: string }> };

function readConfig(): ConfigJSON {
  let text: string;
  try {
    text = fs.readFileSync(configFile(), 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new RunError(1, `cannot read ${configFile()}: ${(e as Error).message}`, { cause: e });
  }
  try {
    const v = JSON.parse(text) as unknown;
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('not a JSON object');
    return v as ConfigJSON;
  } catch (e) {
    throw new RunError(1, `${configFile()} is not a valid config file (${(e as Error).message}): fix it, or remove it and log in again`, { cause: e });
  }
}

/** The saved credentials for a registry, if any. */
export function credentialsFor(domain: string): Credentials | null {
  const entry = readConfig().auths?.[authKey(domain)];
  if (!entry?.auth) return null;
  const plain = Buffer.from(entry.auth, 'base64').toString('utf8');
  const colon = plain.indexOf(':');
  if (colon < 0) throw new RunError(1, `${configFile()}: the saved login for ${authKey(domain)} is damaged: run \`dockling login ${domain}\` again`);
  return { username: plain.slice(0, colon), password: plain.slice(colon + 1) };
}

// #region save
/** Save (or, with null, remove) a registry's credentials; other keys of the file are kept. */
export function saveCredentials(domain: string, creds: Credentials | null): boolean {
  const config = readConfig();
  const auths = (config.auths ??= {});
  const key = authKey(domain);
  const had = key in auths;
  if (creds) auths[key] = { auth: Buffer.from(`${creds.username}:${creds.password}`).toString('base64') };
  else delete auths[key];
  if (!creds && !had) return false;
  fs.mkdirSync(configDir(), { recursive: true, mode: 0o700 });
  trace.emit(CH, { op: 'write', path: configFile(), value: creds ? `auths["${key}"] (mode 0600)` : `remove auths["${key}"]` });
  // 0600: only the owner may read a file holding a password.
  writeFileAtomic(configFile(), JSON.stringify(config, null, '\t') + '\n', 0o600);
  return had;
}
// #endregion save
