// Printing the results: a table for people, or JSON (--json) for programs.
import type { Summary } from './stats.js';
import { PHASES, type PhaseSample } from './phases.js';

export interface RowResult {
  key: string;
  label: string;
  argv: string[];
  env: string;
  samples: number[];
  summary: Summary;
  xFloor: number;
  xRunc: number;
}

export interface Results {
  meta: {
    node: string;
    kernel: string;
    cpus: number;
    runs: number;
    warmup: number;
    traceRuns: number;
    loadavg: number[];
    notes: string[];
  };
  rows: RowResult[];
  phases: { runs: number; median: Record<string, number>; p90: Record<string, number>; nodeBootBeforeTimeOrigin: number; slowestSteps: { step: string; median: number }[] };
  references: { what: string; median: number; xFloor: number; xRunc: number; source: string }[];
  /** chapter 4: layers against the plain way of doing the same job */
  storage: { label: string; medianMs: number; peer: string; peerMs: number }[];
  /** chapter 3: the aufs union over FUSE beside overlayfs and a plain directory */
  aufs?: { label: string; unit: 'ms' | 'ops/s' | 'MiB'; aufs: number; overlay: number; plain: number }[];
  /** chapter 5: what a container's life outside the CLI costs */
  containers: { label: string; value: number; unit: 'ms' | 'MiB'; peer: string; peerValue: number }[];
  /** chapter 6: the network stage, a published port against a direct connection, docker as the peer */
  network: { label: string; value: number; unit: 'ms' | 'MiB' | 'MiB/s' | '% of direct'; peer: string; peerValue: number }[];
  /** chapter 7: a container's start with five volumes against none, docker as the peer */
  volumes: { label: string; medianMs: number; peer: string; peerMs: number }[];
  /** chapter 9: a 5-step build, without and with the cache, docker's classic builder as the peer */
  builds?: { label: string; medianMs: number; peer: string; peerMs: number }[];
  /** chapter 8: push and pull of a 50 MB, 5-layer image, skopeo as the peer */
  registries?: { label: string; medianMs: number; peer: string; peerMs: number }[];
  leftBehind: string[];
}

/** PEERS.md, measured on this kind of machine (not here): only the ratios carry over. */
export const PEERS = { floor: 3, runc: 18 };
export const REFERENCES = [
  { what: 'podman run --rm --network=none busybox true', median: 128 },
  { what: 'docker run --rm --network=none busybox true', median: 198 },
].map((r) => ({ ...r, xFloor: r.median / PEERS.floor, xRunc: r.median / PEERS.runc, source: 'PEERS.md' }));

const ms = (v: number) => (Number.isFinite(v) ? v.toFixed(1) : '-');
const ratio = (v: number) => (!Number.isFinite(v) ? '-' : v < 10 ? v.toFixed(2) + '×' : v.toFixed(1) + '×');

function table(header: string[], rows: string[][], leftCols = 1): string {
  const w = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i < leftCols ? c.padEnd(w[i]) : c.padStart(w[i]))).join('   ').trimEnd();
  return [line(header), line(w.map((n) => '-'.repeat(n))), ...rows.map(line)].join('\n');
}

export function formatText(r: Results): string {
  const out: string[] = [];
  const m = r.meta;
  out.push(
    `dockling bench: whole-process wall time, spawn to exit; ${m.runs} runs per row, interleaved round-robin, after ${m.warmup} warm-up round${m.warmup === 1 ? '' : 's'}`,
    `node ${m.node}, kernel ${m.kernel}, ${m.cpus} CPU${m.cpus === 1 ? '' : 's'}, load average ${m.loadavg.map((l) => l.toFixed(2)).join(' ')}`,
    '',
  );
  out.push(
    table(
      ['what', 'median ms', 'min ms', 'p90 ms', '× floor', '× runc'],
      r.rows.map((row) => [row.label, ms(row.summary.median), ms(row.summary.min), ms(row.summary.p90), ratio(row.xFloor), ratio(row.xRunc)]),
    ),
  );
  out.push('', `not measured here (PEERS.md, same kind of machine; there the floor was ${PEERS.floor} ms and runc ${PEERS.runc} ms — compare ratios, not ms):`);
  out.push(
    table(
      ['what', 'median ms', '× floor', '× runc'],
      r.references.map((x) => [x.what, String(x.median), ratio(x.xFloor), ratio(x.xRunc)]),
    )
      .split('\n')
      .map((l) => '  ' + l)
      .join('\n'),
  );
  const p = r.phases;
  out.push('', `dockling's phases, from its trace (median of ${p.runs} runs with --trace-file; t = ms since the CLI's performance.timeOrigin):`);
  out.push(
    table(
      ['phase', 'median ms', 'p90 ms'],
      PHASES.map(({ key, label }) => [label, ms(p.median[key]), ms(p.p90[key])]),
    )
      .split('\n')
      .map((l) => '  ' + l)
      .join('\n'),
  );
  out.push(`  (Node's own boot before its clock starts, i.e. before t=0, is ~${ms(p.nodeBootBeforeTimeOrigin)} ms of the outside-the-trace time, measured on \`node -e\` in the same rounds)`);
  if (p.slowestSteps.length > 0) {
    out.push('', '  longest gaps between consecutive trace events (median ms; a step, or one side waiting for the other):');
    for (const s of p.slowestSteps) out.push(`    ${ms(s.median).padStart(6)}  ${s.step.replace(/^\d+ /, '')}`);
  }
  if (m.notes.length > 0) out.push('', ...m.notes.map((n) => `note: ${n}`));
  if (r.aufs?.length) {
    out.push('', 'chapter 3, aufs over FUSE beside overlayfs and a plain directory (medians of interleaved runs; × = aufs / overlayfs, in time):');
    const v = (x: number, unit: string) => (Number.isFinite(x) ? `${unit === 'ops/s' ? Math.round(x) : x.toFixed(1)} ${unit}` : '-');
    out.push(table(['what', 'aufs', 'overlayfs', 'plain dir', '×'], r.aufs.map((x) => [x.label, v(x.aufs, x.unit), v(x.overlay, x.unit), v(x.plain, x.unit), ratio(x.unit === 'ops/s' ? x.overlay / x.aufs : x.aufs / x.overlay)])));
  }
  if (r.storage.length) {
    out.push('', 'chapter 4, storage (median of the same runs; × = dockling / the plain way):');
    out.push(table(['what', 'median ms', 'the plain way', 'median ms', '×'], r.storage.map((x) => [x.label, ms(x.medianMs), x.peer, ms(x.peerMs), ratio(x.medianMs / x.peerMs)])));
  }
  if (r.containers.length) {
    out.push('', 'chapter 5, containers (medians; × = dockling / the peer):');
    out.push(table(['what', 'dockling', 'peer', 'peer value', '×'], r.containers.map((x) => [x.label, `${x.value.toFixed(1)} ${x.unit}`, x.peer, `${x.peerValue.toFixed(1)} ${x.unit}`, ratio(x.value / x.peerValue)])));
  }
  if (r.network.length) {
    // sub-millisecond latencies need more than one decimal to be told apart
    const val = (v: number, unit: string) => (!Number.isFinite(v) ? '-' : `${v !== 0 && Math.abs(v) < 1 ? v.toFixed(3) : Math.abs(v) < 10 ? v.toFixed(2) : v.toFixed(1)} ${unit}`);
    out.push('', 'chapter 6, networking (medians of the same run; × = the row / its peer, for MiB/s too: below 1× is slower there):');
    out.push(table(['what', 'value', 'peer', 'peer value', '×'], r.network.map((x) => [x.label, val(x.value, x.unit), x.peer, val(x.peerValue, x.unit), ratio(x.value / x.peerValue)])));
  }
  if (r.volumes?.length) {
    out.push('', 'chapter 7, volumes (medians of the same run; × = the row / its peer):');
    out.push(table(['what', 'median', 'peer', 'peer median', '×'], r.volumes.map((x) => [x.label, `${x.medianMs.toFixed(1)} ms`, x.peer, `${x.peerMs.toFixed(1)} ms`, ratio(x.medianMs / x.peerMs)])));
  }
  if (r.registries?.length) {
    out.push('', 'chapter 8, registries (medians of the same run; × = the row / its peer):');
    out.push(table(['what', 'median', 'peer', 'peer median', '×'], r.registries.map((x) => [x.label, `${x.medianMs.toFixed(1)} ms`, x.peer, `${x.peerMs.toFixed(1)} ms`, ratio(x.medianMs / x.peerMs)])));
  }
  if (r.builds?.length) {
    out.push('', 'chapter 9, builds (medians of the same run; × = the row / its peer):');
    out.push(table(['what', 'median', 'peer', 'peer median', '×'], r.builds.map((x) => [x.label, `${x.medianMs.toFixed(1)} ms`, x.peer, `${x.peerMs.toFixed(1)} ms`, ratio(x.medianMs / x.peerMs)])));
  }
  out.push('', r.leftBehind.length === 0 ? 'clean-up: nothing left behind (no mounts, runc containers, cgroups, processes or temp files)' : `clean-up: LEFT BEHIND:\n${r.leftBehind.map((l) => '  ' + l).join('\n')}`);
  return out.join('\n') + '\n';
}

export type { PhaseSample };
