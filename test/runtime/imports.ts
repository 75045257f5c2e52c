// The rule the folders of runtime/ keep: dependencies point down the
// chapter order only. Chapter N's folder may use what chapters 1..N-1 built
// (and the base below every layer), never what a later chapter builds, so
// that a learner reading chapter N meets nothing of chapters still to come,
// and `--chapter N` runs only code chapter N's reader has seen. And no two
// folders import each other, even by a detour: a cycle would make them one
// chapter in fact.
//
// The checker is a pure function over a map "file → the files it imports"
// (importGraph reads that map from the tree), so that its own tests can hand
// it a fabricated graph (imports.test.ts).
import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

/**
 * The folders of runtime/, in chapter order: a folder may import only
 * folders of a lower rank. A folder added for a new chapter goes into this
 * table at its chapter's place; one not in the table fails the test, so
 * that nobody adds a folder without deciding where it stands.
 */
export const FOLDER_RANKS: Record<string, number> = {
  // The base, below every layer. sys (the libc binding) and trace (the
  // events every layer records) stand alone: they import no other runtime
  // folder, not even each other. core (the pipeline, the layer interface,
  // flags, tables, digests) may import both.
  sys: 0,
  trace: 0,
  core: 1,
  // One folder per chapter, by chapter number.
  process: 10, // chapter 1: namespaces, the init, exec
  cgroups: 20, // chapter 2
  storage: 40, // chapters 3-4: the layer store, the aufs driver (and its FUSE server) and the overlay2 driver, below the images that use them
  image: 45, // chapter 3: the image store (chapter 4 adds only a driver, in storage/)
  container: 50, // chapter 5: the monitor, detached containers
  network: 60, // chapter 6
  volume: 70, // chapter 7
  registry: 80, // chapter 8
  build: 90, // chapter 9
  engine: 100, // chapter 10
  security: 110, // chapter 11: hardening
  // On top: the command line and the walkthrough put every layer together.
  cli: 1000,
  tui: 1000,
};

/** Folders on top: they may import any runtime folder. */
const TOP = new Set(['cli', 'tui']);

/** Imports from outside runtime/ that a folder may make (repository-relative paths, without extension). */
const OUTSIDE_ALLOWED: Record<string, string[]> = {
  // The walkthrough runs the chapters' demo steps.
  tui: ['chapters/demo'],
};

/** repository-relative file → the repository-relative files it imports (relative imports only). */
export type ImportGraph = Map<string, string[]>;

/** The runtime/ folder of a repository-relative path ("runtime/core/x.ts" → "core"), or null outside runtime/ or at its top. */
export function folderOf(file: string): string | null {
  const parts = file.split('/');
  return parts[0] === 'runtime' && parts.length > 2 ? parts[1] : null;
}

export interface Verdict {
  /** one line per import cycle between folders, naming one import of each step */
  cycles: string[];
  /** one line per import that points up the chapter order, or out of runtime/ */
  backward: string[];
  /** folders not in FOLDER_RANKS */
  unknown: string[];
}

/** Check an import graph against the chapter order. Pure: the same graph, the same verdict. */
export function checkImports(graph: ImportGraph, ranks: Record<string, number> = FOLDER_RANKS): Verdict {
  const backward: string[] = [];
  const unknown = new Set<string>();
  // folder → folder → the first import found that makes that edge (file, imported file)
  const edges = new Map<string, Map<string, [string, string]>>();
  const files = [...graph.keys()].sort();
  for (const file of files) {
    const from = folderOf(file);
    if (from === null) continue;
    if (!(from in ranks)) unknown.add(from);
    for (const target of graph.get(file)!) {
      const to = folderOf(target);
      if (to === null) {
        const bare = target.replace(/\.(ts|tsx|js)$/, '');
        if (!(OUTSIDE_ALLOWED[from] ?? []).includes(bare)) backward.push(`${file} imports ${target}, outside runtime/'s folders`);
        continue;
      }
      if (to === from) continue;
      if (!(to in ranks)) unknown.add(to);
      if (!edges.has(from)) edges.set(from, new Map());
      if (!edges.get(from)!.has(to)) edges.get(from)!.set(to, [file, target]);
      const allowed = TOP.has(from) || (from in ranks && to in ranks && ranks[to] < ranks[from]);
      if (!allowed) backward.push(`${file} imports ${target}: ${from}/ may not import ${to}/ (${to}/ is not below it in the chapter order)`);
    }
  }
  return { cycles: folderCycles(edges), backward, unknown: [...unknown].sort() };
}

/**
 * One cycle for each knot of folders that import each other (a strongly
 * connected component of more than one folder, found with Tarjan's
 * algorithm), written as its steps: "a → b (x.ts imports y.ts) → a (…)".
 */
function folderCycles(edges: Map<string, Map<string, [string, string]>>): string[] {
  const next = (f: string) => [...(edges.get(f)?.keys() ?? [])].sort();
  const nodes = [...new Set([...edges.keys(), ...[...edges.values()].flatMap((m) => [...m.keys()])])].sort();
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const components: string[][] = [];
  let counter = 0;
  const visit = (v: string) => {
    index.set(v, counter);
    low.set(v, counter++);
    stack.push(v);
    onStack.add(v);
    for (const w of next(v)) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const c: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        c.push(w);
      } while (w !== v);
      if (c.length > 1) components.push(c.sort());
    }
  };
  for (const v of nodes) if (!index.has(v)) visit(v);

  // In each knot, the shortest way from its first folder back to itself
  // (breadth first, inside the knot): a cycle a reader can follow.
  return components.map((c) => {
    const inKnot = new Set(c);
    const start = c[0];
    const prev = new Map<string, string>();
    const queue = [start];
    let last: string | undefined;
    while (queue.length && last === undefined) {
      const v = queue.shift()!;
      for (const w of next(v).filter((x) => inKnot.has(x))) {
        if (w === start) {
          last = v;
          break;
        }
        if (!prev.has(w)) {
          prev.set(w, v);
          queue.push(w);
        }
      }
    }
    const way = [start];
    for (let v = last!; v !== start; v = prev.get(v)!) way.splice(1, 0, v);
    way.push(start);
    const steps = way.slice(1).map((to, i) => {
      const [file, target] = edges.get(way[i])!.get(to)!;
      return `→ ${to}/ (${file} imports ${target})`;
    });
    return `${way[0]}/ ${steps.join(' ')}${c.length > way.length - 1 ? ` [the knot: ${c.join(', ')}]` : ''}`;
  });
}

/** Every .ts/.tsx file under runtime/ and the files it imports by relative path, repository-relative. */
export function importGraph(repo: string): ImportGraph {
  const graph: ImportGraph = new Map();
  const dir = path.join(repo, 'runtime');
  for (const e of fs.readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!e.isFile() || !/\.tsx?$/.test(e.name) || e.name.endsWith('.d.ts')) continue;
    const abs = path.join(e.parentPath, e.name);
    // TypeScript's own scanner: every import, export … from, import() and
    // import type, however it is spread over lines, and none in comments.
    const info = ts.preProcessFile(fs.readFileSync(abs, 'utf8'), true, true);
    const targets = info.importedFiles
      .map((f) => f.fileName)
      .filter((s) => s.startsWith('./') || s.startsWith('../'))
      .map((s) => path.relative(repo, resolve(path.dirname(abs), s)));
    graph.set(path.relative(repo, abs), [...new Set(targets)]);
  }
  return graph;
}

/** A relative import as the bundler resolves it: "x.js" is x.ts or x.tsx; no extension, the same or an index. */
function resolve(from: string, spec: string): string {
  const p = path.resolve(from, spec);
  const base = p.replace(/\.(js|jsx|ts|tsx)$/, '');
  for (const c of [`${base}.ts`, `${base}.tsx`, p, path.join(p, 'index.ts')]) if (fs.existsSync(c) && fs.statSync(c).isFile()) return c;
  return p; // not found: reported under its own name (tsc says the rest)
}
