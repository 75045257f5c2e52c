// Chapter 5, "Try it": the demo steps of chapters/05-containers/demo.ts.
//
// Every demo step of chapter 5, run unattended and in order, in ONE state
// root: the steps build on each other (step 1's container `web` is listed,
// logged, entered, stopped, started again, renamed and finally removed).
// Each step's own check must hold. test/run.ts runs this file with layers
// 1..5 (every step must pass) and with layers 1..4 (every step must fail:
// `-d` is ignored there, so the runs stay in the foreground until their
// commands end — within seconds, by design of the steps — and ps, logs,
// exec, stop, start… do not exist).
//
// Containers live on between steps (that is the chapter). After the last
// step (`rm -f site quick`) nothing of any may remain: no state directory,
// mount, cgroup, layer, monitor or PID 1. Whatever a failed step left is
// removed in `after`, and checked too.
import { steps } from '../../../chapters/05-containers/demo.js';
import { demoSuite } from '../../helpers/demo-suite.js';

demoSuite({ chapter: 5, steps, names: ['web', 'site', 'quick'] });
