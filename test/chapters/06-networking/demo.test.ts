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
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { commandLine, runStep, type StepResult } from '../../../chapters/demo.js';
import { steps } from '../../../chapters/06-networking/demo.js';
import { dockling } from '../../helpers/dockling.js';
import { cgroupMounts, containerCgroups } from '../../helpers/cgroups.js';
import { containerDirs, mountsInside } from '../../helpers/leaks.js';
import { useTempDir } from '../../helpers/temp.js';
import { alive, processesMentioning } from '../05-containers/helpers.js';
import { dnsServers, inPrivateNetns, leases, links } from './helpers.js';

const chapter = Number(process.env.DOCKLING_CHAPTER ?? 6);
const skip = process.getuid?.() === 0 ? false : process.env.CI ? false : 'needs root';
/** every container the steps made (from the trace's mkdir of its state directory) */
const ids = new Set<string>();
const pids = new Set<number>();

function containerIds(r: StepResult): string[] {
  return r.trace.flatMap((e) => {
    const m = e.op === 'mkdir' ? /\/containers\/([0-9a-f]{64})$/.exec(e.path) : null;
    return m ? [m[1]] : [];
  });
}

/** PID 1 and monitor of each container, from its config.v2.json (to be sure none outlives the file). */
function notePids(): void {
  for (const id of containerDirs(root())) {
    try {
      const c = JSON.parse(fs.readFileSync(path.join(root(), 'containers', id, 'config.v2.json'), 'utf8'));
      for (const p of [c.State?.Pid, c.MonitorPid]) if (p > 0 && p !== process.pid) pids.add(p);
    } catch {
      /* being written */
    }
  }
}

function leftovers(): string[] {
  const problems: string[] = [];
  const dirs = containerDirs(root());
  if (dirs.length) problems.push(`state directories: ${dirs.join(', ')}`);
  const mounts = mountsInside(root());
  if (mounts.length) problems.push(`mounts: ${mounts.join(', ')}`);
  const cgs = containerCgroups(cgroupMounts(), ids);
  if (cgs.length) problems.push(`cgroups: ${cgs.join(', ')}`);
  const procs = [...new Set([...processesMentioning(root()), ...[...pids].filter(alive)])];
  if (procs.length) problems.push(`processes: ${procs.join(', ')}`);
  const mountsDb = path.join(root(), 'image/overlay2/layerdb/mounts');
  if (fs.existsSync(mountsDb) && fs.readdirSync(mountsDb).length) problems.push(`layerdb/mounts: ${fs.readdirSync(mountsDb).join(', ')}`);
  const veths = links().filter((l) => l.startsWith('veth'));
  if (veths.length) problems.push(`veths: ${veths.join(', ')}`);
  if (leases(root()).length) problems.push(`leases: ${leases(root()).join(', ')}`);
  if (dnsServers(root()).length) problems.push(`DNS servers: ${dnsServers(root()).join(', ')}`);
  return problems;
}

// Registered before the directory's own removal, so that it runs first.
after(async () => {
  if (skip) return;
  notePids();
  for (const name of ['web', 'static_web', 'db']) dockling(root(), ['rm', '-f', name]);
  dockling(root(), ['network', 'rm', 'labnet']);
  for (const id of containerDirs(root())) dockling(root(), ['rm', '-f', id]);
  const end = Date.now() + 5000;
  while (leftovers().length && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
  const left = leftovers();
  // Nothing may outlive the file: kill what rm -f did not end (ours, by PID).
  for (const p of [...processesMentioning(root()), ...[...pids].filter(alive)]) {
    try {
      process.kill(p, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  assert.deepEqual(left, [], 'the demo left things behind');
});
const root = useTempDir('dockling-demo6-');

describe("chapter 6's demo steps", () => {
  before(() => assert.ok(inPrivateNetns(), 'chapter 6\'s demo makes bridges and NAT rules: run it with test/run.ts, in a network namespace of its own'));
  for (const [i, step] of steps.entries()) {
    test(`step ${i + 1}: ${step.title} — ${commandLine(step)}`, { skip }, async () => {
      const r = await runStep(step, { stateRoot: root(), chapter });
      for (const id of containerIds(r)) ids.add(id);
      notePids();
      const problem = step.check(r);
      assert.equal(problem, null, `${problem}\n--- stdout\n${r.stdout}--- stderr\n${r.stderr.slice(-4000)}`);
      if (i === steps.length - 1) {
        // rm -f has returned; the monitors finish their release at once.
        const end = Date.now() + 5000;
        while (leftovers().length && Date.now() < end) await new Promise((res) => setTimeout(res, 50));
        assert.deepEqual(leftovers(), [], 'after the last step, things of the containers remain');
      }
    });
  }
});
