// --security-opt: Docker's one flag for several defences, as KEY=VALUE
// (or, deprecated, KEY:VALUE). The words and error messages are Docker's
// (the daemon's parseSecurityOpt, and the CLI's reading of seccomp=FILE).
import fs from 'node:fs';
import { RunError } from '../core/pipeline.js';

export interface SecurityOpts {
  /** "builtin" (Docker's default profile), "unconfined", or a profile's JSON text */
  seccomp: 'builtin' | 'unconfined' | { json: string; file: string };
  noNewPrivileges: boolean;
  /** systempaths=unconfined: no masked or read-only paths */
  unconfinedPaths: boolean;
  /** the options as given, for HostConfig.SecurityOpt */
  given: string[];
}

export function parseSecurityOpts(given: string[]): SecurityOpts {
  const out: SecurityOpts = { seccomp: 'builtin', noNewPrivileges: false, unconfinedPaths: false, given };
  for (const opt of given) {
    if (opt === 'no-new-privileges') {
      out.noNewPrivileges = true;
      continue;
    }
    if (opt === 'disable') continue; // label=disable's short form: there is no SELinux here
    const sep = opt.includes('=') ? '=' : opt.includes(':') ? ':' : '';
    const i = sep ? opt.indexOf(sep) : -1;
    if (i < 0) throw new RunError(125, `invalid --security-opt 1: "${opt}" (use KEY=VALUE, e.g. seccomp=unconfined or no-new-privileges=true)`);
    const [key, value] = [opt.slice(0, i), opt.slice(i + 1)];
    switch (key) {
      case 'seccomp':
        out.seccomp = value === 'unconfined' ? 'unconfined' : value === 'builtin' || value === '' ? 'builtin' : readProfile(value);
        break;
      case 'no-new-privileges': {
        const b = parseBool(value);
        if (b === undefined) throw new RunError(125, `invalid --security-opt 2: "${opt}" (no-new-privileges takes true or false)`);
        out.noNewPrivileges = b;
        break;
      }
      case 'systempaths':
        if (value !== 'unconfined') throw new RunError(125, `invalid --security-opt 2: "${opt}" (the only value of systempaths is unconfined)`);
        out.unconfinedPaths = true;
        break;
      case 'label':
      case 'apparmor':
        break; // accepted, as Docker does on a host without SELinux or AppArmor
      default:
        throw new RunError(125, `invalid --security-opt 2: "${opt}" (known keys: seccomp, no-new-privileges, systempaths, apparmor, label)`);
    }
  }
  return out;
}

/** Go's strconv.ParseBool, which Docker uses. */
function parseBool(v: string): boolean | undefined {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(v)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(v)) return false;
  return undefined;
}

/** The docker CLI reads a seccomp=FILE itself and sends the JSON on. */
function readProfile(file: string): { json: string; file: string } {
  try {
    return { json: fs.readFileSync(file, 'utf8'), file };
  } catch (e) {
    const why = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or directory' : (e as Error).message;
    throw new RunError(125, `opening seccomp profile (${file}) failed: open ${file}: ${why}`, { cause: e });
  }
}
