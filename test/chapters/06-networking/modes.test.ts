// Chapter 6: --network none, host and container:NAME; and the names a
// container is given in /etc/hosts and /etc/resolv.conf (--hostname,
// --add-host, --dns, --dns-search).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { chapter6, netState } from './helpers.js';

const root = process.getuid?.() === 0 || process.env.CI ? undefined : 'needs root';

describe('network modes and names', { skip: root }, () => {
  const t = chapter6('ch6-modes');

  test('--network none: only lo; --network host: the host\'s own namespace; container:NAME: that container\'s', async () => {
    t.warmUp();
    const before = netState(t.root());
    try {
      const none = t.ok(['run', '--rm', '--network', 'none', 'busybox', 'ip', '-o', 'link']);
      assert.deepEqual(none.trim().split('\n').map((l) => l.split(':')[1].trim()), ['lo']);
      const hostNs = fs.readlinkSync('/proc/self/ns/net');
      const inHost = t.ok(['run', '--rm', '--network', 'host', 'busybox', 'readlink', '/proc/self/ns/net']).trim();
      assert.equal(inHost, hostNs, 'host mode: the same network namespace as the host');
      const hostLinks = t.ok(['run', '--rm', '--network', 'host', 'busybox', 'ip', '-o', 'link']);
      assert.match(hostLinks, /dockling0/, 'host mode sees the host\'s bridge');
      t.runD(['--name', 'web', 'busybox', 'sleep', '60']);
      const webNs = t.ok(['exec', 'web', 'readlink', '/proc/self/ns/net']).trim();
      assert.notEqual(webNs, hostNs);
      const joined = t.ok(['run', '--rm', '--network', 'container:web', 'busybox', 'sh', '-c', 'readlink /proc/self/ns/net; ip -o -4 addr show eth0']);
      assert.equal(joined.split('\n')[0], webNs, 'container:web shares web\'s namespace');
      assert.match(joined, new RegExp(t.inspect('web', '{{.NetworkSettings.IPAddress}}').replace(/\./g, '\\.')));
      const conflict = t.dk(['run', '--rm', '--network', 'container:web', '-p', '80', 'busybox', 'true']);
      assert.equal(conflict.code, 125);
      assert.match(conflict.stderr, /conflicting options: port publishing and the container type network mode/);
      const missing = t.dk(['run', '--rm', '--network', 'nosuchnet', 'busybox', 'true']);
      assert.equal(missing.code, 125);
      assert.match(missing.stderr, /network nosuchnet not found/);
    } finally {
      await t.cleanupNet(before);
    }
  });

  test('/etc/hosts and /etc/resolv.conf: the container\'s address and name, --add-host, --dns, --dns-search', async () => {
    const before = netState(t.root());
    try {
      const out = t.ok(['run', '--rm', '--hostname', 'box1', '--add-host', 'db.local:10.1.2.3', '--dns', '10.9.9.9', '--dns-search', 'lab.example', 'busybox', 'sh', '-c', 'cat /etc/hosts; echo ---; cat /etc/resolv.conf; echo ---; hostname; ip -o -4 addr show eth0']);
      const [hosts, resolv, rest] = out.split('---\n');
      const addr = /inet (\S+)\//.exec(rest)?.[1];
      assert.ok(addr);
      assert.match(hosts, /^127\.0\.0\.1\tlocalhost$/m);
      assert.match(hosts, /^10\.1\.2\.3\tdb\.local$/m);
      assert.match(hosts, new RegExp(`^${addr.replace(/\./g, '\\.')}\\tbox1$`, 'm'), 'the container\'s own address and name');
      assert.match(resolv, /^nameserver 10\.9\.9\.9$/m);
      assert.match(resolv, /^search lab\.example$/m);
      assert.match(rest, /^box1$/m);
    } finally {
      await t.cleanupNet(before);
    }
  });
});
