// The bridge device, for real, as root, inside a network namespace of the
// test's own (`unshare --net`): it holds only lo, so nothing here can touch
// the machine's network, and the namespace (with every device made in it)
// is gone when its last process exits.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { useTempDir } from '../../helpers/temp.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const dir = useTempDir('bridge-test-');
const root = process.getuid?.() === 0 && spawnSync('unshare', ['--net', 'true']).status === 0;

/** Run a module script in a fresh network namespace; its JSON result. */
function inNetns(script: string, ...args: string[]): unknown {
  const r = spawnSync('unshare', ['--net', '--', process.execPath, '--import', 'tsx', '--input-type=module', '-e', script, ...args], { cwd: REPO, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout);
}
const mod = (f: string) => JSON.stringify(path.join(REPO, 'runtime/network', f));

describe('the bridge device (in a private network namespace)', { skip: !root && 'needs root and unshare --net' }, () => {
  test('setUpBridge makes it once (idempotent), with the gateway and up; the trace has each step; removeBridge removes it', () => {
    const script = `
import { setUpBridge, removeBridge, bridgeExists, uplinkMtu } from ${mod('bridge.ts')};
import { ipQuery } from ${mod('host-commands.ts')};
import { trace } from ${JSON.stringify(path.join(REPO, 'runtime/trace/trace.ts'))};
const steps = [];
trace.attach((r) => steps.push(r.argv.join(' ')));
const net = JSON.parse(process.argv[1]);
const out = { mtu: uplinkMtu(), before: bridgeExists('br-0123456789ab') };
out.name = setUpBridge(net);
out.firstSteps = steps.splice(0);
setUpBridge(net);
out.againSteps = steps.splice(0);
out.addr = ipQuery(['-4', '-o', 'addr', 'show', 'dev', out.name]);
out.link = ipQuery(['-o', 'link', 'show', 'dev', out.name]);
out.route = ipQuery(['-4', 'route', 'show']);
removeBridge(net);
removeBridge(net);
out.after = bridgeExists(out.name);
process.stdout.write(JSON.stringify(out));`;
    const net = {
      Name: 'labnet', Id: '0123456789ab' + 'c'.repeat(52), Driver: 'bridge', Options: {},
      IPAM: { Driver: 'default', Options: {}, Config: [{ Subnet: '10.77.0.0/16', Gateway: '10.77.0.1' }] },
    };
    const out = inNetns(script, JSON.stringify(net)) as Record<string, unknown>;
    assert.equal(out.mtu, 1500, 'no default route in the namespace: Ethernet\'s MTU');
    assert.equal(out.before, false);
    assert.equal(out.name, 'br-0123456789ab');
    // (the MAC is random: 02:42 and four bytes, as Docker's bridges get)
    const steps = (out.firstSteps as string[]).map((l) => l.replace(/address 02:42(:[0-9a-f]{2}){4} /, 'address MAC '));
    assert.deepEqual(steps, ['link add br-0123456789ab address MAC mtu 1500 type bridge', 'addr add 10.77.0.1/16 dev br-0123456789ab', 'link set br-0123456789ab up']);
    assert.deepEqual(out.againSteps, [], 'nothing to do the second time');
    assert.match(out.addr as string, /inet 10\.77\.0\.1\/16 /);
    assert.match(out.link as string, /<[^>]*\bUP\b[^>]*> mtu 1500/);
    assert.match(out.route as string, /^10\.77\.0\.0\/16 dev br-0123456789ab proto kernel scope link src 10\.77\.0\.1/m);
    assert.equal(out.after, false);
  });

  test('the default bridge avoids a routed 172.17/16; network rm removes a user network\'s device', () => {
    const state = path.join(dir(), 'state');
    fs.mkdirSync(state);
    const script = `
import { ip } from ${mod('host-commands.ts')};
import { ensurePredefined, getNetwork } from ${mod('store.ts')};
import { setUpBridge, bridgeExists, bridgeDevice } from ${mod('bridge.ts')};
import { networkCommands } from ${mod('network-commands.ts')};
const stateRoot = process.argv[1];
// The namespace's "host" reaches 172.17.0.0/16 already (a LAN, a VPN).
ip(['link', 'add', 'uplink0', 'type', 'veth', 'peer', 'name', 'uplink1']); // (a veth: the dummy module may not be there)
ip(['addr', 'add', '172.17.5.1/16', 'dev', 'uplink0']);
ip(['link', 'set', 'uplink0', 'up']);
// A route through a gateway is not the host's own subnet: Docker (23+) does not avoid it.
ip(['route', 'add', '172.20.0.0/16', 'via', '172.17.5.2']);
const bridge = ensurePredefined(stateRoot);
const out = { subnet: bridge.IPAM.Config[0].Subnet, device: setUpBridge(bridge) };
const run = (name, args) => networkCommands.find((c) => c.name === name).run({ chapter: 6, stateRoot, flags: new Map(), args, layers: [] });
const w = process.stdout.write.bind(process.stdout);
process.stdout.write = () => true;
await run('network create', ['labnet']);
const lab = getNetwork(stateRoot, 'labnet');
out.labSubnet = lab.IPAM.Config[0].Subnet;
out.labDevice = setUpBridge(lab);
out.made = bridgeExists(out.labDevice);
await run('network create', ['lab2']);
out.labSubnet2 = getNetwork(stateRoot, 'lab2').IPAM.Config[0].Subnet;
out.code = await run('network rm', ['labnet']);
out.gone = !bridgeExists(out.labDevice);
process.stdout.write = w;
process.stdout.write(JSON.stringify(out));`;
    const out = inNetns(script, state) as Record<string, unknown>;
    assert.equal(out.subnet, '172.18.0.0/16', '172.17/16 is the host\'s: the next pool');
    assert.equal(out.device, 'dockling0');
    assert.equal(out.labSubnet, '172.19.0.0/16', 'neither the host\'s nor the default bridge\'s');
    assert.equal(out.labSubnet2, '172.20.0.0/16', 'a route via a gateway does not reserve its range');
    assert.equal(out.made, true);
    assert.equal(out.code, 0);
    assert.equal(out.gone, true);
  });
});
