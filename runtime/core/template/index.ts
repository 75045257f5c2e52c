// Docker's --format and -f templates: Go's text/template with docker/cli's
// extra functions, its "table" directive, and its tabwriter. This folder
// is written from Go's documentation of text/template and fmt: lexer.ts,
// parse.ts, exec.ts (the language: actions, pipelines, variables, if/with/
// range, define/template/block), fmt.ts (how values print), funcs.ts (the
// functions), struct.ts (Go values with methods: the rows of `ps` and
// `images`), and this file, which is what commands use:
//
//   const t = parseTemplate('{{.Name}}\t{{.State.Status}}');  // may throw TemplateError
//   t.execute(container)                                       // may throw TemplateError
import { execute, ExecError, type MissingKey } from './exec.js';
import { FUNCTIONS, HEADER_FUNCTIONS, type TemplateFunction } from './funcs.js';
import { parse, ParseError, type Tree } from './parse.js';

/**
 * A template that Go would refuse to parse, or that failed on its data.
 * The message is docker/cli's: "template parsing error: " and Go's error
 * (Docker says "parsing" for execution errors too). Docker's inspect exits
 * 64 for a template it cannot parse and 1 for one that fails on the data.
 */
export class TemplateError extends Error {
  constructor(
    /** Go's own error, without Docker's prefix (`ps` words it its own way) */
    public readonly goMessage: string,
    public readonly phase: 'parse' | 'execute',
  ) {
    super(`template parsing error: ${goMessage}`);
  }
  get exitCode(): number {
    return this.phase === 'parse' ? 64 : 1;
  }
}

export interface Template {
  readonly text: string;
  /**
   * Runs the template on the data. missingkey is Go's option: 'default'
   * prints `<no value>` for a missing key, 'error' fails on it (what
   * docker's inspect does for a name its documents do not have).
   * functions: in place of Go's and docker's (a table's header row runs
   * with HEADER_FUNCTIONS).
   */
  execute(data: unknown, options?: { missingKey?: MissingKey; functions?: Record<string, TemplateFunction> }): string;
}

const FUNCTION_NAMES = new Set(Object.keys(FUNCTIONS));

/** Parses a template as Docker's CLI does; throws TemplateError. */
export function parseTemplate(text: string): Template {
  let tree: Tree;
  try {
    tree = parse(text, FUNCTION_NAMES);
  } catch (e) {
    if (e instanceof ParseError) throw new TemplateError(e.message, 'parse');
    // Parentheses nested thousands deep: Go stops at a depth of 10000 too.
    if (e instanceof RangeError) throw new TemplateError('template: :1: max expression depth exceeded', 'parse');
    throw e;
  }
  return {
    text,
    execute(data, options) {
      try {
        return execute(text, tree, data, options?.missingKey ?? 'default', options?.functions ?? FUNCTIONS);
      } catch (e) {
        if (e instanceof ExecError) throw new TemplateError(e.message, 'execute');
        if (e instanceof RangeError) throw new TemplateError('template: : exceeded maximum template depth', 'execute');
        throw e;
      }
    },
  };
}

// #region table-directive
/**
 * docker/cli's formatter: a format that starts with "table" prints a
 * header row and aligns its columns; what follows the word is the row's
 * template. Docker trims spaces around the template and turns the two
 * characters \t and \n into a tab and a newline (a shell gives them
 * literally).
 */
export function formatDirective(format: string): { table: boolean; template: string } {
  const table = format.startsWith('table');
  const body = (table ? format.slice('table'.length) : format).replace(/^ +| +$/g, '');
  return { table, template: body.replace(/\\t|\\n/g, (s) => (s === '\\t' ? '\t' : '\n')) };
}
// #endregion table-directive

// #region tabwriter
/**
 * Go's text/tabwriter as docker/cli sets it up for tables (minwidth 10,
 * tabwidth 1, padding 3, padchar ' ', no flags). A tab ends a cell; the
 * text after a line's last tab is no cell and is never padded. A column
 * is as wide as its widest cell plus the padding, at least minwidth, and
 * only consecutive lines that have a cell in it share its width: a line
 * with fewer cells ends the column's block.
 */
export function tabwrite(text: string, opts: { minWidth?: number; padding?: number } = {}): string {
  const minWidth = opts.minWidth ?? 10;
  const padding = opts.padding ?? 3;
  const lines = text.split('\n').map((l) => l.split('\t'));
  const width = (s: string) => [...s].length;
  const widths: number[] = []; // the widths of the columns left of the one being laid out
  const padded: number[][] = lines.map(() => []); // each line's cell widths

  // Lay out column `widths.length` for lines [from, to), then the columns right of it.
  const layout = (from: number, to: number) => {
    const column = widths.length;
    let line = from;
    while (line < to) {
      if (column >= lines[line].length - 1) {
        // This line has no more cells: its widths are the ones decided so far.
        padded[line] = [...widths];
        line++;
        continue;
      }
      // A block: the consecutive lines that have a cell in this column.
      const start = line;
      let w = minWidth;
      for (; line < to && column < lines[line].length - 1; line++) w = Math.max(w, width(lines[line][column]) + padding);
      widths.push(w);
      layout(start, line);
      widths.pop();
    }
  };
  layout(0, lines.length);
  return lines.map((cells, l) => cells.map((cell, j) => (j < cells.length - 1 ? cell + ' '.repeat(Math.max(0, padded[l][j] - width(cell))) : cell)).join('')).join('\n');
}
// #endregion tabwriter

export { formatValue, sprintf } from './fmt.js';
export { GoStruct } from './struct.js';

export { HEADER_FUNCTIONS };
export type { MissingKey } from './exec.js';
