// runc, the reference OCI runtime, running the bench's busybox rootfs as an
// OCI bundle (PEERS.md's recipe, with the JSON edit done here rather than by jq).
import fs from 'node:fs';
import path from 'node:path';
import { BenchError } from './host.js';
import { timeRun, type Children } from './spawn.js';

/** `runc spec` in bundleDir, then: no terminal, run /bin/true, root = rootfs. */
export async function makeBundle(runc: string, bundleDir: string, rootfs: string, env: NodeJS.ProcessEnv, children: Children): Promise<void> {
  fs.mkdirSync(bundleDir, { recursive: true });
  const r = await timeRun({ file: runc, args: ['spec', '--bundle', bundleDir], env }, children);
  if (r.code !== 0) throw new BenchError(`runc spec failed (status ${r.code}): ${r.stderr.trim()}`);
  const file = path.join(bundleDir, 'config.json');
  const config = JSON.parse(fs.readFileSync(file, 'utf8')) as {
    process: { terminal: boolean; args: string[] };
    root: { path: string; readonly?: boolean };
  };
  config.process.terminal = false;
  config.process.args = ['/bin/true'];
  // The very directory the floor chroots into and dockling runs, instead of
  // a copy at bundle/rootfs (runc accepts an absolute root.path).
  config.root.path = rootfs;
  fs.writeFileSync(file, JSON.stringify(config, null, 2) + '\n');
}

// (async, like everything in the clean-up: a blocked event loop could not
// answer the signal relay of tsx, which then SIGKILLs the bench half-way)

/** Containers runc still knows under its state root. */
export async function runcContainers(runc: string, stateRoot: string, children: Children): Promise<string[]> {
  if (!fs.existsSync(stateRoot)) return [];
  const r = await timeRun({ file: runc, args: ['--root', stateRoot, 'list', '--quiet'], env: process.env }, children, { stdout: true });
  return r.code === 0 ? r.stdout.split('\n').filter(Boolean) : [];
}

/** `runc delete -f` every container under the state root (and the ids given). */
export async function deleteAll(runc: string, stateRoot: string, ids: Iterable<string>, children: Children): Promise<void> {
  if (!fs.existsSync(stateRoot)) return;
  for (const id of new Set([...(await runcContainers(runc, stateRoot, children)), ...ids])) {
    await timeRun({ file: runc, args: ['--root', stateRoot, 'delete', '--force', id], env: process.env }, children);
  }
}
