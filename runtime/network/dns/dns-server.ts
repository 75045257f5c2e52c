// The DNS server process's entry (bundled as dist/dns-server.js; run from
// source with tsx in development). Started by ensureDnsServer (control.ts):
//
//   node dns-server.js STATE_ROOT [GATEWAY...]
//
// It binds the gateways it is given, then says "ready" (or "error WHY") on
// file descriptor 3, the pipe its starter waits on, and closes it: from then
// on it has no tie to the command that started it.
import fs from 'node:fs';
import { bindError, DnsServer } from './server.js';

const READY_FD = 3;

function tell(line: string): void {
  try {
    fs.writeSync(READY_FD, line + '\n');
    fs.closeSync(READY_FD);
  } catch {
    /* started without the pipe (by hand): nobody to tell */
  }
}

async function main(): Promise<void> {
  const [stateRoot, ...gateways] = process.argv.slice(2);
  if (!stateRoot) {
    process.stderr.write('usage: dns-server.js STATE_ROOT [GATEWAY...]\n');
    process.exit(2);
  }
  const num = (name: string) => (process.env[name] ? Number(process.env[name]) : undefined);
  const server = new DnsServer({
    stateRoot,
    // for tests only: a shorter idle check and grace, a shorter upstream wait
    idleCheckMs: num('DOCKLING_DNS_IDLE_CHECK_MS'),
    graceMs: num('DOCKLING_DNS_GRACE_MS'),
    upstreamTimeoutMs: num('DOCKLING_DNS_UPSTREAM_TIMEOUT_MS'),
  });
  server.onStopped = () => process.exit(0);
  for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(sig, () => void server.stop());
  // Nothing may kill the server half-way and leave its pid file behind.
  process.on('uncaughtException', () => void server.stop());
  process.on('unhandledRejection', () => {
    /* a failed send or reply: the query is lost, the server goes on */
  });
  try {
    await server.start();
  } catch (e) {
    tell(`error cannot listen on the DNS server's control socket: ${(e as Error).message}`);
    process.exit(1);
  }
  for (const gw of gateways) {
    try {
      await server.bind(gw);
    } catch (e) {
      tell(`error ${bindError(gw, server.port, e)}`);
      await server.stop();
      return;
    }
  }
  tell('ready');
}

void main();
