// Chapter 2, "Try it": the demo steps of chapters/02-cgroups/demo.ts, run
// by `walkthrough --script` (test/helpers/demo-suite.ts): each step's own
// check must hold. test/run.ts runs this file with layers 1..2 (every step
// must pass) and with layers 1..1 (every step must fail: the resource flags
// do not exist there). Nothing of a container may be left behind, its
// cgroups above all: after the last step no cgroup named dockling-<id> of
// this state root's containers remains in any hierarchy.
import { steps } from '../../../chapters/02-cgroups/demo.js';
import { demoSuite } from '../../helpers/demo-suite.js';

demoSuite({ chapter: 2, steps, names: [] });
