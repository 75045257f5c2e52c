// Removing a directory tree whose depth someone else chose: a layer's
// files, a container's writable layer, an unpacked archive. Node's
// fs.rmSync({recursive}) recurses in JavaScript (Node 20's rimraf): a tree
// a few thousand levels deep, which root in a container can make with
// mkdir+chdir in a loop, overflows the stack ("Maximum call stack size
// exceeded") and leaves the tree half removed. It also uses full paths,
// and the kernel refuses any path longer than PATH_MAX (4096 bytes) with
// ENAMETOOLONG, so the bottom of a deep tree cannot even be named from
// the top.
//
// #region remove-tree
// So the walk here is a loop with its own stack (no recursion), and a
// directory whose path grows long is first renamed up to the top of the
// tree under a short name: rename(2) moves the whole subtree in one step,
// and its children are then named by short paths again.
import fs from 'node:fs';
import path from 'node:path';

/** Below PATH_MAX (4096) by more than one name (NAME_MAX = 255) plus a slash. */
const LONG = 3500;

export function removeTree(top: string): void {
  const st = fs.lstatSync(top, { throwIfNoEntry: false });
  if (!st) return;
  if (!st.isDirectory()) return fs.unlinkSync(top);
  let moved = 0;
  const stack = [top];
  while (stack.length) {
    const dir = stack[stack.length - 1];
    const subdirs: string[] = [];
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      let p = path.join(dir, e.name);
      if (!e.isDirectory()) {
        fs.unlinkSync(p);
        continue;
      }
      if (p.length > LONG) {
        let q: string;
        do q = path.join(top, `.deep-${moved++}`);
        while (fs.existsSync(q));
        fs.renameSync(p, q);
        p = q;
      }
      subdirs.push(p);
    }
    // Empty now, or look again once its subdirectories are gone.
    if (subdirs.length) stack.push(...subdirs);
    else {
      fs.rmdirSync(dir);
      stack.pop();
    }
  }
}
// #endregion remove-tree
