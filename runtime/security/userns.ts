// (chapter 11, not written yet)
import type { HardeningPart } from './part.js';

export const userns: HardeningPart = {
  name: 'userns',
  flags: [],
};
