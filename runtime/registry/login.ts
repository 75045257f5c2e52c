// `login` and `logout`: credentials checked against the registry, then kept.
//
// A login is a request like any other, made with the credentials: GET /v2/
// answered 401, then the same with Basic (htpasswd), or a token asked of
// the realm with them (Bearer). Only when the registry accepts them are
// they saved (credentials.ts), so a typo is said now, not at the next pull.
import readline from 'node:readline';
import type { Command } from '../core/layer.js';
import { RunError } from '../core/pipeline.js';
import { DEFAULT_DOMAIN } from '../image/reference.js';
import { AuthError } from './auth.js';
import { endpointsFor, RegistryClient } from './client.js';
import { authKey, configFile, saveCredentials, type Credentials } from './credentials.js';
import { registrySettings } from './daemon-config.js';
import { discard } from './http.js';

/** "localhost:5000", "http://localhost:5000/", "https://index.docker.io/v1/" → the registry's domain. */
export function serverDomain(server: string | undefined): string {
  if (!server) return DEFAULT_DOMAIN;
  const host = server.replace(/^https?:\/\//, '').replace(/\/.*$/, '');
  return ['index.docker.io', 'registry-1.docker.io', 'docker.io'].includes(host) ? DEFAULT_DOMAIN : host;
}

// #region check-login
/** Ask the registry whether it accepts these credentials. */
export async function checkLogin(domain: string, creds: Credentials): Promise<void> {
  const ep = endpointsFor(domain, registrySettings(), true)[0];
  const client = new RegistryClient(ep, creds);
  await client.ping();
  if (client.auth.scheme === null) return; // the registry asks for nothing: any login is accepted
  const res = await client.request('/v2/', { scopes: [] }).catch((e) => {
    if (e instanceof AuthError) throw new RunError(1, `Error response from daemon: Get "${client.url('/v2/').href}": ${e.message}`, { cause: e });
    throw e;
  });
  discard(res);
  if (res.status === 401) throw new RunError(1, `Error response from daemon: login attempt to ${client.url('/v2/').href} failed with status: 401 Unauthorized`);
  if (res.status !== 200) throw new RunError(1, `Error response from daemon: login attempt to ${client.url('/v2/').href} failed with status: ${res.status}`);
}
// #endregion check-login

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** Ask on the terminal (the password without echo). */
async function prompt(question: string, hidden: boolean): Promise<string> {
  const rl = readline.createInterface({ input: process.stdin, output: process.stderr, terminal: true });
  if (hidden) (rl as unknown as { _writeToOutput: (s: string) => void })._writeToOutput = (s: string) => void (s.includes(question) && process.stderr.write(s));
  try {
    return await new Promise<string>((resolve) => rl.question(question, resolve));
  } finally {
    if (hidden) process.stderr.write('\n');
    rl.close();
  }
}

export const loginCommand: Command = {
  name: 'login',
  summary: 'Log in to a Docker registry',
  usage: 'login [OPTIONS] [SERVER]',
  maxArgs: 1,
  flags: [
    { name: 'password', short: 'p', kind: 'string', usage: 'Password' },
    { name: 'password-stdin', kind: 'bool', usage: 'Take the password from stdin' },
    { name: 'username', short: 'u', kind: 'string', usage: 'Username' },
  ],
  async run(inv) {
    const domain = serverDomain(inv.args[0]);
    let username = inv.flags.get('username') as string | undefined;
    let password = inv.flags.get('password') as string | undefined;
    const fromStdin = Boolean(inv.flags.get('password-stdin'));
    if (password !== undefined) process.stderr.write('WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n');
    if (fromStdin) {
      if (password !== undefined) throw new RunError(1, '--password and --password-stdin are mutually exclusive');
      if (!username) throw new RunError(1, 'Must provide --username with --password-stdin');
      // The docker CLI strips the trailing newline (and carriage return) of what was piped in.
      password = (await readStdin()).replace(/\r?\n$/, '');
    }
    if (!username || password === undefined) {
      if (!process.stdin.isTTY) throw new RunError(1, 'Cannot perform an interactive login from a non TTY device');
      if (!username) username = (await prompt('Username: ', false)).trim();
      if (password === undefined) password = await prompt('Password: ', true);
    }
    if (!username) throw new RunError(1, 'Error: Non-null Username Required');
    if (!password) throw new RunError(1, 'Error: Non-null Password Required');
    const creds = { username, password };
    await checkLogin(domain, creds);
    saveCredentials(domain, creds);
    // Docker's warning, word for word but for the link: dockling has no credential helpers.
    process.stderr.write(`WARNING! Your password will be stored unencrypted in ${configFile()}.\nAnyone who can read that file has the password (it is base64, not encryption).\n\n`);
    process.stdout.write('Login Succeeded\n');
    return 0;
  },
};

export const logoutCommand: Command = {
  name: 'logout',
  summary: 'Log out from a Docker registry',
  usage: 'logout [SERVER]',
  maxArgs: 1,
  flags: [],
  async run(inv) {
    const domain = serverDomain(inv.args[0]);
    const key = authKey(domain);
    // The docker CLI (20.10) says this whether or not a login was saved.
    saveCredentials(domain, null);
    process.stdout.write(`Removing login credentials for ${key}\n`);
    return 0;
  },
};
