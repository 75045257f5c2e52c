// Chapter 5's exec row: `dockling exec C true` against the floor, util-linux
// `nsenter -t PID -a true` (setns into every namespace, fork, exec: nothing
// else), on the same running container in the same run. A second row times
// dist/nsenter alone against that floor: what our helper adds, which is
// mostly its re-exec from a sealed memfd copy of itself (CVE-2019-5736,
// runtime/process/sealed-exec.h) and the cgroup joins.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { median } from './stats.js';
import type { ContainerRow } from './containers.js';

export async function execRows(bin: string, stateRoot: string, env: NodeJS.ProcessEnv, runs: number): Promise<ContainerRow[]> {
  const nsenter = path.join(path.dirname(bin), '..', 'dist', 'nsenter');
  const timed = (file: string, args: string[]) => {
    const t0 = performance.now();
    const r = spawnSync(file, args, { encoding: 'utf8', env, stdio: ['ignore', 'pipe', 'pipe'] });
    if (r.status !== 0) throw new Error(`${file} ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
    return { ms: performance.now() - t0, out: r.stdout };
  };
  const dockling = (args: string[]) => timed(process.execPath, ['--', bin, '--root', stateRoot, ...args]);
  const id = dockling(['run', '-d', 'busybox', 'sleep', '600']).out.trim();
  try {
    const pid = dockling(['inspect', '-f', '{{.State.Pid}}', id]).out.trim();
    const ours: number[] = [];
    const helper: number[] = [];
    const floor: number[] = [];
    // Interleaved, so that the load of the moment weighs on all three alike.
    for (let i = 0; i < runs + 2; i++) {
      const e = dockling(['exec', id, 'true']).ms;
      const h = timed(nsenter, [pid, '--', 'true']).ms;
      const f = timed('nsenter', ['-t', pid, '-a', 'true']).ms;
      if (i < 2) continue; // warm-up
      ours.push(e);
      helper.push(h);
      floor.push(f);
    }
    return [
      { label: 'exec C true (until the CLI returns)', value: median(ours), unit: 'ms', peer: 'nsenter -t PID -a true', peerValue: median(floor) },
      { label: 'dist/nsenter PID true (sealed memfd re-exec)', value: median(helper), unit: 'ms', peer: 'nsenter -t PID -a true', peerValue: median(floor) },
    ];
  } finally {
    spawnSync(process.execPath, ['--', bin, '--root', stateRoot, 'rm', '-f', id], { env });
  }
}
