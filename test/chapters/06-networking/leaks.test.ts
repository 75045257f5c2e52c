// Chapter 6: nothing of the network leaks. Twenty containers started at
// once get twenty addresses; removing them all gives back the netfilter
// ruleset and the link list exactly; a CLI killed during the network stage
// leaves nothing the next command does not reap; a detached container's
// monitor frees its lease and rules when the container ends.
import { describe, test } from 'node:test';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import assert from 'node:assert/strict';
import { chapter6, links, leases, netState, ruleset } from './helpers.js';
import { runAsync, sleep } from '../05-containers/helpers.js';
import { until } from '../../helpers/dockling.js';

const root = process.getuid?.() === 0 || process.env.CI ? undefined : 'needs root';

describe('nothing of the network leaks', { skip: root }, () => {
  const t = chapter6('ch6-leaks');

  test('20 containers started in parallel get 20 distinct addresses; after rm the ruleset and links are as before', async () => {
    t.warmUp();
    const before = netState(t.root());
    const linksBefore = links().sort();
    try {
      const runs = Array.from({ length: 20 }, (_, i) => runAsync(t.root(), ['run', '-d', '--name', `p${i}`, '-p', `${9100 + i}:80`, 'busybox', 'sleep', '60']));
      const results = await Promise.all(runs.map((r) => r.done));
      for (const r of results) assert.equal(r.code, 0, r.stderr);
      for (let i = 0; i < 20; i++) t.idOf(`p${i}`);
      const ips = Array.from({ length: 20 }, (_, i) => t.inspect(`p${i}`, '{{.NetworkSettings.IPAddress}}'));
      assert.equal(new Set(ips).size, 20, `distinct addresses: ${ips.join(' ')}`);
      assert.equal(leases(t.root()).length, 20);
      assert.equal(links().filter((l) => l.startsWith('veth')).length, before.veths.length + 20);
    } finally {
      await t.cleanupNet(before);
    }
    assert.deepEqual(links().sort(), linksBefore, 'the link list is what it was');
    assert.deepEqual(ruleset(), before.rules, 'the ruleset is what it was');
  });

  test('a detached container that ends frees its lease and port rules (its monitor runs network release)', async () => {
    const before = netState(t.root());
    try {
      t.runD(['--name', 'brief', '-p', '9200:80', 'busybox', 'sleep', '1']);
      await until(() => t.status('brief')?.startsWith('Exited') ?? false, 10_000, 'brief to exit');
      await until(() => leases(t.root()).length === before.leases.length, 5000, 'its lease to be freed').catch(() => {});
      assert.deepEqual(leases(t.root()), before.leases, 'the lease is freed when the container ends');
      assert.deepEqual(ruleset(), before.rules, 'its DNAT rules are gone');
      assert.equal(t.inspect('brief', '{{.NetworkSettings.IPAddress}}'), '');
      // And started again, it gets the network back.
      t.ok(['start', 'brief']);
      assert.match(t.inspect('brief', '{{.NetworkSettings.IPAddress}}'), /^\d+\.\d+\.\d+\.\d+$/);
    } finally {
      await t.cleanupNet(before);
    }
  });

  test('kill -9 of the CLI during the network stage: the next command reaps the lease, veth and rules', async () => {
    const before = netState(t.root());
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ch6-kill-'));
    try {
      // Killed right after each of the network stage's steps in turn: the
      // lease taken, the DNAT rule written, the veth pair made.
      for (const [n, after] of [[1, /"op":"lease"/], [2, /"op":"iptables".*DNAT/], [3, /"op":"ip".*"veth"/]] as const) {
        const traceFile = path.join(dir, `trace-${n}.jsonl`);
        fs.writeFileSync(traceFile, '');
        const r = runAsync(t.root(), ['--trace-file', traceFile, 'run', '--rm', '-p', '9300:80', 'busybox', 'sleep', '30']);
        await until(() => after.test(fs.readFileSync(traceFile, 'utf8')) || r.child.exitCode !== null, 15_000, `the trace to show ${after}`);
        r.child.kill('SIGKILL');
        await r.done;
        // Any command that reads the store reaps what the killed CLI left
        // (a container its monitor took over is a container: rm -f it).
        t.ok(['ps', '-a']);
        await t.cleanupNet(before);
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
      await t.cleanupNet(before);
    }
  });
});
