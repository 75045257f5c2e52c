// The aufs server: one process that serves every aufs mount of a state
// root over FUSE (`node aufs-server.js <socket>`).
//
// The CLI mounts a union itself (mount(2) of type fuse.aufs, with a fresh
// /dev/fuse descriptor), then hands that descriptor to this process over a
// unix socket (SCM_RIGHTS) with the list of branches. From then on the
// kernel's requests for that mount come to us: a container's processes
// read and write through it while the CLI that made it may be long gone
// (a detached container). We end with the last mount we serve: when the
// kernel says a mount is gone (ENODEV on its descriptor) and no other is
// left, the socket goes and the process exits.
//
// It runs outside every container, in the host's mount namespace (the one
// of the CLI that started it), as root: a container never sees it, and
// never holds its descriptors.
import fs from 'node:fs';
import { acceptAsync, close, receiveMessage, sendMessage, shutdown, unixListen } from '../sys/libc.js';
import { FuseSession } from './fuse-session.js';
import { Union } from './aufs-union.js';
import type { TraceEvent, TraceRecord } from '../trace/events.js';

/** What the CLI asks: serve a mount, or say how we are. */
export type ServerRequest =
  | { op: 'mount'; target: string; branches: string[]; mntns: string; origin: number }
  | { op: 'status' };

const socketPath = process.argv[2];
if (!socketPath) {
  process.stderr.write('usage: aufs-server SOCKET\n');
  process.exit(2);
}
const sessions = new Set<FuseSession>();
let busy = 0;
// The CLI that started us holds the start-up lock and found no live
// server: a socket file left there by a killed one is stale.
fs.rmSync(socketPath, { force: true });
// Whoever can connect can have us serve any directory as root: the socket
// is root's alone (mode 0700, made so by the umask at bind time).
process.umask(0o077);
const listener = unixListen(socketPath);
const ours = fs.statSync(socketPath).ino;
// From here on the kernel has applied the caller's umask to every mode it sends us.
process.umask(0);

function reply(conn: number, answer: object): void {
  try {
    sendMessage(conn, Buffer.from(JSON.stringify(answer)), []);
  } catch {
    // the CLI went away: it will unmount what it made
  }
}

/** Trace records for the CLI that asked, through a non-blocking pipe: a slow reader loses records, never stalls the mount. */
function tracer(fd: number | undefined, origin: number): ((e: TraceEvent) => void) | null {
  if (fd === undefined) return null;
  let open = true;
  return (e) => {
    if (!open) return;
    const t = performance.timeOrigin + performance.now() - origin;
    const record = { ...e, t: Math.round(t * 10) / 10, side: 'fuse', chapter: 3 } as TraceRecord;
    try {
      fs.writeSync(fd, JSON.stringify(record) + '\n');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') open = false; // EPIPE: the CLI is gone
    }
  };
}

async function serveClient(conn: number): Promise<void> {
  const message = await receiveMessage(conn);
  if (!message) return;
  const [fuseFd, traceFd] = message.fds;
  let req: ServerRequest;
  try {
    req = JSON.parse(message.data.toString()) as ServerRequest;
  } catch {
    message.fds.forEach(close);
    return reply(conn, { error: 'not a request' });
  }
  if (req.op === 'status') {
    return reply(conn, {
      pid: process.pid,
      rss: process.memoryUsage().rss,
      mounts: [...sessions].map((s) => ({ target: s.target, branches: s.union.branches, requests: s.counts })),
    });
  }
  if (req.op !== 'mount' || fuseFd === undefined || !Array.isArray(req.branches) || req.branches.length === 0) {
    message.fds.forEach(close);
    return reply(conn, { error: 'a mount request needs the /dev/fuse descriptor and the branches' });
  }
  // Paths mean something only in one mount namespace: ours.
  if (req.mntns !== fs.readlinkSync('/proc/self/ns/mnt')) {
    message.fds.forEach(close);
    return reply(conn, { error: `the aufs server runs in mount namespace ${fs.readlinkSync('/proc/self/ns/mnt')}, the caller in ${req.mntns}: one server serves one namespace` });
  }
  const emit = tracer(traceFd, req.origin);
  const session = new FuseSession(fuseFd, new Union(req.branches), req.target, emit);
  sessions.add(session);
  session.serve().finally(() => {
    sessions.delete(session);
    if (traceFd !== undefined) close(traceFd);
    maybeExit();
  });
  reply(conn, { ok: true, pid: process.pid });
}

/** No mount left and nobody talking to us: the socket goes first (a new CLI then starts a new server), then we do. */
function maybeExit(): void {
  if (sessions.size > 0 || busy > 0) return;
  try {
    if (fs.statSync(socketPath).ino === ours) fs.rmSync(socketPath);
  } catch {
    // gone already
  }
  shutdown(listener); // wakes the accept waiting in a worker thread
  close(listener);
  process.exit(0);
}

// Started, but nobody came (the CLI died before asking): do not linger.
setTimeout(maybeExit, 10_000).unref();

for (;;) {
  let conn: number;
  try {
    conn = await acceptAsync(listener);
  } catch {
    break; // shut down: we are exiting
  }
  busy++;
  serveClient(conn)
    .catch((e) => process.stderr.write(`aufs server: ${(e as Error).stack}\n`))
    .finally(() => {
      close(conn);
      busy--;
      maybeExit();
    });
}
