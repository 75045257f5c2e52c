// Resolve a path inside a root directory the way the kernel would after a
// chroot into it: "..", absolute symlinks and relative symlinks can never
// lead outside the root. A runtime must resolve every mount destination this
// way, or a rootfs holding `etc -> /etc` would have the init mount over the
// host's /etc (runc uses the securejoin library for the same reason).
import fs from 'node:fs';
import path from 'node:path';

const MAX_SYMLINKS = 40; // the kernel's own limit (ELOOP)

export function secureJoin(root: string, unsafe: string): string {
  const parts = unsafe.split('/').filter((p) => p !== '' && p !== '.');
  const done: string[] = [];
  let links = 0;
  while (parts.length > 0) {
    const part = parts.shift()!;
    if (part === '..') {
      done.pop(); // ".." at the root stays at the root
      continue;
    }
    const full = path.join(root, ...done, part);
    let st: fs.Stats;
    try {
      st = fs.lstatSync(full);
    } catch {
      // Not there (yet): taken by name, to be created under root; a later
      // ".." still steps back out of it.
      done.push(part);
      continue;
    }
    if (!st.isSymbolicLink()) {
      done.push(part);
      continue;
    }
    if (++links > MAX_SYMLINKS) throw new Error(`${unsafe}: too many levels of symbolic links`);
    const target = fs.readlinkSync(full);
    if (target.startsWith('/')) done.length = 0; // absolute: from the root
    parts.unshift(...target.split('/').filter((p) => p !== '' && p !== '.'));
  }
  return path.join(root, ...done);
}
