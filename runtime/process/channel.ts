// The channel between the dockling CLI (host side) and the container's init.
//
// It is fd 3 of the init: one end of a unix socketpair that Node's spawn()
// makes for a 'pipe' stdio slot. Both sides write one JSON object per line.
//
//   init → host  {"msg":"hello","pid":N}     booted; N is its PID on the host
//   host → init  {"msg":"start","spec":…}    the spec; build the container
//   init → host  trace records                (only when tracing)
//   init → host  {"msg":"exec"}              about to execve the command
//   init → host  {"msg":"error",…}           could not; exit code and why
//
// The init closes its end on execve (close-on-exec), so the command never
// sees it.
import type { ContainerSpec } from '../core/spec.js';

export const CHANNEL_FD = 3;
/** fd 4 of the init, only with -t: where it sends the pty master (like runc's --console-socket) */
export const CONSOLE_FD = 4;

// #region messages
export type HostMessage = {
  msg: 'start';
  spec: ContainerSpec;
  /** trace events wanted? (the init sends none otherwise) */
  trace: boolean;
  /** epoch ms the CLI started, so init events share the CLI's clock */
  traceOrigin: number;
};

export type InitMessage =
  | { msg: 'hello'; pid: number }
  | { msg: 'exec' }
  | { msg: 'error'; code: number; message: string };
// #endregion messages

/** Split a byte stream into lines, calling back with each complete line. */
export function lineSplitter(onLine: (line: string) => void): (chunk: Buffer | string) => void {
  let rest = '';
  return (chunk) => {
    rest += chunk.toString();
    let nl: number;
    while ((nl = rest.indexOf('\n')) >= 0) {
      const line = rest.slice(0, nl);
      rest = rest.slice(nl + 1);
      if (line) onLine(line);
    }
  };
}
