// `commit --change` and `import --change`: Dockerfile instructions applied
// to an image's config, e.g. -c 'CMD ["httpd", "-f"]' or -c 'ENV A=1'.
// Like the Dockerfile (chapter 9), CMD and ENTRYPOINT take an exec form (a
// JSON array, run as it is) or a shell form (a string, stored as
// ["/bin/sh", "-c", "the string"]).
import type { RunConfig } from './config.js';
import { RunError } from '../core/pipeline.js';

export class ChangeError extends Error {}

/** A JSON array of strings (exec form), or the shell form wrapped in /bin/sh -c. */
function commandForm(arg: string): string[] {
  const t = arg.trim();
  if (t.startsWith('[')) {
    try {
      const v = JSON.parse(t) as unknown;
      if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v;
    } catch {
      /* not JSON: Docker then takes it as the shell form */
    }
  }
  return ['/bin/sh', '-c', t];
}

/** "A=1 B=2" or the old "A 1" form. */
function keyValues(arg: string, what: string): [string, string][] {
  const t = arg.trim();
  if (!t.includes('=')) {
    const [k, ...v] = t.split(/\s+/);
    if (!k || v.length === 0) throw new ChangeError(`${what} requires two arguments: ${arg}`);
    return [[k, v.join(' ')]];
  }
  const out: [string, string][] = [];
  for (const m of t.matchAll(/([^\s=]+)=("(?:[^"\\]|\\.)*"|\S*)/g)) out.push([m[1], m[2].startsWith('"') ? (JSON.parse(m[2]) as string) : m[2]]);
  return out;
}

// #region apply-change
export function applyChange(config: RunConfig, change: string): RunConfig {
  const m = /^\s*(\w+)\s+([\s\S]*)$/.exec(change);
  if (!m) throw new ChangeError(`dockerfile parse error: "${change}": an instruction and its argument, e.g. CMD ["sh"]`);
  const [, word, arg] = m;
  const c = { ...config };
  switch (word.toUpperCase()) {
    case 'CMD':
      c.Cmd = commandForm(arg);
      break;
    case 'ENTRYPOINT':
      c.Entrypoint = commandForm(arg);
      break;
    case 'ENV':
      for (const [k, v] of keyValues(arg, 'ENV')) c.Env = [...(c.Env ?? []).filter((e) => !e.startsWith(k + '=')), `${k}=${v}`];
      break;
    case 'WORKDIR':
      c.WorkingDir = arg.trim();
      break;
    case 'USER':
      c.User = arg.trim();
      break;
    case 'STOPSIGNAL':
      c.StopSignal = arg.trim();
      break;
    case 'LABEL':
      c.Labels = { ...(c.Labels ?? {}), ...Object.fromEntries(keyValues(arg, 'LABEL')) };
      break;
    case 'EXPOSE':
      c.ExposedPorts = { ...(c.ExposedPorts ?? {}), ...Object.fromEntries(arg.trim().split(/\s+/).map((p) => [p.includes('/') ? p : `${p}/tcp`, {}])) };
      break;
    case 'VOLUME':
      c.Volumes = { ...(c.Volumes ?? {}), ...Object.fromEntries(commandForm(arg)[0] === '/bin/sh' ? arg.trim().split(/\s+/).map((v) => [v, {}]) : commandForm(arg).map((v) => [v, {}])) };
      break;
    default:
      throw new ChangeError(`${word} is not a valid change command (CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, STOPSIGNAL, USER, VOLUME, WORKDIR)`);
  }
  return c;
}
// #endregion apply-change

/** --change instructions, in order, on top of the config (a bad one is refused before anything is stored). */
export function withChanges(config: RunConfig, changes: string[]): RunConfig {
  try {
    return changes.reduce(applyChange, config);
  } catch (e) {
    if (e instanceof ChangeError) throw new RunError(1, e.message, { cause: e });
    throw e;
  }
}

