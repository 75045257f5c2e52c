// Running the real dockling from tests: the compiled CLI (bin/dockling.js),
// as root, against a state root of the test's own, with the chapter chosen
// by the test runner (DOCKLING_CHAPTER), so the same test file checks the
// runtime at chapter N (must pass) and at N-1 (must fail).
import { spawn, spawnSync, type SpawnSyncOptions } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { UNHARDENED_WARNING as WARNING_LINE } from '../../runtime/process/commands.js';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
// A classroom lab's grader points DOCKLING_BIN at a build with the student's layer.
export const BIN = process.env.DOCKLING_BIN ?? path.join(REPO, 'bin/dockling.js');

export interface Result {
  code: number;
  signal: NodeJS.Signals | null;
  stdout: string;
  /** what dockling printed on stderr, less the unhardened-run warning */
  stderr: string;
  /** all of it */
  rawStderr?: string;
}

/** A state root for one test file; removed by `dispose`. */
export function tempRoot(label: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `dockling-test-${label}-`));
}

function env(extra?: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const e: NodeJS.ProcessEnv = { ...process.env, ...extra };
  // The CLI's own start-up is not what these tests measure.
  delete e.NODE_EXTRA_CA_CERTS;
  // c8 sets this for coverage; keep it so the CLI is covered too.
  return e;
}

/**
 * The line every `run` prints on stderr until the hardening chapter's layer
 * exists (runtime/process/commands.ts). Tests about anything else read
 * stderr without it; test/chapters/01-namespaces/exit-codes.test.ts checks
 * that it is there, with `rawStderr`.
 */
export const UNHARDENED_WARNING = `${WARNING_LINE}\n`;
export const withoutWarning = (stderr: string): string => stderr.split(UNHARDENED_WARNING).join('');

/** Run `dockling --root ROOT ARGS…` and collect its output. */
export function dockling(root: string, args: string[], opts: SpawnSyncOptions & { env?: NodeJS.ProcessEnv } = {}): Result {
  const r = spawnSync(process.execPath, ['--', BIN, '--root', root, ...args], {
    encoding: 'utf8',
    timeout: 60_000,
    ...opts,
    env: env(opts.env),
  });
  if (r.error) throw r.error;
  return {
    code: r.status ?? 128 + (os.constants.signals[r.signal!] ?? 0),
    signal: r.signal,
    stdout: String(r.stdout),
    stderr: withoutWarning(String(r.stderr)),
    rawStderr: String(r.stderr),
  };
}

/** Start dockling in the background (for signals, and reading while it runs). */
export function docklingAsync(root: string, args: string[], opts: { env?: NodeJS.ProcessEnv; stdin?: 'pipe' | 'ignore' } = {}) {
  const child = spawn(process.execPath, ['--', BIN, '--root', root, ...args], {
    stdio: [opts.stdin ?? 'ignore', 'pipe', 'pipe'],
    env: env(opts.env),
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  const done = new Promise<Result>((resolve) =>
    child.on('close', (code, signal) => resolve({ code: code ?? 128 + (os.constants.signals[signal!] ?? 0), signal, stdout, stderr: withoutWarning(stderr), rawStderr: stderr })),
  );
  return { child, done, output: () => stdout, errors: () => withoutWarning(stderr) };
}

/**
 * Wait until cond() holds, polling; throws after timeoutMs. `what` may be a
 * function, called at the timeout, to say what was seen instead.
 */
export async function until(cond: () => boolean, timeoutMs = 10_000, what: string | (() => string) = 'condition'): Promise<void> {
  const end = Date.now() + waitLimit(timeoutMs);
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${typeof what === 'function' ? what() : what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * How long a test may wait for something to happen. In a negative run
 * (test/run.ts sets DOCKLING_NEGATIVE_RUN: the chapter's layer is missing
 * and every test must fail) most tests fail by waiting for what the missing
 * layer would have done, a container that never runs, a counter that never
 * moves: there a wait gives up after 5 s, not 30. A wait can only make a
 * test fail, so the negative check loses nothing but a test that would
 * pass without the layer after more than 5 s of waiting.
 */
export function waitLimit(ms: number): number {
  return process.env.DOCKLING_NEGATIVE_RUN ? Math.min(ms, 5000) : ms;
}

/**
 * `value` after `ms`: the losing side of a Promise.race against something
 * that holds the process open by itself (a child process's exit). Its
 * timer does not (unref): when the child wins, the test file's process can
 * end with its last test instead of waiting the timer out (a 5 s timer
 * left pending by each file was a tenth of some chapters' suite time).
 */
export function resolveAfter<T>(ms: number, value: T): Promise<T> {
  return new Promise((r) => setTimeout(() => r(value), ms).unref());
}

/** Is this test run allowed to skip root-only tests? Never in CI. */
export function rootOrSkip(): string | false {
  if (process.getuid?.() === 0) return false;
  if (process.env.CI) throw new Error('integration tests need root, and CI must run them: run as root');
  return 'needs root';
}
