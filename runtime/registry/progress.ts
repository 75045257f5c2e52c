// The per-layer lines of `pull` and `push`, as the docker CLI draws them.
//
// The daemon sends a stream of {id, status, progress} messages; the CLI
// keeps one line per id. On a terminal each new status overwrites its
// layer's line in place (cursor up, clear line, write, cursor down), which
// is why a pull looks like a table of bars. Anywhere else (a pipe, a file,
// a test) each status is a line of its own and the bars are left out, so a
// log reads "Pulling fs layer", "Verifying Checksum", "Download complete",
// "Pull complete".
import { humanSize } from '../core/format.js';

const humanSize4 = (n: number) => humanSize(n, 4);

export class Progress {
  private ids: string[] = [];
  private lastBar = new Map<string, number>();

  constructor(private out: NodeJS.WritableStream, readonly tty: boolean, private quiet = false) {}

  /** A line without an id ("Digest: …", "Status: …"). */
  line(text: string): void {
    if (!this.quiet) this.out.write(text + '\n');
  }

  // #region status
  /** The command's result line, printed even when quiet (`pull -q` prints only the name). */
  result(text: string): void {
    this.out.write(text + '\n');
  }

  /** A layer's new status. On a terminal it replaces the layer's line. */
  status(id: string, text: string): void {
    if (this.quiet) return;
    if (!this.tty) {
      this.out.write(`${id}: ${text}\n`);
      return;
    }
    let at = this.ids.indexOf(id);
    if (at < 0) {
      this.ids.push(id);
      this.out.write(`${id}: ${text}\n`);
      return;
    }
    // Up to the layer's line, clear it, write, and back down.
    const up = this.ids.length - at;
    this.out.write(`\x1b[${up}A\x1b[2K\r${id}: ${text}\r\x1b[${up}B`);
  }

  /** "Downloading [====>    ]  1.2MB/4.5MB": only on a terminal, and at most ten times a second per layer. */
  bar(id: string, action: string, current: number, total: number): void {
    if (!this.tty || this.quiet) return;
    const now = Date.now();
    if (current < total && now - (this.lastBar.get(id) ?? 0) < 100) return;
    this.lastBar.set(id, now);
    this.status(id, `${action} ${progressBar(current, total)}`);
  }
  // #endregion status
}

/** Docker's bar: 50 columns of "=" with a ">" head, then current/total in decimal units. */
export function progressBar(current: number, total: number): string {
  const numbers = total > 0 ? `${humanSize4(current).padStart(8)}/${humanSize4(total)}` : humanSize4(current).padStart(8);
  if (total <= 0) return numbers;
  const filled = Math.min(50, Math.floor((current / total) * 50));
  const head = filled < 50 ? '>' : '';
  return `[${'='.repeat(filled)}${head}${' '.repeat(Math.max(0, 50 - filled - head.length))}] ${numbers}`;
}

/** The short ID the lines use: a digest's first 12 hex digits. */
export const shortDigest = (d: string) => d.replace(/^sha256:/, '').slice(0, 12);

