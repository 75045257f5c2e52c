// `network ls/inspect/create/rm/prune`, run as the CLI runs them, against a
// private state root. `network create` makes its bridge and NAT rules, so
// the file runs only in a network namespace of its own (test/run.ts gives
// the unit suite one), and every network a test made is removed after it.
import { afterEach, before, test, describe } from 'node:test';
import { runInProcess } from '../../helpers/in-process.ts';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from '../../../runtime/core/layer.js';
import type { FlagValue } from '../../../runtime/core/flags.js';
import { RunError } from '../../../runtime/core/pipeline.js';
import { networkCommands, naturalLess, removeNetwork } from '../../../runtime/network/network-commands.js';
import { getNetwork, isPredefined, listNetworks } from '../../../runtime/network/store.js';
import { useTempDir } from '../../helpers/temp.js';
import { inPrivateNetns, NOT_PRIVATE } from '../../helpers/netns.js';

const dir = useTempDir('netcmd-test-');
let n = 0;
const roots: string[] = [];
const freshRoot = () => {
  const d = path.join(dir(), `root${n++}`);
  fs.mkdirSync(d);
  roots.push(d);
  return d;
};
before(() => assert.ok(inPrivateNetns(), NOT_PRIVATE));
// The networks a test made, with their bridges and rules (a removal
// refused because a fake container "uses" one: that container goes first).
afterEach(() => {
  for (const root of roots.splice(0)) {
    fs.rmSync(path.join(root, 'containers'), { recursive: true, force: true });
    for (const net of listNetworks(root)) if (!isPredefined(net)) removeNetwork(root, net);
  }
});

const cmd = (name: string) => networkCommands.find((c) => c.name === name) as Command;

/** Run a command in-process: its stdout, stderr and exit code. */
const run = (root: string, name: string, args: string[], flags: Record<string, FlagValue> = {}) => runInProcess(cmd(name), 6, root, args, flags);

/** A container config listing a network, as the layer will write it. */
function containerOn(root: string, id: string, netName: string, netId: string, running = false) {
  const d = path.join(root, 'containers', id);
  fs.mkdirSync(d, { recursive: true });
  fs.writeFileSync(path.join(d, 'config.v2.json'), JSON.stringify({
    ID: id, Name: '/web', State: { Status: running ? 'running' : 'exited', Running: running, Pid: running ? process.pid : 0 },
    NetworkSettings: { Networks: { [netName]: { NetworkID: netId, EndpointID: 'e'.repeat(64), MacAddress: '02:42:0a:28:00:02', IPAddress: '10.40.0.2', IPPrefixLen: 16, GlobalIPv6Address: '', GlobalIPv6PrefixLen: 0 } } },
  }));
}

describe('network commands', () => {
  test('natural order: net2 before net10', () => {
    assert.deepEqual(['net10', 'bridge', 'net2', 'host'].sort(naturalLess), ['bridge', 'host', 'net2', 'net10']);
  });
  test('ls: Docker\'s columns, sorted by name; -q, --no-trunc, --format', async () => {
    const root = freshRoot();
    const created = await run(root, 'network create', ['labnet'], { label: ['tier=db'] });
    assert.equal(created.code, 0);
    assert.match(created.stdout, /^[0-9a-f]{64}\n$/);
    const id = created.stdout.trim();
    const ls = await run(root, 'network ls', []);
    const lines = ls.stdout.trimEnd().split('\n');
    assert.match(lines[0], /^NETWORK ID {5}NAME {6}DRIVER {4}SCOPE$/);
    assert.deepEqual(lines.slice(1).map((l) => l.split(/\s+/)[1]), ['bridge', 'host', 'labnet', 'none']);
    assert.ok(lines.some((l) => l.startsWith(id.slice(0, 12) + '   labnet') && l.endsWith('bridge    local')));
    const quiet = await run(root, 'network ls', [], { quiet: true, 'no-trunc': true });
    assert.ok(quiet.stdout.split('\n').includes(id));
    const fmt = await run(root, 'network ls', [], { format: '{{.Name}} {{.Label "tier"}} {{.Internal}}', filter: ['label=tier'] });
    assert.equal(fmt.stdout, 'labnet db false\n');
  });
  test('ls --filter: driver, type, name, dangling; unknown keys refused', async () => {
    const root = freshRoot();
    await run(root, 'network create', ['used']);
    await run(root, 'network create', ['idle']);
    const used = getNetwork(root, 'used');
    containerOn(root, 'c'.repeat(64), 'used', used.Id);
    const names = async (filter: string[]) => (await run(root, 'network ls', [], { filter, format: '{{.Name}}' })).stdout.trim().split('\n').filter(Boolean);
    assert.deepEqual(await names(['driver=bridge']), ['bridge', 'idle', 'used']);
    assert.deepEqual(await names(['driver=null']), ['none']);
    assert.deepEqual(await names(['type=custom']), ['idle', 'used']);
    assert.deepEqual(await names(['type=builtin']), ['bridge', 'host', 'none']);
    assert.deepEqual(await names(['name=us']), ['used']);
    assert.deepEqual(await names(['dangling=true']), ['idle']);
    assert.deepEqual(await names(['dangling=false']), ['bridge', 'host', 'none', 'used']);
    const bad = await run(root, 'network ls', [], { filter: ['bogus=1'] });
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /invalid filter 'bogus'/);
    assert.match((await run(root, 'network ls', [], { filter: ['type=x'] })).stderr, /invalid filter: 'type'='x'/);
  });
  test('inspect: Docker\'s keys in order, Containers from running containers; missing ones named', async () => {
    const root = freshRoot();
    await run(root, 'network create', ['labnet'], { subnet: ['10.40.0.0/16'] });
    const net = getNetwork(root, 'labnet');
    containerOn(root, 'c'.repeat(64), 'labnet', net.Id, true);
    containerOn(root, 'd'.repeat(64), 'labnet', net.Id, false);
    const r = await run(root, 'network inspect', ['labnet', 'nosuch']);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, 'Error: No such network: nosuch\n');
    const [doc] = JSON.parse(r.stdout);
    assert.deepEqual(Object.keys(doc), ['Name', 'Id', 'Created', 'Scope', 'Driver', 'EnableIPv6', 'IPAM', 'Internal', 'Attachable', 'Ingress', 'ConfigFrom', 'ConfigOnly', 'Containers', 'Options', 'Labels']);
    assert.deepEqual(doc.IPAM, { Driver: 'default', Options: {}, Config: [{ Subnet: '10.40.0.0/16', Gateway: '10.40.0.1' }] });
    assert.deepEqual(doc.Containers, { ['c'.repeat(64)]: { Name: 'web', EndpointID: 'e'.repeat(64), MacAddress: '02:42:0a:28:00:02', IPv4Address: '10.40.0.2/16', IPv6Address: '' } });
    const f = await run(root, 'network inspect', ['bridge'], { format: '{{.Name}} {{index .Options "com.docker.network.bridge.name"}}' });
    assert.equal(f.stdout, 'bridge dockling0\n');
    assert.equal((await run(root, 'network inspect', ['bridge'], { format: '{{.Name' })).code, 64);
  });
  test('create: Docker\'s refusals and exit 1', async () => {
    const root = freshRoot();
    await run(root, 'network create', ['labnet']);
    const dup = await run(root, 'network create', ['labnet']);
    assert.equal(dup.code, 1);
    assert.equal(dup.stderr, 'Error response from daemon: network with name labnet already exists\n');
    assert.match((await run(root, 'network create', ['x'], { driver: 'overlay' })).stderr, /only the "bridge" driver/);
    assert.match((await run(root, 'network create', ['x2'], { subnet: ['10.1.0.0/16', '10.2.0.0/16'] })).stderr, /give --subnet once/);
  });
  test('rm: predefined refused, used refused, unknown named; removes the rest and prints the argument', async () => {
    const root = freshRoot();
    await run(root, 'network create', ['labnet']);
    await run(root, 'network create', ['busy']);
    const busy = getNetwork(root, 'busy');
    containerOn(root, 'c'.repeat(64), 'busy', busy.Id);
    const r = await run(root, 'network rm', ['bridge', 'busy', 'nosuch', 'labnet']);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, 'labnet\n');
    assert.equal(r.stderr, [
      'dockling: Error response from daemon: bridge is a pre-defined network and cannot be removed',
      `dockling: Error response from daemon: error while removing network: network busy id ${busy.Id} has active endpoints`,
      'dockling: Error response from daemon: network nosuch not found',
      '',
    ].join('\n'));
    assert.deepEqual(listNetworks(root).map((x) => x.Name).sort(), ['bridge', 'busy', 'host', 'none']);
    assert.equal((await run(root, 'network rm', ['nosuch'], { force: true })).code, 0);
  });
  test('prune -f: unused user networks go, with Docker\'s report; label filters', async () => {
    const root = freshRoot();
    await run(root, 'network create', ['net10']);
    await run(root, 'network create', ['net2'], { label: ['keep'] });
    await run(root, 'network create', ['busy']);
    containerOn(root, 'c'.repeat(64), 'busy', getNetwork(root, 'busy').Id);
    const kept = await run(root, 'network prune', [], { force: true, filter: ['label!=keep'] });
    assert.equal(kept.stdout, 'Deleted Networks:\nnet10\n\n');
    const all = await run(root, 'network prune', [], { force: true });
    assert.equal(all.stdout, 'Deleted Networks:\nnet2\n\n');
    assert.equal((await run(root, 'network prune', [], { force: true })).stdout, '');
    assert.deepEqual(listNetworks(root).map((x) => x.Name).sort(), ['bridge', 'busy', 'host', 'none']);
  });
});
