// The default address pools, and the network store: predefined networks,
// user networks checked as Docker checks them, lookups by name, ID and prefix.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { DEFAULT_POOLS, gatewayOf, pickSubnet } from '../../../runtime/network/pools.js';
import { createNetwork, ensurePredefined, getNetwork, listNetworks, NoSuchNetworkError, removeNetworkRecord } from '../../../runtime/network/store.js';
import { bridgeDevice } from '../../../runtime/network/bridge.js';
import { networksDir } from '../../../runtime/network/model.js';
import { useTempDir } from '../../helpers/temp.js';

const dir = useTempDir('netstore-test-');
let n = 0;
const freshRoot = () => {
  const d = path.join(dir(), `root${n++}`);
  fs.mkdirSync(d);
  return d;
};

describe('pickSubnet', () => {
  test('Docker\'s pools in Docker\'s order', () => {
    assert.equal(DEFAULT_POOLS.length, 31);
    assert.equal(DEFAULT_POOLS[0], '172.17.0.0/16');
    assert.equal(DEFAULT_POOLS[14], '172.31.0.0/16');
    assert.equal(DEFAULT_POOLS[15], '192.168.0.0/20');
    assert.equal(DEFAULT_POOLS[30], '192.168.240.0/20');
  });
  test('the first pool nothing taken overlaps', () => {
    assert.equal(pickSubnet([]), '172.17.0.0/16');
    assert.equal(pickSubnet(['172.17.0.0/16']), '172.18.0.0/16');
    assert.equal(pickSubnet(['172.17.3.0/24', '172.18.0.1/32']), '172.19.0.0/16', 'a smaller route inside a pool takes it');
    assert.equal(pickSubnet(['172.16.0.0/12']), '192.168.0.0/20', 'a larger route around the pools takes them all');
    assert.equal(pickSubnet(['172.16.0.0/12', '192.168.1.0/24']), '192.168.16.0/20');
    assert.throws(() => pickSubnet(['172.16.0.0/12', '192.168.0.0/16']), /could not find an available, non-overlapping IPv4 address pool among the defaults/);
  });
  test('the gateway is the first address', () => {
    assert.equal(gatewayOf('172.17.0.0/16'), '172.17.0.1');
    assert.equal(gatewayOf('192.168.16.0/20'), '192.168.16.1');
  });
});

describe('the store', () => {
  test('bridge, host and none are made once, with Docker\'s fields', () => {
    const root = freshRoot();
    const bridge = ensurePredefined(root);
    ensurePredefined(root);
    const all = listNetworks(root);
    assert.deepEqual(all.map((x) => x.Name).sort(), ['bridge', 'host', 'none']);
    assert.equal(bridge.Driver, 'bridge');
    assert.match(bridge.Id, /^[0-9a-f]{64}$/);
    assert.match(bridge.IPAM.Config[0].Subnet, /^(172\.\d+\.0\.0\/16|192\.168\.\d+\.0\/20)$/);
    assert.equal(bridge.IPAM.Config[0].Gateway, gatewayOf(bridge.IPAM.Config[0].Subnet));
    assert.equal(bridge.IPAM.Options, null);
    assert.deepEqual(Object.keys(bridge.Options).sort(), [
      'com.docker.network.bridge.default_bridge', 'com.docker.network.bridge.enable_icc', 'com.docker.network.bridge.enable_ip_masquerade',
      'com.docker.network.bridge.host_binding_ipv4', 'com.docker.network.bridge.name', 'com.docker.network.driver.mtu',
    ]);
    assert.equal(bridgeDevice(bridge), 'dockling0');
    assert.equal(getNetwork(root, 'host').Driver, 'host');
    assert.equal(getNetwork(root, 'none').Driver, 'null');
    assert.deepEqual(getNetwork(root, 'none').IPAM.Config, []);
  });
  test('a user network takes the next free pool, device br-<12 hex>', () => {
    const root = freshRoot();
    const bridge = ensurePredefined(root);
    const a = createNetwork(root, { name: 'labnet', labels: { tier: 'db' } });
    assert.notEqual(a.IPAM.Config[0].Subnet, bridge.IPAM.Config[0].Subnet);
    assert.equal(bridgeDevice(a), `br-${a.Id.slice(0, 12)}`);
    assert.deepEqual(a.Labels, { tier: 'db' });
    assert.deepEqual(a.IPAM.Options, {});
    const b = createNetwork(root, { name: 'other', subnet: '10.20.0.0/16', gateway: '10.20.0.254', ipRange: '10.20.1.0/24', internal: true });
    assert.deepEqual(b.IPAM.Config, [{ Subnet: '10.20.0.0/16', IPRange: '10.20.1.0/24', Gateway: '10.20.0.254' }]);
    assert.equal(b.Internal, true);
    const c = createNetwork(root, { name: 'named', options: { 'com.docker.network.bridge.name': 'lab0' } });
    assert.equal(bridgeDevice(c), 'lab0');
  });
  test('Docker\'s refusals, in its words', () => {
    const root = freshRoot();
    createNetwork(root, { name: 'labnet', subnet: '10.30.0.0/16' });
    const refuses = (opts: Parameters<typeof createNetwork>[1], re: RegExp) => assert.throws(() => createNetwork(root, opts), re);
    refuses({ name: 'labnet' }, /^Error: Error response from daemon: network with name labnet already exists$/);
    refuses({ name: 'x2', subnet: '10.30.5.0/24' }, /Pool overlaps with other one on this address space/);
    refuses({ name: 'x2', subnet: '10.0.0.0/8' }, /Pool overlaps with other one on this address space/);
    refuses({ name: 'x2', subnet: '10.31.0.0/16', gateway: '10.32.0.1' }, /no matching subnet for gateway 10\.32\.0\.1/);
    refuses({ name: 'x2', subnet: '10.31.0.0/16', ipRange: '10.32.0.0/24' }, /no matching subnet for range 10\.32\.0\.0\/24/);
    refuses({ name: 'x2', gateway: '10.31.0.1' }, /every ip-range or gateway must have a corresponding subnet/);
    refuses({ name: 'x2', subnet: '10.31.0.1/16' }, /invalid --subnet: .*did you mean 10\.31\.0\.0\/16/);
    refuses({ name: 'x2', driver: 'overlay' }, /supports only the "bridge" driver/);
    refuses({ name: 'bridge' }, /operation is not permitted on predefined bridge network/);
    refuses({ name: '  ' }, /^Error: Error response from daemon: invalid name:   $/);
    refuses({ name: 'x2', options: { 'com.docker.network.bridge.name': 'a-name-far-too-long' } }, /1 to 15 characters/);
    assert.deepEqual(listNetworks(root).map((x) => x.Name).sort(), ['bridge', 'host', 'labnet', 'none'], 'nothing made by a refusal');
  });
  test('lookup by full ID, name, unique prefix; not found; ambiguous', () => {
    const root = freshRoot();
    ensurePredefined(root);
    const a = createNetwork(root, { name: 'labnet' });
    assert.equal(getNetwork(root, a.Id).Name, 'labnet');
    assert.equal(getNetwork(root, 'labnet').Id, a.Id);
    assert.equal(getNetwork(root, a.Id.slice(0, 5)).Id, a.Id);
    assert.throws(() => getNetwork(root, 'nosuch'), (e: unknown) => e instanceof NoSuchNetworkError && e.message === 'network nosuch not found');
    // Two records whose IDs share a prefix.
    const twin = { ...a, Name: 'twin', Id: a.Id.slice(0, 3) + 'f'.repeat(61) === a.Id ? a.Id.slice(0, 3) + 'e'.repeat(61) : a.Id.slice(0, 3) + 'f'.repeat(61) };
    fs.writeFileSync(path.join(networksDir(root), `${twin.Id}.json`), JSON.stringify(twin));
    assert.throws(() => getNetwork(root, a.Id.slice(0, 3)), /network .* is ambiguous \(2 matches found based on ID prefix\)/);
    removeNetworkRecord(root, twin.Id);
    removeNetworkRecord(root, a.Id);
    assert.throws(() => getNetwork(root, 'labnet'), /not found/);
  });
});
