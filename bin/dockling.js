#!/usr/bin/env -S node --
// The "--" stops Node from reading our arguments as its own: Node 20 looks
// for --env-file anywhere on its command line, even after the script name.
// The `dockling` command: the compiled CLI (npm run build bundles it into dist/).
import { brokenPipe, main } from '../dist/main.js';

main(process.argv.slice(2)).then(
  (code) => {
    // Stdout lost its reader (`dockling logs C | head -1`): 141, as a
    // program killed by SIGPIPE, whatever the command went on to return.
    process.exitCode = brokenPipe() ? 141 : code;
  },
  (e) => {
    // A write into the broken pipe that the command saw fail: not a bug.
    if (brokenPipe()) {
      process.exitCode = 141;
      return;
    }
    process.stderr.write(`dockling: internal error: ${e?.stack ?? e}\n`);
    process.exitCode = 125;
  },
);
