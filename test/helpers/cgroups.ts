// Chapter 2's leak check: a container's cgroup is a directory named
// dockling-<id> somewhere in the host's cgroup hierarchies (under the
// caller's cgroup, or under a --cgroup-parent), in every hierarchy it joined.
// Only the ids of the test's own containers are looked for, so that other
// test runs on the same host do not count as leaks.
import fs from 'node:fs';
import path from 'node:path';

/** Every directory named dockling-<id>, for one of `ids`, anywhere below the directories `roots`. */
export function containerCgroups(roots: string[], ids: Iterable<string>): string[] {
  const names = new Set([...ids].map((id) => `dockling-${id}`));
  if (names.size === 0) return [];
  const found: string[] = [];
  const walk = (dir: string) => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return; // removed while we looked
    }
    for (const e of entries) {
      if (!e.isDirectory()) continue;
      const p = path.join(dir, e.name);
      if (names.has(e.name)) found.push(p);
      walk(p);
    }
  };
  for (const r of roots) walk(r);
  return found;
}

/** Where cgroup hierarchies (v1 and v2) are mounted on the host. */
export function cgroupMounts(): string[] {
  return fs
    .readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter((l) => / - cgroup2? /.test(l))
    .map((l) => l.split(' ')[4]);
}

/** Directories named `name` in any cgroup hierarchy, at any depth up to 6. */
export function cgroupDirs(name: string): string[] {
  const out: string[] = [];
  const walk = (dir: string, depth: number) => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      if (!e.isDirectory()) continue;
      const p = path.join(dir, e.name);
      if (e.name === name) out.push(p);
      else if (depth > 0) walk(p, depth - 1);
    }
  };
  walk('/sys/fs/cgroup', 5);
  return out;
}
