// Who starts the embedded DNS server and who stops it.
//
// dockling has no daemon, so the server's life is tied to the containers
// that need it: it is started by the first container put on a user-defined
// network, told about each further network's gateway, and stopped by the
// command that sees the last such container end (`rm`, the monitor of a
// detached container, the reaper). All of that happens under one lock, so
// a container starting while another one's `rm` stops the server cannot
// lose its DNS. The server also watches for itself (server.ts checkIdle),
// in case the command that should have stopped it was killed.
//
// On disk, in <stateRoot>/network/dns/:
//   pid           the server's PID (written once it listens; removed when it exits)
//   control.sock  where "bind IP" lines are sent
//   lock          held while starting, binding or stopping it
//   upstream      the resolvers it forwards other names to (written by the network layer)
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { withLockAsync } from '../../core/files.js';
import { RunError } from '../../core/pipeline.js';
import { dnsDir } from '../model.js';
import { controlSocket, lockDir, pidFile } from './server.js';

export { dnsNeeded } from './records.js';
export { upstreamFile } from './server.js';

// #region dns-program
/**
 * The server's program and how to run it. From the bundle (dockling as
 * installed), dist/dns-server.js next to the CLI's own chunks; from the
 * source tree (the tests run under tsx), dns-server.ts through tsx.
 */
function serverProgram(): { argv: string[]; script: string } {
  const bundled = fileURLToPath(new URL('./dns-server.js', import.meta.url));
  if (fs.existsSync(bundled)) return { argv: [bundled], script: bundled };
  const source = fileURLToPath(new URL('./dns-server.ts', import.meta.url));
  let tsx = 'tsx';
  try {
    tsx = import.meta.resolve('tsx');
  } catch {
    /* left to Node's own lookup from the working directory */
  }
  return { argv: ['--import', tsx, source], script: source };
}
// #endregion dns-program

/**
 * The running server's PID, or null. The pid file alone is not trusted: a
 * killed server leaves it, and its PID may be reused by another process, so
 * the process must still be running our server program for this state root
 * (its /proc/PID/cmdline).
 */
export function dnsServerPid(stateRoot: string): number | null {
  const root = path.resolve(stateRoot);
  let pid: number;
  try {
    pid = Number(fs.readFileSync(pidFile(root), 'utf8').trim());
  } catch {
    return null;
  }
  if (!Number.isInteger(pid) || pid <= 0) return null;
  return isOurServer(pid, root) ? pid : null;
}

function isOurServer(pid: number, root: string): boolean {
  let argv: string[];
  try {
    argv = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  } catch {
    return false; // no such process
  }
  const script = serverProgram().script;
  const at = argv.indexOf(script);
  if (at < 0 || argv[at + 1] !== root) return false;
  // A zombie still has its /proc entry (its cmdline is then empty, which the test above already rejects).
  return true;
}

/** The server's answer to each line sent on its control socket. */
class ControlUnavailable extends Error {}

function sendCommands(root: string, lines: string[], timeoutMs = 5000): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const conn = net.createConnection(controlSocket(root));
    const answers: string[] = [];
    let buf = '';
    const timer = setTimeout(() => fail(new ControlUnavailable('the DNS server did not answer on its control socket')), timeoutMs);
    const fail = (e: Error) => {
      clearTimeout(timer);
      conn.destroy();
      reject(e);
    };
    conn.on('error', (e) => fail(new ControlUnavailable(e.message)));
    conn.on('connect', () => conn.write(lines.map((l) => l + '\n').join('')));
    conn.on('data', (d) => {
      buf += d.toString();
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        answers.push(buf.slice(0, nl));
        buf = buf.slice(nl + 1);
      }
      if (answers.length >= lines.length) {
        clearTimeout(timer);
        conn.end();
        resolve(answers);
      }
    });
    conn.on('close', () => fail(new ControlUnavailable('the DNS server closed its control socket')));
  });
}

// #region dns-ensure
/**
 * Make sure the server runs and listens on port 53 of each gateway, before
 * a container on those networks starts (its first lookup may come at once).
 * A running server is told "bind IP" and answers "ok" once it listens;
 * otherwise one is started, detached from this command (its own session,
 * no stdio), and this waits for its "ready" on a pipe.
 */
export async function ensureDnsServer(stateRoot: string, gateways: string[]): Promise<void> {
  const root = path.resolve(stateRoot);
  fs.mkdirSync(dnsDir(root), { recursive: true, mode: 0o700 });
  await withLockAsync(lockDir(root), async () => {
    const pid = dnsServerPid(root);
    if (pid !== null) {
      try {
        const answers = await sendCommands(root, gateways.map((g) => `bind ${g}`));
        const failed = answers.find((a) => a.startsWith('error ') && !a.includes('is stopping'));
        if (failed) throw new RunError(125, `failed to set up the embedded DNS server: ${failed.slice(6)}`);
        if (answers.every((a) => a === 'ok')) return;
      } catch (e) {
        if (!(e instanceof ControlUnavailable)) throw e;
      }
      // It is exiting on its own (nothing needed it a moment ago), or
      // stuck: make sure it is gone, then start a new one.
      await killAndWait(pid, root);
    }
    removeLeftovers(root);
    await startServer(root, gateways);
  });
}
// #endregion dns-ensure

async function startServer(root: string, gateways: string[]): Promise<void> {
  const program = serverProgram();
  const child = spawn(process.execPath, [...program.argv, root, ...gateways], {
    detached: true, // its own session: a ^C to this command does not reach it
    stdio: ['ignore', 'ignore', 'ignore', 'pipe'],
    cwd: '/',
  });
  const ready = child.stdio[3] as NodeJS.ReadableStream & { destroy(): void };
  const said = await new Promise<string>((resolve) => {
    let buf = '';
    const timer = setTimeout(() => resolve('error it did not say it was ready within 10 seconds'), 10_000);
    ready.on('data', (d: Buffer) => {
      buf += d.toString();
      const nl = buf.indexOf('\n');
      if (nl >= 0) {
        clearTimeout(timer);
        resolve(buf.slice(0, nl));
      }
    });
    ready.on('error', () => {});
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve(buf.includes('\n') ? buf.slice(0, buf.indexOf('\n')) : `error it exited (${signal ?? `status ${code}`}) before it was ready`);
    });
    child.on('error', (e) => resolve(`error ${e.message}`));
  });
  ready.destroy();
  child.unref();
  if (said !== 'ready') {
    if (child.pid) await killAndWait(child.pid, root);
    removeLeftovers(root);
    throw new RunError(125, `failed to start the embedded DNS server: ${said.replace(/^error /, '')}`);
  }
}

/** SIGTERM our server (and SIGKILL if it has not gone in 3 s), then wait until it has. */
async function killAndWait(pid: number, root: string): Promise<void> {
  const gone = () => !isOurServer(pid, root) || isZombie(pid);
  const signal = (s: NodeJS.Signals) => {
    try {
      if (isOurServer(pid, root)) process.kill(pid, s);
    } catch {
      /* gone already */
    }
  };
  signal('SIGTERM');
  const deadline = Date.now() + 3000;
  while (!gone() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  if (!gone()) {
    signal('SIGKILL');
    while (!gone()) await new Promise((r) => setTimeout(r, 20));
  }
}

function isZombie(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z';
  } catch {
    return true;
  }
}

/** The pid file and socket of a server that is gone (killed with SIGKILL). */
function removeLeftovers(root: string): void {
  if (dnsServerPid(root) !== null) return;
  fs.rmSync(pidFile(root), { force: true });
  fs.rmSync(controlSocket(root), { force: true });
}

// #region dns-stop
/**
 * Stop the server when nothing needs it: called after a container on a
 * user-defined network has ended (rm, the monitor, the reaper). `needed` is
 * asked under the lock, so that a container starting at the same moment
 * (whose ensureDnsServer waits on that lock) is counted, or starts a new
 * server after this one is gone. Returns once the process has exited and
 * its pid file and socket are gone.
 */
export async function stopDnsServerIfIdle(stateRoot: string, needed: () => boolean): Promise<void> {
  const root = path.resolve(stateRoot);
  if (!fs.existsSync(dnsDir(root))) return; // never started here
  await withLockAsync(lockDir(root), async () => {
    if (needed()) return;
    const pid = dnsServerPid(root);
    if (pid !== null) await killAndWait(pid, root);
    removeLeftovers(root);
  });
}
// #endregion dns-stop
