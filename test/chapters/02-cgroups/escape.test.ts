// Chapter 2, section 5: "The view from inside: the cgroup namespace", its
// "Why every hierarchy: the release_agent".
//
// Chapter 2's part of the ESCAPE SUITE: probes, run from inside a real
// container, for ways out that the cgroups layer closes. Later chapters
// extend the suite with escape.test.ts files of their own.
//
// Each probe proves access with a read, or by opening a file without
// writing to it; none changes the host. test/run.ts runs this file with
// layers 1..2 (every probe must find the way closed) and with layers 1..1
// (every test must fail: there the container stays in the caller's cgroups,
// its cgroup namespace shows the host's hierarchies from their roots, and
// the host's release_agent is in reach).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { dockling } from '../../helpers/dockling.ts';
import { assertNoLeaks, snapshot } from '../../helpers/leaks.ts';
import { cgroupMounts, containerCgroups } from '../../helpers/cgroups.ts';
import { chapter2, skip } from './helpers.ts';

// The state root, in a temporary directory of this file's own (helpers.ts
// says why), with the shared leak check around each test.
const { root } = chapter2('ch2-escape');

// --- the host's hierarchies, read independently of dockling's code ---

const mountinfo = fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n');
/** The controllers this kernel has (/proc/cgroups), to tell them from other mount options. */
const KERNEL_CONTROLLERS = new Set(
  fs.readFileSync('/proc/cgroups', 'utf8').split('\n').filter((l) => l && !l.startsWith('#')).map((l) => l.split('\t')[0]),
);
/** What `mount -t cgroup -o X` takes for each v1 hierarchy mounted here: "freezer", "cpu,cpuacct", "name=systemd"… */
const V1_TYPES = [
  ...new Set(
    mountinfo
      .map((l) => l.split(' - ')[1])
      .filter((post) => post?.startsWith('cgroup '))
      .map((post) => post.split(' ')[2].split(',').filter((o) => KERNEL_CONTROLLERS.has(o) || o.startsWith('name=')).join(','))
      .filter(Boolean),
  ),
];
/** A cgroup2 tree mounted beside them (a hybrid host) or at /sys/fs/cgroup (a unified one). */
const HAS_CGROUP2 = mountinfo.some((l) => l.split(' - ')[1]?.startsWith('cgroup2 '));

/** The IDs of the containers a trace names (their state directory, their cgroups). */
function idsIn(traceFile: string): string[] {
  const ids = new Set<string>();
  let text = '';
  try {
    text = fs.readFileSync(traceFile, 'utf8');
  } catch {
    return [];
  }
  // only whole lines: a CLI still running may be writing the last one
  for (const line of text.slice(0, text.lastIndexOf('\n') + 1).split('\n').filter(Boolean)) {
    const p = (JSON.parse(line) as { path?: string }).path ?? '';
    const m = /\/containers\/([0-9a-f]{64})$/.exec(p) ?? /\/dockling-([0-9a-f]{64})(\/|$)/.exec(p);
    if (m) ids.add(m[1]);
  }
  return [...ids];
}

/** Run a container to its end with a trace; always remove what a failed run left. */
async function withContainer(args: string[], check: (r: ReturnType<typeof dockling>, trace: Record<string, unknown>[], ids: string[]) => void): Promise<void> {
  const before = snapshot(root());
  const traceFile = path.join(root(), `trace-${Date.now()}.jsonl`);
  let ids: string[] = [];
  try {
    const r = dockling(root(), ['--trace-file', traceFile, ...args], { killSignal: 'SIGKILL' });
    ids = idsIn(traceFile);
    const trace = fs.existsSync(traceFile) ? fs.readFileSync(traceFile, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)) : [];
    fs.rmSync(traceFile, { force: true });
    check(r, trace, ids);
    await assertNoLeaks(root(), before);
    assert.deepEqual(containerCgroups(cgroupMounts(), ids), [], 'a cgroup of the container remains in some hierarchy');
  } finally {
    fs.rmSync(traceFile, { force: true });
    for (const d of containerCgroups(cgroupMounts(), ids).reverse()) fs.rmSync(d, { recursive: false, force: true });
    for (const id of ids) fs.rmSync(path.join(root(), 'containers', id), { recursive: true, force: true });
  }
}

// #region release-agent-probe
// For each hierarchy: mount it inside the container and look for the
// release_agent file, which only a hierarchy's ROOT cgroup has. If it is
// there, root in the container could write a program's path into it and
// have the host's kernel run that program as root: the "cgroup v1
// release_agent" escape (CVE-2022-0492 is its unprivileged form). `: >>`
// opens the file for append and writes nothing. Then one more way the
// container's own cgroups must be closed to it: their limit files are
// read-only (rewriting pids.max with its own value fails). (Which devices
// it may open is chapter 11's question: its devices test probes that.)
// Before chapter 4 the rootfs is shared between runs, so the probe leaves
// nothing in it.
const probe = (types: string[], cgroup2: boolean) => `
c=$(mktemp -d /tmp/cg.XXXXXX)
for t in ${types.map((t) => `'${t}'`).join(' ')}; do
  if mount -t cgroup -o "$t" x $c 2>/dev/null; then
    if [ -e $c/release_agent ] && : >> $c/release_agent; then echo "release_agent open: $t"; else echo "closed: $t"; fi
    umount $c
  else
    echo "cannot mount: $t"
  fi
done
${cgroup2 ? 'if mount -t cgroup2 x $c 2>/dev/null; then echo "cgroup2 procs: $(cat $c/cgroup.procs | wc -l)"; umount $c; fi' : ''}
rmdir $c
if [ -e /sys/fs/cgroup/pids/pids.max ]; then f=/sys/fs/cgroup/pids/pids.max; else f=/sys/fs/cgroup/pids.max; fi
v=$(cat $f 2>/dev/null); if (echo "$v" > $f) 2>/dev/null; then echo "limit writable"; else echo "limit read-only"; fi
`;
// #endregion release-agent-probe

test('no hierarchy shows its release_agent inside the container; its own limits are read-only', { skip: skip || (V1_TYPES.length === 0 && 'no cgroup v1 hierarchy on this host') }, async () => {
  await withContainer(['run', '--rm', '--pids-limit', '64', 'busybox', 'sh', '-c', probe(V1_TYPES, HAS_CGROUP2)], (r) => {
    assert.equal(r.code, 0, r.stderr);
    for (const t of V1_TYPES) {
      assert.doesNotMatch(r.stdout, new RegExp(`release_agent open: ${t.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\n`), `the ${t} hierarchy's release_agent is reachable from the container:\n${r.stdout}`);
      assert.match(r.stdout, new RegExp(`(closed|cannot mount): ${t.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\n`), `no answer for ${t}:\n${r.stdout}`);
    }
    // Its cgroup2 tree (a hybrid host's) holds only its own processes: sh, the subshell, cat, wc.
    const procs = /cgroup2 procs: (\d+)/.exec(r.stdout);
    if (procs) assert.ok(Number(procs[1]) <= 6, `the container's cgroup2 view lists ${procs[1]} processes: the host's are in reach`);
    assert.match(r.stdout, /limit read-only/, `the container could rewrite its own pids.max:\n${r.stdout}`);
  });
});

test('the container is put in a cgroup of its own in EVERY hierarchy of the host, and all of them are removed after it', { skip }, async () => {
  await withContainer(['run', '--rm', 'busybox', 'true'], (r, trace, ids) => {
    assert.equal(r.code, 0, r.stderr);
    assert.equal(ids.length, 1, 'the trace names one container');
    const mkdirs = trace.filter((e) => e.op === 'mkdir').map((e) => String(e.path)).filter((p) => p.endsWith(`/dockling-${ids[0]}`));
    const rmdirs = new Set(trace.filter((e) => e.op === 'rmdir').map((e) => String(e.path)));
    for (const m of cgroupMounts()) {
      const made = mkdirs.filter((d) => d.startsWith(m + '/'));
      assert.equal(made.length, 1, `no cgroup made for the container in the hierarchy at ${m}; made: ${mkdirs.join(' ')}`);
      assert.ok(rmdirs.has(made[0]), `${made[0]} was not removed`);
    }
  });
});
