// The CLI's side of chapter 3's FUSE mounts: make the mount, hand it to the
// one aufs server (starting it if none runs), and get the server's trace.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { close, majorMinor, mount, pipe, receiveMessage, sendMessage, SyscallError, umount2, MNT_DETACH, unixConnect } from '../sys/libc.js';
import { trace } from '../trace/trace.js';
import { decodeRecord } from '../trace/events.js';
import { withLock } from '../core/files.js';
import type { ServerRequest } from './aufs-server.js';
import { MAX_WRITE } from './fuse-protocol.js';

/** How far the kernel reads ahead on an aufs mount (raiseReadahead): four requests of MAX_WRITE. */
const READAHEAD = 4 * MAX_WRITE;

const CH = 3;
const sleeper = new Int32Array(new SharedArrayBuffer(4));

export const serverSocket = (home: string) => path.join(home, 'server.sock');

/** The server's program: dist/aufs-server.js, or the TypeScript source when run under tsx. */
function serverCommand(socket: string): string[] {
  const here = fileURLToPath(import.meta.url);
  const ts = here.endsWith('.ts');
  const script = path.join(path.dirname(here), ts ? 'aufs-server.ts' : 'aufs-server.js');
  return ts ? ['--import', 'tsx', script, socket] : [script, socket];
}

// #region connect-or-start
/**
 * A connection to the state root's aufs server. None answering: start one,
 * detached (its own session, so it outlives this CLI and its terminal),
 * and wait for its socket. The lock keeps two CLIs from starting two.
 */
function connect(home: string): number {
  const socket = serverSocket(home);
  return withLock(path.join(home, '.server-lock'), () => {
    try {
      return unixConnect(socket);
    } catch (e) {
      if (!(e instanceof SyscallError && (e.code === 'ENOENT' || e.code === 'ECONNREFUSED'))) throw e;
    }
    const log = fs.openSync(path.join(home, 'server.log'), 'a', 0o600);
    const argv = serverCommand(socket);
    trace.emit(CH, { op: 'spawn', argv: [process.execPath, ...argv] });
    // Each mount keeps one read of /dev/fuse waiting in libuv's thread pool.
    const child = spawn(process.execPath, argv, { detached: true, stdio: ['ignore', log, log], env: { ...process.env, UV_THREADPOOL_SIZE: '128' } });
    child.unref();
    fs.closeSync(log);
    for (let waited = 0; ; waited += 20) {
      try {
        return unixConnect(socket);
      } catch (e) {
        if (waited > 15_000) throw new Error(`aufs: the FUSE server did not start (see ${path.join(home, 'server.log')})`, { cause: e });
        Atomics.wait(sleeper, 0, 0, 20);
      }
    }
  });
}
// #endregion connect-or-start

/** One message from the server, read synchronously. */
function readAnswer(conn: number): { ok?: boolean; error?: string } & Record<string, unknown> {
  const buf = Buffer.alloc(65536);
  const n = fs.readSync(conn, buf);
  if (n <= 0) throw new Error('the server closed the connection without an answer');
  return JSON.parse(buf.subarray(0, n).toString());
}

// #region mount-union
/**
 * Mount the union of `branches` (writable first) on `target`: mount(2)
 * with a /dev/fuse descriptor of ours, then that descriptor goes to the
 * server, which answers the kernel's requests from then on. Until the
 * server has it, a process touching the mount would wait; nobody does.
 */
export function mountUnion(home: string, target: string, branches: string[]): void {
  // A server that was ending as we connected closes without an answer:
  // the next attempt starts a new one.
  for (let attempt = 1; ; attempt++) {
    try {
      return mountOnce(home, target, branches);
    } catch (e) {
      if (!(e instanceof ServerGone) || attempt === 3) throw e;
    }
  }
}

class ServerGone extends Error {}

function mountOnce(home: string, target: string, branches: string[]): void {
  const conn = connect(home);
  let fuse = -1;
  const traced: number[] = [];
  try {
    fuse = fs.openSync('/dev/fuse', fs.constants.O_RDWR);
    // allow_other: the container's processes are not the mounter;
    // default_permissions: the kernel checks mode bits, as on any filesystem.
    const data = `fd=${fuse},rootmode=40000,user_id=0,group_id=0,allow_other,default_permissions`;
    trace.emit(CH, { op: 'mount', source: 'aufs', target, fstype: 'fuse.aufs', flags: [], data });
    try {
      mount('aufs', target, 'fuse.aufs', 0, data);
    } catch (e) {
      const code = e instanceof SyscallError ? e.code : String(e);
      const hint = code === 'ENODEV' ? ' (the kernel has no FUSE: modprobe fuse)' : code === 'ENOENT' ? '' : '';
      throw new Error(`aufs: cannot mount ${target}: ${code}${hint}`, { cause: e });
    }
    if (trace.enabled) traced.push(...traceFrom());
    const req: ServerRequest = { op: 'mount', target, branches, mntns: fs.readlinkSync('/proc/self/ns/mnt'), origin: trace.origin };
    sendMessage(conn, Buffer.from(JSON.stringify(req)), [fuse, ...traced]);
    let answer: ReturnType<typeof readAnswer>;
    try {
      answer = readAnswer(conn);
    } catch (e) {
      umount2(target, MNT_DETACH);
      throw new ServerGone(`aufs: the FUSE server went away while taking ${target}`, { cause: e });
    }
    if (!answer.ok) {
      umount2(target, MNT_DETACH);
      throw new Error(`aufs: the FUSE server refused ${target}: ${answer.error}`);
    }
    raiseReadahead(target);
  } finally {
    if (fuse >= 0) fs.closeSync(fuse);
    traced.forEach(close);
    close(conn);
  }
}
// #endregion mount-union

// #region readahead
/**
 * The kernel reads ahead of a sequential reader by its backing device's
 * window: 128 KiB for a FUSE mount, and the INIT reply may only lower it.
 * So a first read of a large file costs one FUSE request per 128 KiB. The
 * window is the mount's own knob in sysfs (/sys/class/bdi/MAJOR:MINOR,
 * the mount's anonymous device). Raised to 4 MiB: the kernel splits a
 * window into requests of at most MAX_WRITE (1 MiB, INIT's max_pages), so
 * it sends four at once, and our server has the next one read from
 * /dev/fuse while it answers this one. Without a writable sysfs (dockling
 * in a container), reads still work, in smaller requests.
 */
function raiseReadahead(target: string): void {
  try {
    const [major, minor] = majorMinor(fs.statSync(target).dev); // the mount's root: served by now, one GETATTR at most
    const bdi = `/sys/class/bdi/${major}:${minor}/read_ahead_kb`;
    trace.emit(CH, { op: 'write', path: bdi, value: String(READAHEAD / 1024) });
    fs.writeFileSync(bdi, String(READAHEAD / 1024));
  } catch {
    // a read-only sysfs: the kernel's default window, and smaller requests
  }
}
// #endregion readahead

/**
 * The server's trace records for this mount come back through a pipe and
 * join ours. Returns the write end, for the server. The read end does not
 * keep this CLI alive: a detached container's mount outlives it.
 */
function traceFrom(): number[] {
  const [r, w] = pipe(true);
  const sock = new net.Socket({ fd: r, readable: true, writable: false });
  let rest = '';
  sock.on('data', (chunk: Buffer) => {
    const lines = (rest + chunk.toString()).split('\n');
    rest = lines.pop() ?? '';
    for (const line of lines) {
      const rec = decodeRecord(line);
      if (rec) trace.forward(rec);
    }
  });
  sock.on('error', () => {});
  sock.unref();
  return [w];
}

/** What the server says about itself (tests, `info`): its PID, memory and mounts; null when none runs. */
export async function serverStatus(home: string): Promise<{ pid: number; rss: number; mounts: { target: string; branches: string[]; requests: Record<string, number> }[] } | null> {
  let conn: number;
  try {
    conn = unixConnect(serverSocket(home));
  } catch {
    return null;
  }
  try {
    sendMessage(conn, Buffer.from(JSON.stringify({ op: 'status' } satisfies ServerRequest)), []);
    const m = await receiveMessage(conn);
    return m ? JSON.parse(m.data.toString()) : null;
  } finally {
    close(conn);
  }
}
