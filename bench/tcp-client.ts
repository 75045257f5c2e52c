// Run by bench/network.ts inside dockerd's network namespace (`nsenter
// --net=/proc/DOCKERD/ns/net`), where docker's published ports are: the same
// measurement as dockling's rows (measureTcp), its result as JSON on stdout.
//
//   tsx bench/tcp-client.ts '[{"host":"127.0.0.1","port":P},{"host":IP,"port":80},RUNS]'
import { measureTcp, ready, type Target } from './network.js';

const [published, direct, runs] = JSON.parse(process.argv[2] ?? '[]') as [Target, Target, number];
ready(direct)
  .then(() => measureTcp(published, direct, runs))
  .then(
    (r) => process.stdout.write(JSON.stringify(r)),
    (e) => {
      process.stderr.write(`tcp-client: ${(e as Error)?.message ?? e}\n`);
      process.exitCode = 1;
    },
  );
