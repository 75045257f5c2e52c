// How Docker's CLI prints things, so that dockling's output lines up with
// Docker's: tables (Go's tabwriter as the docker CLI sets it up: columns at
// least 10 wide, 3 spaces of padding), human durations ("2 minutes ago")
// and sizes in decimal units ("4.26MB"), and inspect's JSON.

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

/** Docker's HumanSizeWithPrecision(size, 3): decimal units, 3 significant digits, "0B", "4.26MB". */
export function humanSize(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB', 'PB'];
  let v = bytes;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  // Go's %.3g: 3 significant digits, trailing zeros dropped.
  return `${Number(v.toPrecision(3))}${units[i]}`;
}

/** inspect's output: a JSON array, indented by 4 spaces as Docker's is. */
export const inspectJSON = (objects: unknown[]) => JSON.stringify(objects, null, 4) + '\n';

// #region template-check
const ACTION = /^\{\{\s*(json\s+)?\.([\w.]*)\s*\}\}/;

/**
 * Is this template one formatTemplate can run? The error in the words of
 * Docker's CLI (Go's text/template parser behind "template parsing error"),
 * or null. Checked before anything is looked up, as Docker parses the
 * template first: a typo must not print the literal text and exit 0.
 */
export function templateError(template: string): string | null {
  for (let at = template.indexOf('{{'); at >= 0; at = template.indexOf('{{', at + 2)) {
    const line = template.slice(0, at).split('\n').length;
    const end = template.indexOf('}}', at + 2);
    if (end < 0) return `template parsing error: template: :${line}: unclosed action`;
    const action = template.slice(at, end + 2);
    if (!ACTION.test(action)) {
      return `template parsing error: template: :${line}: ${JSON.stringify(action)} is not supported here: dockling's templates are field paths, {{.State.Status}} or {{json .Config}}`;
    }
    at = end;
  }
  return null;
}
// #endregion template-check

/**
 * The part of Go templates that `inspect -f` is mostly used for:
 * `{{.State.ExitCode}}`, `{{json .Config}}`, `{{.Id}}` (field paths, with
 * an optional `json`); anything else is an error.
 */
export function formatTemplate(template: string, value: unknown): string {
  const bad = templateError(template);
  if (bad) throw new Error(bad);
  return template.replace(/\{\{\s*(json\s+)?\.([\w.]*)\s*\}\}/g, (_, json: string | undefined, p: string) => {
    let v: unknown = value;
    for (const key of p.split('.').filter(Boolean)) v = v && typeof v === 'object' ? (v as Record<string, unknown>)[key] : undefined;
    if (json) return JSON.stringify(v ?? null);
    if (v === undefined || v === null) return '<no value>';
    if (Array.isArray(v)) return `[${v.join(' ')}]`;
    if (typeof v === 'object') return `map[${Object.entries(v).map(([k, x]) => `${k}:${x}`).join(' ')}]`;
    return String(v);
  }).replace(/\\n/g, '\n');
}
