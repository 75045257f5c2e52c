// What the chapter 6 tests share. Not a test file (no .test.ts).
//
// Network safety first: these tests make bridges, turn on forwarding and
// write NAT rules, so they run only inside a network namespace of their own
// (test/run.ts starts the chapter under `unshare --net`, holding only lo:
// the tests' "host"). A file run any other way refuses to start rather than
// touch the machine's own network.
//
// On top of chapter 5's cleanup (no process, mount, cgroup or directory of
// a container left), every test here checks the network: no veth, no
// per-container netfilter rule, no lease, no DNS server left once its
// containers are gone (netState, compared before and after).
import { before, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { chapter5, processesMentioning } from '../05-containers/helpers.js';
import { dockling, until } from '../../helpers/dockling.js';

export { inPrivateNetns } from '../../helpers/netns.js';
import { inPrivateNetns, NOT_PRIVATE } from '../../helpers/netns.js';

const sh = (cmd: string, args: string[]) => {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
};

/** The host's links, by name (ip -o link). */
export const links = () => sh('ip', ['-o', 'link', 'show']).split('\n').map((l) => /^\d+: ([^:@]+)/.exec(l)?.[1]).filter((n): n is string => Boolean(n));

/** The nat and filter rulesets, as iptables -S prints them, sorted (counters are not in -S). */
export function ruleset(): string[] {
  return ['nat', 'filter', 'raw'].flatMap((t) => sh('iptables', ['-w', '-t', t, '-S']).split('\n').filter(Boolean).map((r) => `${t} ${r}`)).sort();
}

/** Every lease in the state root's IPAM files: "network address container". */
export function leases(root: string): string[] {
  const dir = path.join(root, 'network/ipam');
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir).filter((f) => f.endsWith('.json')).flatMap((f) => {
    const m = JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')) as Record<string, string>;
    return Object.entries(m).map(([a, c]) => `${f} ${a} ${c}`);
  });
}

/** What a test must leave as it found: veths, the ruleset, the leases. */
export interface NetState { veths: string[]; rules: string[]; leases: string[] }
export const netState = (root: string): NetState => ({ veths: links().filter((l) => l.startsWith('veth')).sort(), rules: ruleset(), leases: leases(root) });

/** GET http://HOST:PORT/PATH from the test's "host" namespace: the body, or the error's text. */
export function httpGet(host: string, port: number, p = '/', timeoutMs = 3000): Promise<{ status: number; body: string } | { error: string }> {
  return new Promise((resolve) => {
    const req = http.get({ host, port, path: p, timeout: timeoutMs }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', (e) => resolve({ error: e.message }));
  });
}

/** Poll httpGet until it answers (the server in the container needs a moment to listen). */
export async function httpUntil(host: string, port: number, p = '/', timeoutMs = 8000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await httpGet(host, port, p, 1000);
    if ('status' in r) return r;
    if (Date.now() > deadline) throw new Error(`http://${host}:${port}${p} did not answer in ${timeoutMs} ms: ${r.error}`);
    await new Promise((res) => setTimeout(res, 100));
  }
}

/** A busybox web server's command: a page at / that says `text`. */
export const httpd = (text: string) => ['sh', '-c', `mkdir -p /www && echo ${text} > /www/index.html && exec httpd -f -p 80 -h /www`];

/** The embedded DNS server processes of a state root (its pid file's, if alive). */
export function dnsServers(root: string): number[] {
  return processesMentioning(root).filter((p) => {
    try {
      return /dns/.test(fs.readFileSync(`/proc/${p}/cmdline`, 'utf8'));
    } catch {
      return false;
    }
  });
}

export function chapter6(label: string) {
  const c5 = chapter5(label);
  before(() => {
    assert.ok(inPrivateNetns(), NOT_PRIVATE);
    const help = dockling(c5.root(), ['run', '--help']);
    assert.match(help.stdout, /--publish\b/, 'this runtime has no `run -p` (chapter 6): every test of the file fails');
  });
  /**
   * Remove every container (chapter 5's cleanup, which checks processes,
   * mounts, cgroups, directories), then: the network as it was before the
   * test (veths, rules, leases) and no DNS server left. `networks` are
   * the test's own, removed before the comparison.
   */
  const cleanupNet = async (beforeState: NetState, networks: string[] = []) => {
    await c5.cleanup();
    // The test's own networks: removed once their containers are gone.
    for (const n of networks) dockling(c5.root(), ['network', 'rm', n]);
    await until(() => dnsServers(c5.root()).length === 0, 3000).catch(() => {});
    const after = netState(c5.root());
    assert.deepEqual(after.veths, beforeState.veths, 'veths left behind');
    assert.deepEqual(after.rules, beforeState.rules, 'netfilter rules left behind (or taken away)');
    assert.deepEqual(after.leases, beforeState.leases, 'IP leases left behind');
    assert.deepEqual(dnsServers(c5.root()), [], 'an embedded DNS server is still running with no container to serve');
  };
  /**
   * Make the default bridge and dockling's chains exist (they stay, as
   * docker0 does) so that netState compares only what a test adds. Once
   * per file: the bridge lives as long as the suite's namespace.
   */
  let warm = false;
  const warmUp = () => {
    if (warm) return;
    const r = dockling(c5.root(), ['run', '--rm', 'busybox', 'true']);
    assert.equal(r.code, 0, r.stderr);
    warm = true;
  };
  beforeEach(() => warmUp());
  return { ...c5, cleanupNet, warmUp };
}
