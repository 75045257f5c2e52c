// The test suite, as DESIGN.md asks for it:
//
// 1. Unit and property tests (test/runtime, test/book): no chapter involved.
// 2. For each chapter N with tests (test/chapters/NN-topic/*.test.ts):
//    a. run them with layers 1..N (DOCKLING_CHAPTER=N): every test must pass;
//    b. run them with layers 1..N-1: every test must FAIL. A chapter test
//       that passes without its chapter's layer cannot fail, so it tests
//       nothing the chapter adds, and the suite says so.
//
// 3. In a cgroup-v2-only guest (test/vm/: QEMU booting Debian's kernel, the
//    caller in a systemd-like leaf), chapter 2's suite, both runs, and a
//    smoke of the later chapters' run path (test/vm/smoke.test.ts). Learners'
//    machines are v2; these are a v1/v2 hybrid.
//
// Usage: tsx test/run.ts [--chapter N[,M…]] [--only unit|chapters|escapes|vm] [--no-negative] [--no-vm]
//
// `--only escapes` runs the escape suite alone: each chapter's
// escape*.test.ts, the probes that root in a container reaches nothing of
// the host through what that chapter built (`npm run test:escapes`).
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { missing as vmMissing, runInGuest } from './vm/guest.js';

const TEST = path.dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const opt = (name: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
// --chapter N, or N,M,… for several (run side by side, as the whole suite's are)
const onlyChapter = opt('--chapter') ? new Set(opt('--chapter')!.split(',').map(Number)) : undefined;
const only = opt('--only');
const negative = !args.includes('--no-negative');

function testFiles(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.test.ts'))
    .map((e) => path.join(e.parentPath, e.name))
    .sort();
}

interface Outcome {
  passed: number;
  failed: number;
  /** names of tests that passed (from the TAP stream) */
  passedNames: string[];
  /** tests that failed, each as "name: its error's first line" */
  failedNames: string[];
  status: number;
}

/**
 * Run files under node's test runner, one file at a time, reading TAP. The
 * output is kept and handed back whole, so that suites running side by side
 * (see "lanes" below) print as blocks, not interleaved lines.
 */
async function runNodeTests(files: string[], env: NodeJS.ProcessEnv, ownNetwork = false): Promise<Outcome & { tap: string }> {
  // A temporary directory of this run's own: the leak checks compare its
  // contents before and after each test, undisturbed by anything else on
  // the machine that uses /tmp at the same time.
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dockling-suite-'));
  try {
    return await runIn(files, { ...env, TMPDIR: tmp }, ownNetwork);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

// #region own-network
/**
 * Every suite (unit and chapters) runs in a network namespace of its own
 * holding only lo, its "host": from chapter 6 on, `run` and `network
 * create` make bridges, turn on forwarding and write NAT rules, and all of
 * that must live and die there, never on the machine's own network.
 * (`unshare --net`, with lo brought up first, as a fresh namespace has it
 * down.)
 */
function inOwnNetwork(argv: string[]): string[] {
  return ['unshare', '--net', '--', 'sh', '-c', 'ip link set lo up && exec "$@"', 'sh', ...argv];
}
// #endregion own-network

/** The network namespace the suite was started in: the chapters' tests check they are not in it. */
const HOST_NETNS = fs.readlinkSync('/proc/self/ns/net');

function runIn(files: string[], env: NodeJS.ProcessEnv, ownNetwork: boolean): Promise<Outcome & { tap: string }> {
  const node = [process.execPath, '--import', 'tsx', '--test', '--test-concurrency=1', '--test-reporter=tap', ...files];
  const argv = ownNetwork ? inOwnNetwork(node) : node;
  // An env value of undefined removes that variable (spawn would pass the word "undefined").
  const fullEnv = Object.fromEntries(Object.entries({ ...process.env, ...env }).filter(([, v]) => v !== undefined));
  const child = spawn(argv[0], argv.slice(1), { env: fullEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout.on('data', (d: Buffer) => out.push(d));
  child.stderr.on('data', (d: Buffer) => err.push(d));
  return new Promise((resolve) => {
    child.on('error', (e) => err.push(Buffer.from(`${e.message}\n`)));
    child.on('close', (code) => {
      const tap = Buffer.concat(out).toString('utf8');
      const stderr = Buffer.concat(err).toString('utf8');
      resolve({ ...countTap(tap), status: code ?? 1, tap: stderr ? `${tap}${stderr}` : tap });
    });
  });
}

/** Passed and failed leaf tests in a TAP stream. */
function countTap(tap: string): Omit<Outcome, 'status'> {
  const passedNames: string[] = [];
  const failedNames: string[] = [];
  let passed = 0;
  let failed = 0;
  // TAP prints a test's subtests (indented further) before the test's own
  // line. So a line is a leaf test when the test line before it is not
  // indented deeper; a deeper one before it means it closes a suite or a
  // file. Leaves are what we count, at any depth.
  let prevIndent = -1;
  const lines = tap.split('\n');
  for (const [i, line] of lines.entries()) {
    const m = /^(\s*)(ok|not ok) \d+ - (.*?)(\s+# SKIP.*)?$/.exec(line);
    if (!m) continue;
    const indent = m[1].length;
    const leaf = prevIndent <= indent;
    prevIndent = indent;
    if (!leaf) continue;
    // A skipped test (here: one for v1 hierarchies, in the v2 guest) neither
    // passed nor failed; in the negative run it must not count as passing.
    if (m[4]) continue;
    if (m[2] === 'ok') {
      passed++;
      passedNames.push(m[3]);
    } else {
      failed++;
      failedNames.push(`${m[3]}: ${firstError(lines, i + 1)}`);
    }
  }
  return { passed, failed, passedNames, failedNames };
}

/**
 * The first line of a failed test's error, from the YAML block that follows
 * its TAP line (`error: 'text'`, or `error: |-` and the text below it), so
 * the run's last lines can name what failed and why.
 */
function firstError(lines: string[], from: number): string {
  for (let i = from; i < lines.length && !/^\s*\.\.\.$/.test(lines[i]); i++) {
    const e = /^\s*error: (.*)$/.exec(lines[i]);
    if (!e) continue;
    const inline = e[1].replace(/^['"]|['"]$/g, '').trim();
    const text = /^[|>][-+]?$/.test(inline) ? (lines[i + 1] ?? '').trim() : inline;
    return text.slice(0, 200);
  }
  return '(no error text)';
}

/** The N slowest leaf tests of a TAP stream, as "12.3 s name; …". */
function slowest(tap: string, n: number): string {
  const rows: [number, string][] = [];
  let name = '';
  for (const line of tap.split('\n')) {
    const t = /^\s*(?:ok|not ok) \d+ - (.*)$/.exec(line);
    if (t) name = t[1];
    const d = /^\s*duration_ms: ([\d.]+)/.exec(line);
    if (d && name) rows.push([Number(d[1]) / 1000, name]);
  }
  return rows
    .sort((a, b) => b[0] - a[0])
    .slice(0, n)
    .map(([s, what]) => `${s.toFixed(1)} s ${what.slice(0, 80)}`)
    .join('; ');
}

// #region host-network-untouched
/**
 * What the machine's own network looks like: its links, and every
 * netfilter rule naming dockling. Taken before the suites and compared
 * after: a test that reached the runner's namespace instead of its own
 * (a bridge, a NAT rule left behind) is a problem the suite reports.
 */
function hostNetwork(): string[] {
  const out = (cmd: string, args: string[]) => spawnSync(cmd, args, { encoding: 'utf8' }).stdout ?? '';
  const links = out('ip', ['-o', 'link', 'show']).split('\n').map((l) => /^\d+: ([^:@]+)/.exec(l)?.[1]).filter(Boolean);
  const rules = ['nat', 'filter', 'raw'].flatMap((t) => out('iptables', ['-w', '-t', t, '-S']).split('\n').filter((r) => /DOCKLING|br-[0-9a-f]{12}|dockling0/.test(r)).map((r) => `${t} ${r}`));
  return [...links.map((l) => `link ${l}`), ...rules].sort();
}
const hostNetworkBefore = hostNetwork();
// #endregion host-network-untouched

let totalPassed = 0;
let totalFailed = 0;
const problems: string[] = [];

// #region lanes
/**
 * A job is one suite: the unit tests, or one chapter (its run with its
 * layer, then its negative run). Each test file runs alone in its suite;
 * suites may run side by side, in lanes (DOCKLING_TEST_LANES=N; one by
 * default). They cannot see each other: each has its own state roots,
 * TMPDIR and network namespace (the leak checks compare only what is
 * theirs), and the one thing the machine has once, a private dockerd's
 * /run/docker, is taken under a lock (helpers/docker-differential.ts).
 * One lane is the default because on CI's 2 cores two gained little: the
 * CLI's own CPU is about one core, but the detached monitors, containers
 * and servers take the other (measured: chapters 4, 5, unit and 6 took
 * 24.1 min in two lanes against 26.6 min one after the other), and
 * three tests that wait for a process to make progress timed out under
 * that load. With more cores, lanes pay.
 */
interface Job {
  title: string;
  /** seconds it took in CI (2 cores): the longest start first, so the lanes end together */
  weight: number;
  /** `emit` takes the suite's output as it comes (printed at once in one lane, kept for the end in several) */
  run(emit: (text: string) => void): Promise<{ passed: number; failed: number; problems: string[] }>;
}

/** Seconds each suite took in a full run with one lane (7dabdc2, on this kind of machine); a new chapter counts as 120 until measured. */
const SECONDS: Record<string, number> = { unit: 215, 1: 145, 2: 85, 3: 190, 4: 430, 5: 665, 6: 270, 7: 205, 8: 160, 9: 140, 11: 185 };

const jobs: Job[] = [];

if (only === undefined || only === 'unit') {
  const files = [...testFiles(path.join(TEST, 'runtime')), ...testFiles(path.join(TEST, 'book'))];
  jobs.push({
    title: 'unit and property tests',
    weight: SECONDS.unit,
    async run(emit) {
      // In halves, side by side: the unit tests are mostly one process's
      // CPU (parsers, property tests), so one file at a time leaves CI's
      // second core idle. Each half is a test run of its own, with its own
      // TMPDIR, so the leak checks' "no new temp entry" sees its half
      // only. (Chapter suites stay one file at a time: a container test
      // loads the whole machine.) The slowest files are dealt first, one
      // to each half.
      const halves = Number(process.env.DOCKLING_UNIT_CONCURRENCY) || Math.min(2, os.availableParallelism());
      const slow = [/labs\.test\.ts$/, /storage\/union\.test\.ts$/, /random-command-lines|fuzz/];
      const rank = (f: string) => (slow.findIndex((r) => r.test(f)) + slow.length + 1) % (slow.length + 1);
      const ordered = [...files].sort((a, b) => rank(a) - rank(b));
      const groups: string[][] = Array.from({ length: halves }, () => []);
      ordered.forEach((f, i) => groups[i % halves].push(f));
      const runs = await Promise.all(groups.filter((g) => g.length > 0).map((g) => runNodeTests(g, { DOCKLING_HOST_NETNS: HOST_NETNS }, true)));
      const o = { passed: 0, failed: 0 };
      runs.forEach((r, i) => {
        emit(`\n# unit and property tests, part ${i + 1} of ${runs.length} (${groups[i].length} files)\n${r.tap}`);
        o.passed += r.passed;
        o.failed += r.failed;
      });
      return {
        passed: o.passed,
        failed: o.failed,
        problems: [
          ...runs.flatMap((r) => r.failedNames.map((f) => `unit tests: failed: ${f}`)),
          ...(runs.some((r) => r.status !== 0) && o.failed === 0 ? ['unit tests: the test runner failed'] : []),
        ],
      };
    },
  });
}

if (only !== 'unit' && only !== 'vm') {
  const chapters = fs
    .readdirSync(path.join(TEST, 'chapters'))
    .filter((d) => /^\d\d-/.test(d))
    .sort();
  for (const dir of chapters) {
    const n = Number(dir.slice(0, 2));
    if (onlyChapter !== undefined && !onlyChapter.has(n)) continue;
    const files = testFiles(path.join(TEST, 'chapters', dir)).filter((f) => only !== 'escapes' || /\/escape[^/]*\.test\.ts$/.test(f));
    if (files.length === 0) continue;
    jobs.push({ title: `chapter ${n}`, weight: SECONDS[n] ?? 120, run: (emit) => chapterJob(n, dir, files, emit) });
  }
}

async function chapterJob(n: number, dir: string, files: string[], emit: (text: string) => void) {
  emit(`\n# chapter ${n} (${dir}) with layers 1..${n}: every test must pass\n`);
  const problems: string[] = [];
  // Chapter 4's tests are the image store's on overlay2: they ask for it
  // by name, so that without chapter 4's layer (on aufs, chapter 3's
  // driver) they fail rather than pass on the other driver. The store's
  // tests on aufs are chapter 3's.
  const driverEnv: NodeJS.ProcessEnv = n === 4 ? { DOCKLING_STORAGE_DRIVER: 'overlay2' } : {};
  const o = await runNodeTests(files, { DOCKLING_CHAPTER: String(n), DOCKLING_HOST_NETNS: HOST_NETNS, ...driverEnv }, true);
  emit(o.tap);
  let passed = o.passed;
  let failed = o.failed;
  for (const f of o.failedNames) problems.push(`chapter ${n}: failed: ${f}`);
  if (o.status !== 0 && o.failed === 0) problems.push(`chapter ${n}: the test runner failed`);
  if (negative) {
    emit(`\n# chapter ${n} (${dir}) with layers 1..${n - 1}: every test must fail\n`);
    // Without coverage (c8's NODE_V8_COVERAGE): code that only refuses
    // says nothing about coverage, and writing a profile costs every
    // process it starts about a tenth of a second. Its waits give up
    // sooner (waitLimit in helpers/dockling.ts): failing should be fast.
    const neg = await runNodeTests(files, { DOCKLING_CHAPTER: String(n - 1), DOCKLING_HOST_NETNS: HOST_NETNS, NODE_V8_COVERAGE: undefined, DOCKLING_NEGATIVE_RUN: '1', ...driverEnv }, true);
    emit(`# ${neg.failed} failed as they must, ${neg.passed} passed without chapter ${n}'s layer\n`);
    // Its output is not printed (every test fails there, at length); its
    // slowest tests are, since a negative run should fail fast.
    emit(`# the slowest without it: ${slowest(neg.tap, 5)}\n`);
    if (neg.passed > 0) {
      failed += neg.passed;
      problems.push(`chapter ${n}: these tests pass without chapter ${n}'s layer, so they cannot fail: ${neg.passedNames.join('; ')}`);
    } else {
      passed += 1; // the negative check itself
    }
  }
  return { passed, failed, problems };
}

const lanes = Math.max(1, Number(process.env.DOCKLING_TEST_LANES) || 1);
// In one lane, the book's order; in several, the longest first, so that they end together.
const queue = lanes > 1 ? [...jobs].sort((x, y) => y.weight - x.weight) : [...jobs];
const started = Date.now();
const minutes = () => ((Date.now() - started) / 60_000).toFixed(1);
if (jobs.length > 1) console.log(`# ${jobs.length} suites in ${lanes} lane${lanes > 1 ? 's' : ''}: ${queue.map((j) => j.title).join(', ')}`);
await Promise.all(
  Array.from({ length: lanes }, async () => {
    for (let job = queue.shift(); job; job = queue.shift()) {
      if (jobs.length > 1) console.log(`# [${minutes()} min] started: ${job.title}`);
      // In one lane, the output as it comes (a run cut short still shows
      // what had finished); in several, each suite's whole, as it ends.
      let kept = '';
      const r = await job.run(lanes === 1 ? (t) => process.stdout.write(t) : (t) => void (kept += t));
      process.stdout.write(kept);
      if (jobs.length > 1) console.log(`# [${minutes()} min] ended: ${job.title}: ${r.passed} passed, ${r.failed} failed`);
      totalPassed += r.passed;
      totalFailed += r.failed;
      problems.push(...r.problems);
    }
  }),
);
// #endregion lanes

// #region vm-step
// The guest: after the chapters (it takes both cores; run beside them, it
// would slow their timing-sensitive tests). Not inside the guest itself.
const inGuest = fs.readFileSync('/proc/cmdline', 'utf8').includes('dockling.repo=');
// A host that is itself cgroup-v2-only (the Vagrant VM, Debian 11+) has
// just run chapter 2 on v2: an emulated guest inside it would repeat that,
// slowly. `--only vm` boots it anyway.
const hostIsV2 = /^\S+ \/sys\/fs\/cgroup cgroup2 /m.test(fs.readFileSync('/proc/mounts', 'utf8'));
if (hostIsV2 && only === undefined && !inGuest) console.log('\n# the cgroup-v2 guest is not booted: this host is cgroup-v2 only, and chapter 2 ran on it above');
if ((only === 'vm' || (only === undefined && !hostIsV2)) && onlyChapter === undefined && !args.includes('--no-vm') && !inGuest) {
  console.log('\n# chapter 2 in a cgroup-v2 guest (test/vm/: QEMU TCG, cgroup2 alone, the caller in /user.slice/user-0.slice/session-1.scope)');
  const why = vmMissing();
  if (why && process.env.CI) problems.push(`the cgroup-v2 guest: ${why}`);
  else if (why) console.log(`# SKIP: cannot boot the guest: ${why}`);
  else {
    const MARK = '# vm: the later chapters\' run path';
    const command = [
      `node --import tsx test/run.ts --only chapters --chapter 2${negative ? '' : ' --no-negative'}`,
      `echo "${MARK}"`,
      'DOCKLING_CHAPTER=11 node --import tsx --test --test-concurrency=1 --test-reporter=tap test/vm/smoke.test.ts',
    ].join('\n');
    const env: Record<string, string> = process.env.CI ? { CI: process.env.CI } : {};
    // It took 11.6 min on CI's machine (stop 28): room for a slower day.
    const GUEST_MINUTES = 18;
    const r = await runInGuest(command, { timeoutS: GUEST_MINUTES * 60, env, onOutput: (t) => process.stdout.write(t) });
    const at = r.output.lastIndexOf(`${MARK}\n`);
    const ch2 = at >= 0 ? r.output.slice(0, at) : r.output;
    const totals = [...ch2.matchAll(/^(\d+) passed, (\d+) failed$/gm)].pop();
    const smoke = countTap(at >= 0 ? r.output.slice(at) : '');
    const mib = (k?: number) => (k === undefined ? '?' : `${Math.round(k / 1024)} MiB`);
    if (r.status === undefined) {
      problems.push(r.timedOut ? `the cgroup-v2 guest did not finish in ${GUEST_MINUTES} min` : `the cgroup-v2 guest stopped without an exit status; its console:\n${r.console.trim()}`);
    }
    if (!totals) problems.push('chapter 2 in the cgroup-v2 guest: no result line');
    else {
      totalPassed += Number(totals[1]);
      totalFailed += Number(totals[2]);
      console.log(`# chapter 2 in a cgroup-v2 guest: ${totals[1]} passed, ${totals[2]} failed`);
    }
    if (at < 0 || smoke.passed + smoke.failed === 0) problems.push('the later chapters\' run path in the cgroup-v2 guest: no tests ran');
    // What failed in the guest, named again here, where the run's last lines are read.
    for (const m of ch2.matchAll(/^# PROBLEM: (.*)$/gm)) problems.push(`in the cgroup-v2 guest: ${m[1]}`);
    for (const f of smoke.failedNames) problems.push(`in the cgroup-v2 guest, the later chapters' run path: failed: ${f}`);
    totalPassed += smoke.passed;
    totalFailed += smoke.failed;
    console.log(`# the later chapters' run path in a cgroup-v2 guest: ${smoke.passed} passed, ${smoke.failed} failed`);
    if (r.status !== undefined && r.status !== 0 && totals && Number(totals[2]) === 0 && smoke.failed === 0) problems.push(`the cgroup-v2 guest: the command exited ${r.status}`);
    console.log(`# vm: boot ${(r.bootMs / 1000).toFixed(1)} s, in the guest ${(r.runMs / 1000).toFixed(0)} s, guest memory used at the end ${mib(r.memory.usedKiB)}, the tests' peak ${mib(r.memory.sessionPeakKiB)}, QEMU's peak RSS ${mib(r.memory.qemuPeakKiB)}`);
  }
}
// #endregion vm-step

const hostNetworkAfter = hostNetwork();
const touched = [...hostNetworkAfter.filter((x) => !hostNetworkBefore.includes(x)).map((x) => `+ ${x}`), ...hostNetworkBefore.filter((x) => !hostNetworkAfter.includes(x)).map((x) => `- ${x}`)];
if (touched.length) problems.push(`the machine's own network changed during the tests (a test left its namespace): ${touched.slice(0, 20).join('; ')}`);

// #region source-maps-for-c8
// The bundle's source maps are external, with no `//# sourceMappingURL`
// comment in dist/*.js (package.json's build:js): with NODE_V8_COVERAGE set,
// Node reads the map of every script that names one when it loads it, and
// copies it into the coverage file it writes at exit (760 KB of the 1.2 MB
// each process wrote, and start-up time, in every one of the thousands of
// processes the suites start). c8's report, which runs when this process
// ends, finds a script's map by that comment: so it is added now.
if (process.env.NODE_V8_COVERAGE) {
  const dist = path.join(TEST, '..', 'dist');
  for (const f of fs.existsSync(dist) ? fs.readdirSync(dist) : []) {
    const js = path.join(dist, f);
    if (!f.endsWith('.js') || !fs.existsSync(`${js}.map`)) continue;
    const comment = `//# sourceMappingURL=${f}.map`;
    if (!fs.readFileSync(js, 'utf8').includes(comment)) fs.appendFileSync(js, `\n${comment}\n`);
  }
}
// #endregion source-maps-for-c8

for (const p of problems) console.log(`# PROBLEM: ${p}`);
// The closing line CI reads.
console.log(`\n${totalPassed} passed, ${totalFailed} failed`);
process.exitCode = totalFailed > 0 || problems.length > 0 ? 1 : 0;
