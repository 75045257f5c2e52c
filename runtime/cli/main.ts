// dockling's command line: global flags, then a command from the layers that
// are switched on, then that command's flags and arguments.
//
//   dockling [--root DIR] [--chapter N] [--trace[=verbose]] [--trace-file F] [--debug] COMMAND …
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { FlagError, flagHelp, parseFlags, type FlagSpec } from '../core/flags.js';
import { ALL_LAYERS, LATEST_CHAPTER, layersUpTo } from './layers.js';
import type { Command, Layer } from '../core/layer.js';
import { RunError } from '../core/pipeline.js';
import { DEBUG_ENV, reportFailure } from '../core/failure.js';
import { trace, jsonLinesSink } from '../trace/trace.js';
import { configuredDriver, useStorageDrivers } from '../storage/choose.js';
import { formatRecord, formatShort, wantColour } from '../trace/format.js';
import { brokenPipe, handleBrokenPipes } from '../core/stdio.js';
import { docklingVersion } from '../process/version.js';

// bin/dockling.js asks, when the command is over, whether stdout broke: then
// the CLI exits 141 quietly, as the docker CLI killed by SIGPIPE does.
export { brokenPipe };

const GLOBAL_FLAGS: FlagSpec[] = [
  { name: 'root', kind: 'string', valueName: 'dir', usage: 'State root (default /var/lib/dockling, or $DOCKLING_ROOT)' },
  { name: 'chapter', kind: 'int', valueName: 'N', usage: `Run with the layers of chapters 1..N only (default ${LATEST_CHAPTER}, or $DOCKLING_CHAPTER)` },
  { name: 'userns-remap', kind: 'string', valueName: 'user', usage: 'Chapter 11: root in containers is a subordinate uid of this user: default (dockremap), USER[:GROUP] or UID[:GID] (dockerd\'s option; or $DOCKLING_USERNS_REMAP). The state root becomes <root>/<uid>.<gid>' },
  { name: 'trace', kind: 'string', valueName: 'verbose', noOptDefault: 'true', usage: 'Print every step that changes the host, as it happens, under a heading per stage, with short IDs; =verbose: every step whole (full paths and IDs)' },
  { name: 'storage-driver', kind: 'string', valueName: 'driver', usage: 'Storage driver to use: aufs (chapter 3) or overlay2 (chapter 4; the default). Default: $DOCKLING_STORAGE_DRIVER, else daemon.json\'s "storage-driver", else the driver the state root already holds layers of' },
  { name: 'trace-file', kind: 'string', valueName: 'file', usage: 'Append the trace as JSON lines to a file (whole, as --trace=verbose)' },
  { name: 'debug', short: 'D', kind: 'bool', usage: 'When an error ends the command, also print the errors that caused it, with their stacks (or $DOCKLING_DEBUG)' },
  { name: 'help', kind: 'bool', usage: 'Print usage' },
  { name: 'version', short: 'v', kind: 'bool', usage: 'Print version information and quit' },
];
const HELP_FLAG: FlagSpec = { name: 'help', kind: 'bool', usage: 'Print usage' };

// Commands of the book itself rather than of a chapter's layer.
const walkthroughCommand: Command = {
  name: 'walkthrough',
  summary: "Walk through a chapter's demo steps in the terminal (Ink); --script prints them unattended",
  usage: 'walkthrough [OPTIONS] [CHAPTER]',
  flags: [
    { name: 'chapter', kind: 'int', valueName: 'N', usage: 'Open chapter N (as the CHAPTER argument); without either, the chapter list' },
    { name: 'script', kind: 'bool', usage: "Run the chapter's steps unattended and print a transcript (for handouts); exit 1 if a check fails" },
    { name: 'state-root', kind: 'string', valueName: 'dir', usage: 'With --script: run the steps in this state root and leave what they made there (the test suite checks it), not in a scratch root removed after' },
    { name: 'present', kind: 'bool', usage: 'Instructor mode: more space, one step at a time (Enter does not move on; n does), r re-runs' },
    { name: 'reset', kind: 'bool', usage: 'Forget the progress saved in ~/.dockling/walkthrough.json first' },
    { name: 'first-frame', kind: 'bool', usage: 'Draw the first screen and exit (the bench times the start-up with it)' },
  ],
  maxArgs: 1,
  async run(inv) {
    // Ink and React load only in there, never on the run path.
    const { runWalkthrough } = await import('../tui/command.js');
    return runWalkthrough({
      given: inv.args[0] ?? (inv.flags.has('chapter') ? String(inv.flags.get('chapter')) : undefined),
      layers: inv.chapter,
      script: !!inv.flags.get('script'),
      stateRoot: inv.flags.get('state-root') as string | undefined,
      present: !!inv.flags.get('present'),
      reset: !!inv.flags.get('reset'),
      firstFrame: !!inv.flags.get('first-frame'),
    });
  },
};
const BOOK_LAYER: Layer = { chapter: 0, name: 'book', runFlags: [], commands: [walkthroughCommand], stages: {} };

// #region command-table
/**
 * Two layers define one command name: the later one replaces the earlier
 * without saying so. A bug in dockling, not in its input.
 */
export class CommandClashError extends Error {}

/**
 * The commands of the given layers, by every name they answer to. A later
 * chapter may replace an earlier chapter's command (chapter 5's `rm` knows
 * the monitor), but only by saying so (`replaces: 3`): a name defined twice
 * by accident would hide one of the two, and the chapter that wrote the
 * hidden one would go on testing code that never runs.
 */
export function commandsOf(layers: Layer[]): Map<string, { cmd: Command; layer: Layer }> {
  const m = new Map<string, { cmd: Command; layer: Layer }>();
  for (const layer of [...layers, BOOK_LAYER]) {
    for (const cmd of layer.commands) {
      const names = [cmd.name, ...(cmd.aliases ?? [])];
      const replaced = cmd.replaces === undefined ? undefined : m.get(cmd.name);
      if (cmd.replaces !== undefined && replaced?.layer.chapter !== cmd.replaces) {
        const actually = replaced ? `"${cmd.name}" is chapter ${replaced.layer.chapter}'s` : `no earlier chapter defines "${cmd.name}"`;
        throw new CommandClashError(`chapter ${layer.chapter}'s "${cmd.name}" says it replaces chapter ${cmd.replaces}'s, but ${actually}`);
      }
      for (const n of names) {
        const earlier = m.get(n);
        if (earlier && earlier.cmd !== replaced?.cmd) {
          const which = earlier.layer === layer ? 'twice' : `again (chapter ${earlier.layer.chapter} defines it as "${earlier.cmd.name}")`;
          throw new CommandClashError(`chapter ${layer.chapter} defines the command "${n}" ${which}: a later chapter that replaces a command says so (replaces: ${earlier.layer.chapter}, core/layer.ts)`);
        }
      }
      // The replaced command goes whole: none of its names may still run it.
      if (replaced) for (const [n, v] of m) if (v.cmd === replaced.cmd && !names.includes(n)) m.delete(n);
      for (const n of names) m.set(n, { cmd, layer }); // a replaced name keeps its place in the help
    }
  }
  addGroupNames(m);
  return m;
}
// #endregion command-table

// #region command-groups
/**
 * Docker's management commands: `docker container run` is `docker run`,
 * `docker image rm` is `docker rmi`. Which top-level command each group
 * word stands for is Docker's list; a command a chapter registers under
 * one of these names gets its group name here, whichever chapter (or
 * helper file) registers it, so that a new container command (`cp`) has
 * `container cp` without anyone remembering to add it. A command that
 * names its group form itself (`image inspect`, `container prune`, or an
 * alias such as `container ls`) keeps it.
 */
const GROUPS: Record<string, { summary: string; words: Record<string, string> }> = {
  container: {
    summary: 'Manage containers',
    words: {
      ...Object.fromEntries(['attach', 'commit', 'cp', 'create', 'diff', 'exec', 'export', 'inspect', 'kill', 'logs', 'pause', 'port', 'rename',
        'restart', 'rm', 'run', 'start', 'stats', 'stop', 'top', 'unpause', 'update', 'wait'].map((w) => [w, w])),
      ls: 'ps', list: 'ps', ps: 'ps',
    },
  },
  image: {
    summary: 'Manage images',
    words: { build: 'build', history: 'history', import: 'import', load: 'load', pull: 'pull', push: 'push', rm: 'rmi', save: 'save', tag: 'tag', ls: 'images' },
  },
  system: { summary: 'Manage Docker', words: { info: 'info', df: 'system df', prune: 'system prune', events: 'events' } },
  network: { summary: 'Manage networks', words: {} },
};

/** Give every command its group names (`container top` for `top`) where no command has them already. */
function addGroupNames(m: Map<string, { cmd: Command; layer: Layer }>): void {
  for (const [group, { words }] of Object.entries(GROUPS)) {
    for (const [word, target] of Object.entries(words)) {
      const full = `${group} ${word}`;
      const found = m.get(target);
      if (found && !m.has(full)) m.set(full, found);
    }
  }
}

/**
 * `dockling container` alone: its commands, as `docker container` prints
 * them (on stderr, status 0: the docker CLI's ShowHelp for a group).
 */
function groupUsage(group: string, commands: Map<string, { cmd: Command; layer: Layer }>): string {
  const seen = new Set<Command>();
  const rows: [string, string][] = [];
  for (const [n, { cmd }] of commands) {
    if (!n.startsWith(group + ' ') || seen.has(cmd) || cmd.hidden) continue;
    seen.add(cmd); // one line per command, under the first of its group names (`ls`, not `list`)
    rows.push([n.slice(group.length + 1), cmd.summary]);
  }
  rows.sort(([a], [b]) => a.localeCompare(b));
  const w = Math.max(8, ...rows.map(([n]) => n.length));
  return [
    '',
    `Usage:  dockling ${group} COMMAND`,
    '',
    GROUPS[group].summary,
    '',
    'Commands:',
    ...rows.map(([n, s]) => `  ${n.padEnd(w)}  ${s}`),
    '',
    `Run 'dockling ${group} COMMAND --help' for more information on a command.`,
    '',
  ].join('\n');
}
// #endregion command-groups

// #region later-chapters
/** The book's chapters (shared/DESIGN.md), for "comes with chapter N (title)". */
const CHAPTER_TITLES: Record<number, string> = {
  1: 'namespaces', 2: 'cgroups', 3: 'aufs', 4: 'overlay2', 5: 'containers', 6: 'networking',
  7: 'volumes', 8: 'registries', 9: 'builds', 10: 'engine', 11: 'hardening',
};

/**
 * Docker commands and `run` flags whose chapter is not written yet: asked
 * for, they say which chapter brings them instead of "unknown". (A written
 * chapter's commands and flags are found in its layer.)
 */
const FUTURE_COMMANDS: Record<string, number> = {
  network: 6, port: 6, 'container port': 6,
  volume: 7,
  pull: 8, push: 8, login: 8, logout: 8, search: 8, 'image pull': 8, 'image push': 8,
  build: 9, builder: 9, 'image build': 9,
};
const FUTURE_RUN_FLAGS: { name: string; short?: string; chapter: number }[] = [
  { name: 'publish', short: 'p', chapter: 6 }, { name: 'publish-all', short: 'P', chapter: 6 }, { name: 'network', chapter: 6 },
  { name: 'net', chapter: 6 }, { name: 'network-alias', chapter: 6 }, { name: 'ip', chapter: 6 }, { name: 'ip6', chapter: 6 },
  { name: 'dns', chapter: 6 }, { name: 'dns-search', chapter: 6 }, { name: 'dns-option', chapter: 6 }, { name: 'add-host', chapter: 6 },
  { name: 'expose', chapter: 6 }, { name: 'link', chapter: 6 }, { name: 'mac-address', chapter: 6 },
  { name: 'volume', short: 'v', chapter: 7 }, { name: 'mount', chapter: 7 }, { name: 'volumes-from', chapter: 7 },
  { name: 'pull', chapter: 8 },
];

const written = (n: number) => ALL_LAYERS.some((l) => l.chapter === n);

/** "comes with chapter 8 (registries)", and what this run has instead. */
function comesWith(what: string, n: number, chapter: number): string {
  if (!written(n)) return `${what} comes with chapter ${n} (${CHAPTER_TITLES[n]}), which is not written yet`;
  const has = chapter === 0 ? 'no chapter' : chapter === 1 ? 'chapter 1' : `chapters 1..${chapter}`;
  return `${what} comes with chapter ${n} (${CHAPTER_TITLES[n]}); this run has ${has}`;
}

/** The future `run` flag an unknown-flag error names, if it is one. */
function futureFlag(e: FlagError): (typeof FUTURE_RUN_FLAGS)[number] | undefined {
  const long = /^unknown flag: --(.+)$/.exec(e.message)?.[1];
  const short = /^unknown shorthand flag: '(.)'/.exec(e.message)?.[1];
  return FUTURE_RUN_FLAGS.find((f) => f.name === long || (short !== undefined && f.short === short));
}
// #endregion later-chapters

/** The flags layers add to a command: to `run` (runFlags) and to `exec` (execFlags). */
function layerFlags(cmd: Command, layers: Layer[]): FlagSpec[] {
  const of = (l: Layer) => (cmd.name === 'run' || cmd.name === 'create' ? l.runFlags : cmd.name === 'exec' ? (l.execFlags ?? []) : []);
  return layers.flatMap((l) => of(l).map((f) => ({ ...f, chapter: l.chapter })));
}

/** A command's flags: its own, plus, for `run` and `exec`, those of every active layer. */
function flagsFor(cmd: Command, layers: Layer[]): FlagSpec[] {
  return [...cmd.flags, ...layerFlags(cmd, layers), HELP_FLAG];
}

function usage(commands: Map<string, { cmd: Command; layer: Layer }>, chapter: number): string {
  const cmds = [...commands.entries()].filter(([n, { cmd }]) => n === cmd.name && !cmd.hidden).map(([, v]) => v);
  const w = Math.max(8, ...cmds.map(({ cmd }) => cmd.name.length));
  return [
    'Usage:  dockling [OPTIONS] COMMAND',
    '',
    `Docker rebuilt in TypeScript, one layer per chapter (running chapters 1..${chapter}).`,
    '',
    'Options:',
    flagHelp(GLOBAL_FLAGS),
    '',
    'Commands:',
    ...cmds.map(({ cmd, layer }) => `  ${cmd.name.padEnd(w)}   ${cmd.summary}${layer.chapter ? ` (chapter ${layer.chapter})` : ''}`),
    '',
    "Run 'dockling COMMAND --help' for more information on a command.",
    '',
  ].join('\n');
}

// #region trace-flag
/**
 * --trace's form: the short one (`--trace`, or any of pflag's spellings of
 * true), `verbose`, or none (`--trace=false`).
 */
function traceMode(flags: Map<string, unknown>): 'short' | 'verbose' | undefined {
  const v = flags.get('trace') as string | undefined;
  if (v === undefined) return undefined;
  if (v === 'verbose') return 'verbose';
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(v)) return 'short';
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(v)) return undefined;
  throw new FlagError(`invalid argument ${JSON.stringify(v)} for "--trace" flag: use --trace, or --trace=verbose for every step whole`);
}

function setUpTrace(flags: Map<string, unknown>, stateRoot: string): void {
  const mode = traceMode(flags);
  if (mode === 'verbose') trace.attach((r) => process.stderr.write(formatRecord(r) + '\n'));
  if (mode === 'short') {
    const form = { stateRoot: path.resolve(stateRoot), programDir: path.dirname(fileURLToPath(import.meta.url)), colour: wantColour(process.stderr) };
    trace.attach((r) => process.stderr.write(formatShort(r, form) + '\n'));
  }
  // The file is for programs (tests, the walkthrough): JSON, every field whole.
  const file = flags.get('trace-file') as string | undefined;
  if (file) {
    const fd = fs.openSync(file, 'a');
    trace.attach(jsonLinesSink((line) => fs.writeSync(fd, line)));
  }
}
// #endregion trace-flag

export async function main(argv: string[]): Promise<number> {
  handleBrokenPipes();
  let global;
  try {
    global = parseFlags(argv, GLOBAL_FLAGS, false);
    traceMode(global.flags);
  } catch (e) {
    if (e instanceof FlagError) return fail(`${e.message}\nSee 'dockling --help'.`, 125);
    throw e;
  }
  const envChapter = process.env.DOCKLING_CHAPTER;
  const chapter = (global.flags.get('chapter') as number | undefined) ?? (envChapter ? Number(envChapter) : LATEST_CHAPTER);
  if (!Number.isInteger(chapter) || chapter < 0 || chapter > 11) return fail(`invalid chapter "${envChapter ?? chapter}": choose 0..11`, 125);
  const layers = layersUpTo(chapter);
  try {
    useStorageDrivers(layers.flatMap((l) => l.storageDrivers ?? []), (global.flags.get('storage-driver') as string | undefined) || process.env.DOCKLING_STORAGE_DRIVER || configuredDriver());
  } catch (e) {
    if (e instanceof RunError) return fail(e.message, e.code);
    throw e;
  }
  const stateRoot = (global.flags.get('root') as string | undefined) ?? process.env.DOCKLING_ROOT ?? '/var/lib/dockling';
  // An empty --root (say, an unset shell variable) must not fall back to the system's store.
  if (stateRoot === '') return fail(`invalid --root "": the state root must be a directory, e.g. --root /var/lib/dockling (or leave --root out)`, 125);

  if (global.flags.get('version')) {
    const written = layers.map((l) => l.chapter).join(', ') || 'none';
    process.stdout.write(`dockling version ${docklingVersion()}, --chapter ${chapter}: the layers of chapters ${written}\n`);
    return 0;
  }
  let allCommands, commands;
  try {
    allCommands = commandsOf(ALL_LAYERS);
    commands = commandsOf(layers);
  } catch (e) {
    if (e instanceof CommandClashError) return fail(`internal error: ${e.message}`, 125);
    throw e;
  }
  let [name, ...rest] = global.args;
  // Two-word commands ("image inspect", "container rm"): the group word
  // and the next one name the command together.
  const two = `${name} ${rest[0]}`;
  if (name && rest.length && (allCommands.has(two) || Object.hasOwn(FUTURE_COMMANDS, two))) [name, ...rest] = [two, ...rest.slice(1)];
  if (!name || global.flags.get('help')) {
    process.stdout.write(usage(commands, chapter));
    return 0;
  }
  // A group word alone (or with --help): its commands, as docker prints them.
  // (Alone, on stderr: the docker CLI's ShowHelp for a group; asked with --help, on stdout.)
  if (Object.hasOwn(GROUPS, name) && (rest.length === 0 || rest[0] === '--help')) {
    (rest.length ? process.stdout : process.stderr).write(groupUsage(name, commands));
    return 0;
  }
  const found = commands.get(name);
  if (!found) {
    // The docker CLI's unknown command is status 1; a command of a later
    // chapter is one this run does not have, so it is refused the same way,
    // saying where it comes from.
    const later = allCommands.get(name)?.layer.chapter ?? (Object.hasOwn(FUTURE_COMMANDS, name) ? FUTURE_COMMANDS[name] : undefined);
    if (later !== undefined) return fail(`${comesWith(`'${name}'`, later, chapter)}.\nSee 'dockling --help'`, 1);
    if (Object.hasOwn(GROUPS, name)) return fail(`'${name} ${rest[0]}' is not a dockling command.\nSee 'dockling ${name} --help'`, 1);
    return fail(`'${name}' is not a dockling command.\nSee 'dockling --help'`, 1);
  }
  const { cmd } = found;
  const specs = flagsFor(cmd, layers);
  let parsed;
  try {
    // `run` and `exec` know the flags of every chapter, so that the same
    // command line can be run at any --chapter: a later chapter's flag is
    // read, then ignored with a warning (its layer is off), as the runtime
    // of that chapter would have no such limit to apply.
    const later = layerFlags(cmd, ALL_LAYERS.filter((l) => l.chapter > chapter));
    parsed = parseFlags(rest, [...specs, ...later], !cmd.stopAtFirstArg);
    for (const f of later) {
      if (!parsed.flags.has(f.name)) continue;
      process.stderr.write(`dockling: warning: ${comesWith(`${f.short ? `-${f.short}/` : ''}--${f.name}`, f.chapter!, chapter)}, so it is ignored\n`);
      parsed.flags.delete(f.name);
    }
  } catch (e) {
    // The docker CLI answers every bad flag with status 125 (its flag
    // error handler's StatusError), whatever the command.
    if (e instanceof FlagError) {
      const future = cmd.name === 'run' || cmd.name === 'create' ? futureFlag(e) : undefined;
      const what = future ? comesWith(`${future.short ? `-${future.short}/` : ''}--${future.name}`, future.chapter, chapter) : e.message;
      return fail(`${what}\nSee 'dockling ${cmd.name} --help'.`, 125);
    }
    throw e;
  }
  if (parsed.flags.get('help')) {
    process.stdout.write(`\nUsage:  dockling ${cmd.usage}\n\n${cmd.summary}\n\nOptions:\n${flagHelp(specs)}\n`);
    return 0;
  }
  const needs = cmd.name === 'run' && parsed.flags.has('rootfs') ? 0 : (cmd.minArgs ?? 0);
  // cobra's ExactArgs says "exactly" (docker cp, tag, rename): min and max the same.
  const exactly = cmd.maxArgs !== undefined && cmd.maxArgs > 0 && cmd.maxArgs === cmd.minArgs;
  if (parsed.args.length < needs) {
    return fail(
      `"dockling ${cmd.name}" requires ${exactly ? 'exactly' : 'at least'} ${needs} argument${needs > 1 ? 's' : ''}.\nSee 'dockling ${cmd.name} --help'.\n\nUsage:  dockling ${cmd.usage}\n\n${cmd.summary}`,
      1, // the docker CLI's: too few arguments is 1, for run too (a bad flag is 125)
    );
  }
  if (cmd.maxArgs !== undefined && parsed.args.length > cmd.maxArgs) {
    const what = cmd.maxArgs === 0 ? 'accepts no arguments' : `requires ${exactly ? 'exactly' : 'at most'} ${cmd.maxArgs} argument${cmd.maxArgs > 1 ? 's' : ''}`;
    return fail(`"dockling ${cmd.name}" ${what}.\nSee 'dockling ${cmd.name} --help'.\n\nUsage:  dockling ${cmd.usage}\n\n${cmd.summary}`, 1);
  }
  setUpTrace(global.flags, stateRoot);
  // Through the environment, so that every place that prints a failure
  // (and every dockling this one starts) knows it: core/failure.ts.
  if (global.flags.get('debug')) process.env[DEBUG_ENV] = '1';
  try {
    const root = await userNamespaceRoot(global.flags.get('userns-remap') as string | undefined, stateRoot, chapter);
    return await cmd.run({ chapter, stateRoot: root, flags: parsed.flags, args: parsed.args, layers });
  } catch (e) {
    if (!(e instanceof RunError)) throw e;
    reportFailure(e);
    return e.code;
  }
}

// #region userns-remap
/**
 * Chapter 11's --userns-remap (dockerd's daemon option; dockling has no
 * daemon, so every command takes it): find the remap user's subordinate
 * ranges and switch to the remapped state root, <root>/<uid>.<gid>, whose
 * images, layers and containers are its own (runtime/security/userns/).
 */
async function userNamespaceRoot(flag: string | undefined, stateRoot: string, chapter: number): Promise<string> {
  const given = flag ?? (process.env.DOCKLING_USERNS_REMAP || undefined);
  if (given === undefined) return stateRoot;
  if (chapter < 11) {
    process.stderr.write(`dockling: warning: --userns-remap comes with chapter 11; at --chapter ${chapter} it is ignored\n`);
    return stateRoot;
  }
  const { useRemap } = await import('../security/userns.js');
  return useRemap(given, stateRoot);
}
// #endregion userns-remap

function fail(message: string, code: number): number {
  process.stderr.write(`dockling: ${message}\n`);
  return code;
}
