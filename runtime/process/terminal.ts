// The user's side of `run -t`: relay between the caller's terminal and the
// pty master the init sent us.
//
// The caller's terminal goes into raw mode, so every key (^C, ^D, arrows)
// reaches the container's pty as a byte and the pty's own line discipline
// inside the container does what a terminal does with it: ^C becomes SIGINT
// for the container's foreground process, not for dockling.
import tty from 'node:tty';
import { setWindowSize } from './libc.js';

export interface TerminalRelay {
  /** resolves when the container side of the pty has closed and output is drained */
  done: Promise<void>;
  restore(): void;
}

// #region relay
export function relayTerminal(master: number, withInput: boolean): TerminalRelay {
  const stdin = process.stdin;
  const stdout = process.stdout;
  const rawOn = withInput && stdin.isTTY;
  if (rawOn) stdin.setRawMode(true);

  const resize = () => {
    if (stdout.isTTY) setWindowSize(master, stdout.rows, stdout.columns);
  };
  resize();
  process.on('SIGWINCH', resize);

  // uv's tty handle for the master: non-blocking reads on the event loop.
  const out = new tty.ReadStream(master);
  out.on('data', (d) => stdout.write(d));
  if (withInput) {
    // tty.ReadStream is a duplex socket: writing to it writes to the master.
    stdin.on('data', (d: Buffer) => out.write(d));
    stdin.resume();
  }
  const done = new Promise<void>((resolve) => {
    // Reading a master whose slave is closed everywhere fails with EIO:
    // that is the pty's end of file.
    out.on('error', () => resolve());
    out.on('end', () => resolve());
    out.on('close', () => resolve());
  });
  const restore = () => {
    process.off('SIGWINCH', resize);
    if (rawOn) stdin.setRawMode(false);
    stdin.pause();
    out.destroy();
  };
  return { done, restore };
}
// #endregion relay
