// What the layer tar tests compare: a directory tree, described entry by
// entry (a directory's own size is left out: it depends on the filesystem).
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { lgetxattr, llistxattr } from '../../../runtime/sys/libc.js';

export /** type, mode, owner, size, content, link target, device, mtime (s), user.* xattrs; and which names share an inode. */
function describeTree(root: string): { entries: Record<string, string>; links: string[][] } {
  const entries: Record<string, string> = {};
  const inodes = new Map<bigint, string[]>();
  const walk = (d: string) => {
    for (const name of fs.readdirSync(d).sort()) {
      const p = path.join(d, name);
      const rel = path.relative(root, p);
      const st = fs.lstatSync(p, { bigint: true });
      const type = st.isFile() ? 'f' : st.isDirectory() ? 'd' : st.isSymbolicLink() ? 'l' : st.isFIFO() ? 'p' : st.isCharacterDevice() ? 'c' : 'b';
      const what = type === 'f' ? createHash('sha256').update(fs.readFileSync(p)).digest('hex') : type === 'l' ? fs.readlinkSync(p) : String(st.rdev);
      const xattrs = llistxattr(p).filter((x) => x.startsWith('user.')).map((x) => `${x}=${lgetxattr(p, x)!.toString('hex')}`);
      entries[rel] = [type, type === 'l' ? '' : (st.mode & 0o7777n).toString(8), st.uid, st.gid, type === 'd' ? '' : st.size, what, st.mtimeNs / 1_000_000_000n, ...xattrs].join(' ');
      if (type !== 'd') inodes.set(st.ino, [...(inodes.get(st.ino) ?? []), rel]);
      if (type === 'd') walk(p);
    }
  };
  walk(root);
  return { entries, links: [...inodes.values()].filter((g) => g.length > 1).map((g) => g.sort()).sort() };
}
