// `run --log-driver` and `--log-opt`: which log a container keeps, and how
// big it may grow. Checked here, before anything is made, with Docker's
// messages; kept in HostConfig.LogConfig as Docker shows it in `inspect`
// ({"Type":"json-file","Config":{"max-size":"20m","max-file":"5"}}); carried
// out by the monitor (monitor-log.c), which rotates the file.
import { RunError } from '../core/pipeline.js';

export interface LogConfig {
  Type: 'json-file' | 'none';
  Config: Record<string, string>;
}

// #region log-default
/**
 * Docker's json-file default is no limit at all: a container printing in a
 * loop fills the disk. dockling caps every log unless told otherwise, with
 * the defaults Docker chose for its `local` driver: 5 files of 20 MB, so a
 * container's log never takes more than about 100 MB. Each option given
 * with --log-opt replaces its default (max-file=3 alone keeps max-size=20m).
 */
export const DEFAULT_LOG_OPTS: Record<string, string> = { 'max-size': '20m', 'max-file': '5' };
// #endregion log-default

/** The options json-file knows (Docker's jsonfilelog.ValidateLogOpt); dockling acts on the first two. */
const JSON_FILE_OPTS = ['max-size', 'max-file', 'compress', 'labels', 'labels-regex', 'env', 'env-regex', 'tag'];
/** Docker's other drivers: known names, not built here. */
const OTHER_DRIVERS = ['local', 'syslog', 'journald', 'gelf', 'fluentd', 'awslogs', 'splunk', 'etwlogs', 'gcplogs', 'logentries'];

/**
 * A size as Docker reads one (go-units FromHumanSize): a number, an
 * optional space, then k, m, g, t or p, with optional "i" and "b", in
 * powers of 1000 ("10m" is 10,000,000 bytes, "1.5g" 1,500,000,000).
 */
export function parseSize(s: string): number {
  const m = /^(\d+(?:\.\d+)*) ?([kKmMgGtTpP])?[iI]?[bB]?$/.exec(s);
  if (!m || Number.isNaN(Number(m[1]))) throw new RunError(125, `invalid size: '${s}'`);
  const power = m[2] ? 'kmgtp'.indexOf(m[2].toLowerCase()) + 1 : 0;
  return Math.floor(Number(m[1]) * 1000 ** power);
}

/** --log-driver and --log-opt KEY=VALUE…, checked; the LogConfig to keep. */
export function parseLogConfig(driver: string | undefined, opts: string[]): LogConfig {
  const type = driver ?? 'json-file';
  if (type !== 'json-file' && type !== 'none') {
    const hint = OTHER_DRIVERS.includes(type) ? ' (dockling keeps logs with json-file or none)' : '';
    throw new RunError(125, `logger: no log driver named '${type}' is registered${hint}`);
  }
  const given: Record<string, string> = {};
  for (const o of opts) {
    const eq = o.indexOf('=');
    if (eq < 0) throw new RunError(125, `invalid key value pair format in logging opts: ${o}`);
    given[o.slice(0, eq)] = o.slice(eq + 1);
  }
  for (const key of Object.keys(given)) {
    if (type === 'none' || !JSON_FILE_OPTS.includes(key)) throw new RunError(125, `unknown log opt '${key}' for ${type} log driver`);
  }
  if (type === 'none') return { Type: 'none', Config: {} };
  const config = { ...DEFAULT_LOG_OPTS, ...given };
  if (parseSize(config['max-size']) <= 0) throw new RunError(125, 'max-size must be a positive number');
  const files = config['max-file'];
  if (!/^[+-]?\d+$/.test(files)) throw new RunError(125, `strconv.Atoi: parsing "${files}": invalid syntax`);
  if (Number(files) < 1) throw new RunError(125, 'max-file cannot be less than 1');
  // Sorted, as Go's encoding/json writes a map: `inspect` shows what Docker's does.
  return { Type: 'json-file', Config: Object.fromEntries(Object.entries(config).sort(([a], [b]) => (a < b ? -1 : 1))) };
}

/** The monitor's options for a LogConfig. */
export function monitorLogArgs(c: LogConfig): string[] {
  if (c.Type === 'none') return ['--log-driver', 'none'];
  return ['--log-driver', 'json-file', '--log-max-size', String(parseSize(c.Config['max-size'])), '--log-max-file', c.Config['max-file']];
}
