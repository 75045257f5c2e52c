#!/usr/bin/env -S node --
// The "--" stops Node from reading our arguments as its own: Node 20 looks
// for --env-file anywhere on its command line, even after the script name.
// The `dockling` command: the compiled CLI (npm run build bundles it into dist/).
import { main } from '../dist/main.js';

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e) => {
    process.stderr.write(`dockling: internal error: ${e?.stack ?? e}\n`);
    process.exitCode = 125;
  },
);
