// The common ground of the v1 and v2 driver tests: a temporary directory
// laid out like /sys/fs/cgroup, with plain files standing in for the
// kernel's, and every trace event the driver emits meanwhile. The drivers
// take the cgroup mount and the registry of parents they made as
// arguments, so pointed at a fake tree they write nowhere else: the unit
// tests need neither root nor a particular host.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ParentRegistry } from '../../runtime/cgroups/driver.ts';
import { trace } from '../../runtime/trace/trace.ts';
import type { TraceRecord } from '../../runtime/trace/events.ts';

export class FakeCgroupTree {
  /** the temporary directory; everything of the fake lives in it */
  readonly base: string;
  /** the fake /sys/fs/cgroup: deep in `base`, so that a path escaping it (with "..") still lands in `base` */
  readonly cg: string;
  /** every trace event since the fake was made (tests may empty it to look at one step) */
  records: TraceRecord[] = [];
  private detach: () => void;

  constructor(label: string) {
    this.base = fs.mkdtempSync(path.join(os.tmpdir(), `dockling-unit-${label}-`));
    this.cg = path.join(this.base, 'sys/fs/cgroup');
    this.detach = trace.attach((r) => this.records.push(r));
  }

  /** The list of parents dockling made lives with the fake tree, not in /run. */
  parents(): ParentRegistry {
    return new ParentRegistry(path.join(this.base, 'cgroup-parents.json'));
  }

  /** The traced writes, in order: what the driver says it wrote. */
  writes(): { path: string; value: string }[] {
    return this.records.filter((r) => r.op === 'write').map((r) => ({ path: (r as { path: string }).path, value: (r as { value: string }).value }));
  }

  /** Every regular file under the tree with its content: what was really written. */
  files(): Map<string, string> {
    const out = new Map<string, string>();
    const walk = (d: string) => {
      for (const e of fs.readdirSync(d, { withFileTypes: true })) {
        const p = path.join(d, e.name);
        if (e.isDirectory()) walk(p);
        else out.set(p, fs.readFileSync(p, 'utf8'));
      }
    };
    walk(this.base);
    return out;
  }

  /** Stop listening to the trace (a later test's events are not this fake's) and remove the tree. */
  dispose(): void {
    this.detach();
    fs.rmSync(this.base, { recursive: true, force: true });
  }
}
