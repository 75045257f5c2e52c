// The user's side of `run -t`: relay between the caller's terminal and the
// pty master the init sent us.
//
// The caller's terminal goes into raw mode, so every key (^C, ^D, arrows)
// reaches the container's pty as a byte and the pty's own line discipline
// inside the container does what a terminal does with it: ^C becomes SIGINT
// for the container's foreground process, not for dockling.
import tty from 'node:tty';
import { close as closeFd, openPtySlave, setWindowSize } from '../sys/libc.js';

export interface TerminalRelay {
  /** once the command has exited: resolves when its last output is written */
  drain(): Promise<void>;
  restore(): void;
}

// #region raw-mode
// Raw mode goes on before the container's command starts, as the docker CLI
// does: a key typed in the first instant must reach the pty as a byte, not be
// cooked (or turned into SIGINT for dockling) by the caller's terminal.
// Returns the function that puts the terminal back.
export function enterRawMode(): () => void {
  const stdin = process.stdin;
  if (!stdin.isTTY) return () => {};
  stdin.setRawMode(true);
  let on = true;
  return () => {
    if (on) stdin.setRawMode(false);
    on = false;
  };
}
// #endregion raw-mode

// #region relay
export function relayTerminal(master: number, withInput: boolean): TerminalRelay {
  const stdin = process.stdin;
  const stdout = process.stdout;

  const resize = () => {
    if (stdout.isTTY) setWindowSize(master, stdout.rows, stdout.columns);
  };
  resize();
  process.on('SIGWINCH', resize);

  // We keep a slave fd open ourselves. When the last slave fd closes, Linux
  // may answer reads of the master with EIO while the command's last
  // output is still on its way through the line discipline, and that output
  // would be lost. Holding a slave, the master never reports EIO: after the
  // command exits we read until the output has gone quiet, then stop.
  const slave = openPtySlave(master).slaveFd;

  // uv's tty handle for the master: non-blocking reads on the event loop.
  const out = new tty.ReadStream(master);
  let lastData = Date.now();
  out.on('data', (d) => {
    lastData = Date.now();
    stdout.write(d);
  });
  out.on('error', () => {}); // EIO once everything is closed: nothing more to read
  if (withInput) {
    // tty.ReadStream is a duplex socket: writing to it writes to the master.
    stdin.on('data', (d: Buffer) => out.write(d));
    stdin.resume();
  }
  const drain = async () => {
    const QUIET_MS = 30;
    const end = Date.now() + 2000; // a cap, should something keep writing
    while (Date.now() - lastData < QUIET_MS && Date.now() < end) {
      await new Promise((r) => setTimeout(r, QUIET_MS));
    }
  };
  const restore = () => {
    process.off('SIGWINCH', resize);
    stdin.pause();
    out.destroy();
    closeFd(slave);
  };
  return { drain, restore };
}
// #endregion relay
