// The CLI's side of the monitor's attach socket (containers/<id>/attach.sock).
//
// Both directions carry frames: [type: 1 byte][length: 4 bytes, big-endian]
// [payload]. From the monitor: 1 stdout, 2 stderr, 3 exit (the status, in
// decimal, once the container has exited and its resources are released).
// To the monitor: 0 stdin, 4 resize ("ROWS COLS"), 5 close stdin, 6 "I am
// the foreground CLI: I clean up after the container" (if that client is
// gone when the container exits, the monitor does it instead). Framing is
// what lets one socket carry two output streams apart (Docker's attach
// stream does the same with its 8-byte stdcopy headers) and the resize
// requests beside the keystrokes.
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { onBrokenPipe } from '../core/stdio.js';

export const FRAME = { stdin: 0, stdout: 1, stderr: 2, exit: 3, resize: 4, closeStdin: 5, owner: 6 } as const;

export function frame(type: number, payload: Buffer | string): Buffer {
  const body = Buffer.isBuffer(payload) ? payload : Buffer.from(payload);
  const head = Buffer.alloc(5);
  head[0] = type;
  head.writeUInt32BE(body.length, 1);
  return Buffer.concat([head, body]);
}

/** Split a byte stream into frames, whatever the chunk boundaries. */
export function frameReader(onFrame: (type: number, payload: Buffer) => void): (chunk: Buffer) => void {
  let buf: Buffer = Buffer.alloc(0);
  return (chunk) => {
    buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
    while (buf.length >= 5) {
      const len = buf.readUInt32BE(1);
      if (buf.length < 5 + len) break;
      onFrame(buf[0], buf.subarray(5, 5 + len));
      buf = buf.subarray(5 + len);
    }
  };
}

export const attachSocket = (containerDir: string) => path.join(containerDir, 'attach.sock');

export interface AttachOptions {
  /** where the container's output goes */
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

export interface Attached {
  /** resolves with the exit status, or null if the connection ended without one */
  exit: Promise<number | null>;
  send(type: number, payload: Buffer | string): void;
  close(): void;
}

/** Connect to a container's monitor and relay its output. */
export function attach(containerDir: string, opts: AttachOptions): Promise<Attached> {
  return new Promise((resolve, reject) => {
    // A unix socket's path must fit in 108 bytes; a deep --root does not.
    // Through an open fd of the directory, /proc/self/fd/N/attach.sock is short.
    let dirFd: number | undefined;
    let where = attachSocket(containerDir);
    if (Buffer.byteLength(where) > 100) {
      dirFd = fs.openSync(containerDir, 'r');
      where = `/proc/self/fd/${dirFd}/attach.sock`;
    }
    const sock = net.connect(where);
    const closeDir = () => {
      if (dirFd !== undefined) fs.closeSync(dirFd);
      dirFd = undefined;
    };
    sock.once('connect', closeDir);
    sock.once('error', closeDir);
    let exitStatus: number | null = null;
    const exit = new Promise<number | null>((done) => sock.on('close', () => done(exitStatus)));
    // #region attach-backpressure
    // Backpressure: when our stdout cannot take more (a slow terminal, a
    // pipe nobody reads), we stop reading the socket until it drains. The
    // socket then fills, the monitor holds this client's frames (up to its
    // HIGH_WATER), then stops reading the container, whose writes wait.
    // Without this, every frame would be queued in this process's memory.
    let waiting = 0;
    const relay = (out: NodeJS.WritableStream, payload: Buffer) => {
      if (out.write(payload)) return;
      if (waiting++ === 0) sock.pause();
      out.once('drain', () => {
        if (--waiting === 0) sock.resume();
      });
    };
    // #endregion attach-backpressure
    sock.on('data', frameReader((type, payload) => {
      if (type === FRAME.stdout) relay(opts.stdout, payload);
      else if (type === FRAME.stderr) relay(opts.stderr, payload);
      else if (type === FRAME.exit) exitStatus = Number(payload.toString());
    }));
    // Our stdout's reader went away (`attach C | head -1`): the docker CLI
    // dies of SIGPIPE there, and so do we, with its status. Nothing of the
    // container's is ours to clean up: the monitor sees this client gone,
    // and if it was a foreground `run`, does the release (and --rm) itself
    // when the container ends.
    const unhook = onBrokenPipe(() => process.exit(141));
    sock.once('close', unhook);
    sock.once('connect', () => {
      sock.removeListener('error', reject);
      sock.on('error', () => {}); // the monitor went away: `exit` says null
      resolve({
        exit,
        send: (type, payload) => {
          if (!sock.destroyed) sock.write(frame(type, payload));
        },
        close: () => sock.end(),
      });
    });
    sock.once('error', reject);
  });
}

/** Wait until the monitor's socket is there (it is made before the container starts). */
export async function waitForSocket(containerDir: string, monitorAlive: () => boolean, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!fs.existsSync(attachSocket(containerDir))) {
    if (!monitorAlive()) throw new Error('the container monitor exited before it was ready (see monitor.log in the container directory)');
    if (Date.now() > end) throw new Error('timed out waiting for the container monitor');
    await new Promise((r) => setTimeout(r, 2));
  }
}
