// runtime/'s folders import down the chapter order only, and no two of them
// import each other (imports.ts has the rule and the table of folders). The
// first test reads the real tree; the others prove on fabricated graphs that
// the checker catches what it must, so that a green first test means
// something.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { REPO } from '../helpers/dockling.ts';
import { checkImports, FOLDER_RANKS, importGraph, type ImportGraph } from './imports.ts';

test('runtime/: no import cycle between folders, no import from an earlier chapter\'s folder into a later one\'s', () => {
  const graph = importGraph(REPO);
  assert.ok(graph.size > 50, `only ${graph.size} files read under runtime/`);
  const v = checkImports(graph);
  // All three at once, so that one failure shows every problem of the tree.
  assert.deepEqual(
    v,
    { cycles: [], backward: [], unknown: [] },
    'cycles: import cycles between runtime/ folders; backward: imports that point up the chapter order; unknown: folders missing from FOLDER_RANKS in test/runtime/imports.ts (give each its chapter\'s place)',
  );
});

const g = (edges: Record<string, string[]>): ImportGraph => new Map(Object.entries(edges));

test('the checker: a later chapter importing an earlier one, and the base, is allowed', () => {
  const v = checkImports(
    g({
      'runtime/container/a.ts': ['runtime/image/b.ts', 'runtime/cgroups/c.ts', 'runtime/core/d.ts', 'runtime/container/e.ts'],
      'runtime/core/d.ts': ['runtime/sys/libc.ts', 'runtime/trace/events.ts'],
      'runtime/cli/main.ts': ['runtime/security/x.ts', 'runtime/tui/app.tsx'],
      'runtime/tui/app.tsx': ['chapters/demo.js', 'runtime/cli/format.ts'],
    }),
  );
  assert.deepEqual(v.backward, []);
  assert.deepEqual(v.unknown, []);
  // cli → tui → cli: both on top, allowed both ways, but a cycle all the same
  assert.equal(v.cycles.length, 1);
  assert.match(v.cycles[0], /^cli\/ → tui\/ \(runtime\/cli\/main\.ts imports runtime\/tui\/app\.tsx\) → cli\/ \(runtime\/tui\/app\.tsx imports runtime\/cli\/format\.ts\)$/);
});

test('the checker: an import up the chapter order is named with its file and its target', () => {
  const v = checkImports(
    g({
      'runtime/core/layer.ts': ['runtime/process/launch.ts'],
      'runtime/sys/libc.ts': ['runtime/trace/events.ts'],
      'runtime/process/x.ts': ['runtime/cli/flags.ts', 'chapters/demo.ts'],
    }),
  );
  assert.deepEqual(v.backward, [
    'runtime/core/layer.ts imports runtime/process/launch.ts: core/ may not import process/ (process/ is not below it in the chapter order)',
    'runtime/process/x.ts imports runtime/cli/flags.ts: process/ may not import cli/ (cli/ is not below it in the chapter order)',
    "runtime/process/x.ts imports chapters/demo.ts, outside runtime/'s folders",
    'runtime/sys/libc.ts imports runtime/trace/events.ts: sys/ may not import trace/ (trace/ is not below it in the chapter order)',
  ]);
  assert.deepEqual(v.cycles, []);
});

test('the checker: a folder not in the table is reported', () => {
  const v = checkImports(g({ 'runtime/extras/a.ts': ['runtime/core/b.ts'], 'runtime/core/b.ts': [] }));
  assert.deepEqual(v.unknown, ['extras']);
});

test('the checker: a cycle of three folders is named, one import for each step', () => {
  const v = checkImports(
    g({
      'runtime/core/layer.ts': ['runtime/process/launch.ts'],
      'runtime/process/launch.ts': ['runtime/cgroups/driver.ts'],
      'runtime/cgroups/driver.ts': ['runtime/core/flags.ts'],
    }),
  );
  assert.deepEqual(v.cycles, [
    'cgroups/ → core/ (runtime/cgroups/driver.ts imports runtime/core/flags.ts) → process/ (runtime/core/layer.ts imports runtime/process/launch.ts) → cgroups/ (runtime/process/launch.ts imports runtime/cgroups/driver.ts)',
  ]);
});

// Property: on any graph over the chapter folders, (1) every import from a
// folder to one not below it (cli and tui aside) is reported, and nothing
// else is; (2) a cycle is reported exactly when the folder graph has one
// (checked against a plain reachability closure), and each reported cycle
// is a real walk of imports that returns where it started.
const FOLDERS = Object.keys(FOLDER_RANKS);
test('the checker (property): exactly the backward imports, and a cycle exactly when there is one', () => {
  const arbEdge = fc.tuple(fc.constantFrom(...FOLDERS), fc.constantFrom(...FOLDERS), fc.nat(3), fc.nat(3));
  fc.assert(
    fc.property(fc.array(arbEdge, { maxLength: 25 }), (list) => {
      const graph: ImportGraph = new Map();
      for (const [a, b, i, j] of list) {
        const file = `runtime/${a}/f${i}.ts`;
        graph.set(file, [...new Set([...(graph.get(file) ?? []), `runtime/${b}/f${j}.ts`])]);
      }
      const v = checkImports(graph);
      // (1)
      const distinct = new Set(list.filter(([a, b]) => a !== b && !['cli', 'tui'].includes(a) && !(FOLDER_RANKS[b] < FOLDER_RANKS[a])).map(([a, b, i, j]) => `${a}${i}>${b}${j}`));
      assert.equal(v.backward.length, distinct.size, `${v.backward.length} reported, ${distinct.size} backward imports`);
      for (const line of v.backward) assert.ok([...distinct].some((d) => { const [a, b] = d.split('>'); return line.startsWith(`runtime/${a.slice(0, -1)}/f${a.at(-1)}.ts imports runtime/${b.slice(0, -1)}/f${b.at(-1)}.ts:`); }), line);
      // (2)
      const reach = new Map(FOLDERS.map((f) => [f, new Set<string>()]));
      for (const [a, b] of list) if (a !== b) reach.get(a)!.add(b);
      for (const k of FOLDERS) for (const i of FOLDERS) if (reach.get(i)!.has(k)) for (const j of reach.get(k)!) reach.get(i)!.add(j);
      const cyclic = FOLDERS.some((f) => reach.get(f)!.has(f));
      assert.equal(v.cycles.length > 0, cyclic, `cycles reported: ${v.cycles.join('; ')}`);
      for (const c of v.cycles) {
        const way = [...c.matchAll(/(?:^|→ )(\w+)\//g)].map((m) => m[1]);
        assert.equal(way[0], way.at(-1), c);
        for (let k = 0; k + 1 < way.length; k++) assert.ok(list.some(([a, b]) => a === way[k] && b === way[k + 1]), `${way[k]} → ${way[k + 1]} is not an import: ${c}`);
      }
    }),
    { numRuns: 300 },
  );
});
