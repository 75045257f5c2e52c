// (chapter 11, not written yet) Inside the init: set the process's rlimits.
import type { ContainerSpec } from '../../core/spec.js';
import type { TraceEvent } from '../../trace/events.js';

export function applyRlimits(spec: ContainerSpec, step: (e: TraceEvent) => void): void {
  void spec;
  void step;
}
