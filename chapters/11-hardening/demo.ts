// Chapter 11's demo steps (assembled from the parts once they land).
import type { DemoStep } from '../demo.js';

export const steps: DemoStep[] = [];
