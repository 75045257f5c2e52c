// Chapter 7, "Try it": the demo steps of chapters/07-volumes/demo.ts, run
// unattended and in order in one state root (the steps build on each
// other: notes is made, written, read, removed). Each step's own check must
// hold. test/run.ts runs this file with layers 1..7 (every step must pass)
// and with layers 1..6 (every step must fail: -v, --mount, --volumes-from
// and `volume` do not exist there). After the last step no volume, state
// directory or mount remains.
import fs from 'node:fs';
import path from 'node:path';
import { steps } from '../../../chapters/07-volumes/demo.js';
import { demoSuite } from '../../helpers/demo-suite.js';
import { volumesOn } from './helpers.ts';

demoSuite({
  chapter: 7,
  steps,
  names: ['c1'],
  finally: [['volume', 'rm', '-f', 'notes']],
  leftovers: (root) => {
    fs.rmSync(path.join(root, 'labdir'), { recursive: true, force: true }); // the bind step's host directory
    const left = volumesOn(root);
    return left.length ? [`volumes: ${left.join(', ')}`] : [];
  },
});
