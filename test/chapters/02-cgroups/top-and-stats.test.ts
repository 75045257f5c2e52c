// Chapter 2, section 8: "top and stats".
//
// `top` lists exactly the processes in the container's cgroup; `stats`
// shows Docker's columns from the cgroup's counters, once (--no-stream) or
// redrawn every second; both refuse an unknown container.
//
// test/run.ts runs this file with layers 1..2 (every test must pass) and
// with layers 1..1 (every test must fail: the resource flags, `top` and
// `stats` do not exist there, and containers get no cgroup of their own).
// What the tests share, and how each one cleans up, is in helpers.ts.
import assert from 'node:assert/strict';
import { resolveAfter, until } from '../../helpers/dockling.ts';
import { cgFile, cgroupProcs, chapter2, cmdline, namespacePids, rand, read, sleep, untilTerm, type Lab } from './helpers.ts';

const { labTest } = chapter2('ch2-top');

/** Start a named container with a shell (PID 1) and two sleeps; wait until all three run. */
async function threeProcesses(lab: Lab, name: string, extra: string[] = []) {
  const bg = lab.start(['run', '--rm', '--name', name, ...extra, 'busybox', 'sh', '-c', untilTerm('sleep 1001 & sleep 1002 &')]);
  const cfg = await lab.running(bg);
  let pids: number[] = [];
  await until(() => {
    pids = namespacePids(cfg);
    const cmds = pids.map(cmdline);
    return pids.length === 3 && cmds.includes('sleep 1001') && cmds.includes('sleep 1002');
  }, 10_000, 'the two sleeps');
  return { bg, cfg, pids };
}

/** ps output → the PIDs in its PID column. */
function psPids(out: string): number[] {
  const [header, ...rows] = out.trimEnd().split('\n');
  const col = header.trim().split(/\s+/).indexOf('PID');
  assert.ok(col >= 0, `no PID column in ${JSON.stringify(header)}`);
  return rows.map((r) => Number(r.trim().split(/\s+/)[col])).sort((a, b) => a - b);
}

labTest('top NAME lists exactly the container\'s processes: those in its cgroup, and no host process', async (lab) => {
  const name = `ch2-top-${rand()}`;
  const { bg, cfg, pids } = await threeProcesses(lab, name);
  const r = lab.run(['top', name]);
  assert.equal(r.code, 0, r.stderr);
  const [header] = r.stdout.split('\n');
  assert.match(header, /\bUID\b.*\bPID\b.*\bPPID\b.*\bCMD\b/, 'ps -ef\'s header, as docker top shows by default');
  // docker top's layout: Go's tabwriter, columns at least 20 wide, 3 apart
  assert.match(header, /^UID {17}PID {17}PPID {16}C {19}STIME {15}TTY {17}TIME {16}CMD$/, 'docker top\'s column layout');
  assert.match(r.stdout, /^\S+ +\d+ +\d+ +\d+ +\S+ +\S+ +\S+ {3,}sleep 1001$/m, 'a row\'s cells padded as the header\'s, the command whole');
  const listed = psPids(r.stdout);
  assert.deepEqual(listed, cgroupProcs(cfg), 'top must list what the cgroup holds');
  assert.deepEqual(listed, pids, 'top must list the container\'s three processes');
  assert.ok(listed.includes(cfg.State.Pid), 'PID 1 of the container is listed');
  for (const host of [process.pid, bg.child.pid!]) assert.ok(!listed.includes(host), `host process ${host} is listed`);
  assert.match(r.stdout, /sleep 1001/);
  assert.match(r.stdout, /sleep 1002/);

  // ps options pass through; by short ID as well as by name
  const o = lab.run(['top', cfg.ID.slice(0, 12), '-o', 'pid,args']);
  assert.equal(o.code, 0, o.stderr);
  assert.match(o.stdout.split('\n')[0], /^\s*PID\s+COMMAND\s*$/);
  assert.deepEqual(psPids(o.stdout), pids);

  const s = await lab.stop(bg);
  assert.equal(s.code, 0, s.stderr);
  await lab.assertNoLeaks();
});

labTest('top and stats of an unknown container: "No such container" and a non-zero exit', async (lab) => {
  const t = lab.run(['top', 'no-such-container-ch2']);
  assert.notEqual(t.code, 0);
  assert.match(t.stderr, /No such container: no-such-container-ch2/);
  assert.equal(t.stdout, '');
  const s = lab.run(['stats', '--no-stream', 'no-such-container-ch2']);
  assert.notEqual(s.code, 0);
  assert.match(s.stderr, /No such container: no-such-container-ch2/);
  await lab.assertNoLeaks();
});

const STATS_HEADER = ['CONTAINER ID', 'NAME', 'CPU %', 'MEM USAGE / LIMIT', 'MEM %', 'NET I/O', 'BLOCK I/O', 'PIDS'];

labTest('stats --no-stream: Docker\'s columns, the memory limit that was set, the PIDs in the cgroup', async (lab) => {
  const name = `ch2-stats-${rand()}`;
  const { bg, cfg } = await threeProcesses(lab, name, ['-m', '64m']);
  const r = lab.run(['stats', '--no-stream', name]);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trimEnd().split('\n');
  assert.equal(lines.length, 2, r.stdout);
  assert.deepEqual(lines[0].trim().split(/\s{2,}/), STATS_HEADER);
  const row = lines[1].trim().split(/\s{2,}/);
  assert.equal(row.length, STATS_HEADER.length, lines[1]);
  const [id, rowName, cpu, mem, memPct, , , pidsCol] = row;
  assert.equal(id, cfg.ID.slice(0, 12));
  assert.equal(rowName, name);
  assert.match(cpu, /^\d+\.\d\d%$/);
  assert.match(mem, /^[\d.]+(B|KiB|MiB) \/ 64MiB$/, 'the limit that was set: 64MiB');
  assert.match(memPct, /^\d+\.\d\d%$/);
  assert.ok(parseFloat(memPct) < 100);
  assert.equal(pidsCol, '3');
  assert.equal(Number(pidsCol), Number(read(cgFile(cfg, 'pids', 'pids.current', 'pids.current'))));

  // without names: every running container of this state root, the same row
  const all = lab.run(['stats', '--no-stream']);
  assert.equal(all.code, 0, all.stderr);
  assert.deepEqual(all.stdout.trimEnd().split('\n')[0].trim().split(/\s{2,}/), STATS_HEADER);
  assert.ok(all.stdout.split('\n').some((l) => l.startsWith(cfg.ID.slice(0, 12)) && l.includes(name) && l.includes('/ 64MiB')), all.stdout);

  const s = await lab.stop(bg);
  assert.equal(s.code, 0, s.stderr);
  await lab.assertNoLeaks();
});

labTest('stats --format: docker\'s fields from the cgroup; `table` adds their headers; --no-trunc: the full ID', async (lab) => {
  const name = `ch2-fmt-${rand()}`;
  const { bg, cfg } = await threeProcesses(lab, name, ['-m', '64m']);
  const r = lab.run(['stats', '--no-stream', '--no-trunc', '--format', 'table {{.ID}}\t{{.Name}}\t{{.PIDs}}\t{{.MemUsage}}', name]);
  assert.equal(r.code, 0, r.stderr);
  const [head, row, ...rest] = r.stdout.trimEnd().split('\n');
  assert.deepEqual(rest, []);
  assert.equal(head, `CONTAINER ID${' '.repeat(64 + 3 - 12)}NAME${' '.repeat(Math.max(10, name.length + 3) - 4)}PIDS      MEM USAGE / LIMIT`);
  const [id, rowName, pids, mem] = row.split(/\s{3,}/);
  assert.equal(id, cfg.ID, 'the full ID with --no-trunc');
  assert.equal(rowName, name);
  assert.equal(pids, '3');
  assert.match(mem, /^[\d.]+(B|KiB|MiB) \/ 64MiB$/);
  // a plain template: one line per container, no header; .Container is the name as given
  const plain = lab.run(['stats', '--no-stream', '--format', '{{.Container}} {{.ID}} {{.CPUPerc}} {{.MemPerc}} {{.NetIO}} {{.BlockIO}}', name]);
  assert.equal(plain.code, 0, plain.stderr);
  assert.match(plain.stdout, new RegExp(`^${name} ${cfg.ID.slice(0, 12)} \\d+\\.\\d\\d% \\d+\\.\\d\\d% \\S+ / \\S+ \\S+ / \\S+\\n$`));
  // json: each row's fields by name
  const json = JSON.parse(lab.run(['stats', '--no-stream', '--format', 'json', name]).stdout);
  assert.deepEqual(Object.keys(json), ['BlockIO', 'CPUPerc', 'Container', 'ID', 'MemPerc', 'MemUsage', 'Name', 'NetIO', 'PIDs']);
  // a template that does not parse fails at once, before any sampling
  const bad = lab.run(['stats', '--no-stream', '--format', '{{.ID', name]);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /template parsing error: template: :1: unclosed action/);
  assert.equal((await lab.stop(bg)).code, 0);
  await lab.assertNoLeaks();
});

labTest('stats without --no-stream redraws the table every second until interrupted', async (lab) => {
  const name = `ch2-live-${rand()}`;
  const { bg, cfg } = await threeProcesses(lab, name, ['-m', '64m']);
  const live = lab.start(['stats', name]);
  const frames = () => live.output().split('\x1b[2J\x1b[H').slice(1);
  await until(() => {
    if (live.exit) throw new Error(`stats exited with ${live.exit.code}:\n${live.exit.stderr}`);
    return frames().length >= 3;
  }, 10_000, 'three frames of stats');
  for (const f of frames().slice(0, 3)) {
    const lines = f.trimEnd().split('\n');
    assert.deepEqual(lines[0].trim().split(/\s{2,}/), STATS_HEADER);
    assert.ok(lines[1]?.startsWith(cfg.ID.slice(0, 12)) && lines[1].includes('/ 64MiB'), JSON.stringify(f));
  }
  live.child.kill('SIGINT');
  await Promise.race([live.done, resolveAfter(5000, null)]);
  assert.ok(live.exit, 'stats did not end on SIGINT');
  assert.equal((await lab.stop(bg)).code, 0);
  await lab.assertNoLeaks();
});
