// Chapter 4, "Try it": the demo steps of chapters/04-overlay2/demo.ts, run
// by `walkthrough --script` (test/helpers/demo-suite.ts) in ONE state root:
// the steps build on each other (step 2's container `web` is diffed,
// committed, exported and finally removed by later steps; the archive saved
// in one step is loaded in another). Each step's own check must hold.
// test/run.ts runs this file with layers 1..4 (every step must pass) and
// with layers 1..3 (every step must fail: there are no image commands, and
// `run` makes no overlay mount). After the last step (`rm web`) nothing of
// any container may remain: no state directory, mount or layer mount.
import { steps } from '../../../chapters/04-overlay2/demo.js';
import { demoSuite } from '../../helpers/demo-suite.js';

demoSuite({ chapter: 4, steps, names: ['web'] });
