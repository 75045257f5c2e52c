// -p, --expose and -P as Docker 28 reads them (go-connections v0.5.0's
// nat.ParsePortSpecs and the docker CLI's --expose loop), with Docker's
// messages; host port allocation as libnetwork's portallocator picks; the
// PortMap a container records. Examples first, then properties. The real
// bind probe binds only loopback ports of this machine and closes them.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import dgram from 'node:dgram';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { RunError } from '../../../runtime/core/pipeline.js';
import {
  allocateHostPorts, allocatedKeys, allocationKey, canonicalIp, exposedPorts, hostPortInUse, parseExpose, parsePublish, pickHostPort,
  publishAll, readEphemeralRange, toPortBindings, toPortMap, DEFAULT_EPHEMERAL_RANGE, type Proto, type PublishRequest,
} from '../../../runtime/network/ports.js';
import { formatPorts } from '../../../runtime/core/port-map.js';
import { runError } from '../../helpers/run-error.ts';

async function runErrorAsync(f: () => Promise<unknown>): Promise<RunError> {
  try {
    await f();
  } catch (e) {
    if (e instanceof RunError) return e;
    throw e;
  }
  assert.fail('no RunError');
}

const R = (containerPort: number, proto: Proto, hostIp: string, hostPortStart: number, hostPortEnd = hostPortStart): PublishRequest => ({ containerPort, proto, hostIp, hostPortStart, hostPortEnd });

describe('parsePublish: every form of -p', () => {
  const cases: [string, PublishRequest[]][] = [
    ['8080:80', [R(80, 'tcp', '', 8080)]],
    ['127.0.0.1:8080:80', [R(80, 'tcp', '127.0.0.1', 8080)]],
    ['127.0.0.1::80', [R(80, 'tcp', '127.0.0.1', 0)]],
    ['80', [R(80, 'tcp', '', 0)]],
    ['0:80', [R(80, 'tcp', '', 0)]], // host port 0: any free port
    ['53:53/udp', [R(53, 'udp', '', 53)]],
    ['9999/sctp', [R(9999, 'sctp', '', 0)]],
    ['80/TCP', [R(80, 'tcp', '', 0)]], // the protocol in any case
    ['80/', [R(80, 'tcp', '', 0)]],
    ['8000-8002:80-82', [R(80, 'tcp', '', 8000), R(81, 'tcp', '', 8001), R(82, 'tcp', '', 8002)]],
    ['8000-8010:80', [R(80, 'tcp', '', 8000, 8010)]], // a range to pick one port from
    ['80-82', [R(80, 'tcp', '', 0), R(81, 'tcp', '', 0), R(82, 'tcp', '', 0)]],
    ['[::1]:8080:80', [R(80, 'tcp', '::1', 8080)]],
    ['[::]::80/udp', [R(80, 'udp', '::', 0)]],
    ['::1:8080:80', [R(80, 'tcp', '::1', 8080)]], // Docker takes an unbracketed IPv6 address too
    ['published=8080,target=80,protocol=udp', [R(80, 'udp', '', 8080)]], // the long form
    ['target=80', [R(80, 'tcp', '', 0)]],
  ];
  for (const [spec, want] of cases) {
    test(`-p ${spec}`, () => assert.deepEqual(parsePublish([spec]), want));
  }
  test('several -p, in order; one container port may be published twice', () => {
    assert.deepEqual(parsePublish(['8080:80', '127.0.0.1:8081:80']), [R(80, 'tcp', '', 8080), R(80, 'tcp', '127.0.0.1', 8081)]);
  });
});

describe('parsePublish: Docker\'s words for a bad -p, exit 125', () => {
  const cases: [string, string][] = [
    ['x', 'invalid containerPort: x'],
    ['8080:x', 'invalid containerPort: x'],
    ['82-80', 'invalid containerPort: 82-80'],
    ['65536', 'invalid containerPort: 65536'],
    ['-80', 'invalid containerPort: -80'],
    ['x:80', 'invalid hostPort: x'],
    ['70000:80', 'invalid hostPort: 70000'],
    ['8010-8000:80', 'invalid hostPort: 8010-8000'],
    ['1.2.3:80:80', 'invalid IP address: 1.2.3'],
    ['localhost:80:80', 'invalid IP address: localhost'],
    ['01.2.3.4:80:80', 'invalid IP address: 01.2.3.4'],
    ['fe80::1%eth0:80:80', 'invalid IP address: fe80::1%eth0'],
    ['[::1]:80', "invalid IP address [:: address [::: missing ']' in address"],
    ['[::1]x:8080:80', "invalid IP address [::1]x: address [::1]x:: missing port in address"],
    ['[::1]::8080:80', "invalid IP address [::1]:: address [::1]::: too many colons in address"],
    ['80/foo', 'invalid proto: foo'],
    ['80/FOO', 'invalid proto: FOO'],
    ['8000-8001:80-82', 'invalid ranges specified for container and host Ports: 80-82 and 8000-8001'],
    ['8080:80-82', 'invalid ranges specified for container and host Ports: 80-82 and 8080'],
    ['8080:', 'no port specified: 8080:<empty>'],
    ['', 'no port specified: <empty>'],
    ['/udp', 'no port specified: /udp<empty>'],
    ['target=80,bad', "invalid publish opts format (should be name=value but got 'bad')"],
    ['=80', "invalid publish opts format (should be name=value but got '=80')"],
    ['0', 'Error response from daemon: invalid port specification: "0/tcp"'],
  ];
  for (const [spec, message] of cases) {
    test(`-p ${JSON.stringify(spec)}: ${message}`, () => {
      const e = runError(() => parsePublish([spec]));
      assert.equal(e.code, 125);
      assert.equal(e.message, message);
    });
  }
  test('a value wrong twice gets Docker\'s first complaint (the address, then the port, then the protocol)', () => {
    assert.equal(runError(() => parsePublish(['bad:x:y/zz'])).message, 'invalid IP address: bad');
    assert.equal(runError(() => parsePublish(['x:y/zz'])).message, 'invalid containerPort: y');
    assert.equal(runError(() => parsePublish(['x:80/zz'])).message, 'invalid hostPort: x');
  });
});

describe('parseExpose and exposedPorts', () => {
  test('--expose 80, --expose 7000-7002/udp', () => {
    assert.deepEqual(parseExpose(['80']), ['80/tcp']);
    assert.deepEqual(parseExpose(['7000-7002/udp', '80/tcp', '80']), ['7000/udp', '7001/udp', '7002/udp', '80/tcp']);
  });
  test('Docker\'s words, exit 125', () => {
    const cases: [string, string][] = [
      ['80:80', 'invalid port format for --expose: 80:80'],
      ['x', 'invalid range format for --expose: x, error: strconv.ParseUint: parsing "x": invalid syntax'],
      ['90-80', 'invalid range format for --expose: 90-80, error: invalid range specified for port: 90-80'],
      ['', 'invalid range format for --expose: , error: empty string specified for ports'],
      ['99999', 'invalid range format for --expose: 99999, error: strconv.ParseUint: parsing "99999": value out of range'],
      ['80/foo', 'invalid proto: foo'],
    ];
    for (const [spec, message] of cases) {
      const e = runError(() => parseExpose([spec]));
      assert.equal(e.code, 125);
      assert.equal(e.message, message);
    }
  });
  test('the image\'s, --expose\'s and -p\'s ports, sorted, each once', () => {
    const image = { '80/tcp': {}, '443': {}, 'junk/tcp': {} };
    assert.deepEqual(exposedPorts(image, ['53/udp', '80/tcp'], parsePublish(['8080:8080', '53:53/tcp'])), ['53/tcp', '53/udp', '80/tcp', '443/tcp', '8080/tcp']);
    assert.deepEqual(exposedPorts(undefined, [], []), []);
  });
  test('-P: every exposed port without a -p gets an ephemeral port; a -p port keeps its own', () => {
    const requests = parsePublish(['8080:80']);
    const all = publishAll(['443/tcp', '80/tcp', '53/udp'], requests);
    assert.deepEqual(all, [R(80, 'tcp', '', 8080), R(53, 'udp', '', 0), R(443, 'tcp', '', 0)]);
  });
});

describe('the ephemeral range', () => {
  test('read from the kernel\'s ip_local_port_range; Docker\'s 49153-65535 when it cannot be read', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ports-'));
    try {
      fs.writeFileSync(path.join(dir, 'r'), '32768\t60999\n');
      assert.deepEqual(readEphemeralRange(path.join(dir, 'r')), [32768, 60999]);
      fs.writeFileSync(path.join(dir, 'r'), 'garbage\n');
      assert.deepEqual(readEphemeralRange(path.join(dir, 'r')), DEFAULT_EPHEMERAL_RANGE);
      assert.deepEqual(readEphemeralRange(path.join(dir, 'missing')), [49153, 65535]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
    const [lo, hi] = readEphemeralRange();
    assert.ok(lo >= 1 && lo <= hi && hi <= 65535);
  });
});

describe('pickHostPort: Docker\'s allocator', () => {
  const free = () => true;
  const range: [number, number] = [100, 110];
  test('an ephemeral port: the range\'s first free one, skipping what is allocated (and overlapping)', () => {
    assert.equal(pickHostPort(R(80, 'tcp', '', 0), new Set(), range, free), 100);
    const held = new Set([allocationKey('0.0.0.0', 'tcp', 100), allocationKey('127.0.0.1', 'tcp', 101), allocationKey('0.0.0.0', 'udp', 102)]);
    assert.equal(pickHostPort(R(80, 'tcp', '', 0), held, range, free), 102); // 101 on 127.0.0.1 overlaps 0.0.0.0
    assert.equal(pickHostPort(R(80, 'tcp', '10.0.0.1', 0), held, range, free), 101); // 127.0.0.1's does not
    assert.equal(pickHostPort(R(80, 'tcp', '::', 0), held, range, free), 100); // IPv6 is its own
  });
  test('round robin: after the last pick, wrapping at the end', () => {
    assert.equal(pickHostPort(R(80, 'tcp', '', 0), new Set(), range, free, { after: 105 }), 106);
    assert.equal(pickHostPort(R(80, 'tcp', '', 0), new Set(), range, free, { after: 110 }), 100);
  });
  test('a port the host holds is skipped, up to Docker\'s 10 attempts', () => {
    const busy = new Set([100, 101]);
    assert.equal(pickHostPort(R(80, 'tcp', '', 0), new Set(), range, (_ip, _p, port) => !busy.has(port)), 102);
    const e = runError(() => pickHostPort(R(80, 'tcp', '', 8000, 8020), new Set(), range, () => false, { containerIp: '172.17.0.2' }));
    assert.equal(e.message, 'failed to bind host port 8009 for 0.0.0.0:8000-8020:172.17.0.2:80/tcp: address already in use');
  });
  test('an exact port: Docker\'s two errors', () => {
    const held = new Set([allocationKey('', 'tcp', 8080)]);
    assert.equal(runError(() => pickHostPort(R(80, 'tcp', '', 8080), held, range, free)).message, 'Bind for 0.0.0.0:8080 failed: port is already allocated');
    assert.equal(runError(() => pickHostPort(R(80, 'tcp', '127.0.0.1', 8080), held, range, free)).message, 'Bind for 127.0.0.1:8080 failed: port is already allocated');
    assert.equal(pickHostPort(R(80, 'udp', '', 8080), held, range, free), 8080);
    const e = runError(() => pickHostPort(R(80, 'tcp', '', 8081), held, range, () => false, { containerIp: '172.17.0.2' }));
    assert.equal(e.code, 125);
    assert.equal(e.message, 'failed to bind host port for 0.0.0.0:8081:172.17.0.2:80/tcp: address already in use');
    assert.equal(runError(() => pickHostPort(R(80, 'udp', '::1', 53), new Set(), range, () => false, { containerIp: '172.17.0.2' })).message, 'failed to bind host port for [::1]:53:172.17.0.2:80/udp: address already in use');
  });
  test('a full range: "all ports are allocated"; a range from 0: Docker\'s "invalid port range"', () => {
    const held = new Set(Array.from({ length: 11 }, (_, i) => allocationKey('', 'tcp', 100 + i)));
    assert.equal(runError(() => pickHostPort(R(80, 'tcp', '', 0), held, range, free)).message, 'all ports are allocated');
    assert.equal(runError(() => pickHostPort(R(80, 'tcp', '', 0, 10), new Set(), range, free)).message, 'invalid port range: 0-10');
  });
});

describe('allocateHostPorts, toPortMap, toPortBindings', () => {
  test('each request gets its own port; exact ports are bound first; the PortMap and PORTS as Docker shows them', async () => {
    const requests = publishAll(['80/tcp', '443/tcp', '8080/tcp'], parsePublish(['100:8080', '127.0.0.1::53/udp']));
    const published = await allocateHostPorts(requests, new Set(), [100, 200], { inUse: async () => false });
    assert.deepEqual(
      published.map((p) => `${p.hostIp}:${p.hostPort}->${p.containerPort}/${p.proto}`),
      // 8080 first (exact), then the ranges by container port: 53/udp may take 100 (another protocol)
      ['0.0.0.0:100->8080/tcp', '127.0.0.1:100->53/udp', '0.0.0.0:101->80/tcp', '0.0.0.0:102->443/tcp'],
    );
    const map = toPortMap(published, ['53/udp', '80/tcp', '443/tcp', '8080/tcp', '9000/tcp']);
    assert.deepEqual(map, {
      '443/tcp': [{ HostIp: '0.0.0.0', HostPort: '102' }],
      '53/udp': [{ HostIp: '127.0.0.1', HostPort: '100' }],
      '80/tcp': [{ HostIp: '0.0.0.0', HostPort: '101' }],
      '8080/tcp': [{ HostIp: '0.0.0.0', HostPort: '100' }],
      '9000/tcp': null,
    });
    assert.deepEqual(Object.keys(map), ['443/tcp', '53/udp', '80/tcp', '8080/tcp', '9000/tcp']); // Go's JSON key order
    assert.equal(formatPorts(map), '9000/tcp, 127.0.0.1:100->53/udp, 0.0.0.0:101->80/tcp, 0.0.0.0:102->443/tcp, 0.0.0.0:100->8080/tcp');
    assert.deepEqual(new Set(allocatedKeys(map)), new Set(['0.0.0.0/tcp/102', '127.0.0.1/udp/100', '0.0.0.0/tcp/101', '0.0.0.0/tcp/100']));
  });
  test('exact ports before ranges: -p 8000-8010:81 -p 8000:80 gives 8000 to 80, whatever the order written', async () => {
    const published = await allocateHostPorts(parsePublish(['8000-8010:81', '8000:80']), new Set(), [100, 200], { inUse: async () => false });
    assert.deepEqual(published.map((p) => [p.containerPort, p.hostPort]), [[81, 8001], [80, 8000]]);
  });
  test('the ephemeral search goes on after the last pick, and skips ports the host holds', async () => {
    const busy = new Set([101]);
    const published = await allocateHostPorts(parsePublish(['80', '81', '82']), new Set(), [100, 200], { after: 99, inUse: async (_ip, _p, n) => busy.has(n) });
    assert.deepEqual(published.map((p) => p.hostPort), [100, 102, 103]);
  });
  test('a port another container holds, or the host holds, fails the whole allocation', async () => {
    const requests = parsePublish(['8080:80']);
    const e1 = await runErrorAsync(() => allocateHostPorts(requests, new Set(['0.0.0.0/tcp/8080']), [100, 200], { inUse: async () => false }));
    assert.equal(e1.message, 'Bind for 0.0.0.0:8080 failed: port is already allocated');
    const e2 = await runErrorAsync(() => allocateHostPorts(requests, new Set(), [100, 200], { inUse: async () => true, containerIp: '172.17.0.2' }));
    assert.equal(e2.message, 'failed to bind host port for 0.0.0.0:8080:172.17.0.2:80/tcp: address already in use');
  });
  test('HostConfig.PortBindings keeps what was asked', () => {
    assert.deepEqual(toPortBindings(parsePublish(['8080:80', '127.0.0.1::80', '8000-8010:90/udp'])), {
      '80/tcp': [{ HostIp: '', HostPort: '8080' }, { HostIp: '127.0.0.1', HostPort: '' }],
      '90/udp': [{ HostIp: '', HostPort: '8000-8010' }],
    });
  });
  test('canonical addresses', () => {
    assert.equal(canonicalIp(''), '0.0.0.0');
    assert.equal(canonicalIp('0:0::1'), '::1');
    assert.equal(canonicalIp('::FFFF:1.2.3.4'), '1.2.3.4');
    assert.equal(canonicalIp('2001:DB8:0:0:0:0:0:1'), '2001:db8::1');
  });
});

describe('hostPortInUse: a real bind on loopback', () => {
  test('tcp: a listening socket makes the port (and the wildcard over it) in use; closed, it is free', async () => {
    const server = net.createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as net.AddressInfo).port;
    try {
      assert.equal(await hostPortInUse('127.0.0.1', 'tcp', port), true);
      assert.equal(await hostPortInUse('0.0.0.0', 'tcp', port), true);
      assert.equal(await hostPortInUse('', 'tcp', port), true);
    } finally {
      await new Promise((r) => server.close(r));
    }
    assert.equal(await hostPortInUse('127.0.0.1', 'tcp', port), false);
    // and the probe let go of it: a server can take it again
    const again = net.createServer();
    await new Promise<void>((r) => again.listen(port, '127.0.0.1', r));
    await new Promise((r) => again.close(r));
  });
  test('udp: a bound socket makes the port in use', async () => {
    const sock = dgram.createSocket('udp4');
    await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
    const port = sock.address().port;
    try {
      assert.equal(await hostPortInUse('127.0.0.1', 'udp', port), true);
      assert.equal(await hostPortInUse('0.0.0.0', 'udp', port), true);
    } finally {
      await new Promise<void>((r) => sock.close(() => r()));
    }
    assert.equal(await hostPortInUse('127.0.0.1', 'udp', port), false);
  });
  test('an address that is not the host\'s: the kernel\'s words', async () => {
    const e = await runErrorAsync(() => hostPortInUse('192.0.2.1', 'tcp', 8080));
    assert.equal(e.message, 'listen tcp4 192.0.2.1:8080: bind: cannot assign requested address');
  });
});

describe('properties', () => {
  const port = fc.integer({ min: 1, max: 65535 });
  const proto = fc.constantFrom<Proto>('tcp', 'udp', 'sctp');
  const ip = fc.constantFrom('', '127.0.0.1', '10.1.2.3', '::1', '::', '2001:db8::5');
  // A random valid request set as one -p value, and that value written out.
  const spec = fc
    .record({ ip, proto, start: port, len: fc.integer({ min: 0, max: 5 }), host: fc.constantFrom('none', 'same', 'range', 'zero'), hostStart: port, pick: fc.integer({ min: 0, max: 50 }) })
    .map((s) => {
      const start = Math.min(s.start, 65535 - s.len);
      const end = start + s.len;
      const hostStart = Math.min(s.hostStart, 65535 - Math.max(s.len, s.pick));
      const ctr = s.len ? `${start}-${end}` : `${start}`;
      let host = '';
      let want: [number, number][] = [];
      for (let i = 0; i <= s.len; i++) want.push([0, 0]);
      if (s.host === 'same') {
        host = s.len ? `${hostStart}-${hostStart + s.len}` : `${hostStart}`;
        want = want.map((_, i) => [hostStart + i, hostStart + i]);
      } else if (s.host === 'range' && s.len === 0) {
        host = `${hostStart}-${hostStart + s.pick}`;
        want = [[hostStart, hostStart + s.pick]];
      } else if (s.host === 'zero') {
        host = '0';
        if (s.len) host = ''; // "0" with a container range is a length mismatch; write none
      }
      const addr = s.ip.includes(':') ? `[${s.ip}]` : s.ip;
      const text = `${addr ? `${addr}:` : ''}${host || addr ? `${host}:` : ''}${ctr}/${s.proto}`;
      return { text, s: { ...s, start, end }, want };
    });

  test('random valid specs parse to what they say, in range, never throwing', () => {
    fc.assert(
      fc.property(spec, ({ text, s, want }) => {
        const got = parsePublish([text]);
        assert.equal(got.length, s.end - s.start + 1);
        got.forEach((r, i) => {
          assert.equal(r.containerPort, s.start + i);
          assert.equal(r.proto, s.proto);
          assert.equal(r.hostIp, s.ip);
          assert.deepEqual([r.hostPortStart, r.hostPortEnd], want[i]);
          for (const n of [r.containerPort, r.hostPortStart, r.hostPortEnd]) assert.ok(Number.isInteger(n) && n >= 0 && n <= 65535);
        });
      }),
    );
  });

  test('parse(format(x)) = x: HostConfig.PortBindings written back as -p values parse to the same requests', () => {
    fc.assert(
      fc.property(fc.array(spec, { maxLength: 4 }), (specs) => {
        const requests = parsePublish(specs.map((x) => x.text));
        const bindings = toPortBindings(requests);
        const again = Object.entries(bindings).flatMap(([key, list]) =>
          list!.map((b) => `${b.HostIp.includes(':') ? `[${b.HostIp}]` : b.HostIp}:${b.HostPort}:${key}`),
        );
        assert.deepEqual(toPortBindings(parsePublish(again)), bindings);
      }),
    );
  });

  test('junk never throws anything but a RunError with code 125', () => {
    const junk = fc.oneof(fc.string(), fc.stringMatching(/^[\][:/\-0-9a-fA-FtcpuUdsx.=,%]{0,16}$/));
    fc.assert(
      fc.property(junk, (text) => {
        for (const f of [() => parsePublish([text]), () => parseExpose([text])]) {
          try {
            const out = f();
            assert.ok(Array.isArray(out));
          } catch (e) {
            assert.ok(e instanceof RunError, `${JSON.stringify(text)}: ${String(e)}`);
            assert.equal(e.code, 125);
          }
        }
      }),
      { numRuns: 2000 },
    );
  });

  test('allocation never hands out an allocated port, one outside its range, or one the host holds', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 60000 }),
        fc.integer({ min: 0, max: 40 }),
        fc.array(fc.tuple(fc.constantFrom('0.0.0.0', '127.0.0.1', '::'), proto, fc.integer({ min: 0, max: 45 }))),
        fc.array(fc.integer({ min: 0, max: 45 })),
        fc.constantFrom('', '127.0.0.1', '::1'),
        proto,
        fc.option(fc.integer({ min: 0, max: 45 })),
        (lo, width, held, busyOffsets, hostIp, p, after) => {
          const range: [number, number] = [lo, lo + width];
          const allocated = new Set(held.map(([a, pr, off]) => allocationKey(a, pr, lo + off)));
          const busy = new Set(busyOffsets.map((o) => lo + o));
          const req = R(80, p, hostIp, 0);
          try {
            const got = pickHostPort(req, allocated, range, (_ip, _p, n) => !busy.has(n), { after: after === null ? undefined : lo + after });
            assert.ok(got >= range[0] && got <= range[1], `${got} outside ${range}`);
            assert.ok(!busy.has(got));
            const fam = hostIp.includes(':') ? ['::', '::1'] : ['0.0.0.0', '127.0.0.1'];
            for (const a of fam) assert.ok(!allocated.has(`${a}/${p}/${got}`), `${a}/${p}/${got} was allocated`);
          } catch (e) {
            assert.ok(e instanceof RunError);
            // it only gives up when nothing in the range is both unallocated and free, or after 10 busy ports
            assert.match(e.message, /^(all ports are allocated|failed to bind host port \d+ for .*: address already in use)$/);
          }
        },
      ),
    );
  });
});

describe('the port command', async () => {
  const { portCommand } = await import('../../../runtime/network/port-command.js');
  const id = 'a'.repeat(64);
  const other = 'b'.repeat(64);

  /** A state root holding two containers: static_web with ports, old without NetworkSettings. */
  function store(): string {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'ports-cmd-'));
    const write = (cid: string, name: string, extra: object) => {
      fs.mkdirSync(path.join(root, 'containers', cid), { recursive: true });
      const config = { ID: cid, Name: `/${name}`, State: { Status: 'running', Running: false, Pid: 0 }, Config: {}, MonitorPid: 0, Chapter: 6, ...extra };
      fs.writeFileSync(path.join(root, 'containers', cid, 'config.v2.json'), JSON.stringify(config));
    };
    write(id, 'static_web', { NetworkSettings: { Ports: { '80/tcp': [{ HostIp: '0.0.0.0', HostPort: '49153' }], '443/tcp': null } } });
    write(other, 'old', {});
    return root;
  }

  /** Run `port ARGS…`: its exit code and what it wrote. */
  async function port(root: string, args: string[]): Promise<{ code: number; out: string; err: string }> {
    const out: string[] = [];
    const err: string[] = [];
    const [o, e] = [process.stdout.write, process.stderr.write];
    process.stdout.write = ((s: string) => (out.push(String(s)), true)) as typeof process.stdout.write;
    process.stderr.write = ((s: string) => (err.push(String(s)), true)) as typeof process.stderr.write;
    try {
      const code = await portCommand.run({ chapter: 6, stateRoot: root, flags: new Map(), args, layers: [] });
      return { code, out: out.join(''), err: err.join('') };
    } catch (x) {
      if (!(x instanceof RunError)) throw x;
      return { code: x.code, out: out.join(''), err: x.message };
    } finally {
      process.stdout.write = o;
      process.stderr.write = e;
    }
  }

  test('every mapping; one port; a port not published; a container without ports; none at all', async () => {
    const root = store();
    try {
      assert.deepEqual(await port(root, ['static_web']), { code: 0, out: '80/tcp -> 0.0.0.0:49153\n', err: '' });
      assert.deepEqual(await port(root, ['static_web', '80']), { code: 0, out: '0.0.0.0:49153\n', err: '' });
      assert.deepEqual(await port(root, ['aaaa', '80/tcp']), { code: 0, out: '0.0.0.0:49153\n', err: '' }); // by ID prefix
      assert.deepEqual(await port(root, ['static_web', '443/tcp']), { code: 1, out: '', err: "Error: No public port '443/tcp' published for static_web\n" });
      assert.deepEqual(await port(root, ['old']), { code: 0, out: '', err: '' });
      assert.deepEqual(await port(root, ['nosuch']), { code: 1, out: '', err: 'Error response from daemon: No such container: nosuch' });
      const tooMany = await port(root, ['a', 'b', 'c']);
      assert.equal(tooMany.code, 1);
      assert.match(tooMany.err, /^"dockling port" requires at least 1 and at most 2 arguments\.\nSee 'dockling port --help'\./);
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});
