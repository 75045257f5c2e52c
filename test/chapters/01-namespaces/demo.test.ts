// Chapter 1, "Try it": the demo steps of chapters/01-namespaces/demo.ts,
// run by `walkthrough --script` (test/helpers/demo-suite.ts): each step's
// own check must hold, and after the last nothing of any container remains.
// test/run.ts runs this file with layers 1..1 (every step must pass) and
// with layers 1..0 (every step must fail: there is no `run` at all).
import { steps } from '../../../chapters/01-namespaces/demo.js';
import { demoSuite } from '../../helpers/demo-suite.js';

demoSuite({ chapter: 1, steps, names: [] });
