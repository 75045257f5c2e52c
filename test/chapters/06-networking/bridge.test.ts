// Chapter 6: the default bridge. Every container gets an interface eth0 in
// its own network namespace, with an address from the bridge's subnet, a
// MAC made from that address, and a default route through the gateway;
// the host holds the other end of its veth pair on the bridge dockling0.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chapter6, links, netState } from './helpers.js';

const root = process.getuid?.() === 0 || process.env.CI ? undefined : 'needs root';

describe('the default bridge', { skip: root }, () => {
  const t = chapter6('ch6-bridge');

  test('a container gets eth0 with an address of the bridge\'s subnet, Docker\'s MAC for it, and a default route via the gateway', async () => {
    t.warmUp();
    const before = netState(t.root());
    try {
      const inspect = JSON.parse(t.ok(['network', 'inspect', 'bridge']))[0];
      const { Subnet, Gateway } = inspect.IPAM.Config[0];
      assert.match(Subnet, /^\d+\.\d+\.0\.0\/16$/);
      const out = t.ok(['run', '--rm', 'busybox', 'sh', '-c', 'ip -o -4 addr show eth0; ip link show eth0; ip route']);
      const addr = /inet (\d+\.\d+\.\d+\.\d+)\/16/.exec(out)?.[1];
      assert.ok(addr, `no IPv4 address on eth0:\n${out}`);
      assert.equal(addr.split('.').slice(0, 2).join('.'), Subnet.split('.').slice(0, 2).join('.'), 'the address is in the bridge\'s subnet');
      assert.notEqual(addr, Gateway);
      const mac = ['02', '42', ...addr.split('.').map((b) => Number(b).toString(16).padStart(2, '0'))].join(':');
      assert.match(out, new RegExp(`link/ether ${mac}`), 'Docker\'s MAC: 02:42 and the address\'s four bytes');
      assert.match(out, new RegExp(`default via ${Gateway.replace(/\./g, '\\.')} dev eth0`));
      // The host side: the bridge holds the gateway address.
      assert.ok(links().includes('dockling0'), 'the bridge dockling0 exists on the host');
    } finally {
      await t.cleanupNet(before);
    }
  });

  test('two containers on the bridge reach each other by IP (ping and TCP)', async () => {
    const before = netState(t.root());
    try {
      t.runD(['--name', 'srv', 'busybox', 'sh', '-c', 'mkdir -p /www && echo from-srv > /www/index.html && exec httpd -f -p 80 -h /www']);
      const ip = t.inspect('srv', '{{.NetworkSettings.IPAddress}}');
      assert.match(ip, /^\d+\.\d+\.\d+\.\d+$/);
      const out = t.ok(['run', '--rm', 'busybox', 'sh', '-c', `ping -c 1 -W 2 ${ip} >/dev/null && echo pinged; for i in 1 2 3 4 5 6 7 8 9 10; do wget -qO- http://${ip}/ && break; sleep 0.2; done`]);
      assert.match(out, /pinged/);
      assert.match(out, /from-srv/);
    } finally {
      await t.cleanupNet(before);
    }
  });

  test('network ls lists bridge, host and none; inspect of a container shows its NetworkSettings in Docker\'s names', async () => {
    const before = netState(t.root());
    try {
      const ls = t.ok(['network', 'ls']);
      assert.match(ls.split('\n')[0], /^NETWORK ID\s+NAME\s+DRIVER\s+SCOPE$/);
      for (const [name, driver] of [['bridge', 'bridge'], ['host', 'host'], ['none', 'null']]) assert.match(ls, new RegExp(`^[0-9a-f]{12}\\s+${name}\\s+${driver}\\s+local$`, 'm'));
      t.runD(['--name', 'ins', 'busybox', 'sleep', '30']);
      const ns = JSON.parse(t.ok(['inspect', '-f', '{{json .NetworkSettings}}', 'ins']));
      const net = ns.Networks.bridge;
      assert.equal(ns.IPAddress, net.IPAddress);
      assert.equal(ns.Gateway, net.Gateway);
      assert.equal(ns.MacAddress, net.MacAddress);
      assert.match(net.NetworkID, /^[0-9a-f]{64}$/);
      assert.match(net.EndpointID, /^[0-9a-f]{64}$/);
      assert.equal(net.IPPrefixLen, 16);
      assert.equal(t.inspect('ins', '{{.HostConfig.NetworkMode}}'), 'default');
      // The network's own view lists the container while it runs.
      const containers = JSON.parse(t.ok(['network', 'inspect', 'bridge']))[0].Containers;
      const id = t.idOf('ins');
      assert.equal(containers[id]?.Name, 'ins');
      assert.equal(containers[id]?.IPv4Address, `${net.IPAddress}/16`);
      // Stopped: it keeps its network's name, but no address.
      t.ok(['stop', '-t', '0', 'ins']);
      assert.equal(t.inspect('ins', '{{.NetworkSettings.Networks.bridge.IPAddress}}'), '');
    } finally {
      await t.cleanupNet(before);
    }
  });
});
