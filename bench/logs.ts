// Chapter 5's log rows: `dockling logs --tail 2` on a log of about 200 MiB
// (a container's json-file log, filled here the way a `yes` flood would),
// against coreutils `tail -n 2` of the same file; and the CLI's peak memory
// doing it (VmHWM, by /usr/bin/time -f %M), against `node -e 0`'s. Both
// read from the end: neither should care how big the file is.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import type { ContainerRow } from './containers.js';
import { median } from './stats.js';

const MiB = 1024 * 1024;

/** Fill the log with ~`mib` MiB of short entries, as `yes` would make. */
function fill(file: string, mib: number): void {
  const line = JSON.stringify({ log: 'y\n', stream: 'stdout', time: '2026-12-04T06:00:00.000000000Z' }) + '\n';
  const block = Buffer.from(line.repeat(Math.ceil(MiB / line.length)));
  const fd = fs.openSync(file, 'w');
  try {
    for (let n = 0; n < mib * MiB; n += block.length) fs.writeSync(fd, block);
  } finally {
    fs.closeSync(fd);
  }
}

export async function logRows(bin: string, stateRoot: string, env: NodeJS.ProcessEnv, runs: number): Promise<ContainerRow[]> {
  const dockling = (args: string[]) => spawnSync(process.execPath, ['--', bin, '--root', stateRoot, ...args], { encoding: 'utf8', env });
  const made = dockling(['run', '-d', 'busybox', 'true']);
  if (made.status !== 0) throw new Error(`run -d failed (${made.status}): ${made.stderr}`);
  const id = made.stdout.trim();
  try {
    dockling(['wait', id]);
    const file = dockling(['inspect', '-f', '{{.LogPath}}', id]).stdout.trim();
    fill(file, 200);
    const time = (cmd: string, args: string[]) => {
      const t0 = performance.now();
      const r = spawnSync(cmd, args, { encoding: 'utf8', env });
      if (r.status !== 0 || r.stdout === '') throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
      return performance.now() - t0;
    };
    const ours: number[] = [];
    const tail: number[] = [];
    for (let i = 0; i < Math.min(runs, 10); i++) {
      ours.push(time(process.execPath, ['--', bin, '--root', stateRoot, 'logs', '--tail', '2', id]));
      tail.push(time('tail', ['-n', '2', file]));
    }
    const rows: ContainerRow[] = [{ label: 'logs --tail 2 on a 200 MiB log', value: median(ours), unit: 'ms', peer: 'tail -n 2 of the same file', peerValue: median(tail) }];
    if (fs.existsSync('/usr/bin/time')) {
      const peak = (args: string[]) => Number(/RSS=(\d+)/.exec(spawnSync('/usr/bin/time', ['-f', 'RSS=%M', process.execPath, ...args], { encoding: 'utf8', env }).stderr)?.[1] ?? NaN) / 1024;
      rows.push({ label: 'logs --tail 2 on a 200 MiB log: peak RSS', value: peak(['--', bin, '--root', stateRoot, 'logs', '--tail', '2', id]), unit: 'MiB', peer: 'node -e 0', peerValue: peak(['-e', '0']) });
    }
    return rows;
  } finally {
    dockling(['rm', '-f', id]);
  }
}
