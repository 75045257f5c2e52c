// Timestamps as Docker prints them. Docker's daemon is Go: a time.Time goes
// into JSON as RFC 3339 with nanoseconds, trailing zeros of the fraction
// dropped ("2026-12-04T12:00:00.1234567Z", and "…:00Z" on a whole second),
// and a time never set as Go's zero time, "0001-01-01T00:00:00Z".
// JavaScript's toISOString() has milliseconds, always three digits
// ("…:00.120Z"): a script that compares or parses Docker's times would see
// the difference, so dockling records and prints Go's form.

/** Go's zero time.Time, as Docker shows a time that never happened (FinishedAt of a running container). */
export const ZERO_TIME = '0001-01-01T00:00:00Z';

/**
 * Now, to the nanosecond where the host allows: the wall clock as Node
 * gives it (performance.timeOrigin + performance.now(), microseconds), with
 * the sub-microsecond digits taken from the monotonic clock's nanoseconds.
 */
export function nowNanos(): bigint {
  const micros = BigInt(Math.floor((performance.timeOrigin + performance.now()) * 1000));
  return micros * 1000n + (process.hrtime.bigint() % 1000n);
}

/** A time in nanoseconds since 1970 as Go's RFC3339Nano prints it in UTC. */
export function rfc3339Nano(nanos: bigint): string {
  const seconds = nanos / 1_000_000_000n;
  const whole = new Date(Number(seconds) * 1000).toISOString().slice(0, 19); // "2026-12-04T12:00:00"
  return goFraction(whole, (nanos % 1_000_000_000n).toString().padStart(9, '0'), 'Z');
}

/** The current time, recorded the way Docker records one (Created, StartedAt, FinishedAt). */
export const nowRFC3339Nano = () => rfc3339Nano(nowNanos());

/**
 * Any stored timestamp as Go would print it back: JavaScript's
 * "…:00.120Z", the monitor's nine digits "…:00.120000000Z", an image
 * config's "…+00:00" all become Go's "…:00.12Z"; an empty or missing one is
 * Go's zero time. (Go keeps a non-zero offset as it was parsed.)
 */
export function goTime(stamp: string | undefined | null): string {
  if (!stamp) return ZERO_TIME;
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:[.,](\d+))?(Z|[+-]\d\d:\d\d)$/i.exec(stamp);
  if (!m) return stamp; // not RFC 3339 at all: shown as it was recorded rather than guessed at
  const offset = m[3].toUpperCase() === 'Z' || /^[+-]00:00$/.test(m[3]) ? 'Z' : m[3];
  return goFraction(m[1], (m[2] ?? '').slice(0, 9), offset);
}

/** Go's ".999999999" layout: the fraction without its trailing zeros, and no dot for none. */
function goFraction(whole: string, digits: string, offset: string): string {
  const fraction = digits.replace(/0+$/, '');
  return `${whole}${fraction ? '.' + fraction : ''}${offset}`;
}

/**
 * Go's time.Unix(s, 0).Format(time.RFC3339): whole seconds in the local
 * time zone, "Z" when that is UTC ("2017-01-01T12:00:03Z",
 * "2017-01-01T13:00:03+01:00"). What docker prints for a date that is not
 * made human (history -H=false).
 */
export function localRFC3339(ms: number): string {
  const d = new Date(Math.floor(ms / 1000) * 1000);
  const offset = -d.getTimezoneOffset(); // minutes east of UTC
  const local = new Date(d.getTime() + offset * 60_000).toISOString().slice(0, 19);
  if (offset === 0) return `${local}Z`;
  const a = Math.abs(offset);
  return `${local}${offset < 0 ? '-' : '+'}${String(Math.floor(a / 60)).padStart(2, '0')}:${String(a % 60).padStart(2, '0')}`;
}
