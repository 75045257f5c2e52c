// netfilter.ts, for real, as root, inside a network namespace of the test's
// own (`unshare --net`): its iptables rules live and die there. What is
// checked is the bookkeeping every later check relies on: setting up twice
// adds nothing, and taking away restores the ruleset exactly.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const root = process.getuid?.() === 0 && spawnSync('unshare', ['--net', 'true']).status === 0;
const mod = (f: string) => JSON.stringify(path.join(REPO, 'runtime/network', f));

/** Run a module script in a fresh network namespace; its JSON result. */
function inNetns(script: string): Record<string, string[]> {
  const r = spawnSync('unshare', ['--net', '--', process.execPath, '--import', 'tsx', '--input-type=module', '-e', script], { cwd: REPO, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout);
}

describe('netfilter rules (in a private network namespace)', { skip: !root && 'needs root and unshare --net' }, () => {
  test('base and network rules: twice is once; ports added then removed leave the ruleset as it was; removeNetworkRules leaves only the base', () => {
    const out = inNetns(`
import { spawnSync } from 'node:child_process';
import { ensureBaseRules, ensureNetworkRules, removeNetworkRules, addPortRules, removePortRules } from ${mod('netfilter.ts')};
const rules = () => ['nat', 'filter', 'raw'].flatMap((t) => spawnSync('iptables', ['-w', '-t', t, '-S'], { encoding: 'utf8' }).stdout.split('\\n').filter(Boolean).map((l) => t + ' ' + l));
spawnSync('ip', ['link', 'add', 'br-test', 'type', 'bridge']);
const net = { id: 'x', name: 'labnet', bridge: 'br-test', subnet: '10.88.0.0/16', gateway: '10.88.0.1' };
const empty = rules();
ensureBaseRules();
const base = rules();
ensureNetworkRules(net);
const once = rules();
ensureBaseRules();
ensureNetworkRules(net);
const twice = rules();
const ports = [{ proto: 'tcp', hostIp: '0.0.0.0', hostPort: 8080, containerPort: 80 }, { proto: 'udp', hostIp: '127.0.0.1', hostPort: 5353, containerPort: 53 }];
addPortRules(net, '10.88.0.2', ports);
const withPorts = rules();
removePortRules(net, '10.88.0.2', ports);
removePortRules(net, '10.88.0.2', ports); // gone already: fine
const afterPorts = rules();
removeNetworkRules(net);
const afterNet = rules();
console.log(JSON.stringify({ empty, base, once, twice, withPorts, afterPorts, afterNet }));
`);
    assert.ok(out.base.length > out.empty.length, 'the base chains are made');
    assert.deepEqual(out.twice, out.once, 'setting up twice adds nothing');
    assert.ok(out.once.some((r) => r === 'nat -A POSTROUTING -s 10.88.0.0/16 ! -o br-test -j MASQUERADE'), 'masquerade for the subnet');
    assert.ok(out.once.some((r) => r === 'raw -A PREROUTING -d 127.0.0.0/8 -i br-test -j DROP'), 'the loopback guard');
    assert.ok(out.once.some((r) => r === 'filter -A DOCKLING-ISOLATION-STAGE-2 -o br-test -j DROP'), 'isolation');
    const added = out.withPorts.filter((r) => !out.once.includes(r));
    assert.deepEqual(added.sort(), [
      'filter -A DOCKLING -d 10.88.0.2/32 ! -i br-test -o br-test -p tcp -m tcp --dport 80 -j ACCEPT',
      'filter -A DOCKLING -d 10.88.0.2/32 ! -i br-test -o br-test -p udp -m udp --dport 53 -j ACCEPT',
      'nat -A DOCKLING ! -i br-test -p tcp -m tcp --dport 8080 -j DNAT --to-destination 10.88.0.2:80',
      'nat -A DOCKLING -d 127.0.0.1/32 ! -i br-test -p udp -m udp --dport 5353 -j DNAT --to-destination 10.88.0.2:53',
    ].sort());
    assert.deepEqual(out.afterPorts, out.once, 'removing the ports restores the ruleset');
    assert.deepEqual(out.afterNet, out.base, 'removing the network leaves the base chains only');
  });
});
