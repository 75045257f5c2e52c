// Chapter 7's `volume` commands: create, ls, inspect, rm, prune, with the
// docker CLI's flags, columns, messages and exit codes. They are thin: the
// store (store.ts) decides what a volume is, who uses it, and what may go.
import type { Command, Invocation } from '../core/layer.js';
import { RunError } from '../core/pipeline.js';
import { boolFilter, daemonError, exactMatches, matches, matchesLabels, parseFilters, validateFilters, type Filters } from '../core/filters.js';
import { formatList, headerOf } from '../core/list-format.js';
import { GoStruct } from '../core/template/index.js';
import { humanSize, templateError } from '../core/format.js';
import { printInspected } from '../image/commands.js';
import { eachArgument } from '../image/container-commands.js';
import { confirmed, pruneReport } from '../image/prune.js';
import { naturalLess } from '../network/network-commands.js';
import { volumeData, type VolumeRecord } from './model.js';
import { createVolume, getVolume, listVolumes, NoSuchVolumeError, pruneVolumes, removeVolume, volumeUsers } from './store.js';

const stringArray = (inv: Invocation, name: string) => (inv.flags.get(name) as string[] | undefined) ?? [];

/** A bad flag value, as the docker CLI reports one (exit 125). */
const badFlag = (value: string, flag: string, why: string, command: string) =>
  new RunError(125, `invalid argument ${JSON.stringify(value)} for "${flag}" flag: ${why}\nSee 'dockling ${command} --help'.`);

// ---------------------------------------------------------------------------
// volume create
// ---------------------------------------------------------------------------

/** --label K=V as the docker CLI checks it (opts.ValidateLabel): a name, without blanks. */
function labelsOf(values: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const v of values) {
    const at = v.indexOf('=');
    const key = (at < 0 ? v : v.slice(0, at)).replace(/^[ \t\n\r\f\v]+/, '');
    if (key === '') throw badFlag(v, '--label', `invalid label '${v}': empty name`, 'volume create');
    if (/[ \t\n\r\f\v]/.test(key)) throw badFlag(v, '--label', `label '${key}' contains whitespaces`, 'volume create');
    out[key] = at < 0 ? '' : v.slice(at + 1);
  }
  return out;
}

/** -o K=V (the CLI's MapOpts): split at the first "="; a key alone is an empty value. */
function optionsOf(values: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const v of values) {
    const at = v.indexOf('=');
    out[at < 0 ? v : v.slice(0, at)] = at < 0 ? '' : v.slice(at + 1);
  }
  return out;
}

const createCommand: Command = {
  name: 'volume create',
  summary: 'Create a volume',
  usage: 'volume create [OPTIONS] [VOLUME]',
  maxArgs: 1,
  flags: [
    { name: 'driver', short: 'd', kind: 'string', usage: 'Specify volume driver name (default "local"; the only one dockling has)' },
    { name: 'label', kind: 'stringArray', usage: 'Set metadata for a volume', valueName: 'list' },
    { name: 'name', kind: 'string', usage: 'Specify volume name' },
    { name: 'opt', short: 'o', kind: 'stringArray', usage: 'Set driver specific options (type, device, o)', valueName: 'map' },
  ],
  async run(inv) {
    let name = (inv.flags.get('name') as string | undefined) || undefined;
    if (inv.args.length === 1) {
      // The docker CLI refuses both, even when they agree.
      if (name !== undefined) throw new RunError(1, 'conflicting options: cannot specify a volume-name through both --name and as a positional arg');
      name = inv.args[0];
    }
    const labels = labelsOf(stringArray(inv, 'label'));
    const options = optionsOf(stringArray(inv, 'opt'));
    const driver = (inv.flags.get('driver') as string | undefined) || 'local';
    if (driver !== 'local') {
      // Any other driver is a plugin in Docker; dockling has no plugins.
      throw daemonError(`create ${name ?? ''}: error looking up volume plugin ${driver}: plugin "${driver}" not found`);
    }
    const { record } = createVolume(inv.stateRoot, { name, labels, options });
    process.stdout.write(record.Name + '\n');
    return 0;
  },
};

// ---------------------------------------------------------------------------
// volume ls
// ---------------------------------------------------------------------------

const VOLUME_HEADER = headerOf('*formatter.volumeContext', {
  ID: 'ID', Name: 'VOLUME NAME', Group: 'GROUP', Driver: 'DRIVER', Scope: 'SCOPE', Availability: 'AVAILABILITY',
  Mountpoint: 'MOUNTPOINT', Labels: 'LABELS', Links: 'LINKS', Size: 'SIZE', Status: 'STATUS',
});
const VOLUME_TABLE = 'table {{.Driver}}\t{{.Name}}';

/** One row for --format: docker/cli's volumeContext (Links and Size are "N/A" outside `system df -v`; the rest is swarm's). */
function volumeContext(stateRoot: string, v: VolumeRecord): GoStruct {
  return new GoStruct('*formatter.volumeContext', {
    Name: () => v.Name,
    Driver: () => v.Driver,
    Scope: () => v.Scope,
    Mountpoint: () => volumeData(stateRoot, v.Name),
    Labels: () => Object.entries(v.Labels ?? {}).map(([k, val]) => `${k}=${val}`).sort().join(','),
    Label: (name: string) => v.Labels?.[name] ?? '',
    Links: () => 'N/A',
    Size: () => 'N/A',
    Group: () => 'N/A',
    Availability: () => 'N/A',
    Status: () => 'N/A',
  });
}

// #region volume-filters
/**
 * `volume ls`'s filters, as the daemon reads them: `name` (a regular
 * expression, found anywhere), `driver` (exact), `label` (every one must
 * hold), `dangling` (true: no container uses it; false: one does).
 */
export function filterVolumes(stateRoot: string, all: VolumeRecord[], f: Filters): VolumeRecord[] {
  validateFilters(f, ['dangling', 'name', 'driver', 'label']);
  const dangling = boolFilter(f, 'dangling');
  return all.filter((v) => {
    if (!matches(f, 'name', v.Name) || !exactMatches(f, 'driver', v.Driver)) return false;
    if (!matchesLabels(f, 'label', v.Labels)) return false;
    if (dangling !== undefined && dangling !== (volumeUsers(stateRoot, v.Name).length === 0)) return false;
    return true;
  });
}
// #endregion volume-filters

const lsCommand: Command = {
  name: 'volume ls',
  aliases: ['volume list'],
  summary: 'List volumes',
  usage: 'volume ls [OPTIONS]',
  maxArgs: 0,
  flags: [
    { name: 'filter', short: 'f', kind: 'stringArray', usage: 'Provide filter values (e.g. "dangling=true")', valueName: 'filter' },
    { name: 'format', kind: 'string', usage: "Format output using a custom template: 'table' (the default), 'table TEMPLATE', 'json', or a Go TEMPLATE" },
    { name: 'quiet', short: 'q', kind: 'bool', usage: 'Only display volume names' },
  ],
  async run(inv) {
    const f = parseFilters(stringArray(inv, 'filter'), 'volume ls');
    const vols = filterVolumes(inv.stateRoot, listVolumes(inv.stateRoot), f).sort((a, b) => naturalLess(a.Name, b.Name));
    // docker/cli's NewVolumeFormat: -q stands in for the default table; a --format of its own wins over -q.
    const given = inv.flags.get('format') as string | undefined;
    const format = given && given !== 'table' ? given : inv.flags.get('quiet') ? '{{.Name}}' : VOLUME_TABLE;
    process.stdout.write(formatList(format, vols.map((v) => volumeContext(inv.stateRoot, v)), VOLUME_HEADER));
    return 0;
  },
};

// ---------------------------------------------------------------------------
// volume inspect
// ---------------------------------------------------------------------------

// #region volume-inspect
/**
 * `volume inspect`'s object: the API's Volume, its keys in the order Go's
 * encoder writes the struct (alphabetical, as the API type declares
 * them), Mountpoint computed: the volume's _data under the state root.
 */
export function volumeInspect(stateRoot: string, v: VolumeRecord): Record<string, unknown> {
  return {
    CreatedAt: v.CreatedAt,
    Driver: v.Driver,
    Labels: v.Labels,
    Mountpoint: volumeData(stateRoot, v.Name),
    Name: v.Name,
    Options: v.Options,
    Scope: v.Scope,
  };
}
// #endregion volume-inspect

const inspectCommand: Command = {
  name: 'volume inspect',
  summary: 'Display detailed information on one or more volumes',
  usage: 'volume inspect [OPTIONS] VOLUME [VOLUME...]',
  minArgs: 1,
  flags: [
    { name: 'format', short: 'f', kind: 'string', usage: "Format output using a custom template: 'json' prints in JSON format, 'TEMPLATE' prints output using the given Go template" },
  ],
  async run(inv) {
    const format = inv.flags.get('format') as string | undefined;
    // The template is parsed before anything is looked up (exit 64 when it does not parse).
    const bad = format && format !== 'json' ? templateError(format) : null;
    if (bad) throw new RunError(64, bad);
    const found: unknown[] = [];
    let code = 0;
    for (const name of inv.args) {
      try {
        found.push(volumeInspect(inv.stateRoot, getVolume(inv.stateRoot, name)));
      } catch (e) {
        if (!(e instanceof NoSuchVolumeError)) throw e;
        process.stderr.write(e.message + '\n');
        code = 1;
      }
    }
    return printInspected(found, format, code);
  },
};

// ---------------------------------------------------------------------------
// volume rm, volume prune
// ---------------------------------------------------------------------------

const rmCommand: Command = {
  name: 'volume rm',
  aliases: ['volume remove'],
  summary: 'Remove one or more volumes',
  usage: 'volume rm [OPTIONS] VOLUME [VOLUME...]',
  minArgs: 1,
  flags: [{ name: 'force', short: 'f', kind: 'bool', usage: 'Force the removal of one or more volumes' }],
  async run(inv) {
    const force = Boolean(inv.flags.get('force'));
    // Each name on its own: one that cannot go is reported, the others still go; exit 1 if any failed.
    return eachArgument(inv.args, async (name) => {
      removeVolume(inv.stateRoot, name, { force });
      return name; // printed as given, also for a missing one under -f (the daemon answered "ok")
    });
  },
};

export const PRUNE_WARNING = 'WARNING! This will remove anonymous local volumes not used by at least one container.';
export const PRUNE_ALL_WARNING = 'WARNING! This will remove all local volumes not used by at least one container.';

const pruneCommand: Command = {
  name: 'volume prune',
  summary: 'Remove unused local volumes',
  usage: 'volume prune [OPTIONS]',
  maxArgs: 0,
  flags: [
    { name: 'all', short: 'a', kind: 'bool', usage: 'Remove all unused volumes, not just anonymous ones' },
    { name: 'filter', kind: 'stringArray', usage: 'Provide filter values (e.g. "label=<label>")', valueName: 'filter' },
    { name: 'force', short: 'f', kind: 'bool', usage: 'Do not prompt for confirmation' },
  ],
  async run(inv) {
    const f = parseFilters(stringArray(inv, 'filter'), 'volume prune');
    const all = Boolean(inv.flags.get('all'));
    if (all) {
      if (f.has('all')) throw new RunError(1, 'conflicting options: cannot specify both --all and --filter all=1');
      f.set('all', new Set(['true'])); // -a is the filter all=true, as the CLI sends it
    }
    if (!inv.flags.get('force') && !(await confirmed(all ? PRUNE_ALL_WARNING : PRUNE_WARNING))) return 0;
    const { names, bytes } = pruneVolumes(inv.stateRoot, f);
    process.stdout.write(`${pruneReport('Deleted Volumes:', names)}Total reclaimed space: ${humanSize(bytes)}\n`);
    return 0;
  },
};

export const volumeCommands: Command[] = [createCommand, lsCommand, inspectCommand, rmCommand, pruneCommand];
