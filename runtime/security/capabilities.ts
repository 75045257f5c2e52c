// (chapter 11, not written yet)
import type { HardeningPart } from './part.js';

export const capabilities: HardeningPart = {
  name: 'capabilities',
  flags: [],
};
