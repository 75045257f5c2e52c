// Chapter 11's demo steps, in the chapter's order: each defence first shown
// as an open door (a step pinned to `--chapter 10` where one helps), then
// closed. The steps live beside the prose of each part (parts/*.steps.ts);
// test/chapters/11-hardening/demo.test.ts runs them unattended.
import type { DemoStep } from '../demo.js';
import { steps as capabilities } from './parts/capabilities.steps.js';
import { steps as seccomp } from './parts/seccomp.steps.js';
import { steps as devices } from './parts/devices.steps.js';
import { steps as filesystem } from './parts/filesystem.steps.js';
import { steps as userns } from './parts/userns.steps.js';

export const steps: DemoStep[] = [...capabilities, ...seccomp, ...devices, ...filesystem, ...userns];

export { saveRemapHost } from './parts/userns.steps.js';
