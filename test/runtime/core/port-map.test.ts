// The PORTS column of `ps` and the lines of `port`, against the docker CLI's
// own outputs (docker/cli 28.2: formatter.DisplayablePorts, runPort), then
// properties: the grouping against a plain model of "runs of consecutive
// ports", and the natural sort against a model.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { RunError } from '../../../runtime/core/pipeline.js';
import { displayablePorts, formatPortCommand, formatPorts, naturalLess, portList, type DisplayPort } from '../../../runtime/core/port-map.js';
import { runError } from '../../helpers/run-error.ts';

const P = (PrivatePort: number, Type: string, IP = '', PublicPort = 0): DisplayPort => ({ IP, PrivatePort, PublicPort, Type });


describe('displayablePorts: the docker CLI\'s PORTS column', () => {
  // Each row: the ports, what docker ps prints for them.
  const cases: [DisplayPort[], string][] = [
    [[P(9988, 'tcp')], '9988/tcp'],
    [[P(9988, 'udp')], '9988/udp'],
    [[P(9988, 'tcp', '0.0.0.0')], '0.0.0.0:0->9988/tcp'],
    [[P(9988, 'tcp', '::')], '[::]:0->9988/tcp'],
    [[P(9988, 'tcp', '', 8899)], '9988/tcp'], // no address: shown as exposed only
    [[P(9988, 'tcp', '4.3.2.1', 8899)], '4.3.2.1:8899->9988/tcp'],
    [[P(9988, 'tcp', '::1', 8899)], '[::1]:8899->9988/tcp'],
    [[P(9988, 'tcp', '4.3.2.1', 9988)], '4.3.2.1:9988->9988/tcp'],
    [[P(9988, 'udp'), P(9988, 'udp')], '9988/udp, 9988/udp'],
    [[P(9998, 'udp', '1.2.3.4', 9998), P(9999, 'udp', '1.2.3.4', 9999)], '1.2.3.4:9998-9999->9998-9999/udp'],
    [[P(9998, 'udp', '::1', 9998), P(9999, 'udp', '::1', 9999)], '[::1]:9998-9999->9998-9999/udp'],
    [[P(9998, 'udp', '1.2.3.4', 8887), P(9999, 'udp', '1.2.3.4', 8888)], '1.2.3.4:8887->9998/udp, 1.2.3.4:8888->9999/udp'],
    [[P(9998, 'udp'), P(9999, 'udp')], '9998-9999/udp'],
    [[P(6677, 'tcp', '1.2.3.4', 7766), P(9988, 'udp', '', 8899)], '9988/udp, 1.2.3.4:7766->6677/tcp'],
    [
      [P(9988, 'udp', '1.2.3.4', 8899), P(9988, 'tcp', '1.2.3.4', 8899), P(2233, 'tcp', '4.3.2.1', 3322), P(2233, 'tcp', '::1', 3322)],
      '4.3.2.1:3322->2233/tcp, [::1]:3322->2233/tcp, 1.2.3.4:8899->9988/tcp, 1.2.3.4:8899->9988/udp',
    ],
    [
      [
        P(80, 'tcp'), P(1024, 'tcp'), P(80, 'udp'), P(1024, 'udp'),
        P(1024, 'tcp', '1.1.1.1', 80), P(1024, 'udp', '1.1.1.1', 80), P(80, 'tcp', '1.1.1.1', 1024), P(80, 'udp', '1.1.1.1', 1024),
        P(1024, 'tcp', '2.1.1.1', 80), P(1024, 'udp', '2.1.1.1', 80), P(80, 'tcp', '2.1.1.1', 1024), P(80, 'udp', '2.1.1.1', 1024),
        P(12345, 'sctp'),
      ],
      '80/tcp, 80/udp, 1024/tcp, 1024/udp, 12345/sctp, 1.1.1.1:1024->80/tcp, 1.1.1.1:1024->80/udp, 2.1.1.1:1024->80/tcp, 2.1.1.1:1024->80/udp, 1.1.1.1:80->1024/tcp, 1.1.1.1:80->1024/udp, 2.1.1.1:80->1024/tcp, 2.1.1.1:80->1024/udp',
    ],
    // a run broken by a gap is printed when it ends; the last run of each group comes after,
    // in the order the groups began (udp's 53 sorts first, so udp's group is older than tcp's)
    [[P(80, 'tcp'), P(81, 'tcp'), P(90, 'tcp'), P(53, 'udp')], '80-81/tcp, 53/udp, 90/tcp'],
  ];
  for (const [ports, want] of cases) {
    test(want, () => assert.equal(displayablePorts(ports), want));
  }
  test('no ports: an empty column', () => assert.equal(displayablePorts([]), ''));
});

describe('formatPorts: from the PortMap a container records', () => {
  test('the issue\'s example: -p 80 published on an ephemeral port', () => {
    assert.equal(formatPorts({ '80/tcp': [{ HostIp: '0.0.0.0', HostPort: '49153' }] }), '0.0.0.0:49153->80/tcp');
  });
  test('IPv4 and IPv6 bindings of one port, and an exposed-only port', () => {
    const ports = { '80/tcp': [{ HostIp: '0.0.0.0', HostPort: '32768' }, { HostIp: '::', HostPort: '32768' }], '443/tcp': null };
    assert.equal(formatPorts(ports), '443/tcp, 0.0.0.0:32768->80/tcp, [::]:32768->80/tcp');
  });
  test('-p 8000-8002:80-82 is three entries; -p 80-82:80-82 is one', () => {
    const shifted = { '80/tcp': [{ HostIp: '0.0.0.0', HostPort: '8000' }], '81/tcp': [{ HostIp: '0.0.0.0', HostPort: '8001' }], '82/tcp': [{ HostIp: '0.0.0.0', HostPort: '8002' }] };
    assert.equal(formatPorts(shifted), '0.0.0.0:8000->80/tcp, 0.0.0.0:8001->81/tcp, 0.0.0.0:8002->82/tcp');
    const same = { '80/tcp': [{ HostIp: '0.0.0.0', HostPort: '80' }], '81/tcp': [{ HostIp: '0.0.0.0', HostPort: '81' }], '82/tcp': [{ HostIp: '0.0.0.0', HostPort: '82' }] };
    assert.equal(formatPorts(same), '0.0.0.0:80-82->80-82/tcp');
  });
  test('what the daemon skips: a range key, a host port never picked; and no map at all', () => {
    assert.deepEqual(portList({ '80-82/tcp': null, '90/tcp': [{ HostIp: '0.0.0.0', HostPort: '8000-8010' }] }), []);
    assert.equal(formatPorts(null), '');
    assert.equal(formatPorts(undefined), '');
    assert.equal(formatPorts({}), '');
  });
});

describe('formatPortCommand: docker port', () => {
  const ports = {
    '80/tcp': [{ HostIp: '0.0.0.0', HostPort: '49153' }, { HostIp: '::', HostPort: '49153' }],
    '53/udp': [{ HostIp: '127.0.0.1', HostPort: '5353' }],
    '9000/tcp': [{ HostIp: '0.0.0.0', HostPort: '9000' }],
    '443/tcp': null,
  };
  test('every binding, naturally sorted (53 before 80 before 9000)', () => {
    assert.deepEqual(formatPortCommand(ports), ['53/udp -> 127.0.0.1:5353', '80/tcp -> 0.0.0.0:49153', '80/tcp -> [::]:49153', '9000/tcp -> 0.0.0.0:9000']);
  });
  test('one port: its host sides only; no protocol means tcp', () => {
    assert.deepEqual(formatPortCommand(ports, '80'), ['0.0.0.0:49153', '[::]:49153']);
    assert.deepEqual(formatPortCommand(ports, '80/tcp'), ['0.0.0.0:49153', '[::]:49153']);
    assert.deepEqual(formatPortCommand(ports, '53/udp'), ['127.0.0.1:5353']);
  });
  test('a port without a binding: the CLI\'s error, naming the port as typed, exit 1', () => {
    for (const [filter, named] of [['443', '443'], ['80/udp', '80/udp'], ['8080/tcp', '8080/tcp']]) {
      const e = runError(() => formatPortCommand(ports, filter, 'static_web'));
      assert.equal(e.code, 1);
      assert.equal(e.message, `Error: No public port '${named}' published for static_web`);
    }
  });
  test('not a port number: strconv\'s words', () => {
    assert.equal(runError(() => formatPortCommand(ports, 'http', 'web')).message, 'Error: invalid port (http): strconv.ParseUint: parsing "http": invalid syntax');
    assert.equal(runError(() => formatPortCommand(ports, '70000/tcp', 'web')).message, 'Error: invalid port (70000): strconv.ParseUint: parsing "70000": value out of range');
    assert.equal(runError(() => formatPortCommand(ports, '/udp', 'web')).message, 'Error: invalid port (): strconv.ParseUint: parsing "": invalid syntax');
  });
  test('a container without ports prints nothing', () => {
    assert.deepEqual(formatPortCommand(null), []);
    assert.deepEqual(formatPortCommand({ '80/tcp': null }), []);
  });
});

describe('properties', () => {
  const port = fc.integer({ min: 1, max: 200 });
  const proto = fc.constantFrom('tcp', 'udp', 'sctp');
  const ip = fc.constantFrom('', '0.0.0.0', '127.0.0.1', '::', '::1');

  test('exposed-only ports: the output is a model\'s runs of consecutive ports per protocol', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.tuple(port, proto), { selector: ([p, t]) => `${p}/${t}` }), (ports) => {
        const got = displayablePorts(ports.map(([p, t]) => P(p, t)));
        // the model: per protocol (in the order each first shows up after sorting by port), maximal runs
        const sorted = [...ports].sort((a, b) => a[0] - b[0] || (a[1] < b[1] ? -1 : 1));
        const order: string[] = [];
        for (const [, t] of sorted) if (!order.includes(t)) order.push(t);
        const runs = new Map<string, [number, number][]>();
        for (const [p, t] of sorted) {
          const list = runs.get(t) ?? [];
          const last = list[list.length - 1];
          if (last && last[1] + 1 === p) last[1] = p;
          else list.push([p, p]);
          runs.set(t, list);
        }
        const text = ([a, b]: [number, number], t: string) => `${a === b ? a : `${a}-${b}`}/${t}`;
        // Docker prints runs that ended (in port order), then each protocol's last run
        const ended = sorted.flatMap(([p, t]) => runs.get(t)!.slice(0, -1).filter(([, b]) => b === p).map((r) => ({ at: p, s: text(r, t) })));
        const want = [...ended.sort((a, b) => a.at - b.at).map((x) => x.s), ...order.map((t) => text(runs.get(t)!.at(-1)!, t))];
        // every port is covered once; the entries are exactly the model's runs
        assert.deepEqual(got === '' ? [] : got.split(', ').sort(), want.sort());
      }),
    );
  });

  test('every binding shows up once: the column holds every published port, and each of its entries is well-formed', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(port, proto, ip, fc.integer({ min: 0, max: 200 }))), (rows) => {
        const ports = rows.map(([p, t, a, h]) => P(p, t, a, a === '' ? 0 : h));
        const got = displayablePorts(ports);
        const entries = got === '' ? [] : got.split(', ');
        const count = (e: string) => {
          const m = /(\d+)(?:-(\d+))?\/\w+$/.exec(e)!;
          return m[2] ? Number(m[2]) - Number(m[1]) + 1 : 1;
        };
        assert.equal(entries.reduce((n, e) => n + count(e), 0), ports.length);
        for (const e of entries) assert.match(e, /^(?:(?:\[[0-9a-f:]+\]|[0-9.]+):\d+(?:-\d+)?->)?\d+(?:-\d+)?\/(?:tcp|udp|sctp)$/);
      }),
    );
  });

  test('naturalLess is a strict order that compares digit runs as numbers', () => {
    const s = fc.stringMatching(/^[a-c0-9/>:.-]{0,8}$/);
    fc.assert(
      fc.property(s, s, s, (a, b, c) => {
        assert.equal(naturalLess(a, a), false);
        if (naturalLess(a, b)) assert.equal(naturalLess(b, a), false);
        if (naturalLess(a, b) && naturalLess(b, c)) assert.equal(naturalLess(a, c), true);
      }),
    );
    fc.assert(fc.property(fc.nat(99999), fc.nat(99999), (x, y) => assert.equal(naturalLess(`${x}/tcp`, `${y}/tcp`), x < y)));
  });
});
