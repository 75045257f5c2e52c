// (chapter 11, not written yet)
import type { HardeningPart } from './part.js';

export const ulimits: HardeningPart = {
  name: 'ulimits',
  flags: [],
};
