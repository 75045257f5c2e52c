// The container's init, as bundled into dist/init.js: chapter 1's init
// (runtime/process/init.ts) with the steps later chapters add to it. Like
// cli/layers.ts, this is the one place that knows every layer; the init
// itself only calls the hooks it is given.
import { runInit } from '../process/init.js';
import { switchUser } from '../container/user.js';
import { beforeExec as hardening } from '../security/before-exec.js';

// Chapter 5 becomes the container's user first (keeping its capabilities
// for chapter 11's steps); chapter 11 then takes them away.
runInit({ beforeExec: [{ chapter: 5, run: switchUser }, { chapter: 11, run: hardening }] });
