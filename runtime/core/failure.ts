// How a command's failure is told on stderr.
//
// Always Docker's one line, `dockling: MESSAGE`: the message names the input
// and the fix, and no stack trace is ever shown for it. With the global
// `--debug` (`-D`, as the docker CLI has it) the chain of errors underneath
// follows, each cause with its stack: the ENOENT behind "rootfs not found",
// the errno of the write a cgroup refused. The CLI sets $DOCKLING_DEBUG for
// --debug, so every place that prints a failure (the CLI itself, `run` and
// `start` after their pipeline) asks the same question here.

/** The environment variable `--debug` sets (and that turns it on by itself). */
export const DEBUG_ENV = 'DOCKLING_DEBUG';

/** Is this command run with --debug (or $DOCKLING_DEBUG)? */
export function debugging(): boolean {
  const v = process.env[DEBUG_ENV];
  return v !== undefined && v !== '' && v !== '0' && v !== 'false';
}

/** The causes under an error, outermost first (a cycle of causes ends the list). */
export function causesOf(failure: { cause?: unknown }): unknown[] {
  const seen = new Set<unknown>([failure]);
  const chain: unknown[] = [];
  for (let c = failure.cause; c !== undefined && !seen.has(c); c = (c as { cause?: unknown } | null)?.cause) {
    seen.add(c);
    chain.push(c);
  }
  return chain;
}

/**
 * One cause as --debug prints it: its class and message, then where it was
 * made (its stack's frames), or its text when it is not an Error. The class
 * is the constructor's name: a subclass that sets no `name` of its own
 * (NoSuchContainerError) would show as plain "Error" in its stack.
 */
function describe(cause: unknown): string {
  if (!(cause instanceof Error)) return String(cause);
  const head = `${cause.name}: ${cause.message}`;
  const frames = cause.stack?.startsWith(head) ? cause.stack.slice(head.length) : '';
  const name = cause.name === 'Error' && cause.constructor.name ? cause.constructor.name : cause.name;
  return `${name}: ${cause.message}${frames}`;
}

/**
 * Print a failure: `dockling: MESSAGE`, and under --debug each cause in
 * turn. `failure` is a RunError, or the pipeline's record of one (its code
 * and message, and its cause when it kept it).
 */
export function reportFailure(failure: { message: string; cause?: unknown }): void {
  process.stderr.write(`dockling: ${failure.message}\n`);
  if (!debugging()) return;
  for (const c of causesOf(failure)) process.stderr.write(`dockling: caused by: ${describe(c)}\n`);
}
