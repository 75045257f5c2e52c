// The second step of the front end: each RawInstruction's arguments read by
// that instruction's own rules (buildkit's frontend/dockerfile/instructions),
// then the instructions grouped into stages, one per FROM.
//
// The messages are Docker's, word for word, so a mistake reads the same
// under dockling as under `docker build`.
import { DockerfileError, type CommandLine, type Dockerfile, type Instruction, type KeyValue, type ParsedDockerfile, type RawInstruction, type Stage } from './ast.ts';
import { checkFlags, parseGoDuration } from './instruction-flags.ts';
import { heredocWord } from './parser.ts';
import { words } from './words-split.ts';

type Out = Instruction;
const atLeastOne = (k: string) => new Error(`${k} requires at least one argument`);
const exactlyOne = (k: string) => new Error(`${k} requires exactly one argument`);
const blankNames = (k: string) => new Error(`${k} names can not be blank`);
const fields = (rest: string) => (rest === '' ? [] : rest.split(/[\t\v\f\r ]+/));
/** Go's %q for the strings in Docker's messages */
const q = (s: string) => JSON.stringify(s);

// #region key-value
/**
 * ENV and LABEL: `key=value key2="a b"`, or the legacy `key value` (one pair,
 * the value the rest of the line). Quotes and escapes stay in the values:
 * expansion removes them later, as it does for every other word.
 */
export function parseKeyValues(keyword: string, rest: string, escape: string): { pairs: KeyValue[]; legacy: boolean } {
  const ws = words(rest, escape);
  if (ws.length === 0) throw atLeastOne(keyword);
  if (!ws[0].includes('=')) {
    const [key, value] = rest.split(/[\t\v\f\r ]+(.*)/s);
    if (value === undefined) throw new Error(`${keyword} must have two arguments`);
    return { pairs: [{ key, value }], legacy: true };
  }
  const pairs = ws.map((w) => {
    const eq = w.indexOf('=');
    if (eq < 0) throw new Error(`Syntax error - can't find = in ${q(w)}. Must be of the form: name=value`);
    if (eq === 0) throw blankNames(keyword);
    return { key: w.slice(0, eq), value: w.slice(eq + 1) };
  });
  return { pairs, legacy: false };
}
// #endregion key-value

// #region command-line
/** RUN, CMD, ENTRYPOINT: the exec form runs as written; the shell form is one string for SHELL. */
function commandLine(raw: RawInstruction): CommandLine {
  if (raw.json) return { args: raw.json, prependShell: false, heredocs: [] };
  return { args: raw.rest === '' ? [] : [raw.rest], prependShell: true, heredocs: raw.heredocs };
}
// #endregion command-line

/** Sources and destination of COPY/ADD; `<<EOF` sources become inline files. */
function sourcesAndDest(raw: RawInstruction, keyword: string) {
  const args = raw.json ?? fields(raw.rest);
  if (args.length < 2) {
    throw new Error(`${keyword} requires at least two arguments, but only one was provided. Destination could not be determined`);
  }
  const dest = args[args.length - 1];
  if (!raw.json && heredocWord(dest)) throw new Error(`${keyword} cannot accept a heredoc as a destination`);
  const sources = args.slice(0, -1).filter((s) => raw.json || !heredocWord(s));
  return { sources, dest, heredocs: raw.json ? [] : raw.heredocs };
}

/** HEALTHCHECK NONE, or HEALTHCHECK [flags] CMD command, as Docker's HealthConfig. */
function healthcheck(raw: RawInstruction, base: { file: string; line: number; endLine: number; original: string }): Out {
  const [typWord, after = ''] = raw.rest.split(/\s+(.*)/s);
  if (raw.rest === '') throw atLeastOne('HEALTHCHECK');
  const typ = typWord.toUpperCase();
  const none = { test: null, interval: null, timeout: null, startPeriod: null, startInterval: null, retries: null };
  if (typ === 'NONE') {
    if (after.trim() !== '') throw new Error('HEALTHCHECK NONE takes no arguments');
    return { ...base, keyword: 'HEALTHCHECK', ...none };
  }
  const flags = checkFlags(raw, { interval: 'string', timeout: 'string', 'start-period': 'string', 'start-interval': 'string', retries: 'string' });
  if (typ !== 'CMD') throw new Error(`Unknown type ${q(typ)} in HEALTHCHECK (try CMD)`);
  let json: string[] | null = null;
  if (after.startsWith('[')) {
    try {
      const v: unknown = JSON.parse(after);
      if (Array.isArray(v)) {
        if (!v.every((x) => typeof x === 'string')) throw new Error('when using JSON array syntax, arrays must be comprised of strings only');
        json = v;
      }
    } catch (err) {
      if (!(err instanceof SyntaxError)) throw err;
    }
  }
  const cmd = json ?? (after === '' ? [] : [after]);
  if (cmd.length === 0) throw new Error('Missing command after HEALTHCHECK CMD');
  const duration = (name: string) => {
    const v = flags.get(name);
    if (v === undefined || v === '') return null;
    const ms = parseGoDuration(v);
    if (ms !== 0 && ms < 1) throw new Error(`Interval ${q(name)} cannot be less than 1ms`);
    // 0s means "not set" to Docker: the default (or the base image's) applies
    return ms === 0 ? null : v;
  };
  let retries: number | null = null;
  const r = flags.get('retries');
  if (r !== undefined && r !== '') {
    if (!/^[+-]?\d+$/.test(r)) throw new Error(`strconv.ParseInt: parsing ${q(r)}: invalid syntax`);
    retries = Number(r);
    if (retries < 0) throw new Error(`--retries cannot be negative (${retries})`);
  }
  return {
    ...base,
    keyword: 'HEALTHCHECK',
    test: [json ? 'CMD' : 'CMD-SHELL', ...cmd],
    interval: duration('interval'),
    timeout: duration('timeout'),
    startPeriod: duration('start-period'),
    startInterval: duration('start-interval'),
    retries,
  };
}

const STAGE_NAME = /^[a-z][a-z0-9-_.]*$/;

// #region dispatch
/** One instruction's arguments; throws DockerfileError naming its line. */
export function parseInstruction(raw: RawInstruction, escape: '\\' | '`' = '\\'): Instruction {
  try {
    return readInstruction(raw, escape);
  } catch (err) {
    if (err instanceof DockerfileError) throw err;
    throw new DockerfileError((err as Error).message, { file: raw.file, line: raw.line, endLine: raw.endLine }, raw.original);
  }
}

function readInstruction(raw: RawInstruction, escape: '\\' | '`'): Instruction {
  const base = { file: raw.file, line: raw.line, endLine: raw.endLine, original: raw.original };
  const k = raw.keyword;
  const noFlags = () => checkFlags(raw, {});
  switch (k) {
    case 'FROM': {
      const args = fields(raw.rest);
      let stage: string | null = null;
      if (args.length === 3 && args[1].toLowerCase() === 'as') {
        stage = args[2].toLowerCase();
        if (!STAGE_NAME.test(stage)) throw new Error(`invalid name for build stage: ${q(args[2])}, name can't start with a number or contain symbols`);
      } else if (args.length !== 1) throw new Error('FROM requires either one or three arguments');
      const flags = checkFlags(raw, { platform: 'string' });
      return { ...base, keyword: k, image: args[0], stage, platform: flags.get('platform') || null };
    }
    case 'MAINTAINER':
    case 'WORKDIR':
    case 'USER':
    case 'STOPSIGNAL': {
      // Docker's parseString: the whole rest of the line is the one argument
      if (raw.rest === '') throw exactlyOne(k);
      noFlags();
      if (k === 'MAINTAINER') return { ...base, keyword: k, maintainer: raw.rest };
      if (k === 'WORKDIR') return { ...base, keyword: k, path: raw.rest };
      if (k === 'USER') return { ...base, keyword: k, user: raw.rest };
      return { ...base, keyword: 'STOPSIGNAL', signal: raw.rest };
    }
    case 'RUN': {
      // Docker's other RUN flags need BuildKit's cache mounts, secrets and
      // devices; saying "unknown flag" for them would be wrong, so say why.
      const unsupported = raw.flags.find((f) => f.name === 'mount' || f.name === 'security' || f.name === 'device');
      if (unsupported) throw new Error(`RUN --${unsupported.name} is not supported by dockling (only --network is): remove the flag`);
      const network = checkFlags(raw, { network: 'string' }).get('network') ?? null;
      if (network !== null && network !== 'default' && network !== 'none' && network !== 'host') {
        throw new Error(`invalid network mode ${q(network)}`);
      }
      return { ...base, keyword: k, cmd: commandLine(raw), network };
    }
    case 'CMD':
    case 'ENTRYPOINT':
      noFlags();
      return { ...base, keyword: k, cmd: commandLine(raw) };
    case 'EXPOSE': {
      const ports = fields(raw.rest);
      if (ports.length === 0) throw atLeastOne(k);
      noFlags();
      return { ...base, keyword: k, ports: ports.sort() }; // Docker sorts them
    }
    case 'ENV':
    case 'LABEL': {
      noFlags();
      return { ...base, keyword: k, pairs: parseKeyValues(k, raw.rest, escape).pairs };
    }
    case 'ARG': {
      const ws = words(raw.rest, escape);
      if (ws.length === 0) throw atLeastOne(k);
      // Docker never reads ARG's flags (so `ARG --x A` passes silently there);
      // we refuse them, as every other instruction does.
      noFlags();
      const args = ws.map((w) => {
        const eq = w.indexOf('=');
        if (eq === 0) throw blankNames('ARG');
        return eq < 0 ? { key: w, value: null } : { key: w.slice(0, eq), value: w.slice(eq + 1) };
      });
      return { ...base, keyword: k, args };
    }
    case 'COPY':
    case 'ADD': {
      const { sources, dest, heredocs } = sourcesAndDest(raw, k);
      const spec = { chown: 'string', chmod: 'string', link: 'bool', exclude: 'strings' } as const;
      const flags =
        k === 'COPY'
          ? checkFlags(raw, { ...spec, from: 'string', parents: 'bool' })
          : checkFlags(raw, { ...spec, 'keep-git-dir': 'bool', checksum: 'string', unpack: 'bool' });
      return { ...base, keyword: k, sources, dest, heredocs, from: flags.get('from') || null, chown: flags.get('chown') || null, chmod: flags.get('chmod') || null };
    }
    case 'VOLUME': {
      const vols = raw.json ?? fields(raw.rest);
      if (vols.length === 0) throw atLeastOne(k);
      noFlags();
      const volumes = vols.map((v) => v.trim());
      if (volumes.includes('')) throw new Error('VOLUME specified can not be an empty string');
      return { ...base, keyword: k, volumes };
    }
    case 'SHELL': {
      noFlags();
      if (raw.json ? raw.json.length === 0 : raw.rest === '') throw atLeastOne(k);
      if (!raw.json) throw new Error('SHELL requires the arguments to be in JSON form');
      return { ...base, keyword: k, shell: raw.json };
    }
    case 'HEALTHCHECK':
      return healthcheck(raw, base);
    case 'ONBUILD': {
      if (raw.rest === '') throw atLeastOne(k);
      noFlags();
      const trigger = raw.rest.split(/\s+/)[0].toUpperCase();
      if (trigger === 'ONBUILD') throw new Error('Chaining ONBUILD via `ONBUILD ONBUILD` isn\'t allowed');
      if (trigger === 'MAINTAINER' || trigger === 'FROM') throw new Error(`${trigger} isn't allowed as an ONBUILD trigger`);
      // The trigger is stored as text and parsed when a child image builds
      // FROM this one; its heredocs go with it, each followed by its name.
      let expression = raw.original.replace(/^\s*ONBUILD\s*/i, '');
      for (const h of raw.heredocs) expression += `\n${h.content}${h.name}`;
      return { ...base, keyword: k, expression };
    }
  }
  throw new Error(`unknown instruction: ${k}`);
}
// #endregion dispatch

// #region stages
/** The whole file: ARGs before the first FROM are meta args; every other instruction belongs to the stage above it. */
export function parseInstructions(d: ParsedDockerfile): Dockerfile {
  const metaArgs: Dockerfile['metaArgs'] = [];
  const stages: Stage[] = [];
  for (const raw of d.instructions) {
    const ins = parseInstruction(raw, d.directives.escape);
    if (ins.keyword === 'FROM') {
      stages.push({ index: stages.length, name: ins.stage, from: ins, instructions: [] });
    } else if (stages.length === 0) {
      if (ins.keyword !== 'ARG') {
        throw new DockerfileError('no build stage in current context', { file: raw.file, line: raw.line, endLine: raw.endLine }, raw.original);
      }
      metaArgs.push(...ins.args);
    } else stages[stages.length - 1].instructions.push(ins);
  }
  return { directives: d.directives, metaArgs, stages, warnings: [...d.warnings] };
}
// #endregion stages
