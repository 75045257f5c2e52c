// `npm run vm -- COMMAND [ARG…]`: run one command in a fresh cgroup-v2-only
// guest (test/vm/guest.ts), from the checkout's root, with its output
// streamed and its exit status passed through. For the book too: chapter 2
// can show what v2 really looks like, e.g.
//   npm run -s vm -- cat /proc/self/cgroup
//   npm run -s vm -- node bin/dockling.js run --rm -m 64m busybox cat /sys/fs/cgroup/memory.max
// Options (before the command): --timeout SECONDS (default 900), --stats
// (boot and run times and memory on stderr).
import { missing, runInGuest } from './guest.js';

const args = process.argv.slice(2);
let timeoutS = 900;
let stats = false;
while (args[0]?.startsWith('--')) {
  const a = args.shift()!;
  if (a === '--') break;
  if (a === '--stats') stats = true;
  else if (a === '--timeout' && /^\d+$/.test(args[0] ?? '')) timeoutS = Number(args.shift());
  else {
    console.error(`vm: unknown option ${a} (usage: npm run vm -- [--timeout SECONDS] [--stats] COMMAND [ARG…])`);
    process.exit(2);
  }
}
if (args.length === 0) {
  console.error('vm: no command (usage: npm run vm -- [--timeout SECONDS] [--stats] COMMAND [ARG…])');
  process.exit(2);
}
const why = missing();
if (why) {
  console.error(`vm: cannot boot the test guest: ${why}`);
  process.exit(1);
}
const quote = (s: string) => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);
const env: Record<string, string> = {};
for (const [k, v] of Object.entries(process.env)) if (v !== undefined && (k === 'CI' || k.startsWith('DOCKLING_'))) env[k] = v;
const r = await runInGuest(args.map(quote).join(' '), { timeoutS, env, onOutput: (t) => process.stdout.write(t) });
if (stats || r.status === undefined) {
  const mib = (k?: number) => (k === undefined ? '?' : `${Math.round(k / 1024)} MiB`);
  console.error(`vm: boot ${(r.bootMs / 1000).toFixed(1)} s, command ${(r.runMs / 1000).toFixed(1)} s, guest memory used ${mib(r.memory.usedKiB)} (command's peak ${mib(r.memory.sessionPeakKiB)}), QEMU peak RSS ${mib(r.memory.qemuPeakKiB)}`);
}
if (r.status === undefined) {
  console.error(r.timedOut ? `vm: the guest did not finish within ${timeoutS} s` : 'vm: the guest stopped without reporting an exit status; its console:');
  console.error(r.console.trim());
  process.exit(125);
}
process.exit(r.status);
