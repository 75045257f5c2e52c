// The --format of Docker's list commands (`ps`, `images`): docker/cli's
// formatter.Context. Each row is a Go value with methods (a GoStruct:
// {{.ID}}, {{.Label "k"}}) run through the user's template, one line per
// row; `--format json` is each row as one JSON object per line (Docker 23
// and later); a format that starts with `table` adds a header row — the
// same template run on the column names — and lines the columns up with
// Go's tabwriter as the docker CLI sets it up.
import { RunError } from './pipeline.js';
import { formatDirective, GoStruct, HEADER_FUNCTIONS, parseTemplate, tabwrite, TemplateError } from './template/index.js';

/**
 * The rows through `format` (already "table …" for the default table).
 * A template that does not parse, or fails on a row, is docker/cli's
 * "template parsing error: …" (exit 1), and nothing is printed.
 */
// #region list-format
export function formatList(format: string, rows: GoStruct[], header: GoStruct): string {
  const { table, template: text } = format === 'json' ? { table: false, template: '{{json .}}' } : formatDirective(format);
  const template = goTemplate(text);
  let body = '';
  for (const row of rows) body += run(() => template.execute(row)) + '\n';
  if (!table) return body;
  // docker/cli ignores an error in the header row (and prints what came
  // before it): a column name is a string where the row has other types.
  let head = '';
  try {
    head = template.execute(header, { functions: HEADER_FUNCTIONS });
  } catch (e) {
    if (!(e instanceof TemplateError)) throw e;
  }
  return tabwrite(`${head}\n${body}`);
}
// #endregion list-format

function goTemplate(text: string) {
  return run(() => parseTemplate(text));
}

function run<T>(f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof TemplateError) throw new RunError(1, `template parsing error: ${e.goMessage}`, { cause: e });
    throw e;
  }
}

/**
 * The header row's data: each method gives its column's name (docker/cli's
 * SubHeaderContext), and `Label "com.example.tier"` gives the last part of
 * the label's name, with "-" and "_" as spaces.
 */
export function headerOf(type: string, names: Record<string, string>): GoStruct {
  const methods: Record<string, () => string> = {};
  for (const [k, v] of Object.entries(names)) methods[k] = () => v;
  return new GoStruct(type, {
    ...methods,
    Label: (name: string) => (name.split('.').at(-1) ?? '').replace(/[-_]/g, ' '),
  });
}

/**
 * Go's time.Time.String() of a whole second in the local zone, as
 * docker/cli prints CreatedAt: "2026-12-04 15:04:05 +0000 UTC".
 */
export function goTimeString(ms: number): string {
  const d = new Date(Math.floor(ms / 1000) * 1000);
  const offset = -d.getTimezoneOffset();
  const two = (n: number) => String(n).padStart(2, '0');
  const sign = offset < 0 ? '-' : '+';
  const zone =
    offset === 0 && ['', 'UTC', 'Etc/UTC', undefined].includes(process.env.TZ)
      ? 'UTC'
      : (new Intl.DateTimeFormat('en-US', { timeZoneName: 'short' }).formatToParts(d).find((p) => p.type === 'timeZoneName')?.value ?? '');
  return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())} ${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())} ${sign}${two(Math.floor(Math.abs(offset) / 60))}${two(Math.abs(offset) % 60)} ${zone}`;
}

/**
 * The same for rows kept as plain records (`history`, `stats`): each field
 * a method of a GoStruct of Docker's type name, so a field the row lacks is
 * Go's error on a struct, and `json` prints the fields in Go's sorted order.
 */
export function formatRecords(format: string, type: string, header: Record<string, string>, rows: Record<string, unknown>[]): string {
  const struct = (row: Record<string, unknown>) => new GoStruct(type, Object.fromEntries(Object.entries(row).map(([k, v]) => [k, () => v])));
  return formatList(format, rows.map(struct), headerOf(type, header));
}
