// Chapter 6's escape probe: the host's loopback through the bridge.
//
// Published ports reach containers from the host's 127.0.0.1 by hairpin
// NAT, which needs route_localnet=1 on the bridge: the kernel then accepts
// packets addressed to 127.0.0.0/8 that arrive on it. A container with
// CAP_NET_RAW (Docker's default set has it) can hand-craft such a frame on
// its veth, to 127.0.0.1 on the host, and reach a service the host meant
// for itself alone (the class of CVE-2020-8558). dockling drops packets to
// 127.0.0.0/8 that come in on a bridge (netfilter.ts, raw PREROUTING).
//
// The probe: a UDP listener on the host's 127.0.0.1 (in the suite's own
// network namespace, the test's "host") must receive nothing, while the
// same frame sent to the gateway's address (the control) does arrive — so
// the probe is known to work, and without chapter 6 (no bridge) it fails.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import dgram from 'node:dgram';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chapter6, netState } from './helpers.js';
import { sleep } from '../05-containers/helpers.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const root = process.getuid?.() === 0 || process.env.CI ? undefined : 'needs root';

function compile(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ch6-raw-'));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const out = path.join(dir, 'raw-frame');
  const r = spawnSync('cc', ['-static', '-O2', '-o', out, path.join(HERE, 'raw-frame.c')], { encoding: 'utf8' });
  assert.equal(r.status, 0, `cc: ${r.stderr}`);
  return out;
}

/** A UDP socket on ADDRESS:PORT that keeps what it receives. */
async function listen(address: string, port: number) {
  const got: string[] = [];
  const s = dgram.createSocket('udp4');
  s.on('message', (m) => got.push(String(m)));
  await new Promise<void>((resolve) => s.bind(port, address, resolve));
  return { got, close: () => s.close() };
}

describe('escape: the host\'s loopback from a container', { skip: root }, () => {
  const t = chapter6('ch6-escape');

  test('a hand-made frame to 127.0.0.1 through the bridge reaches nothing on the host (the control to the gateway does)', async () => {
    t.warmUp();
    const before = netState(t.root());
    const tool = compile();
    const gateway = JSON.parse(t.ok(['network', 'inspect', 'bridge']))[0].IPAM.Config[0].Gateway as string;
    const mac = /link\/ether (\S+)/.exec(spawnSync('ip', ['-o', 'link', 'show', 'dockling0'], { encoding: 'utf8' }).stdout)?.[1];
    assert.ok(mac, 'the bridge has a MAC');
    const loopback = await listen('127.0.0.1', 47001);
    const control = await listen(gateway, 47002);
    try {
      const send = (dst: string, port: number, text: string) => `/raw-frame eth0 ${mac} "$ip" ${dst} ${port} ${text}`;
      t.ok(['create', '--name', 'prober', 'busybox', 'sh', '-c',
        `ip=$(ip -o -4 addr show eth0 | awk '{print $4}' | cut -d/ -f1); ${send(gateway, 47002, 'control')} && ${send('127.0.0.1', 47001, 'escaped')}`]);
      t.idOf('prober');
      t.ok(['cp', tool, 'prober:/raw-frame']);
      const r = t.dk(['start', '-a', 'prober']);
      assert.equal(r.code, 0, `the probe ran: ${r.stdout}${r.stderr}`);
      await sleep(300);
      assert.ok(control.got.includes('control'), 'the control frame (to the gateway) arrived: the probe can reach the host');
      assert.deepEqual(loopback.got, [], 'a frame to 127.0.0.1 came in through the bridge and reached a loopback-only service');
    } finally {
      loopback.close();
      control.close();
      await t.cleanupNet(before);
    }
  });
});
