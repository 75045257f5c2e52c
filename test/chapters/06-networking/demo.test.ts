// Chapter 6, "Try it": the demo steps of chapters/06-networking/demo.ts.
//
// Every demo step of chapter 6, run unattended and in order, in ONE state
// root: the steps build on each other (step 1's `web` is fetched from the
// host, connected to labnet, shared by a container:web run, and removed).
// Each step's own check must hold. test/run.ts runs this file with layers
// 1..6 (every step must pass) and with layers 1..5 (every step must fail:
// -p, --network and `network` do not exist there, and the host's namespace,
// a fresh one of the suite's own, has no bridge, veth or DNAT rule).
//
// After the last steps (`rm -f web static_web db`, `network rm labnet`)
// nothing may remain: no state directory, mount, cgroup, monitor, PID 1,
// veth, lease or DNS server. Whatever a failed step left is removed in
// `after`, and checked too.
import { before } from 'node:test';
import assert from 'node:assert/strict';
import { steps } from '../../../chapters/06-networking/demo.js';
import { demoSuite } from '../../helpers/demo-suite.js';
import { dnsServers, inPrivateNetns, leases, links } from './helpers.js';

before(() => assert.ok(inPrivateNetns(), "chapter 6's demo makes bridges and NAT rules: run it with test/run.ts, in a network namespace of its own"));

demoSuite({
  chapter: 6,
  steps,
  names: ['web', 'static_web', 'db'],
  finally: [['network', 'rm', 'labnet']],
  leftovers: (root) => {
    const problems: string[] = [];
    const veths = links().filter((l) => l.startsWith('veth'));
    if (veths.length) problems.push(`veths: ${veths.join(', ')}`);
    if (leases(root).length) problems.push(`leases: ${leases(root).join(', ')}`);
    if (dnsServers(root).length) problems.push(`DNS servers: ${dnsServers(root).join(', ')}`);
    return problems;
  },
});
