// Chapter 5's rows: what a container's life outside the CLI costs.
//   - memory per detached container: the resident memory (VmRSS) of what
//     holds it (its monitor and nsexec), with 20 containers running, against
//     one idle Node process (what a monitor written in Node would cost);
//   - `run -d` latency (until the CLI returns with the ID), against the
//     foreground `run --rm busybox true` of the main table;
//   - `ps -a` with 100 containers in the state root, against `node -e 0`.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { median } from './stats.js';

export interface ContainerRow {
  label: string;
  value: number;
  unit: 'ms' | 'MiB';
  peer: string;
  peerValue: number;
}

function rssKiB(pid: number): number {
  try {
    return Number(/^VmRSS:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
  } catch {
    return 0;
  }
}

const children = (pid: number): number[] => {
  try {
    return fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
};

export async function containerRows(bin: string, stateRoot: string, env: NodeJS.ProcessEnv, runs: number): Promise<ContainerRow[]> {
  const dockling = (args: string[]) => {
    const t0 = performance.now();
    const r = spawnSync(process.execPath, ['--', bin, '--root', stateRoot, ...args], { encoding: 'utf8', env });
    if (r.status !== 0) throw new Error(`dockling ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
    return { ms: performance.now() - t0, out: r.stdout };
  };
  const ids: string[] = [];
  const rows: ContainerRow[] = [];
  try {
    // 20 detached containers, one after another: each start is a sample.
    const latency: number[] = [];
    for (let i = 0; i < 20; i++) {
      const r = dockling(['run', '-d', 'busybox', 'sleep', '600']);
      latency.push(r.ms);
      ids.push(r.out.trim());
    }
    const perContainer: number[] = [];
    for (const id of ids) {
      const monitor = Number(dockling(['inspect', '-f', '{{.MonitorPid}}', id]).out.trim());
      perContainer.push((rssKiB(monitor) + children(monitor).reduce((n, p) => n + rssKiB(p), 0)) / 1024);
    }
    // The peer: one idle Node process, what a monitor written in Node would weigh.
    const node = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { env, stdio: 'ignore' });
    await new Promise((r) => setTimeout(r, 500));
    const nodeMiB = rssKiB(node.pid!) / 1024;
    node.kill('SIGKILL');
    rows.push({ label: 'memory per detached container (monitor + nsexec, 20 running)', value: median(perContainer), unit: 'MiB', peer: 'an idle node process', peerValue: nodeMiB });
    const fg: number[] = [];
    for (let i = 0; i < Math.min(runs, 10); i++) fg.push(dockling(['run', '--rm', 'busybox', 'true']).ms);
    rows.push({ label: 'run -d busybox sleep (until the CLI returns)', value: median(latency.slice(2)), unit: 'ms', peer: 'run --rm busybox true (foreground)', peerValue: median(fg) });
    dockling(['rm', '-f', ...ids.splice(0)]);

    // 100 stopped containers, made 5 at a time.
    for (let i = 0; i < 100; i += 5) {
      const batch = Array.from({ length: 5 }, () => new Promise<string>((resolve, reject) => {
        const c = spawn(process.execPath, ['--', bin, '--root', stateRoot, 'run', '-d', 'busybox', 'true'], { env });
        let out = '';
        c.stdout.on('data', (d) => (out += d));
        c.on('close', (code) => (code === 0 ? resolve(out.trim()) : reject(new Error(`run -d failed: ${code}`))));
      }));
      ids.push(...(await Promise.all(batch)));
    }
    const ps: number[] = [];
    const floor: number[] = [];
    for (let i = 0; i < Math.min(runs, 10); i++) {
      ps.push(dockling(['ps', '-a']).ms);
      const t0 = performance.now();
      spawnSync(process.execPath, ['-e', '0'], { env });
      floor.push(performance.now() - t0);
    }
    rows.push({ label: 'ps -a with 100 containers in the state root', value: median(ps), unit: 'ms', peer: 'node -e 0', peerValue: median(floor) });
    // The same listing through a Go template (issue 13's --format): what the
    // template engine adds over the fixed table, in the same run.
    const formatted: number[] = [];
    const plain: number[] = [];
    for (let i = 0; i < Math.min(runs, 10); i++) {
      formatted.push(dockling(['ps', '-a', '--format', '{{.ID}} {{.Names}} {{.Status}}']).ms);
      plain.push(dockling(['ps', '-a']).ms);
    }
    rows.push({ label: "ps -a --format '{{.ID}} {{.Names}} {{.Status}}' (100 containers)", value: median(formatted), unit: 'ms', peer: 'ps -a (the fixed table)', peerValue: median(plain) });
  } finally {
    if (ids.length) spawnSync(process.execPath, ['--', bin, '--root', stateRoot, 'rm', '-f', ...ids], { env });
  }
  return rows;
}
