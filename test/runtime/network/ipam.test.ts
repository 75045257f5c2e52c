// IPAM: strict IPv4 and CIDR parsing, and leases that are never handed out
// twice, never reserved, handed out in Docker's serial order, and safe
// under concurrent dockling processes.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import {
  allocate, CidrError, contains, intToIp, ipToInt, IpamError, overlaps, parseCidr, parseSubnet, readLeases, release, releaseAll,
} from '../../../runtime/network/ipam.js';
import type { NetworkRecord } from '../../../runtime/network/model.js';
import { trace } from '../../../runtime/trace/trace.js';
import { useTempDir } from '../../helpers/temp.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const dir = useTempDir('ipam-test-');
let n = 0;
const freshRoot = () => {
  const d = path.join(dir(), `root${n++}`);
  fs.mkdirSync(path.join(d, 'containers'), { recursive: true });
  return d;
};
const hex = (i: number) => i.toString(16).padStart(64, 'a');
/** A container directory, so its leases are not stale. */
function container(root: string, i: number): string {
  fs.mkdirSync(path.join(root, 'containers', hex(i)), { recursive: true });
  return hex(i);
}

function net(subnet: string, gateway: string, opts: { name?: string; ipRange?: string; defaultBridge?: boolean } = {}): NetworkRecord {
  return {
    Name: opts.name ?? 'labnet', Id: 'f'.repeat(64), Created: '', Scope: 'local', Driver: 'bridge', EnableIPv6: false,
    IPAM: { Driver: 'default', Options: {}, Config: [{ Subnet: subnet, Gateway: gateway, ...(opts.ipRange ? { IPRange: opts.ipRange } : {}) }] },
    Internal: false, Attachable: false, Ingress: false, ConfigFrom: { Network: '' }, ConfigOnly: false,
    Options: opts.defaultBridge ? { 'com.docker.network.bridge.default_bridge': 'true' } : {}, Labels: {},
  };
}

describe('IPv4 arithmetic', () => {
  test('addresses and numbers convert both ways', () => {
    assert.equal(ipToInt('172.17.0.2'), 0xac110002);
    assert.equal(ipToInt('255.255.255.255'), 2 ** 32 - 1);
    assert.equal(intToIp(0xac110002), '172.17.0.2');
    fc.assert(fc.property(fc.integer({ min: 0, max: 2 ** 32 - 1 }), (x) => ipToInt(intToIp(x)) === x));
  });
  test('malformed addresses are refused with what is wrong', () => {
    for (const bad of ['172.17.0', '172.17.0.256', '172.017.0.1', '1.2.3.4.5', 'a.b.c.d', '', '1..2.3', ' 1.2.3.4']) {
      assert.throws(() => ipToInt(bad), CidrError, bad);
    }
    assert.throws(() => ipToInt('10.0.0.300'), /"300" is not a number from 0 to 255/);
  });
  test('CIDRs parse strictly; a subnet must have no host bits', () => {
    assert.deepEqual(parseSubnet('172.17.0.0/16'), { base: 0xac110000, prefix: 16 });
    assert.equal(parseCidr('172.17.0.1/16').base, 0xac110000);
    assert.throws(() => parseSubnet('172.17.0.1/16'), /host bits are not zero; did you mean 172\.17\.0\.0\/16\?/);
    assert.throws(() => parseCidr('172.17.0.0'), /no prefix length/);
    assert.throws(() => parseCidr('172.17.0.0/33'), /from 0 to 32/);
    assert.throws(() => parseCidr('172.17.0.0/016'), /from 0 to 32/);
    assert.deepEqual(parseSubnet('0.0.0.0/0'), { base: 0, prefix: 0 });
  });
  test('contains and overlaps', () => {
    const s = parseSubnet('172.17.0.0/16');
    assert.ok(contains(s, ipToInt('172.17.255.255')));
    assert.ok(!contains(s, ipToInt('172.18.0.0')));
    assert.ok(overlaps(s, parseSubnet('172.17.5.0/24')));
    assert.ok(overlaps(parseSubnet('172.16.0.0/12'), s));
    assert.ok(!overlaps(s, parseSubnet('172.18.0.0/16')));
    assert.ok(contains(parseSubnet('0.0.0.0/0'), ipToInt('8.8.8.8')));
  });
});

describe('allocate and release', () => {
  test('hands out .2, .3, … in order, never the network, gateway or broadcast', () => {
    const root = freshRoot();
    const nw = net('10.9.0.0/29', '10.9.0.1'); // .0 network, .1 gateway, .7 broadcast: .2-.6 free
    const got = [1, 2, 3, 4, 5].map((i) => allocate(root, nw, container(root, i)));
    assert.deepEqual(got, ['10.9.0.2', '10.9.0.3', '10.9.0.4', '10.9.0.5', '10.9.0.6']);
    assert.throws(() => allocate(root, nw, container(root, 6)), (e: unknown) => {
      assert.ok(e instanceof IpamError);
      assert.equal(e.code, 125);
      assert.equal(e.message, `Error response from daemon: no available IPv4 addresses on this network's address pools: labnet (${'f'.repeat(64)})`);
      return true;
    });
  });
  test('the lowest free address first: a released one is reused at once, as Docker does for containers', () => {
    const root = freshRoot();
    const nw = net('10.9.0.0/29', '10.9.0.1');
    const a = allocate(root, nw, container(root, 1));
    allocate(root, nw, container(root, 2));
    allocate(root, nw, container(root, 3));
    release(root, nw.Id, hex(1));
    assert.equal(allocate(root, nw, container(root, 4)), a, 'the released .2 before the never-used .5');
    assert.equal(allocate(root, nw, container(root, 5)), '10.9.0.5');
  });
  test('a container asking again gets its own address back', () => {
    const root = freshRoot();
    const nw = net('10.9.0.0/24', '10.9.0.1');
    const id = container(root, 1);
    assert.equal(allocate(root, nw, id), allocate(root, nw, id));
    assert.equal(Object.keys(readLeases(root, nw.Id)).length, 1);
  });
  test('within --ip-range, and the gateway can be anywhere', () => {
    const root = freshRoot();
    const nw = net('10.9.0.0/24', '10.9.0.254', { ipRange: '10.9.0.128/30' });
    const got = [1, 2, 3, 4].map((i) => allocate(root, nw, container(root, i)));
    assert.deepEqual(got, ['10.9.0.128', '10.9.0.129', '10.9.0.130', '10.9.0.131']);
    assert.throws(() => allocate(root, nw, container(root, 5)), /no available IPv4 addresses/);
  });
  test('--ip: the address wanted, or Docker\'s refusals', () => {
    const root = freshRoot();
    const nw = net('10.9.0.0/24', '10.9.0.1', { ipRange: '10.9.0.128/25' });
    assert.equal(allocate(root, nw, container(root, 1), '10.9.0.7'), '10.9.0.7', 'outside --ip-range but inside the subnet');
    assert.throws(() => allocate(root, nw, container(root, 2), '10.9.0.7'), /^Error: Error response from daemon: Address already in use$/m);
    assert.throws(() => allocate(root, nw, container(root, 2), '10.9.0.1'), /Address already in use \(it is the gateway/);
    assert.throws(() => allocate(root, nw, container(root, 2), '10.9.0.255'), /Address already in use/);
    assert.throws(() => allocate(root, nw, container(root, 2), '10.10.0.7'), /Invalid address 10\.10\.0\.7: It does not belong to any of this network's subnets/);
    assert.throws(() => allocate(root, nw, container(root, 2), '10.9.0.x'), /invalid IPv4 address: 10\.9\.0\.x/);
    const bridge = net('172.17.0.0/16', '172.17.0.1', { name: 'bridge', defaultBridge: true });
    assert.throws(() => allocate(root, bridge, container(root, 2), '172.17.0.9'), /user specified IP address is supported on user defined networks only/);
  });
  test('a lease whose container is gone is dropped when allocating', () => {
    const root = freshRoot();
    const nw = net('10.9.0.0/30', '10.9.0.1'); // only .2 to hand out
    allocate(root, nw, container(root, 1));
    fs.rmSync(path.join(root, 'containers', hex(1)), { recursive: true });
    assert.equal(allocate(root, nw, container(root, 2)), '10.9.0.2');
    assert.deepEqual(readLeases(root, nw.Id), { '10.9.0.2': hex(2) });
  });
  test('releaseAll frees the container on every network; each lease is a trace event', () => {
    const root = freshRoot();
    const a = { ...net('10.9.0.0/24', '10.9.0.1', { name: 'a' }), Id: '1'.repeat(64) };
    const b = { ...net('10.8.0.0/24', '10.8.0.1', { name: 'b' }), Id: '2'.repeat(64) };
    const events: unknown[] = [];
    const detach = trace.attach((r) => events.push(r));
    try {
      const id = container(root, 1);
      allocate(root, a, id);
      allocate(root, b, id);
      allocate(root, b, container(root, 2));
      releaseAll(root, id);
    } finally {
      detach();
    }
    assert.deepEqual(readLeases(root, a.Id), {});
    assert.deepEqual(readLeases(root, b.Id), { '10.8.0.3': hex(2) });
    const leases = events.map((e) => e as { op: string; network: string; address: string; action: string }).filter((e) => e.op === 'lease');
    assert.deepEqual(leases.map((e) => `${e.action} ${e.network} ${e.address}`), [
      'take a 10.9.0.2', 'take b 10.8.0.2', 'take b 10.8.0.3', `free ${a.Id} 10.9.0.2`, `free ${b.Id} 10.8.0.2`,
    ]);
  });
});

describe('against a model', () => {
  test('random allocate/release sequences by several "processes" match a lowest-free-first model', () => {
    // /28: 16 addresses, 13 to hand out (network, gateway .1, broadcast kept back).
    const nw = net('10.7.0.0/28', '10.7.0.1');
    const first = ipToInt('10.7.0.0');
    const op = fc.record({ kind: fc.constantFrom('take' as const, 'free' as const), who: fc.integer({ min: 0, max: 19 }) });
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
        const root = freshRoot();
        const held = new Map<number, string>(); // who -> address (the model)
        let exhausted = false;
        for (const o of ops) {
          const id = container(root, o.who);
          if (o.kind === 'free') {
            release(root, nw.Id, id);
            held.delete(o.who);
            continue;
          }
          const used = new Set(held.values());
          const range = [...Array(13).keys()].map((k) => intToIp(first + 2 + k));
          const expected = held.get(o.who) ?? range.find((a) => !used.has(a));
          if (expected === undefined) {
            assert.throws(() => allocate(root, nw, id), /no available IPv4 addresses/);
            exhausted = true;
            continue;
          }
          const got = allocate(root, nw, id);
          assert.equal(got, expected);
          assert.ok(![0, 1, 15].includes(ipToInt(got) - first), `reserved ${got}`);
          // After the pool was full, what is taken next is one that was released.
          if (exhausted && !held.has(o.who)) assert.ok(range.includes(got));
          held.set(o.who, got);
          // never one address twice, in the model or on disk
          const onDisk = readLeases(root, nw.Id);
          assert.equal(new Set(Object.values(onDisk)).size, Object.keys(onDisk).length, 'one address per container');
          assert.deepEqual(Object.keys(onDisk).sort(), [...held.values()].sort());
        }
      }),
      { numRuns: 80 },
    );
  });
});

describe('concurrency', () => {
  test('N processes allocating at once on one network get distinct addresses', async () => {
    const root = freshRoot();
    const nw = net('10.6.0.0/24', '10.6.0.1');
    const N = 8;
    const ids = [...Array(N).keys()].map((i) => container(root, i));
    const script = `import { allocate } from ${JSON.stringify(path.join(REPO, 'runtime/network/ipam.ts'))};
const [root, net, id] = process.argv.slice(1);
process.stdout.write(allocate(root, JSON.parse(net), id));`;
    const outs = await Promise.all(
      ids.map(
        (id) =>
          new Promise<string>((resolve, reject) => {
            const p = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script, root, JSON.stringify(nw), id], { cwd: REPO });
            let out = '';
            let err = '';
            p.stdout.on('data', (d) => (out += d));
            p.stderr.on('data', (d) => (err += d));
            p.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`child exited ${code}: ${err}`))));
          }),
      ),
    );
    assert.equal(new Set(outs).size, N, outs.join(' '));
    assert.deepEqual(outs.map(ipToInt).sort((a, b) => a - b), [...Array(N).keys()].map((i) => ipToInt('10.6.0.2') + i));
    assert.equal(Object.keys(readLeases(root, nw.Id)).length, N);
  });
});
