// Chapter 3, "Try it": the demo steps of chapters/03-aufs/demo.ts, run
// unattended and in order in one state root.
// test/run.ts runs this file with layers 1..3 (every step must pass) and
// with layers 1..2 (every step must fail: no images, no aufs).
import { steps } from '../../../chapters/03-aufs/demo.js';
import { demoSuite } from '../../helpers/demo-suite.js';

demoSuite({ chapter: 3, steps, names: ['u1'], finally: [['rmi', '-f', 'mine:aufs']] });
