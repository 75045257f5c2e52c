// Every change chapter 6 makes to the host's (or a container's) network goes
// through one of these: iproute2's `ip`, netfilter's `iptables`, a sysctl.
// Each is a trace event first, then the real command, so `--trace` shows a
// line a learner can paste into a shell. In a container's namespace the
// command runs under `nsenter --net`: the host's own binary, in the
// container's network namespace only (never its mount namespace, so
// nothing the container wrote can stand in for the program).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { trace } from '../trace/trace.js';

const CH = 6;

/** A failed `ip`/`iptables`: its words and its stderr, for the caller's message. */
export class HostCommandError extends Error {
  constructor(readonly argv: string[], readonly stderr: string, readonly status: number | null) {
    super(`${argv.join(' ')}: ${stderr.trim() || `exit status ${status}`}`);
  }
}

/**
 * A system program by its full path. Not through $PATH: a container's
 * monitor runs `dockling network release` with an empty environment, and
 * the programs are the host's own, from the system's directories only.
 */
const found = new Map<string, string>();
export function systemProgram(name: string): string {
  let p = found.get(name);
  if (!p) {
    p = ['/usr/sbin', '/sbin', '/usr/bin', '/bin'].map((d) => `${d}/${name}`).find((f) => fs.existsSync(f));
    if (!p) throw new HostCommandError([name], `${name} is not installed (apt-get install ${name === 'ip' ? 'iproute2' : name === 'nsenter' ? 'util-linux' : name})`, null);
    found.set(name, p);
  }
  return p;
}

/** The argv, wrapped to run in the network namespace of init PID `netns` (0 = here). */
function inNetns(argv: string[], netns: number): string[] {
  const [program, ...rest] = argv;
  const full = [systemProgram(program), ...rest];
  return netns ? [systemProgram('nsenter'), `--net=/proc/${netns}/ns/net`, '--', ...full] : full;
}

function runCommand(argv: string[], input?: string): string {
  const r = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8', input, stdio: ['pipe', 'pipe', 'pipe'] });
  if (r.error) throw new HostCommandError(argv, (r.error as Error).message, null);
  if (r.status !== 0) throw new HostCommandError(argv, r.stderr, r.status);
  return r.stdout;
}

/** `ip ARGV…` on the host, or in init PID `netns`'s network namespace. Returns stdout. */
export function ip(argv: string[], netns = 0): string {
  trace.emit(CH, { op: 'ip', argv, netns: netns ? String(netns) : '' });
  return runCommand(inNetns(['ip', ...argv], netns));
}

/** `ip -batch -`: several changes in one process (each line is traced as its own step). */
export function ipBatch(lines: string[][], netns = 0): void {
  if (lines.length === 0) return;
  for (const argv of lines) trace.emit(CH, { op: 'ip', argv, netns: netns ? String(netns) : '' });
  runCommand(inNetns(['ip', '-batch', '-'], netns), lines.map((l) => l.join(' ') + '\n').join(''));
}

/** Read-only `ip` (show, route get): not a change, so not traced. */
export function ipQuery(argv: string[], netns = 0): string {
  return runCommand(inNetns(['ip', ...argv], netns));
}

/** `iptables -w ARGV…` (the xtables lock, waited for, as Docker does). */
export function iptables(argv: string[], netns = 0): string {
  trace.emit(CH, { op: 'iptables', argv, netns: netns ? String(netns) : '' });
  return runCommand(inNetns(['iptables', '-w', ...argv], netns));
}

/** Is this rule there? (`iptables -t TABLE -C CHAIN SPEC…`, read-only, not traced: a "no" is an answer) */
export function iptablesCheck(table: string, chain: string, spec: string[], netns = 0): boolean {
  const full = inNetns(['iptables', '-w', '-t', table, '-C', chain, ...spec], netns);
  return spawnSync(full[0], full.slice(1), { stdio: 'ignore' }).status === 0;
}

/** Does the chain exist? (`iptables -S CHAIN`, read-only, not traced) */
export function chainExists(table: string, chain: string, netns = 0): boolean {
  const full = inNetns(['iptables', '-w', '-t', table, '-S', chain], netns);
  return spawnSync(full[0], full.slice(1), { stdio: 'ignore' }).status === 0;
}

/**
 * Write a sysctl under /proc/sys (key in dotted form: net.ipv4.ip_forward).
 * /proc/sys/net is per network namespace, seen through the writer's own:
 * in a container's, the write is done by a shell under nsenter.
 */
export function sysctl(key: string, value: string, netns = 0): void {
  // (a shell of the host's: `sh` below is found like every other program)
  trace.emit(CH, { op: 'sysctl', key, value, netns: netns ? String(netns) : '' });
  const file = '/proc/sys/' + key.replace(/\./g, '/');
  if (!netns) return fs.writeFileSync(file, value);
  runCommand(inNetns(['sh', '-c', 'echo "$1" > "$2"', 'sh', value, file], netns));
}
