// (chapter 11, not written yet) Inside the init: install a seccomp filter.
import type { TraceEvent } from '../../trace/events.js';

/** Install the classic BPF program (base64 of its sock_filter array) on the calling thread. */
export function installFilter(programBase64: string, step: (e: TraceEvent) => void): void {
  void programBase64;
  void step;
}
