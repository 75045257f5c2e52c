// dockling's command line: global flags, then a command from the layers that
// are switched on, then that command's flags and arguments.
//
//   dockling [--root DIR] [--chapter N] [--trace] [--trace-file F] [--debug] COMMAND …
import fs from 'node:fs';
import { FlagError, flagHelp, parseFlags, type FlagSpec } from '../core/flags.js';
import { ALL_LAYERS, LATEST_CHAPTER, layersUpTo } from './layers.js';
import type { Command, Layer } from '../core/layer.js';
import { RunError } from '../core/pipeline.js';
import { DEBUG_ENV, reportFailure } from '../core/failure.js';
import { trace, jsonLinesSink } from '../trace/trace.js';
import { formatRecord } from '../trace/format.js';
import { brokenPipe, handleBrokenPipes } from '../core/stdio.js';

// bin/dockling.js asks, when the command is over, whether stdout broke: then
// the CLI exits 141 quietly, as the docker CLI killed by SIGPIPE does.
export { brokenPipe };

const GLOBAL_FLAGS: FlagSpec[] = [
  { name: 'root', kind: 'string', valueName: 'dir', usage: 'State root (default /var/lib/dockling, or $DOCKLING_ROOT)' },
  { name: 'chapter', kind: 'int', valueName: 'N', usage: `Run with the layers of chapters 1..N only (default ${LATEST_CHAPTER}, or $DOCKLING_CHAPTER)` },
  { name: 'userns-remap', kind: 'string', valueName: 'user', usage: 'Chapter 11: root in containers is a subordinate uid of this user: default (dockremap), USER[:GROUP] or UID[:GID] (dockerd\'s option; or $DOCKLING_USERNS_REMAP). The state root becomes <root>/<uid>.<gid>' },
  { name: 'trace', kind: 'bool', usage: 'Print every step that changes the host, as it happens' },
  { name: 'trace-file', kind: 'string', valueName: 'file', usage: 'Append the trace as JSON lines to a file' },
  { name: 'debug', short: 'D', kind: 'bool', usage: 'When an error ends the command, also print the errors that caused it, with their stacks (or $DOCKLING_DEBUG)' },
  { name: 'help', kind: 'bool', usage: 'Print usage' },
  { name: 'version', short: 'v', kind: 'bool', usage: 'Print version information and quit' },
];
const HELP_FLAG: FlagSpec = { name: 'help', kind: 'bool', usage: 'Print usage' };

// Commands of the book itself rather than of a chapter's layer.
const walkthroughCommand: Command = {
  name: 'walkthrough',
  summary: "Walk through a chapter's demo steps in the terminal (Ink)",
  usage: 'walkthrough [CHAPTER]',
  flags: [],
  async run(inv) {
    const n = inv.args[0] === undefined ? inv.chapter : Number(inv.args[0]);
    if (!Number.isInteger(n) || n < 1 || n > LATEST_CHAPTER) throw new RunError(1, `no walkthrough for chapter "${inv.args[0]}": choose 1..${LATEST_CHAPTER}`);
    // Ink draws only the last frame when it thinks it runs in CI ($CI set).
    // The walkthrough has a person at a terminal (it checks), so it is
    // interactive whatever the environment says.
    if (process.stdin.isTTY) {
      delete process.env.CI;
      delete process.env.CONTINUOUS_INTEGRATION;
    }
    // Ink and React load only here, never on the run path.
    const { walkthrough } = await import('../tui/walkthrough.js');
    return walkthrough(n, inv.stateRoot);
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
 * the monitor), but only by saying so (`replaces: 4`): a name defined twice
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
  return m;
}
// #endregion command-table

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
  const cmds = [...commands.entries()].filter(([n, { cmd }]) => n === cmd.name).map(([, v]) => v);
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

function setUpTrace(flags: Map<string, unknown>): void {
  if (flags.get('trace')) trace.attach((r) => process.stderr.write(formatRecord(r) + '\n'));
  const file = flags.get('trace-file') as string | undefined;
  if (file) {
    const fd = fs.openSync(file, 'a');
    trace.attach(jsonLinesSink((line) => fs.writeSync(fd, line)));
  }
}

export async function main(argv: string[]): Promise<number> {
  handleBrokenPipes();
  let global;
  try {
    global = parseFlags(argv, GLOBAL_FLAGS, false);
  } catch (e) {
    if (e instanceof FlagError) return fail(`${e.message}\nSee 'dockling --help'.`, 125);
    throw e;
  }
  const envChapter = process.env.DOCKLING_CHAPTER;
  const chapter = (global.flags.get('chapter') as number | undefined) ?? (envChapter ? Number(envChapter) : LATEST_CHAPTER);
  if (!Number.isInteger(chapter) || chapter < 0 || chapter > 11) return fail(`invalid chapter "${envChapter ?? chapter}": choose 0..11`, 125);
  const layers = layersUpTo(chapter);
  const stateRoot = (global.flags.get('root') as string | undefined) ?? process.env.DOCKLING_ROOT ?? '/var/lib/dockling';
  // An empty --root (say, an unset shell variable) must not fall back to the system's store.
  if (stateRoot === '') return fail(`invalid --root "": the state root must be a directory, e.g. --root /var/lib/dockling (or leave --root out)`, 125);

  if (global.flags.get('version')) {
    process.stdout.write(`dockling version 0.1.0, chapters 1..${chapter} of ${LATEST_CHAPTER}\n`);
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
  if (name && rest.length && allCommands.has(`${name} ${rest[0]}`)) [name, ...rest] = [`${name} ${rest[0]}`, ...rest.slice(1)];
  if (!name || global.flags.get('help')) {
    process.stdout.write(usage(commands, chapter));
    return name ? 0 : global.flags.get('help') ? 0 : 0;
  }
  const found = commands.get(name);
  if (!found) {
    const later = ALL_LAYERS.find((l) => l.commands.some((c) => c.name === name || c.aliases?.includes(name)));
    const hint = later ? ` (added in chapter ${later.chapter}; this is --chapter ${chapter})` : '';
    return fail(`'${name}' is not a dockling command${hint}.\nSee 'dockling --help'`, 1);
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
      process.stderr.write(`dockling: warning: ${f.short ? `-${f.short}/` : ''}--${f.name} comes with chapter ${f.chapter}; at --chapter ${chapter} it is ignored\n`);
      parsed.flags.delete(f.name);
    }
  } catch (e) {
    // The docker CLI answers every bad flag with status 125 (its flag
    // error handler's StatusError), whatever the command.
    if (e instanceof FlagError) return fail(`${e.message}\nSee 'dockling ${cmd.name} --help'.`, 125);
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
  setUpTrace(global.flags);
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
