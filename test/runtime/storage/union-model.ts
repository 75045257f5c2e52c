// The model behind union.test.ts: a tree as a flat map of path -> node, the
// OCI rules for applying a layer tar to it, random layers and file
// operations, and what `docker diff` should list for them.
//
// OCI "Image Layer Filesystem Changeset": a layer's entries replace what the
// stack below has at their paths (a non-directory or a type change replaces
// the whole subtree; a directory over a directory only sets its metadata);
// "DIR/.wh.NAME" deletes NAME from the stack below, "DIR/.wh..wh..opq" deletes
// everything the stack below had in DIR; whiteouts never touch entries of
// their own layer.
import fs from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import type { TarEntry } from '../../../runtime/storage/tar.ts';
import type { Change } from '../../../runtime/storage/driver.ts';

export type Node = { type: 'dir'; mode: number } | { type: 'file'; mode: number; content: string } | { type: 'symlink'; target: string };
export type Tree = Map<string, Node>;
export type TarItem = { entry: TarEntry; body: string };

const NAMES = ['a', 'b', 'c', 'd'];
const DIR_MODES = [0o755, 0o700, 0o750, 0o711];
const FILE_MODES = [0o644, 0o600, 0o755, 0o640];
// Symlink targets that lead nowhere on the host (nothing here follows them anyway).
const TARGETS = ['nowhere', '../up/and/away', '/dockling-none', 'a/b'];

const parentOf = (p: string) => (p.includes('/') ? p.slice(0, p.lastIndexOf('/')) : '');
const isUnder = (p: string, q: string) => q === '' || p.startsWith(q + '/');
const join = (dir: string, name: string) => (dir ? `${dir}/${name}` : name);
function ancestors(p: string): string[] {
  const out: string[] = [];
  for (let a = parentOf(p); a !== ''; a = parentOf(a)) out.unshift(a);
  return out;
}
function removeSubtree(t: Tree, p: string): void {
  t.delete(p);
  for (const k of [...t.keys()]) if (isUnder(k, p)) t.delete(k);
}
const childrenOf = (t: Tree, p: string) => [...t.keys()].filter((k) => parentOf(k) === p);

// --- layers ---

export type LayerItem = { kind: 'file' | 'dir' | 'symlink' | 'whiteout' | 'opaque'; path: string[]; mode: number; content: string; target: string };

const content = fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom('', 'ünï', 'line\n'));
export const layerArb = fc.array(
  fc.record({
    kind: fc.constantFrom('file', 'dir', 'symlink', 'whiteout', 'opaque', 'file', 'dir') as fc.Arbitrary<LayerItem['kind']>,
    path: fc.array(fc.constantFrom(...NAMES), { minLength: 1, maxLength: 3 }),
    mode: fc.nat(3),
    content,
    target: fc.constantFrom(...TARGETS),
  }),
  { minLength: 1, maxLength: 8 },
);

/**
 * A layer's tar entries for these items, on top of the tree `below`: the
 * parents of every entry are in the tar too (with the mode they have below,
 * as a real layer's copied-up parents do), and an item that would clash
 * with an earlier one of the same layer is dropped.
 */
export function layerEntries(items: LayerItem[], below: Tree): TarItem[] {
  type L = { kind: 'dir' | 'file' | 'symlink' | 'whiteout'; mode: number; content: string; target: string; opaque: boolean };
  const layer = new Map<string, L>();
  for (const it of items) {
    const p = it.path.join('/');
    if (ancestors(p).some((a) => layer.has(a) && layer.get(a)!.kind !== 'dir')) continue;
    const here = layer.get(p);
    const inside = [...layer.keys()].some((k) => isUnder(k, p));
    const kind = it.kind === 'opaque' ? 'dir' : it.kind;
    // A whiteout only for what the stack below shows, as in a real layer:
    // one that hides nothing, in a directory only its own layer has, is
    // listed by readdir in the merged view but cannot be looked up (the
    // kernel filters whiteouts only in directories it merges).
    if (kind === 'whiteout' && !below.has(p)) continue;
    if (here || inside) {
      // only a directory may be said again (new mode, or made opaque)
      if (here?.kind !== 'dir' || kind !== 'dir') continue;
      here.mode = DIR_MODES[it.mode];
      here.opaque ||= it.kind === 'opaque';
      continue;
    }
    for (const a of ancestors(p)) {
      const b = below.get(a);
      if (!layer.has(a)) layer.set(a, { kind: 'dir', mode: b?.type === 'dir' ? b.mode : 0o755, content: '', target: '', opaque: false });
    }
    const mode = kind === 'dir' ? DIR_MODES[it.mode] : FILE_MODES[it.mode];
    layer.set(p, { kind, mode, content: it.content, target: it.target, opaque: it.kind === 'opaque' });
  }
  const out: TarItem[] = [];
  for (const [p, l] of layer) {
    // (and none under an opaque directory of its own layer: it would hide nothing)
    if (l.kind === 'whiteout' && ancestors(p).some((a) => layer.get(a)!.opaque)) continue;
    if (l.kind === 'whiteout') out.push({ entry: { name: join(parentOf(p), '.wh.' + path.basename(p)), type: 'file', mode: 0o600 }, body: '' });
    else if (l.kind === 'dir') {
      out.push({ entry: { name: p + '/', type: 'dir', mode: l.mode }, body: '' });
      if (l.opaque) out.push({ entry: { name: p + '/.wh..wh..opq', type: 'file', mode: 0o600 }, body: '' });
    } else if (l.kind === 'file') out.push({ entry: { name: p, type: 'file', mode: l.mode }, body: l.content });
    else out.push({ entry: { name: p, type: 'symlink', mode: 0o777, linkname: l.target }, body: '' });
  }
  return out.sort((x, y) => (x.entry.name < y.entry.name ? -1 : 1));
}

/** Apply a layer's entries to `below` with the OCI rules; returns the new tree. */
export function applyLayer(below: Tree, entries: TarItem[]): Tree {
  const t = new Map(below);
  const norm = (n: string) => n.replace(/^(\.\/)+/, '').replace(/^\/+/, '').replace(/\/+$/, '');
  // Whiteouts first: they delete from the layers below, never from their own.
  for (const { entry } of entries) {
    const p = norm(entry.name);
    const base = path.posix.basename(p);
    if (base === '.wh..wh..opq') for (const c of childrenOf(t, parentOf(p))) removeSubtree(t, c);
    else if (base.startsWith('.wh.')) removeSubtree(t, join(parentOf(p), base.slice(4)));
  }
  for (const { entry, body } of entries) {
    const p = norm(entry.name);
    if (p === '' || path.posix.basename(p).startsWith('.wh.')) continue;
    const mode = (entry.mode ?? 0) & 0o7777;
    const node: Node =
      entry.type === 'dir' ? { type: 'dir', mode }
      : entry.type === 'file' ? { type: 'file', mode, content: body }
      : entry.type === 'symlink' ? { type: 'symlink', target: entry.linkname ?? '' }
      : (() => { throw new Error(`the model has no ${entry.type} entries (${entry.name})`); })();
    const parent = parentOf(p);
    if (parent !== '' && t.get(parent)?.type !== 'dir') throw new Error(`tar entry ${entry.name} comes before (or without) its parent directory`);
    const old = t.get(p);
    if (old && !(old.type === 'dir' && node.type === 'dir')) removeSubtree(t, p);
    t.set(p, node);
  }
  return t;
}

// --- operations in the merged view ---

export type Op = {
  kind: 'write' | 'append' | 'delete' | 'mkdir' | 'rmdir' | 'rmrf' | 'replace' | 'rename' | 'symlink' | 'chmod';
  pick: number;
  pick2: number;
  name: string;
  content: string;
  mode: number;
  target: string;
};

export const opArb: fc.Arbitrary<Op> = fc.record({
  kind: fc.constantFrom('write', 'append', 'delete', 'mkdir', 'rmdir', 'rmrf', 'replace', 'rename', 'symlink', 'chmod') as fc.Arbitrary<Op['kind']>,
  pick: fc.nat(1000),
  pick2: fc.nat(1000),
  name: fc.constantFrom(...NAMES),
  content,
  mode: fc.nat(3),
  target: fc.constantFrom(...TARGETS),
});

/** The tree as the operations leave it, and every path they made the kernel copy up or create. */
export class Model {
  tree: Tree;
  touched = new Set<string>();
  constructor(lower: Tree) {
    this.tree = new Map(lower);
  }
  /** a change at p copies up (or creates) every directory above it */
  touchAbove(p: string): void {
    for (const a of ancestors(p)) this.touched.add(a);
  }
  touch(p: string): void {
    this.touchAbove(p);
    this.touched.add(p);
  }
  of(type: Node['type']): string[] {
    return [...this.tree].filter(([, n]) => n.type === type).map(([p]) => p).sort();
  }
}

/** `mv`: rename(2), and on EXDEV (a lower directory, with redirect_dir=off) copy, then delete. */
function mv(src: string, dst: string): void {
  try {
    fs.renameSync(src, dst);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EXDEV') throw e;
    copyTree(src, dst);
    fs.rmSync(src, { recursive: true });
  }
}
function copyTree(src: string, dst: string): void {
  const st = fs.lstatSync(src);
  if (st.isSymbolicLink()) return fs.symlinkSync(fs.readlinkSync(src), dst);
  if (st.isDirectory()) {
    fs.mkdirSync(dst);
    for (const n of fs.readdirSync(src)) copyTree(path.join(src, n), path.join(dst, n));
  } else fs.copyFileSync(src, dst);
  fs.chmodSync(dst, st.mode & 0o7777);
}

/** Do `op` in the merged dir and in the model (an op with nothing to act on does nothing). */
export function run(op: Op, m: Model, merged: string): void {
  const t = m.tree;
  const abs = (p: string) => path.join(merged, p);
  const pickFrom = (xs: string[], n: number) => (xs.length ? xs[n % xs.length] : undefined);
  const dirs = ['', ...m.of('dir')];
  const fresh = () => {
    const p = join(dirs[op.pick2 % dirs.length], op.name);
    return t.has(p) ? undefined : p;
  };
  switch (op.kind) {
    case 'write': {
      const p = op.pick % 2 ? pickFrom(m.of('file'), op.pick2) : fresh();
      if (p === undefined) return;
      const old = t.get(p);
      fs.writeFileSync(abs(p), op.content);
      if (!old) fs.chmodSync(abs(p), FILE_MODES[op.mode]);
      t.set(p, { type: 'file', mode: old?.type === 'file' ? old.mode : FILE_MODES[op.mode], content: op.content });
      return m.touch(p);
    }
    case 'append': {
      const p = pickFrom(m.of('file'), op.pick);
      if (p === undefined) return;
      const old = t.get(p) as Extract<Node, { type: 'file' }>;
      fs.appendFileSync(abs(p), op.content);
      t.set(p, { ...old, content: old.content + op.content });
      return m.touch(p);
    }
    case 'delete': {
      const p = pickFrom([...m.of('file'), ...m.of('symlink')].sort(), op.pick);
      if (p === undefined) return;
      fs.unlinkSync(abs(p));
      t.delete(p);
      return m.touchAbove(p);
    }
    case 'mkdir':
    case 'symlink': {
      const p = fresh();
      if (p === undefined) return;
      if (op.kind === 'mkdir') {
        fs.mkdirSync(abs(p));
        fs.chmodSync(abs(p), DIR_MODES[op.mode]);
        t.set(p, { type: 'dir', mode: DIR_MODES[op.mode] });
      } else {
        fs.symlinkSync(op.target, abs(p));
        t.set(p, { type: 'symlink', target: op.target });
      }
      return m.touch(p);
    }
    case 'rmdir':
    case 'rmrf': {
      const candidates = m.of('dir').filter((d) => op.kind === 'rmrf' || childrenOf(t, d).length === 0);
      const p = pickFrom(candidates, op.pick);
      if (p === undefined) return;
      if (op.kind === 'rmdir') fs.rmdirSync(abs(p));
      else fs.rmSync(abs(p), { recursive: true });
      removeSubtree(t, p);
      return m.touchAbove(p);
    }
    case 'replace': {
      // rm -rf DIR && mkdir DIR: overlayfs marks the new DIR opaque
      const p = pickFrom(m.of('dir'), op.pick);
      if (p === undefined) return;
      fs.rmSync(abs(p), { recursive: true });
      fs.mkdirSync(abs(p));
      fs.chmodSync(abs(p), DIR_MODES[op.mode]);
      removeSubtree(t, p);
      t.set(p, { type: 'dir', mode: DIR_MODES[op.mode] });
      return m.touch(p);
    }
    case 'rename': {
      const src = pickFrom([...t.keys()].sort(), op.pick);
      const dst = fresh();
      if (src === undefined || dst === undefined || isUnder(dst, src)) return;
      mv(abs(src), abs(dst));
      const moved = [...t].filter(([k]) => k === src || isUnder(k, src));
      removeSubtree(t, src);
      m.touchAbove(src);
      for (const [k, n] of moved) {
        const to = dst + k.slice(src.length);
        t.set(to, n);
        m.touch(to);
      }
      return;
    }
    case 'chmod': {
      const p = pickFrom([...m.of('file'), ...m.of('dir')].sort(), op.pick);
      if (p === undefined) return;
      const n = t.get(p) as Extract<Node, { mode: number }>;
      const mode = (n.type === 'dir' ? DIR_MODES : FILE_MODES)[op.mode];
      fs.chmodSync(abs(p), mode);
      t.set(p, { ...n, mode });
      return m.touch(p);
    }
  }
}

/**
 * What changes() should list: A for a path the stack below lacks; C for one
 * it has that an operation copied up or re-made; D for one it has that is
 * gone, listed where the deletion starts (its parent is still a directory).
 */
export function expectedChanges(lower: Tree, m: Model): Change[] {
  const out: Change[] = [];
  for (const p of m.tree.keys()) {
    if (!lower.has(p)) out.push({ kind: 'A', path: '/' + p });
    else if (m.touched.has(p)) out.push({ kind: 'C', path: '/' + p });
  }
  for (const p of lower.keys()) {
    const parent = parentOf(p);
    if (!m.tree.has(p) && (parent === '' || m.tree.get(parent)?.type === 'dir')) out.push({ kind: 'D', path: '/' + p });
  }
  return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}
