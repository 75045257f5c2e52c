// Chapter 6: networks of your own. `network create` makes a bridge with a
// subnet of its own; containers on it find each other by name through the
// embedded DNS server; `connect` and `disconnect` change that live;
// containers on different networks cannot reach each other.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chapter6, dnsServers, links, netState } from './helpers.js';

const root = process.getuid?.() === 0 || process.env.CI ? undefined : 'needs root';

/** A shell loop: fetch URL until it answers (the server needs a moment), printing the page. */
const fetchLoop = (url: string) => `for i in $(seq 1 25); do timeout 1 wget -qO- ${url} && exit 0; sleep 0.2; done; exit 1`;

describe('user-defined networks', { skip: root }, () => {
  const t = chapter6('ch6-usernets');

  test('containers on a user-defined network reach each other by name and alias; the default bridge has no names', async () => {
    t.warmUp();
    const before = netState(t.root());
    try {
      const id = t.ok(['network', 'create', 'labnet']).trim();
      assert.match(id, /^[0-9a-f]{64}$/);
      const bridge = `br-${id.slice(0, 12)}`;
      assert.ok(links().includes(bridge), `the network's bridge ${bridge} exists`);
      t.runD(['--network', 'labnet', '--name', 'db', '--network-alias', 'database', 'busybox', 'sh', '-c', 'mkdir -p /www && echo db-page > /www/index.html && exec httpd -f -p 80 -h /www']);
      assert.equal(dnsServers(t.root()).length, 1, 'one embedded DNS server, for the state root');
      const byName = t.ok(['run', '--rm', '--network', 'labnet', 'busybox', 'sh', '-c', fetchLoop('http://db/')]);
      assert.match(byName, /db-page/);
      const byAlias = t.ok(['run', '--rm', '--network', 'labnet', 'busybox', 'sh', '-c', fetchLoop('http://database/')]);
      assert.match(byAlias, /db-page/);
      const resolv = t.ok(['run', '--rm', '--network', 'labnet', 'busybox', 'cat', '/etc/resolv.conf']);
      assert.match(resolv, /^nameserver 127\.0\.0\.11$/m);
      const lookup = t.ok(['run', '--rm', '--network', 'labnet', 'busybox', 'nslookup', 'db']);
      assert.match(lookup, new RegExp(t.inspect('db', '{{.NetworkSettings.Networks.labnet.IPAddress}}').replace(/\./g, '\\.')));
      // The default bridge: /etc/hosts only, no DNS server; "db" is unknown there.
      const onBridge = t.dk(['run', '--rm', 'busybox', 'sh', '-c', 'timeout 2 wget -qO- http://db/ || exit 1']);
      assert.notEqual(onBridge.code, 0, 'a container on the default bridge must not resolve db');
      // In use: network rm is refused with Docker's message.
      const rm = t.dk(['network', 'rm', 'labnet']);
      assert.notEqual(rm.code, 0);
      assert.match(rm.stderr, /has active endpoints/);
    } finally {
      await t.cleanupNet(before, ['labnet']);
    }
    assert.ok(!links().some((l) => l.startsWith('br-')), 'network rm removes the bridge');
  });

  test('connect and disconnect change a running container\'s networks live', async () => {
    const before = netState(t.root());
    try {
      t.ok(['network', 'create', 'labnet2']);
      t.runD(['--network', 'labnet2', '--name', 'db2', 'busybox', 'sh', '-c', 'mkdir -p /www && echo db2 > /www/index.html && exec httpd -f -p 80 -h /www']);
      t.runD(['--name', 'web2', 'busybox', 'sleep', '60']);
      // On the default bridge, web2 cannot reach db2's network at all.
      const dbIp = t.inspect('db2', '{{.NetworkSettings.Networks.labnet2.IPAddress}}');
      assert.notEqual(t.dk(['exec', 'web2', 'timeout', '2', 'wget', '-qO-', `http://${dbIp}/`]).code, 0, 'isolated before connect');
      t.ok(['network', 'connect', 'labnet2', 'web2']);
      const ifaces = t.ok(['exec', 'web2', 'ip', '-o', '-4', 'addr']);
      assert.match(ifaces, /eth1\s+inet /, 'connect adds eth1');
      assert.match(t.ok(['exec', 'web2', 'sh', '-c', fetchLoop(`http://${dbIp}/`)]), /db2/);
      assert.ok(t.inspect('web2', '{{.NetworkSettings.Networks.labnet2.IPAddress}}'));
      t.ok(['network', 'disconnect', 'labnet2', 'web2']);
      assert.doesNotMatch(t.ok(['exec', 'web2', 'ip', '-o', '-4', 'addr']), /eth1/, 'disconnect takes eth1 away');
      assert.equal(t.inspect('web2', '{{index .NetworkSettings.Networks "labnet2"}}'), '<no value>');
      const again = t.dk(['network', 'disconnect', 'labnet2', 'web2']);
      assert.notEqual(again.code, 0);
      assert.match(again.stderr, /is not connected to network labnet2/);
    } finally {
      await t.cleanupNet(before, ['labnet2']);
    }
  });

  test('containers on different user-defined networks cannot reach each other', async () => {
    const before = netState(t.root());
    try {
      t.ok(['network', 'create', 'red']);
      t.ok(['network', 'create', 'blue']);
      t.runD(['--network', 'red', '--name', 'r1', 'busybox', 'sh', '-c', 'mkdir -p /www && echo red > /www/index.html && exec httpd -f -p 80 -h /www']);
      const redIp = t.inspect('r1', '{{.NetworkSettings.Networks.red.IPAddress}}');
      assert.match(t.ok(['run', '--rm', '--network', 'red', 'busybox', 'sh', '-c', fetchLoop(`http://${redIp}/`)]), /red/, 'same network: reached');
      // (`|| exit 1` keeps sh as PID 1: a lone command would be exec'd as
      // PID 1, where timeout's SIGTERM is ignored, and hang till TCP gives up)
      const cross = t.dk(['run', '--rm', '--network', 'blue', 'busybox', 'sh', '-c', `timeout 2 wget -qO- http://${redIp}/ || exit 1`]);
      assert.notEqual(cross.code, 0, 'another network: not reached');
      const name = t.dk(['run', '--rm', '--network', 'blue', 'busybox', 'sh', '-c', 'nslookup r1']);
      assert.notEqual(name.code, 0, 'another network: r1 has no name there');
    } finally {
      await t.cleanupNet(before, ['red', 'blue']);
    }
  });

  test('--ip picks the address on a user-defined network; refused on the default bridge, and when taken', async () => {
    const before = netState(t.root());
    try {
      t.ok(['network', 'create', '--subnet', '10.123.0.0/24', 'fixed']);
      const out = t.ok(['run', '--rm', '--network', 'fixed', '--ip', '10.123.0.77', 'busybox', 'ip', '-o', '-4', 'addr', 'show', 'eth0']);
      assert.match(out, /inet 10\.123\.0\.77\/24/);
      const onBridge = t.dk(['run', '--rm', '--ip', '172.17.0.99', 'busybox', 'true']);
      assert.equal(onBridge.code, 125);
      assert.match(onBridge.stderr, /user specified IP address is supported on user defined networks only/);
      t.runD(['--network', 'fixed', '--ip', '10.123.0.9', '--name', 'nine', 'busybox', 'sleep', '30']);
      const taken = t.dk(['run', '--rm', '--network', 'fixed', '--ip', '10.123.0.9', 'busybox', 'true']);
      assert.equal(taken.code, 125);
      assert.match(taken.stderr, /[Aa]ddress already in use/);
    } finally {
      await t.cleanupNet(before, ['fixed']);
    }
  });

  test('system prune removes networks no container uses (Docker\'s "Deleted Networks:"), and keeps one in use', async () => {
    const before = netState(t.root());
    try {
      t.ok(['network', 'create', 'unused']);
      t.ok(['network', 'create', 'inuse']);
      t.runD(['--network', 'inuse', '--name', 'keeper', 'busybox', 'sleep', '30']);
      const out = t.ok(['system', 'prune', '-f']);
      assert.match(out, /^Deleted Networks:\nunused\n/m);
      const names = t.ok(['network', 'ls', '--format', '{{.Name}}']).split('\n');
      assert.ok(!names.includes('unused') && names.includes('inuse'), names.join(' '));
      assert.equal(links().filter((l) => l.startsWith('br-')).length, 1, 'the pruned network\'s bridge is gone, the used one\'s stays');
    } finally {
      await t.cleanupNet(before, ['inuse', 'unused']);
    }
  });
});
