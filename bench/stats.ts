// Summary statistics for a list of timings (milliseconds).

export interface Summary {
  n: number;
  median: number;
  min: number;
  p90: number;
  max: number;
}

/** The q-quantile (0..1) with linear interpolation between ranks (numpy's default). */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

export function summarize(samples: readonly number[]): Summary {
  const s = [...samples].sort((a, b) => a - b);
  return {
    n: s.length,
    median: quantile(s, 0.5),
    min: s.length ? s[0] : NaN,
    p90: quantile(s, 0.9),
    max: s.length ? s[s.length - 1] : NaN,
  };
}

export function median(samples: readonly number[]): number {
  return summarize(samples).median;
}
