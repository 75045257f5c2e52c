// The trace stream: layers call `trace.emit(chapter, event)` right before they
// change the host; sinks decide where the record goes (stderr for --trace, a
// JSON-lines file for tests, the init→CLI channel, the walkthrough).
//
// When no sink is attached, emit is a single length check: tracing costs
// nothing on the run path unless someone is reading.
import { encodeRecord, type TraceEvent, type TraceRecord, type TraceSide } from './events.js';

export type TraceSink = (r: TraceRecord) => void;

export class Tracer {
  private sinks: TraceSink[] = [];
  /** epoch milliseconds that `t` counts from (the dockling command's start) */
  origin: number;

  constructor(public side: TraceSide, origin = performance.timeOrigin) {
    this.origin = origin;
  }

  get enabled(): boolean {
    return this.sinks.length > 0;
  }

  attach(sink: TraceSink): () => void {
    this.sinks.push(sink);
    return () => {
      this.sinks = this.sinks.filter((s) => s !== sink);
    };
  }

  emit(chapter: number, event: TraceEvent): void {
    if (this.sinks.length === 0) return;
    const t = performance.timeOrigin + performance.now() - this.origin;
    const record = { ...event, t: Math.round(t * 10) / 10, side: this.side, chapter } as TraceRecord;
    for (const sink of this.sinks) sink(record);
  }

  /** Pass on a record made by another process (the init), keeping its time. */
  forward(record: TraceRecord): void {
    for (const sink of this.sinks) sink(record);
  }
}

/** The process-wide tracer. The CLI is the host side; the init re-labels it. */
export const trace = new Tracer('host');

/** A sink that appends JSON lines to a file descriptor, synchronously. */
export function jsonLinesSink(write: (line: string) => void): TraceSink {
  return (r) => write(encodeRecord(r) + '\n');
}
