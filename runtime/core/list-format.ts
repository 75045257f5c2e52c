// --format for the commands that print a list (history, stats): docker/cli's
// formatter.Context. Each row is a small document of strings (its fields
// are the columns docker's formatter offers, .ID, .Size…); the format is
// a Go template run once per row, or "table …", which also prints a header
// row (the same template run on the column names) and aligns the columns
// with Go's tabwriter, or "json", each row as one line of JSON.
import { RunError } from './pipeline.js';
import { formatDirective, parseTemplate, tabwrite, TemplateError, type Template } from './template/index.js';

/**
 * Rows through a --format. `header` names each field's column ("ID" →
 * "IMAGE"). A template that does not parse, or fails on a row, is an
 * error in docker/cli's words (exit 1: these commands have no status of
 * their own for it, unlike inspect's 64); the rows before it are not
 * printed, as docker buffers them.
 */
export function formatList(format: string, header: Record<string, string>, rows: Record<string, unknown>[]): string {
  const { table, template: text } = format === 'json' ? { table: false, template: '{{json .}}' } : formatDirective(format);
  const template = parseOrFail(text);
  let body = '';
  for (const row of rows) body += run(template, sortedKeys(row), {}) + '\n';
  if (!table) return body;
  return tabwrite(run(template, header, { header: true }) + '\n' + body);
}

function parseOrFail(text: string): Template {
  try {
    return parseTemplate(text);
  } catch (e) {
    if (e instanceof TemplateError) throw new RunError(1, e.message, { cause: e });
    throw e;
  }
}

function run(template: Template, data: unknown, options: { header?: boolean }): string {
  try {
    // A row is Go struct to docker: a name it does not have is an error,
    // not "<no value>". The header is a map of names: there it is not.
    return template.execute(data, { missingKey: options.header ? 'default' : 'error', ...options });
  } catch (e) {
    if (e instanceof TemplateError) throw new RunError(1, e.message, { cause: e });
    throw e;
  }
}

/** docker/cli prints a row's JSON from its methods, by name: in sorted order. */
function sortedKeys(row: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(row).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
