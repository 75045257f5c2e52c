// How Docker's CLI prints things, so that dockling's output lines up with
// Docker's: tables (Go's tabwriter as the docker CLI sets it up: columns at
// least 10 wide, 3 spaces of padding), human durations ("2 minutes ago")
// and sizes in decimal units ("4.26MB"), inspect's JSON, and -f's Go
// templates (the engine is in ./template/).
import { RunError } from './pipeline.js';
import { parseTemplate, TemplateError } from './template/index.js';

/** A table of left-aligned columns; the last column is not padded. */
export function table(header: string[], rows: string[][]): string {
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.max(10, ...all.map((r) => (r[i] ?? '').length + 3)));
  return all.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]))).join('').trimEnd() + '\n').join('');
}

// #region human-duration
/** Docker's HumanDuration (go-units): "Less than a second", "About a minute", "3 weeks"… */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  const minutes = Math.floor(ms / 60_000);
  const hours = Math.round(ms / 3_600_000);
  if (seconds < 1) return 'Less than a second';
  if (seconds === 1) return '1 second';
  if (seconds < 60) return `${seconds} seconds`;
  if (minutes === 1) return 'About a minute';
  if (minutes < 60) return `${minutes} minutes`;
  if (hours === 1) return 'About an hour';
  if (hours < 48) return `${hours} hours`;
  if (hours < 24 * 7 * 2) return `${Math.floor(hours / 24)} days`;
  if (hours < 24 * 30 * 2) return `${Math.floor(hours / 24 / 7)} weeks`;
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24 / 30)} months`;
  return `${Math.floor(hours / 24 / 365)} years`;
}
// #endregion human-duration

export const ago = (iso: string, now = Date.now()) => `${humanDuration(now - Date.parse(iso))} ago`;

/**
 * Docker's HumanSizeWithPrecision(size, 3): decimal units, 3 significant
 * digits, "0B", "4.26MB" (pull's progress bars use 4: go-units' HumanSize).
 */
export function humanSize(bytes: number, precision = 3): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB', 'PB'];
  let v = bytes;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  // Go's %.3g: 3 significant digits, trailing zeros dropped.
  return `${Number(v.toPrecision(precision))}${units[i]}`;
}

/** inspect's output: a JSON array, indented by 4 spaces as Docker's is. */
export const inspectJSON = (objects: unknown[]) => JSON.stringify(objects, null, 4) + '\n';

// #region template-check
/**
 * Is this a template Go's text/template can parse? The error in the words
 * of Docker's CLI ("template parsing error: template: :1: unclosed
 * action"), or null. Checked before anything is looked up, as Docker
 * parses the template first: a typo must not print the literal text and
 * exit 0.
 */
export function templateError(template: string): string | null {
  try {
    parseTemplate(template);
    return null;
  } catch (e) {
    if (e instanceof TemplateError) return e.message;
    throw e;
  }
}
// #endregion template-check

/**
 * inspect's -f: the template run on one inspect document. A name the
 * document does not have is an error (exit 1), as in Docker: docker/cli
 * runs the template on its typed structs first, and when a name is no
 * field there it runs it again on the raw JSON with Go's
 * missingkey=error, whose words are the ones the user sees:
 * `map has no entry for key "Bogus"`.
 */
export function formatTemplate(template: string, value: unknown): string {
  try {
    return parseTemplate(template).execute(value, { missingKey: 'error' });
  } catch (e) {
    if (e instanceof TemplateError) throw new RunError(e.exitCode, e.message);
    throw e;
  }
}

/**
 * docker/cli's inspect with -f, whole: the template is parsed first (a bad
 * one is exit 64 before anything is printed), then run on each document;
 * a document it fails on is an error line and the others still print. An
 * empty result is one empty line; `-f json` is the documents as compact
 * JSON. Exit status 1 if any document failed, with the errors joined.
 */
export function inspectTemplate(format: string, objects: unknown[]): { stdout: string; errors: string[] } {
  if (format === 'json') return { stdout: JSON.stringify(objects) + '\n', errors: [] };
  const bad = templateError(format);
  if (bad) throw new RunError(64, bad);
  const template = parseTemplate(format);
  let stdout = '';
  const errors: string[] = [];
  for (const o of objects) {
    try {
      stdout += template.execute(o, { missingKey: 'error' }) + '\n';
    } catch (e) {
      if (!(e instanceof TemplateError)) throw e;
      errors.push(e.message);
    }
  }
  return { stdout: stdout || '\n', errors };
}
