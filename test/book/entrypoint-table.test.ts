// Chapter 5's CMD/ENTRYPOINT table (chapters/05-containers/README.md, §7),
// checked against the runtime: each row's image ENTRYPOINT and CMD and its
// `run` flags go through combineCommand (the runtime's rules composed as
// `run` composes them), and what comes out must be the row's "runs" cell —
// the command line, or the error "No command specified" when the command
// is empty. A cell edited away from what the code does fails here.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { combineCommand, type CommandParts } from '../helpers/combine-command.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const README = path.join(REPO, 'chapters/05-containers/README.md');
const HEADER = '| image ENTRYPOINT | image CMD | `run` | runs |';

/** Split a shell-like command line: words, with "…" and '…' quoting (no escapes needed here). */
export function shellWords(line: string): string[] {
  const words: string[] = [];
  const re = /"([^"]*)"|'([^']*)'|(\S+)/g;
  for (const m of line.matchAll(re)) words.push(m[1] ?? m[2] ?? m[3]);
  return words;
}

/** A cell's first code span (`…`), or null. */
const codeSpan = (cell: string): string | null => /`([^`]*)`/.exec(cell)?.[1] ?? null;

/** An image column: "—" is none, else the JSON array in its code span. */
function imageList(cell: string, what: string): string[] | null {
  if (cell.trim() === '—') return null;
  const span = codeSpan(cell);
  if (span === null) throw new Error(`${what} cell ${JSON.stringify(cell)}: neither — nor a \`["json","array"]\``);
  return JSON.parse(span) as string[];
}

/** The `run` column: `run [--entrypoint X] img [args…]`. */
function runFlags(cell: string): { entrypointFlag: string | undefined; args: string[] } {
  const span = codeSpan(cell);
  if (span === null) throw new Error(`run cell ${JSON.stringify(cell)} has no \`run …\``);
  const words = shellWords(span);
  assert.equal(words.shift(), 'run', `run cell ${cell}`);
  let entrypointFlag: string | undefined;
  if (words[0] === '--entrypoint') {
    words.shift();
    entrypointFlag = words.shift();
  }
  assert.equal(words.shift(), 'img', `run cell ${cell}: the image is called img`);
  return { entrypointFlag, args: words };
}

export interface TableRow { line: number; input: CommandParts; runs: string[] | 'error'; text: string }

/** The table's rows, read from the README's markdown. */
export function tableRows(markdown: string): TableRow[] {
  const lines = markdown.split('\n');
  const start = lines.indexOf(HEADER);
  if (start < 0) throw new Error(`chapter 5's README has no table headed ${HEADER}`);
  const rows: TableRow[] = [];
  for (let i = start + 2; i < lines.length && lines[i].startsWith('|'); i++) {
    // cells split on " | " (a code span never holds one here)
    const cells = lines[i].slice(1, -1).split(' | ').map((c) => c.trim());
    assert.equal(cells.length, 4, `README line ${i + 1}: 4 cells expected, got ${cells.length}`);
    const [ep, cmd, run, runs] = cells;
    const span = codeSpan(runs);
    const expected = /^error: No command specified\b/.test(runs) ? 'error' : span !== null ? shellWords(span) : null;
    if (expected === null) throw new Error(`README line ${i + 1}: the "runs" cell is neither \`a command\` nor "error: No command specified"`);
    rows.push({ line: i + 1, input: { imageEntrypoint: imageList(ep, 'ENTRYPOINT'), imageCmd: imageList(cmd, 'CMD'), ...runFlags(run) }, runs: expected, text: lines[i] });
  }
  return rows;
}

/** What the runtime does for a row: the argv, or 'error' when there is no command. */
function runtimeRuns(input: CommandParts): string[] | 'error' {
  const { entrypoint, cmd } = combineCommand(input);
  const argv = [...entrypoint, ...cmd];
  return argv.length === 0 ? 'error' : argv;
}

describe("chapter 5's CMD/ENTRYPOINT table", () => {
  const rows = tableRows(fs.readFileSync(README, 'utf8'));

  test('the table is there, with its --entrypoint "" rows and an error row', () => {
    assert.ok(rows.length >= 8, `${rows.length} rows`);
    assert.ok(rows.some((r) => r.input.entrypointFlag === '' && r.runs === 'error'));
    assert.ok(rows.some((r) => r.input.entrypointFlag === '' && r.runs !== 'error'));
    assert.ok(rows.some((r) => r.input.entrypointFlag === undefined && r.runs === 'error'));
  });

  test('every row says what the runtime runs', () => {
    const wrong = rows
      .map((r) => ({ r, got: runtimeRuns(r.input) }))
      .filter(({ r, got }) => JSON.stringify(got) !== JSON.stringify(r.runs))
      .map(({ r, got }) => `README line ${r.line}: ${r.text}\n  the runtime: ${got === 'error' ? 'error: No command specified' : JSON.stringify(got)}; the table: ${JSON.stringify(r.runs)}`);
    assert.deepEqual(wrong, []);
  });

  test('the parser reads cells as meant (so the check above cannot pass by misreading)', () => {
    assert.deepEqual(shellWords('/bin/sh -c "echo shell" a'), ['/bin/sh', '-c', 'echo shell', 'a']);
    assert.deepEqual(shellWords('run --entrypoint "" img'), ['run', '--entrypoint', '', 'img']);
    const [row] = tableRows([HEADER, '|---|---|---|---|', '| `["e"]` | — | `run --entrypoint "" img x` | `x` |'].join('\n'));
    assert.deepEqual(row.input, { imageEntrypoint: ['e'], imageCmd: null, entrypointFlag: '', args: ['x'] });
    assert.deepEqual(row.runs, ['x']);
  });
});
