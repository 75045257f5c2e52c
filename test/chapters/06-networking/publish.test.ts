// Chapter 6: -p. A published port is reached from the host through
// 127.0.0.1, the host's own addresses and the bridge's; an ephemeral one is
// picked from the kernel's ip_local_port_range and shown by ps and port; a
// host port in use is refused with nothing left half made.
import { after, describe, test } from 'node:test';
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import net from 'node:net';
import fs from 'node:fs';
import { chapter6, httpGet, httpUntil, httpd, netState } from './helpers.js';
import { psRows } from '../05-containers/helpers.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));

/** udp-echo.c, compiled static into the test's temp directory (removed with it). */
function udpEcho(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ch6-udp-'));
  const out = path.join(dir, 'udp-echo');
  const r = spawnSync('cc', ['-static', '-O2', '-o', out, path.join(HERE, 'udp-echo.c')], { encoding: 'utf8' });
  assert.equal(r.status, 0, `cc: ${r.stderr}`);
  after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return out;
}

const root = process.getuid?.() === 0 || process.env.CI ? undefined : 'needs root';

describe('publishing ports (-p)', { skip: root }, () => {
  const t = chapter6('ch6-publish');

  test('-p 8080:80: the host reaches the container through 127.0.0.1, the bridge\'s address and the container\'s own', async () => {
    t.warmUp();
    const before = netState(t.root());
    try {
      t.runD(['--name', 'web', '-p', '8080:80', 'busybox', ...httpd('hello-from-web')]);
      const page = await httpUntil('127.0.0.1', 8080);
      assert.equal(page.body.trim(), 'hello-from-web');
      const gw = t.inspect('web', '{{.NetworkSettings.Gateway}}');
      assert.equal((await httpUntil(gw, 8080)).body.trim(), 'hello-from-web', 'through the host\'s address on the bridge');
      const ip = t.inspect('web', '{{.NetworkSettings.IPAddress}}');
      assert.equal((await httpUntil(ip, 80)).body.trim(), 'hello-from-web', 'straight to the container');
      assert.equal(t.ok(['port', 'web']).trim(), '80/tcp -> 0.0.0.0:8080');
      assert.equal(t.ok(['port', 'web', '80']).trim(), '0.0.0.0:8080');
      const row = psRows(t.ok(['ps'])).find((r) => r.names === 'web');
      assert.ok(row);
      assert.match(t.ok(['ps', '--format', '{{.Ports}}']), /^0\.0\.0\.0:8080->80\/tcp$/m);
    } finally {
      await t.cleanupNet(before);
    }
    // Gone with the container: nothing answers any more.
    const after = await httpGet('127.0.0.1', 8080, '/', 500);
    assert.ok('error' in after, 'the published port still answers after rm');
  });

  test('-p 80: an ephemeral host port from ip_local_port_range, shown by ps -l and port', async () => {
    const before = netState(t.root());
    try {
      t.runD(['--name', 'static_web', '-p', '80', 'busybox', ...httpd('static')]);
      const [lo, hi] = fs.readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
      const ports = t.ok(['ps', '-l', '--format', '{{.Ports}}']).trim();
      const m = /^0\.0\.0\.0:(\d+)->80\/tcp$/.exec(ports);
      assert.ok(m, `ps -l PORTS: ${ports}`);
      const hostPort = Number(m[1]);
      assert.ok(hostPort >= lo && hostPort <= hi, `${hostPort} is in ${lo}-${hi}`);
      assert.equal(t.ok(['port', 'static_web']).trim(), `80/tcp -> 0.0.0.0:${hostPort}`);
      assert.equal((await httpUntil('127.0.0.1', hostPort)).body.trim(), 'static');
      const bindings = JSON.parse(t.ok(['inspect', '-f', '{{json .NetworkSettings.Ports}}', 'static_web']));
      assert.deepEqual(bindings, { '80/tcp': [{ HostIp: '0.0.0.0', HostPort: String(hostPort) }] });
    } finally {
      await t.cleanupNet(before);
    }
  });

  test('a UDP port is mapped too (-p 5353:53/udp)', async () => {
    const before = netState(t.root());
    try {
      // busybox has no UDP server: a static echo program, copied in.
      const echo = udpEcho();
      t.ok(['create', '--name', 'udp', '-p', '5353:53/udp', 'busybox', '/udp-echo', '53']);
      t.idOf('udp');
      t.ok(['cp', echo, 'udp:/udp-echo']);
      t.ok(['start', 'udp']);
      const sock = dgram.createSocket('udp4');
      const got = await new Promise<string>((resolve, reject) => {
        const timer = setInterval(() => sock.send('ping-udp\n', 5353, '127.0.0.1'), 200);
        sock.on('message', (m) => {
          clearInterval(timer);
          resolve(String(m));
        });
        setTimeout(() => {
          clearInterval(timer);
          reject(new Error('no UDP answer through 127.0.0.1:5353 in 8 s'));
        }, 8000);
      }).finally(() => sock.close());
      assert.match(got, /ping-udp/);
    } finally {
      await t.cleanupNet(before);
    }
  });

  test('a host port already in use: Docker\'s error, exit 125, and nothing left half made', async () => {
    const before = netState(t.root());
    const server = net.createServer().listen(8099, '0.0.0.0');
    await new Promise((r) => server.once('listening', r));
    try {
      const r = t.dk(['run', '--rm', '-p', '8099:80', 'busybox', 'true']);
      assert.equal(r.code, 125, r.stderr);
      assert.match(r.stderr, /8099/);
      assert.match(r.stderr, /address already in use/);
      // A port another container holds: "port is already allocated".
      t.runD(['--name', 'holder', '-p', '8098:80', 'busybox', 'sleep', '30']);
      const r2 = t.dk(['run', '--rm', '-p', '8098:80', 'busybox', 'true']);
      assert.equal(r2.code, 125, r2.stderr);
      assert.match(r2.stderr, /Bind for 0\.0\.0\.0:8098 failed: port is already allocated/);
    } finally {
      server.close();
      await t.cleanupNet(before);
    }
  });

  test('-P publishes the ports the image exposes (its config’s ExposedPorts), and the container records them', async () => {
    const before = netState(t.root());
    try {
      t.ok(['run', '--name', 'mk-exposes', 'busybox', 'true']);
      t.ok(['commit', '--change', 'EXPOSE 8080 9000/udp', 'mk-exposes', 'ch6/exposes']);
      t.ok(['rm', 'mk-exposes']);
      t.runD(['--name', 'img-ports', '-P', 'ch6/exposes', 'sleep', '30']);
      const ports = JSON.parse(t.ok(['inspect', '-f', '{{json .NetworkSettings.Ports}}', 'img-ports']));
      assert.deepEqual(Object.keys(ports).sort(), ['8080/tcp', '9000/udp']);
      for (const k of Object.keys(ports)) assert.match(ports[k][0].HostPort, /^\d+$/);
      assert.deepEqual(Object.keys(JSON.parse(t.ok(['inspect', '-f', '{{json .Config.ExposedPorts}}', 'img-ports']))).sort(), ['8080/tcp', '9000/udp']);
    } finally {
      await t.cleanupNet(before);
      t.dk(['rmi', 'ch6/exposes']);
    }
  });

  test('-P publishes the exposed ports (--expose) on ephemeral ports; bad -p specs get Docker\'s errors', async () => {
    const before = netState(t.root());
    try {
      t.runD(['--name', 'all', '-P', '--expose', '80', '--expose', '7000/udp', 'busybox', 'sleep', '30']);
      const ports = JSON.parse(t.ok(['inspect', '-f', '{{json .NetworkSettings.Ports}}', 'all']));
      assert.deepEqual(Object.keys(ports).sort(), ['7000/udp', '80/tcp']);
      for (const k of Object.keys(ports)) assert.match(ports[k][0].HostPort, /^\d+$/);
      for (const bad of ['abc', '8080:abc', '1.2.3:80:80', '80/xyz', '8000-8002:80-81']) {
        const r = t.dk(['run', '--rm', '-p', bad, 'busybox', 'true']);
        assert.equal(r.code, 125, `-p ${bad}: ${r.stderr}`);
        assert.doesNotMatch(r.stderr, /at .*\.js:\d+/, 'no stack trace');
      }
    } finally {
      await t.cleanupNet(before);
    }
  });
});
