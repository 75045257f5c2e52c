// `top` and `stats`: what a container's cgroup says about it.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import type { Command } from '../core/layer.js';
import { RunError } from '../core/pipeline.js';
import { isRunning, listContainers, resolveContainer, type ContainerConfig } from '../core/containers.js';
import { shortId } from '../core/ids.js';
import { tabwrite } from '../core/template/index.js';
import { detectDriver } from './detect.js';
import { formatRecords } from '../core/list-format.js';
import { bytesSize, decimalSize } from './units.js';
import type { CgroupStats } from './driver.js';

function containerOrFail(root: string, ref: string): ContainerConfig {
  try {
    return resolveContainer(root, ref);
  } catch (e) {
    throw new RunError(1, `Error response from daemon: ${(e as Error).message}`, { cause: e });
  }
}

function runningContainer(root: string, ref: string): ContainerConfig {
  const c = containerOrFail(root, ref);
  if (!isRunning(c) || !c.CgroupPaths) throw new RunError(1, `Error response from daemon: Container ${c.ID} is not running`);
  return c;
}

/** A stopped container has no cgroup: docker stats shows it as a row of zeros. */
const NOTHING: CgroupStats = { cpuNs: 0, memoryUsage: 0, memoryLimit: 0, pids: 0, pidsLimit: null, oomKills: 0, blkioRead: 0, blkioWrite: 0 };
const live = (c: ContainerConfig) => isRunning(c) && Boolean(c.CgroupPaths);

export const topCommand: Command = {
  name: 'top',
  summary: 'Display the running processes of a container',
  usage: 'top CONTAINER [ps OPTIONS]',
  flags: [],
  stopAtFirstArg: true,
  minArgs: 1,
  async run(inv) {
    const [ref, ...psArgs] = inv.args;
    const c = runningContainer(inv.stateRoot, ref);
    // The cgroup knows exactly which processes are the container's; ps on
    // the host describes them (Docker does the same, with `ps -ef` by default).
    const pids = new Set(detectDriver().open(c.CgroupPaths!).pids());
    let out: string;
    try {
      out = execFileSync('ps', psArgs.length ? psArgs : ['-ef'], { encoding: 'utf8' });
    } catch (e) {
      throw new RunError(1, `Error response from daemon: ps: ${(e as Error).message}`, { cause: e });
    }
    const [header, ...rows] = out.trimEnd().split('\n');
    const titles = header.trim().split(/\s+/);
    const col = titles.indexOf('PID');
    if (col < 0) throw new RunError(1, 'Error response from daemon: Couldn\'t find PID field in ps output');
    // Docker's daemon splits each row into as many fields as there are
    // titles, the overhanging words of the last one (the command and its
    // arguments) joined by one space; its CLI lays them out with Go's
    // tabwriter, columns at least 20 wide and 3 apart.
    const table = [titles.join('\t')];
    for (const row of rows) {
      const fields = row.trim().split(/\s+/);
      if (!pids.has(Number(fields[col]))) continue;
      table.push([...fields.slice(0, titles.length - 1), fields.slice(titles.length - 1).join(' ')].join('\t'));
    }
    process.stdout.write(tabwrite(table.join('\n'), { minWidth: 20, padding: 3 }) + '\n');
    return 0;
  },
};

/** A container to show, and the name the user gave it on the command line, if any. */
interface Named {
  c: ContainerConfig;
  named?: string;
}

interface Sample extends Named {
  s: CgroupStats;
  at: bigint;
  net: [number, number];
}

/** Bytes received and sent by the container's interfaces (its netns's /proc/net/dev). */
function netIO(pid: number): [number, number] {
  let rx = 0;
  let tx = 0;
  try {
    for (const line of fs.readFileSync(`/proc/${pid}/net/dev`, 'utf8').split('\n').slice(2)) {
      const [name, rest] = line.split(':');
      if (!rest || name.trim() === 'lo') continue;
      const f = rest.trim().split(/\s+/).map(Number);
      rx += f[0];
      tx += f[8];
    }
  } catch {
    /* the process is gone (the container just exited): no traffic to count */
  }
  return [rx, tx];
}

function sample(cs: Named[]): Sample[] {
  const driver = detectDriver();
  return cs.map(({ c, named }) => (live(c)
    ? { c, named, s: driver.open(c.CgroupPaths!).stats(), at: process.hrtime.bigint(), net: netIO(c.State.Pid) }
    : { c, named, s: NOTHING, at: process.hrtime.bigint(), net: [0, 0] as [number, number] }));
}

const pct = (x: number) => `${x.toFixed(2)}%`;

// #region stats-table
/**
 * One row of `docker stats`, by the names its --format knows: from two
 * samples of the container's cgroup. `Container` is what the user named
 * it (the full ID when none was named), as in docker/cli.
 */
function statsRow(prev: Sample[], n: Sample, trunc: boolean): Record<string, string> {
  const p = prev.find((x) => x.c.ID === n.c.ID);
  // CPU % as docker stats shows it: CPU time used over wall time elapsed,
  // where 100% is one whole CPU.
  const cpu = p ? ((n.s.cpuNs - p.s.cpuNs) / Number(n.at - p.at)) * 100 : 0;
  const limit = n.s.memoryLimit ?? os.totalmem();
  return {
    Container: n.named ?? n.c.ID,
    Name: n.c.Name.slice(1) || '--',
    ID: trunc ? shortId(n.c.ID) : n.c.ID,
    CPUPerc: pct(Math.max(0, cpu)),
    MemUsage: `${bytesSize(n.s.memoryUsage)} / ${bytesSize(limit)}`,
    MemPerc: pct(limit ? (n.s.memoryUsage / limit) * 100 : 0),
    NetIO: `${decimalSize(n.net[0])} / ${decimalSize(n.net[1])}`,
    BlockIO: `${decimalSize(n.s.blkioRead)} / ${decimalSize(n.s.blkioWrite)}`,
    PIDs: String(n.s.pids),
  };
}

// docker/cli's stats table: the default format and each field's header.
const STATS_TABLE = 'table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}';
const STATS_HEADER = {
  Container: 'CONTAINER', Name: 'NAME', ID: 'CONTAINER ID', CPUPerc: 'CPU %', MemUsage: 'MEM USAGE / LIMIT',
  MemPerc: 'MEM %', NetIO: 'NET I/O', BlockIO: 'BLOCK I/O', PIDs: 'PIDS',
};
// #endregion stats-table

export const statsCommand: Command = {
  name: 'stats',
  summary: "Display a live stream of container(s) resource usage statistics",
  usage: 'stats [OPTIONS] [CONTAINER...]',
  flags: [
    { name: 'all', short: 'a', kind: 'bool', usage: 'Show all containers (default shows just running)' },
    { name: 'format', kind: 'string', usage: "Format output using a custom template: 'table' (the default), 'table TEMPLATE' (a table with headers), 'json', or a Go TEMPLATE" },
    { name: 'no-stream', kind: 'bool', usage: 'Disable streaming stats and only pull the first result' },
    { name: 'no-trunc', kind: 'bool', usage: 'Do not truncate output' },
  ],
  async run(inv) {
    const given = inv.flags.get('format') as string | undefined;
    const format = given && given !== 'table' ? given : STATS_TABLE;
    const trunc = !inv.flags.get('no-trunc');
    // Named containers are shown whatever their state (a stopped one as
    // zeros, as docker stats does); without names, the running ones, or
    // with -a every container, the stopped ones as zeros.
    const pick = (): Named[] =>
      inv.args.length
        ? inv.args.map((r) => ({ c: containerOrFail(inv.stateRoot, r), named: r }))
        : listContainers(inv.stateRoot).filter((c) => inv.flags.get('all') || live(c)).map((c) => ({ c }));
    const render = (prev: Sample[], now: Sample[]) => formatRecords(format, '*formatter.statsContext', STATS_HEADER, now.map((n) => statsRow(prev, n, trunc)));
    const noStream = Boolean(inv.flags.get('no-stream'));
    // A template that cannot work fails now, not after the first second.
    render([], []);
    let prev = sample(pick());
    // CPU % needs two readings; Docker's --no-stream also waits for a second one.
    await new Promise((r) => setTimeout(r, noStream ? 500 : 1000));
    for (;;) {
      const now = sample(pick());
      if (noStream) {
        process.stdout.write(render(prev, now));
        return 0;
      }
      // Clear the screen and home the cursor, then redraw, like docker stats.
      process.stdout.write('\x1b[2J\x1b[H' + render(prev, now));
      prev = now;
      await new Promise((r) => setTimeout(r, 1000));
    }
  },
};
