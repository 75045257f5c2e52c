// Standard output into a closed pipe (`dockling logs C | head -1`).
//
// The docker CLI is a Go program: when it writes to a pipe whose reader has
// gone, the kernel sends it SIGPIPE and it dies of it; the shell reports 141
// (128 + 13) and prints nothing. Node ignores SIGPIPE, so the write fails
// with EPIPE instead, and an 'error' event nobody listens to becomes a stack
// trace. We listen, once, for the whole CLI: the first EPIPE marks the pipe
// broken, later writes go nowhere, commands that stream without end (logs
// -f, attach, a foreground run) are told to stop, and the CLI exits 141 when
// the command has finished its own cleanup (an export still unmounts the
// root it mounted).
const hooks = new Set<() => void>();
let broken = false;
let installed = false;

/** Has stdout (or stderr) lost its reader? */
export const brokenPipe = () => broken;

/** Call `fn` once when stdout breaks; returns a function that unregisters it. */
export function onBrokenPipe(fn: () => void): () => void {
  if (broken) {
    fn();
    return () => {};
  }
  hooks.add(fn);
  return () => hooks.delete(fn);
}

// #region epipe
export function handleBrokenPipes(): void {
  if (installed) return;
  installed = true;
  for (const s of [process.stdout, process.stderr]) {
    s.on('error', (e: NodeJS.ErrnoException) => {
      // After the first EPIPE the stream is destroyed: writes already queued
      // fail with ERR_STREAM_DESTROYED; they are the same broken pipe.
      if (e.code !== 'EPIPE' && e.code !== 'ERR_STREAM_DESTROYED') throw e;
      // Whatever is still written goes nowhere, as it would in Go after SIGPIPE
      // (a pipe write fails, nothing more is printed).
      s.write = (() => true) as typeof s.write;
      if (broken) return;
      broken = true;
      process.exitCode = 141;
      for (const fn of [...hooks]) fn();
      hooks.clear();
    });
  }
}
// #endregion epipe

/**
 * Write, and wait while the stream's buffer is full: a reader slower than
 * us (a terminal, `| less`) then slows us down instead of our memory
 * growing. Never waits on a broken pipe.
 */
export function writeOut(s: NodeJS.WritableStream, data: string | Buffer): Promise<void> | undefined {
  if (s.write(data) || broken) return undefined;
  return new Promise((resolve) => {
    const unhook = onBrokenPipe(done);
    s.once('drain', done);
    function done() {
      unhook();
      s.removeListener('drain', done);
      resolve();
    }
  });
}
