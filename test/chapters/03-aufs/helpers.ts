// What the chapter 3 tests share: Docker's aufs layout read from disk (not
// through runtime/storage), the aufs server's processes, and the container's
// layers as layerdb names them.
//
// Not a test file (no .test.ts): test/run.ts does not run it.
import fs from 'node:fs';
import path from 'node:path';
import { dockling } from '../../helpers/dockling.ts';
import { expectCode } from '../../helpers/chapter.ts';

/** `dockling ARGS` in `root`, insisting on exit 0; returns stdout. */
export function ok(root: string, args: string[], opts: Parameters<typeof dockling>[2] = {}): string {
  return expectCode(dockling(root, args, opts), 0).stdout;
}

/** Docker's aufs layout under a state root. */
export function aufs(root: string) {
  const home = path.join(root, 'aufs');
  return {
    home,
    diff: (id: string) => path.join(home, 'diff', id),
    layers: (id: string) => path.join(home, 'layers', id),
    mnt: (id: string) => path.join(home, 'mnt', id),
    image: path.join(root, 'image/aufs'),
    socket: path.join(home, 'server.sock'),
  };
}

/** The container's writable layer's id (layerdb's mount-id), by container ID. */
export function mountIdOf(root: string, containerID: string): string {
  return fs.readFileSync(path.join(aufs(root).image, 'layerdb/mounts', containerID, 'mount-id'), 'utf8').trim();
}

/** The full ID of a container, by name. */
export function containerID(root: string, name: string): string {
  return ok(root, ['inspect', '--type', 'container', '-f', '{{.Id}}', name]).trim();
}

/** PIDs of the aufs server processes of this state root (by the socket on their command line). */
export { aufsServers as serverPids } from '../../helpers/leaks.ts';

/** fuse.aufs mounts under the state root, from this process's mountinfo. */
export function aufsMounts(root: string): string[] {
  return fs
    .readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter((l) => / - fuse\.aufs /.test(l))
    .map((l) => l.split(' ')[4])
    .filter((m) => m.startsWith(fs.realpathSync(root) + '/'));
}
