// Chapter 5, section 1: "Who holds a detached container?" (a set-up that fails
// under the monitor).
//
// Chapter 5, for real, as root: a set-up step that fails while the
// container is under its monitor ends the run promptly, with the step's
// error, and leaves nothing (issue 9: `run --pids-limit 5000000` wrote
// pids.max, got EINVAL, then hung forever).
//
// Why it hung: the limit stage fails before the init has booted and said
// hello, so the CLI does not know its PID. Without a monitor, killing nsexec
// takes the init with it (PR_SET_PDEATHSIG); under a monitor nsexec is the
// monitor's child and outlives it, the init waits for its spec forever, and
// the CLI's end of their channel keeps the CLI alive too. With -d the
// cleanup also awaited an exit nobody reports for a detached run: with the
// channel closed, Node found nothing left to do and exited 0, silently,
// leaving the container's directory behind.
//
// The failure is a real one: a --cgroup-parent (made by the test) that may
// only use CPU 0, and --cpuset-cpus 1, which the kernel refuses to a child
// of it (cgroup v1). A hang is cut by spawnSync's 60 s timeout (the test
// fails with ETIMEDOUT).
//
// test/run.ts runs this file with layers 1..5 (every test must pass) and
// with layers 1..4 (every test must fail: there is no monitor and no -d).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REPO, rootOrSkip, until } from '../../helpers/dockling.js';
import { chapter5 } from './helpers.js';

const c = chapter5('ch5-limit-failure');

const mountinfo = fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n');
/** Where the v1 cpuset hierarchy is mounted, if it is. */
const CPUSET = mountinfo.find((l) => / - cgroup \S+ \S*\bcpuset\b/.test(l))?.split(' ')[4];
const skip = rootOrSkip() || (!CPUSET && 'needs the cgroup v1 cpuset hierarchy') || (os.cpus().length < 2 && 'needs two CPUs');

/** This build's nsexec and init processes (a failed run must leave none). */
function initsOfThisBuild(): number[] {
  const marks = [path.join(REPO, 'dist/nsexec'), path.join(REPO, 'dist/init.js')];
  const out: number[] = [];
  for (const e of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const cmd = fs.readFileSync(`/proc/${e}/cmdline`, 'utf8');
      const stat = fs.readFileSync(`/proc/${e}/stat`, 'utf8');
      if (marks.some((m) => cmd.includes(m)) && stat[stat.lastIndexOf(')') + 2] !== 'Z') out.push(Number(e));
    } catch {
      /* gone */
    }
  }
  return out;
}

for (const detach of [true, false]) {
  const how = detach ? 'run -d' : 'run (foreground, attached to the monitor)';
  test(`${how} whose limit stage fails: exit 125 at once with the kernel's refusal, no init left waiting, nothing left`, { skip }, async () => {
    const before = new Set(initsOfThisBuild());
    const parent = `/ch5-cpu0-${randomBytes(4).toString('hex')}`;
    const dir = path.join(CPUSET!, parent);
    fs.mkdirSync(dir);
    let left: number[] = [];
    try {
      fs.writeFileSync(path.join(dir, 'cpuset.cpus'), '0');
      fs.writeFileSync(path.join(dir, 'cpuset.mems'), fs.readFileSync(path.join(CPUSET!, 'cpuset.mems'), 'utf8').trim().split(/[-,]/)[0]);
      const args = ['run', ...(detach ? ['-d'] : []), '--rm', '--cgroup-parent', parent, '--cpuset-cpus', '1', 'busybox', 'echo', 'the command ran'];
      const r = c.dk(args, { timeout: 60_000, killSignal: 'SIGKILL' });
      assert.equal(r.code, 125, r.stderr);
      assert.match(r.stderr, /cgroup: cannot write "1" to \S+\/cpuset\.cpus: E[A-Z]+/);
      // Only the real error: the init was ended on purpose, not lost.
      assert.doesNotMatch(r.stderr, /monitor went away/);
      assert.doesNotMatch(r.stdout, /the command ran|^[0-9a-f]{64}$/m, 'the command ran, or run -d printed an ID');
      const ours = () => initsOfThisBuild().filter((p) => !before.has(p));
      await until(() => (left = ours()).length === 0, 10_000, 'the init of the failed run to end').catch(() => {});
      assert.deepEqual(left, [], 'an nsexec or init of the failed run is still there');
    } finally {
      for (const p of left) {
        try {
          process.kill(p, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
      await c.cleanup();
      for (let i = 0; i < 100 && fs.existsSync(dir); i++) {
        try {
          fs.rmdirSync(dir);
        } catch {
          await new Promise((res) => setTimeout(res, 50));
        }
      }
    }
  });
}
