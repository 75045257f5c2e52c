// What the user typed for a mount, read the way Docker reads it: -v/--volume,
// --mount, --tmpfs and --volumes-from, each turned into a MountRequest
// (model.ts) or refused with Docker's own message.
//
// Docker reads these in two places, and its messages show which:
//   the docker CLI   splits -v into fields, reads --mount as a CSV line, and
//                    turns a relative source that starts with "." into an
//                    absolute path; its errors print bare ("invalid spec: …",
//                    `invalid argument "…" for "--mount" flag: …`);
//   the daemon       checks what the CLI sent (moby's volume/mounts
//                    linux_parser.go, and the local driver's volume names);
//                    its errors print as "Error response from daemon: …".
// dockling has no daemon, so both halves are here, in Docker's order, and a
// daemon-side refusal keeps its prefix. Every error is RunError(125): what
// `docker run` exits with for all of them.
//
// The reference is Docker 28.2 (docker-cli v28.2.2, moby v28.2.2), the
// docker CLI installed on the project's machines.
import fs from 'node:fs';
import path from 'node:path';
import { RunError } from '../core/pipeline.js';
import { goQuote } from '../core/template/lexer.js';
import type { MountRequest, MountType, Propagation } from './model.js';
import { volumeNameProblem } from './store.js';

const cliError = (message: string) => new RunError(125, message);
const daemonError = (message: string, cause?: unknown) => new RunError(125, `Error response from daemon: ${message}`, { cause });

// ---------------------------------------------------------------------------
// Paths, as Go's path package and moby's Linux checks see them

/** Go's path.Clean: "/a/b/" → "/a/b", "/a/../b" → "/b", "" → ".". */
export function cleanPath(p: string): string {
  if (p === '') return '.';
  const n = path.posix.normalize(p);
  return n.length > 1 && n.endsWith('/') ? n.slice(0, -1) : n;
}

/**
 * moby's checks of a container-side path (the target), in its order: not
 * "/" (a mount over the root would hide the image), then absolute. moby
 * reads a backslash as a slash here (it shares the code with Windows), so
 * "c:\x" is reported as 'c:/x'. Returns the reason, or null when it is fine.
 */
function targetProblem(target: string): string | null {
  const slashed = target.replaceAll('\\', '/');
  if (cleanPath(slashed) === '/') return "invalid specification: destination can't be '/'";
  if (!slashed.startsWith('/')) return `invalid mount path: '${slashed}' mount path must be absolute`;
  // moby lets "\data" through (a slash once the backslash is read as one)
  // and the mount then fails in the runtime; on Linux a backslash is an
  // ordinary character, so say so now.
  if (!target.startsWith('/')) return `invalid mount path: '${target}' mount path must be absolute (on Linux the separator is "/", not "\\")`;
  return null;
}

/** moby's "invalid mount config" wrapper: the type is quoted as Go's %q does. */
const mountConfig = (type: string, why: string) => `invalid mount config for type ${goQuote(type)}: ${why}`;

// ---------------------------------------------------------------------------
// Volume names


/** The daemon makes a named volume when the container is created: its errors say "create NAME:". */
function checkVolumeName(name: string): void {
  const problem = volumeNameProblem(name);
  if (problem) throw daemonError(`create ${name}: ${problem}`);
}

// ---------------------------------------------------------------------------
// -v / --volume

// The options -v takes after the destination (moby's linuxValidMountMode):
// one of each kind at most.
const RW_MODES = new Set(['rw', 'ro']);
const LABEL_MODES = new Set(['z', 'Z']); //  SELinux relabelling: kept in Mode, no effect without SELinux
const BIND_PROPAGATIONS: ReadonlySet<string> = new Set<Propagation>(['private', 'rprivate', 'shared', 'rshared', 'slave', 'rslave']);
const COPY_MODES = new Set(['nocopy']);
const CONSISTENCY_MODES = new Set(['consistent', 'cached', 'delegated']); // Docker Desktop's, accepted and ignored on Linux
const MODE_KINDS = [RW_MODES, LABEL_MODES, BIND_PROPAGATIONS, COPY_MODES, CONSISTENCY_MODES];

/** moby's linuxValidMountMode: "" or known options, one of each kind at most. */
function validMode(mode: string): boolean {
  if (mode === '') return true;
  const counts = MODE_KINDS.map(() => 0);
  for (const o of mode.split(',')) {
    const kind = MODE_KINDS.findIndex((k) => k.has(o));
    if (kind < 0) return false;
    counts[kind]++;
  }
  return counts.every((n) => n <= 1);
}
const modeHas = (mode: string, kind: ReadonlySet<string>) => mode.split(',').find((o) => kind.has(o));

/** What the docker CLI makes of -v before sending it on (its volume spec loader). */
interface CliVolume {
  source: string; // "" for an anonymous volume
  target: string;
}

/** The docker CLI's isWindowsDrive: a single letter followed by ":". */
const isDriveLetter = (buffer: string[], char: string) => char === ':' && buffer.length === 1 && /^\p{L}$/u.test(buffer[0]);

// #region volume-split
/**
 * The docker CLI's first reading of -v: fields split at ":" — except the
 * colon of a Windows drive letter ("c:"), which the CLI keeps in the field,
 * since the same CLI talks to Windows daemons. One field is a destination
 * alone (an anonymous volume); two or three are source, destination and
 * options; a fourth is "too many colons".
 */
function splitVolumeSpec(spec: string): CliVolume {
  const chars = [...spec];
  if (chars.length === 0) throw cliError('invalid empty volume spec');
  if (chars.length <= 2) return { source: '', target: spec };
  let source = '';
  let target = '';
  let fields = 0;
  let buffer: string[] = [];
  const END = '';
  for (const char of [...chars, END]) {
    if (isDriveLetter(buffer, char)) buffer.push(char);
    else if (char === ':' || char === END) {
      if (buffer.length === 0) throw cliError(`invalid spec: ${spec}: empty section between colons`);
      if (fields === 0 && char === END) target = buffer.join('');
      else if (fields === 0) source = buffer.join('');
      else if (fields === 1) target = buffer.join('');
      else if (char === ':') throw cliError(`invalid spec: ${spec}: too many colons`);
      // the third field, the options, is read by the daemon below
      fields++;
      buffer = [];
    } else buffer.push(char);
  }
  return { source, target };
}
// #endregion volume-split

/**
 * -v/--volume: `/path` (an anonymous volume), `name:/path` (a named
 * volume), `/host:/path` (a bind mount), each with an optional third field
 * of options (ro|rw, a propagation for a bind, z|Z, nocopy for a volume,
 * consistent|cached|delegated). `cwd` is where a "./dir" source is taken
 * from, as the docker CLI does (the current directory by default).
 */
export function parseVolumeFlag(text: string, cwd: string = process.cwd()): MountRequest {
  const cli = splitVolumeSpec(text);
  const from = { flag: 'volume' as const, text };

  if (cli.source === '') {
    // An anonymous volume: the CLI sends it as a bare destination (the
    // container's Config.Volumes), which moby only checks when the runtime
    // mounts it; refuse a bad one now, as moby's parser words it.
    const problem = targetProblem(cli.target);
    if (problem) throw daemonError(`invalid volume specification: '${text}': ${mountConfig('volume', problem)}`);
    return { type: 'volume', source: '', destination: cleanPath(cli.target), readOnly: false, mode: '', from };
  }

  // #region relative-source
  // Since Docker 23 the CLI turns a source that starts with "." into an
  // absolute path ("./src" → "$PWD/src"), so -v ./src:/src binds the
  // current directory's src. Any other relative source ("src", "x/y",
  // "~/x": the shell did not expand it) goes on as it is, and the daemon
  // reads it as a volume name: "src" is a volume, "x/y" is refused.
  let raw = text;
  if (cli.source.startsWith('.')) {
    const colon = text.indexOf(':');
    raw = path.resolve(cwd, text.slice(0, colon)) + text.slice(colon);
  }
  // #endregion relative-source
  return parseMountRaw(raw, from);
}

// #region bind-or-volume
/**
 * The daemon's reading of -v (moby's ParseMountRaw): split at ":" again, the
 * third field checked as options; then the rule that decides the mount type:
 * a source that is an absolute path is a host directory (a bind mount), any
 * other is a volume's name.
 */
function parseMountRaw(raw: string, from: MountRequest['from']): MountRequest {
  const invalidSpec = `invalid volume specification: '${raw}'`;
  const fields = raw.split(':');
  if (fields[0] === '' || fields.length > 3) throw daemonError(invalidSpec);
  // A mode alone after a destination ("/data:ro") is not a volume: there is no source.
  if (fields.length === 2 && validMode(fields[1])) throw daemonError(invalidSpec);
  const [source, target, mode = ''] = fields;
  if (!validMode(mode)) throw daemonError(`invalid mode: ${mode}`);

  const type: MountType = source.startsWith('/') ? 'bind' : 'volume';
  const propagation = modeHas(mode, BIND_PROPAGATIONS) as Propagation | undefined;
  const noCopy = modeHas(mode, COPY_MODES) !== undefined;
  const wrong = (why: string) => daemonError(`${invalidSpec}: ${mountConfig(type, why)}`);

  if (target === '') throw wrong('field Target must not be empty');
  const problem = targetProblem(target);
  if (problem) throw wrong(problem);
  // Propagation is about a host directory's mounts; nocopy about filling a
  // new volume: moby refuses each on the other type.
  if (type === 'bind' && noCopy) throw wrong('field VolumeOptions must not be specified');
  if (type === 'volume' && propagation) throw wrong('field BindOptions must not be specified');
  if (type === 'volume') checkVolumeName(source);

  const request: MountRequest = {
    type,
    source: type === 'bind' ? cleanPath(source) : source,
    destination: cleanPath(target),
    readOnly: modeHas(mode, RW_MODES) === 'ro',
    mode,
    from,
  };
  if (type === 'bind') {
    request.propagation = propagation ?? 'rprivate';
    // -v makes a missing host directory (Docker's old behaviour, kept for -v only)
    request.createSource = true;
  } else if (noCopy) request.noCopy = true;
  return request;
}
// #endregion bind-or-volume

// ---------------------------------------------------------------------------
// --mount

/** Go's encoding/csv errors, as the docker CLI passes them on. */
class CsvError extends Error {}

/**
 * The first record of a CSV text, as Go's encoding/csv reads it (the docker
 * CLI reads --mount with it): fields split at ",", a field that starts with
 * '"' is quoted (a comma inside it is kept, "" is a quote), a quote anywhere
 * else is an error; empty lines before the record are skipped. Columns in
 * errors count bytes from 1, as Go's do.
 */
export function readCsvRecord(text: string): string[] {
  const bytes = Buffer.from(text);
  const lines: Buffer[] = [];
  for (let at = 0; at < bytes.length; ) {
    const nl = bytes.indexOf(0x0a, at);
    let line = bytes.subarray(at, nl < 0 ? bytes.length : nl + 1);
    at += line.length;
    if (nl < 0 && line[line.length - 1] === 0x0d) line = line.subarray(0, -1); // a last \r is dropped
    const n = line.length;
    if (n >= 2 && line[n - 2] === 0x0d && line[n - 1] === 0x0a) line = Buffer.concat([line.subarray(0, n - 2), Buffer.from('\n')]);
    lines.push(line);
  }
  const nlLen = (b: Buffer) => (b.length > 0 && b[b.length - 1] === 0x0a ? 1 : 0);
  let lineNo = 0;
  let line: Buffer | undefined;
  while (lineNo < lines.length) {
    line = lines[lineNo++];
    if (line.length !== nlLen(line)) break; // skip empty lines
    line = undefined;
  }
  if (!line) throw new CsvError('EOF');
  const recLine = lineNo;
  const fields: string[] = [];
  const parseError = (errLine: number, col: number, what: string) =>
    new CsvError(`${recLine !== errLine ? `record on line ${recLine}; ` : ''}parse error on line ${errLine}, column ${col}: ${what}`);
  const BARE = 'bare " in non-quoted-field';
  const QUOTE = 'extraneous or missing " in quoted-field';
  let col = 1;
  let posLine = recLine;
  for (;;) {
    if (line.length === 0 || line[0] !== 0x22) {
      const i = line.indexOf(0x2c);
      const field = i >= 0 ? line.subarray(0, i) : line.subarray(0, line.length - nlLen(line));
      const q = field.indexOf(0x22);
      if (q >= 0) throw parseError(lineNo, col + q, BARE);
      fields.push(field.toString());
      if (i < 0) return fields;
      line = line.subarray(i + 1);
      col += i + 1;
      continue;
    }
    // A quoted field, which may go on over several lines.
    let value: Buffer[] = [];
    line = line.subarray(1);
    col += 1;
    for (;;) {
      const i = line.indexOf(0x22);
      if (i >= 0) {
        value.push(line.subarray(0, i));
        line = line.subarray(i + 1);
        col += i + 1;
        if (line[0] === 0x22) {
          value.push(Buffer.from('"'));
          line = line.subarray(1);
          col += 1;
        } else if (line[0] === 0x2c) {
          line = line.subarray(1);
          col += 1;
          fields.push(Buffer.concat(value).toString());
          value = [];
          break;
        } else if (nlLen(line) === line.length) {
          fields.push(Buffer.concat(value).toString());
          return fields;
        } else throw parseError(lineNo, col - 1, QUOTE);
      } else if (line.length > 0) {
        // the quotes go on past the end of the line: into the next one
        value.push(line);
        col += line.length;
        line = lineNo < lines.length ? lines[lineNo++] : Buffer.alloc(0);
        if (line.length > 0) {
          posLine++;
          col = 1;
        }
      } else {
        // the text ended inside the quotes
        throw parseError(posLine, col, QUOTE);
      }
    }
  }
}

/** Go's strconv.ParseBool, which the docker CLI uses for --mount's true/false keys. */
function goParseBool(v: string): boolean | undefined {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(v)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(v)) return false;
  return undefined;
}

/**
 * go-units' RAMInBytes as docker-cli v28 has it: a number (Go's float
 * syntax), an optional space, then b, or k/m/g/t/p with an optional "b" or
 * "ib", any case; binary multiples. null when it cannot be read.
 * (runtime/cgroups/units.ts parseSize is the older, stricter regexp version
 * Docker uses for --memory; --mount's tmpfs-size takes "1e3" and "+5" too.)
 */
export function ramInBytes(s: string): number | null {
  const m = /^(.*[0-9. ])([^0-9. ]*)$/s.exec(s);
  if (!m) return null;
  let num = m[1];
  const suffix = m[2].toLowerCase();
  if (num.endsWith(' ')) num = num.slice(0, -1);
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(num)) return null;
  let size = Number(num);
  if (!Number.isFinite(size) || size < 0) return null;
  if (suffix !== '') {
    const mult: Record<string, number> = { k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40, p: 2 ** 50 };
    if (suffix.length > 3) return null;
    if (suffix[0] === 'b') {
      if (suffix.length > 1) return null;
    } else if (mult[suffix[0]] !== undefined) {
      size *= mult[suffix[0]];
      if ((suffix.length === 2 && suffix[1] !== 'b') || (suffix.length === 3 && suffix.slice(1) !== 'ib')) return null;
    } else return null;
  }
  const bytes = Math.trunc(size);
  // Go's int64 conversion of a larger number is garbage; refuse it instead.
  return Number.isSafeInteger(bytes) ? bytes : null;
}

/** What --mount's keys say, before the checks (docker-cli's mount.Mount). */
interface MountSpec {
  type: string;
  source: string;
  target: string;
  readOnly: boolean;
  bind?: { propagation: string; nonRecursive?: boolean; recursive?: 'writable' | 'readonly' };
  volume?: { noCopy: boolean; labels: Record<string, string>; driver: string; options?: Record<string, string>; subpath?: string };
  image?: { subpath: string };
  tmpfs?: { sizeBytes: number; mode: number };
}

// #region mount-keys
/**
 * The docker CLI's reading of --mount (its MountOpt.Set): one CSV line of
 * key=value fields. Keys are case-insensitive; readonly (ro),
 * volume-nocopy and bind-nonrecursive may stand alone, meaning true. The
 * type defaults to volume. A source that starts with "." is made absolute,
 * as for -v.
 */
function readMountFields(text: string, cwd: string): MountSpec {
  const bad = (why: string) => cliError(`invalid argument ${goQuote(text)} for "--mount" flag: ${why}`);
  let fields: string[];
  try {
    fields = readCsvRecord(text);
  } catch (e) {
    if (e instanceof CsvError) throw bad(e.message);
    throw e;
  }
  const m: MountSpec = { type: 'volume', source: '', target: '', readOnly: false };
  const bind = () => (m.bind ??= { propagation: '' });
  const volume = () => (m.volume ??= { noCopy: false, labels: {}, driver: '' });
  const tmpfs = () => (m.tmpfs ??= { sizeBytes: 0, mode: 0 });
  const setOn = (map: Record<string, string>, kv: string) => {
    const eq = kv.indexOf('=');
    const [k, v] = eq < 0 ? [kv, ''] : [kv.slice(0, eq), kv.slice(eq + 1)];
    if (k !== '') map[k] = v;
  };
  const bool = (key: string, val: string) => {
    const b = goParseBool(val);
    if (b === undefined) throw bad(`invalid value for ${key}: ${val}`);
    return b;
  };

  for (const field of fields) {
    const eq = field.indexOf('=');
    const key = (eq < 0 ? field : field.slice(0, eq)).toLowerCase();
    const val = eq < 0 ? '' : field.slice(eq + 1);
    if (eq < 0) {
      if (key === 'readonly' || key === 'ro') m.readOnly = true;
      else if (key === 'volume-nocopy') volume().noCopy = true;
      else if (key === 'bind-nonrecursive') bind().nonRecursive = true;
      else throw bad(`invalid field '${field}' must be a key=value pair`);
      continue;
    }
    switch (key) {
      case 'type':
        m.type = val.toLowerCase();
        break;
      case 'source':
      case 'src':
        m.source = val.startsWith('.') ? path.resolve(cwd, val) : val;
        break;
      case 'target':
      case 'dst':
      case 'destination':
        m.target = val;
        break;
      case 'readonly':
      case 'ro':
        m.readOnly = bool(key, val);
        break;
      case 'consistency': // Docker Desktop's file sharing modes: nothing on Linux
        break;
      case 'bind-propagation':
        bind().propagation = val.toLowerCase();
        break;
      case 'bind-nonrecursive': // deprecated by Docker for bind-recursive=disabled, still taken
        bind().nonRecursive = bool(key, val);
        break;
      case 'bind-recursive':
        if (val === 'disabled') bind().nonRecursive = true;
        else if (val === 'writable' || val === 'readonly') bind().recursive = val;
        else if (val !== 'enabled') throw bad(`invalid value for ${key}: ${val} (must be "enabled", "disabled", "writable", or "readonly")`);
        break;
      case 'volume-subpath':
        volume().subpath = val;
        break;
      case 'volume-nocopy':
        volume().noCopy = bool(key, val);
        break;
      case 'volume-label':
        setOn(volume().labels, val);
        break;
      case 'volume-driver':
        volume().driver = val;
        break;
      case 'volume-opt':
        setOn((volume().options ??= {}), val);
        break;
      case 'image-subpath':
        m.image = { subpath: val };
        break;
      case 'tmpfs-size': {
        const size = ramInBytes(val);
        if (size === null) throw bad(`invalid value for ${key}: ${val}`);
        tmpfs().sizeBytes = size;
        break;
      }
      case 'tmpfs-mode': {
        // Go's strconv.ParseUint(val, 8, 32): octal digits only, 32 bits
        const mode = /^[0-7]+$/.test(val) ? parseInt(val, 8) : NaN;
        if (!(mode <= 0xffffffff)) throw bad(`invalid value for ${key}: ${val}`);
        tmpfs().mode = mode;
        break;
      }
      default:
        throw bad(`unexpected key '${key}' in '${field}'`);
    }
  }

  // The CLI's checks of the whole, in its order: a type and a target, then
  // no option of another type's family.
  if (m.type === '') throw bad('type is required');
  if (m.target === '') throw bad('target is required');
  for (const [family, given] of [['volume', m.volume], ['image', m.image], ['bind', m.bind], ['tmpfs', m.tmpfs]] as const) {
    if (given && m.type !== family) throw bad(`cannot mix '${family}-*' options with mount type '${m.type}'`);
  }
  if (m.bind?.recursive && !m.readOnly) throw bad(`option 'bind-recursive=${m.bind.recursive}' requires 'readonly' to be specified in conjunction`);
  if (m.bind?.recursive === 'readonly' && m.bind.propagation !== 'rprivate') {
    throw bad("option 'bind-recursive=readonly' requires 'bind-propagation=rprivate' to be specified in conjunction");
  }
  return m;
}
// #endregion mount-keys

/** Go's error text for a stat(2) failure other than "not there". */
function statProblem(p: string, e: NodeJS.ErrnoException): string {
  const words: Record<string, string> = {
    ENOTDIR: 'not a directory', EACCES: 'permission denied', ELOOP: 'too many levels of symbolic links',
    ENAMETOOLONG: 'file name too long', EIO: 'input/output error',
  };
  return `stat ${p}: ${words[e.code ?? ''] ?? e.code ?? e.message}`;
}

/**
 * --mount: `type=volume|bind|tmpfs,src=…,dst=…` and Docker's other keys,
 * checked by the CLI's rules and then the daemon's (moby's
 * ValidateMountConfig). Unlike -v, a bind's source must already exist:
 * --mount never makes it.
 */
export function parseMountFlag(text: string, cwd: string = process.cwd()): MountRequest {
  const m = readMountFields(text, cwd);
  const from = { flag: 'mount' as const, text };
  const wrong = (why: string) => daemonError(mountConfig(m.type, why));

  // #region mount-checks
  const problem = targetProblem(m.target);
  if (problem) throw wrong(problem);
  const destination = cleanPath(m.target);
  switch (m.type) {
    case 'bind': {
      if (m.source === '') throw wrong('field Source must not be empty');
      const propagation = m.bind?.propagation || 'rprivate';
      if (!BIND_PROPAGATIONS.has(propagation)) throw wrong(`invalid propagation mode: ${m.bind!.propagation}`);
      if (!m.source.startsWith('/')) throw wrong(`invalid mount path: '${m.source.replaceAll('\\', '/')}' mount path must be absolute`);
      // The daemon's own check, made when the container is created: a
      // --mount bind never makes its source (only -v does, for old times'
      // sake), so a typo in a path is an error, not a new empty directory.
      try {
        fs.statSync(m.source);
      } catch (e) {
        const err = e as NodeJS.ErrnoException;
        if (err.code === 'ENOENT') throw wrong(`bind source path does not exist: ${m.source}`);
        throw wrong(statProblem(m.source, err));
      }
      const request: MountRequest = {
        type: 'bind', source: cleanPath(m.source), destination, readOnly: m.readOnly, mode: '', propagation: propagation as Propagation, createSource: false, from,
      };
      if (m.bind?.nonRecursive) request.bindRecursive = 'disabled';
      else if (m.bind?.recursive) request.bindRecursive = m.bind.recursive;
      return request;
    }
    case 'volume': {
      const anonymous = m.source === '';
      if (m.volume?.subpath !== undefined && m.volume.subpath !== '') {
        if (anonymous) throw wrong('must not set Subpath when using anonymous volumes');
        if (!isLocalPath(m.volume.subpath)) throw wrong('subpath must be a relative path within the volume');
        throw wrong('volume-subpath is not supported by dockling: mount the whole volume');
      }
      if (m.readOnly && anonymous) throw wrong('must not set ReadOnly mode when using anonymous volumes');
      if (!anonymous) checkVolumeName(m.source);
      const driver = m.volume?.driver ?? '';
      if (driver !== '' && driver !== 'local') {
        // Docker looks the driver up as a plugin; dockling has only the local driver.
        throw daemonError(`create ${m.source || '(anonymous)'}: error looking up volume plugin ${driver}: plugin ${goQuote(driver)} not found`);
      }
      const request: MountRequest = { type: 'volume', source: m.source, destination, readOnly: m.readOnly, mode: '', from };
      if (m.volume?.noCopy) request.noCopy = true;
      if (m.volume && Object.keys(m.volume.labels).length) request.volumeLabels = { ...m.volume.labels };
      if (m.volume?.options) request.volumeOptions = { ...m.volume.options };
      return request;
    }
    case 'tmpfs': {
      if (m.source !== '') throw wrong('field Source must not be specified');
      return { type: 'tmpfs', source: '', destination, readOnly: m.readOnly, mode: '', tmpfsOptions: tmpfsOptions(tmpfsData(m), text), from };
    }
    case 'image':
      throw wrong('image mounts are not supported by dockling: use a volume, or a bind of a directory');
    default:
      // npipe is Windows', cluster is Swarm's: neither is a mount type on Linux.
      throw wrong('mount type unknown');
  }
  // #endregion mount-checks
}

/** Go's filepath.IsLocal: relative, not empty, and not climbing out with "..". */
function isLocalPath(p: string): boolean {
  if (p === '' || p.startsWith('/')) return false;
  const c = cleanPath(p);
  return c !== '..' && !c.startsWith('../');
}

/**
 * A --mount tmpfs as the option string Docker makes of it (moby's
 * ConvertTmpfsOptions): ro, mode= in octal, size= in the largest binary
 * unit that divides it.
 */
function tmpfsData(m: MountSpec): string {
  const out: string[] = [];
  if (m.readOnly) out.push('ro');
  if (m.tmpfs?.mode) out.push(`mode=${m.tmpfs.mode.toString(8)}`);
  const size = m.tmpfs?.sizeBytes ?? 0;
  if (size !== 0) {
    const unit = ([['g', 2 ** 30], ['m', 2 ** 20], ['k', 2 ** 10]] as const).find(([, d]) => size % d === 0);
    out.push(unit ? `size=${size / unit[1]}${unit[0]}` : `size=${size}`);
  }
  return out.join(',');
}

// ---------------------------------------------------------------------------
// --tmpfs

// What `--tmpfs PATH[:OPTIONS]` may say: mount(2) flags by name, and the
// tmpfs parameters Docker lets through (moby's mount.MergeTmpfsOptions).
const TMPFS_FLAGS = new Set([
  'defaults', 'ro', 'rw', 'suid', 'nosuid', 'dev', 'nodev', 'exec', 'noexec', 'sync', 'async',
  'dirsync', 'atime', 'noatime', 'diratime', 'nodiratime', 'relatime',
  'norelatime', 'strictatime', 'nostrictatime',
  'private', 'rprivate', 'shared', 'rshared', 'slave', 'rslave', 'unbindable', 'runbindable',
]);
const TMPFS_DATA = new Set(['size', 'mode', 'uid', 'gid', 'nr_inodes', 'nr_blocks', 'mpol']);
// Pairs that set the same bit: the later one wins (exec after Docker's noexec).
const SAME_BIT: Record<string, string> = {
  ro: 'rw', suid: 'nosuid', dev: 'nodev', exec: 'noexec', sync: 'async',
  atime: 'noatime', diratime: 'nodiratime', relatime: 'norelatime', strictatime: 'nostrictatime',
};
const bitOf = (o: string) => SAME_BIT[o] ?? o;
const PROPAGATION = new Set(['private', 'rprivate', 'shared', 'rshared', 'slave', 'rslave', 'unbindable', 'runbindable']);

// Chapter 11's (runtime/security/filesystem.ts) for --tmpfs, and this
// chapter's for --mount type=tmpfs: moby gives both the same defaults.
// #region tmpfs-options
/**
 * Docker's options for a --tmpfs mount: noexec, nosuid, nodev and private
 * propagation first, the user's after them; where two set the same thing,
 * the later wins. No size: a tmpfs may then grow to half the host's RAM
 * (the kernel's default), counted against the container's memory limit.
 */
export function tmpfsOptions(given: string, flag = given): string[] {
  const all = ['noexec', 'nosuid', 'nodev', 'rprivate', ...(given ? given.split(',') : [])];
  const seen = new Set<string>();
  const out: string[] = [];
  for (const o of [...all].reverse()) {
    if (o === 'defaults') continue;
    let key: string;
    if (TMPFS_FLAGS.has(o)) key = PROPAGATION.has(o) ? 'propagation' : bitOf(o);
    else {
      const eq = o.indexOf('=');
      const kv = eq < 0 ? [o] : [o.slice(0, eq), o.slice(eq + 1)];
      if (kv.length !== 2 || !TMPFS_DATA.has(kv[0])) {
        throw new RunError(125, `invalid tmpfs option ${goQuoteList(kv)} in --tmpfs "${flag}" (flags like ro, noexec, or ${[...TMPFS_DATA].join('=, ')}=)`);
      }
      key = kv[0];
    }
    if (seen.has(key)) continue;
    seen.add(key);
    out.unshift(o);
  }
  return out;
}
// #endregion tmpfs-options

/** Go's %q of a []string, as in Docker's message: ["size" "1x"]. */
const goQuoteList = (l: string[]) => `[${l.map((s) => JSON.stringify(s)).join(' ')}]`;

/**
 * --tmpfs PATH[:OPTIONS]: split at the first colon, as the docker CLI does;
 * the options are mount(8)'s, merged with Docker's defaults. The messages
 * are those of chapter 11's --tmpfs (runtime/security/filesystem.ts).
 */
export function parseTmpfsFlag(text: string): MountRequest {
  const i = text.indexOf(':');
  const [dest, opts] = i < 0 ? [text, ''] : [text.slice(0, i), text.slice(i + 1)];
  if (!path.isAbsolute(dest)) throw new RunError(125, `invalid mount path: '${dest}' mount path must be absolute`);
  if (cleanPath(dest) === '/') throw new RunError(125, "invalid specification: destination can't be '/'");
  const options = tmpfsOptions(opts, text);
  // The last of ro/rw wins, as in the options the kernel is given.
  const readOnly = options.includes('ro');
  return { type: 'tmpfs', source: '', destination: cleanPath(dest), readOnly, mode: '', tmpfsOptions: options, from: { flag: 'tmpfs', text } };
}

// ---------------------------------------------------------------------------
// --volumes-from

/**
 * --volumes-from CONTAINER[:MODE]: every mount of that container, at the
 * same place. MODE is ro or rw, with z/Z or a consistency if wanted
 * (moby's ParseVolumesFrom); no propagation and no nocopy: the mounts keep
 * the other container's. `readOnly` is true for ro; false for an explicit
 * rw; undefined when no mode is given. In Docker rw and no mode are the
 * same: each mount stays as read-only as it is in the other container
 * (RW = its RW and not ro), so rw never makes a read-only mount writable.
 */
export function parseVolumesFrom(text: string): { container: string; readOnly: boolean | undefined } {
  if (text === '') throw daemonError('volumes-from specification cannot be an empty string');
  const i = text.indexOf(':');
  const [container, mode] = i < 0 ? [text, ''] : [text.slice(0, i), text.slice(i + 1)];
  if (mode !== '') {
    if (!validMode(mode) || modeHas(mode, BIND_PROPAGATIONS) || modeHas(mode, COPY_MODES)) throw daemonError(`invalid mode: ${mode}`);
  }
  if (container === '') throw daemonError('invalid name or ID supplied: ""');
  const rw = modeHas(mode, RW_MODES);
  return { container, readOnly: rw === undefined ? undefined : rw === 'ro' };
}
