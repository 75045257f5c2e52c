// Chapter 5's `ps` as a Docker user scripts it: -a, -q, -n/-l, --no-trunc,
// -s/--size, --filter/-f and --format (Go templates, `table`, `json`).
//
// What Docker splits between the CLI and the daemon happens here in one
// process, in Docker's order: the CLI checks the template; the daemon
// checks the filters, walks the containers newest first and keeps the
// ones every filter lets through; the CLI prints each through the
// template, one row per container, with docker/cli's field names
// (formatter.ContainerContext: .ID .Image .Command .CreatedAt .RunningFor
// .Ports .State .Status .Size .Names .Labels .Label "k" .Mounts .Networks
// .LocalVolumes).
import fs from 'node:fs';
import type { Command } from '../core/layer.js';
import { RunError, reapAbandoned } from '../core/pipeline.js';
import { listContainers, resolveContainer, NoSuchContainerError, type ContainerConfig } from '../core/containers.js';
import { humanDuration, humanSize } from '../core/format.js';
import { daemonError, exactMatches, matches, matchesLabels, parseFilters, validateFilters, valuesOf, type Filters } from '../core/filters.js';
import { formatList, goTimeString, headerOf } from '../core/list-format.js';
import { GoStruct, parseTemplate, TemplateError } from '../core/template/index.js';
import { openStores, type Stores } from '../image/open-stores.js';
import { NoSuchImageError } from '../image/image-store.js';
import { imageSize } from '../image/images.js';
import { walkLayer } from '../storage/walk.js';
import { isPaused, liveStatus, refreshState, statusText } from './state.js';
import { formatPorts, type PortMapLike as PortMap } from '../core/port-map.js';

/** Docker's State of a listed container: a running one whose cgroup is frozen is "paused". */
const stateOf = (c: ContainerConfig) => (isPaused(c) ? 'paused' : liveStatus(c));

const short = (id: string) => id.replace(/^sha256:/, '').slice(0, 12);

/** Go's strconv.Quote, for the COMMAND column: quotes, backslashes and control characters escaped. */
function goQuote(s: string): string {
  return JSON.stringify(s).replace(/\\u00([0-9a-f]{2})/g, '\\x$1').replace(/\u007f/g, '\\x7f');
}

/** dockerd's COMMAND: the path and the arguments, an argument with a space in single quotes (not escaped further). */
const commandLine = (c: ContainerConfig) => [c.Path, ...c.Args.map((a) => (a.includes(' ') ? `'${a}'` : a))].join(' ');

/** docker/cli's Ellipsis(s, 20): at most 20 characters, the last one "…" when cut. */
const ellipsis = (s: string, max: number) => ([...s].length <= max ? s : [...s].slice(0, max - 1).join('') + '…');

// The filters the daemon accepts for `ps` (dockerd's acceptedPsFilterTags).
// dockling has no networks, volumes, published ports, health checks or
// swarm tasks yet: those keys are accepted, as Docker's are, and match what
// Docker would match for containers that have none.
const PS_FILTERS = ['ancestor', 'before', 'exited', 'id', 'isolation', 'label', 'name', 'status', 'health', 'since', 'volume', 'network', 'is-task', 'publish', 'expose'];
const STATES = ['created', 'running', 'paused', 'restarting', 'removing', 'exited', 'dead'];
const HEALTH = ['starting', 'healthy', 'unhealthy', 'none'];

/** The header of a `table` format: docker/cli's column names for each field. */
const PS_HEADER = headerOf('*formatter.ContainerContext', {
  ID: 'CONTAINER ID', Names: 'NAMES', Image: 'IMAGE', Command: 'COMMAND', CreatedAt: 'CREATED AT', RunningFor: 'CREATED',
  Ports: 'PORTS', State: 'STATE', Status: 'STATUS', Size: 'SIZE', Labels: 'LABELS', Mounts: 'MOUNTS', LocalVolumes: 'LOCAL VOLUMES', Networks: 'NETWORKS',
});

const DEFAULT_TABLE = 'table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}';

/** What a row shows of one container (the daemon's container summary). */
interface Summary {
  id: string;
  name: string;
  image: string;
  imageID: string;
  command: string;
  created: string;
  state: string;
  status: string;
  labels: Record<string, string>;
  size?: { rw: number; rootFs: number };
  /** NetworkSettings.Ports and the names of NetworkSettings.Networks: empty until chapter 6 fills them in */
  ports?: PortMap;
  networks?: string[];
  /** the container's Mounts, as `inspect` lists them: empty until chapter 7 records them */
  mounts?: ShownMount[];
}

/** What `ps` reads of a mount point (chapter 7 records them; Docker's types.MountPoint). */
interface ShownMount {
  Name: string;
  Source: string;
  Destination: string;
  Driver: string;
  TmpfsFlag?: boolean;
}

/** The container's mounts as Docker lists them (a --tmpfs is not among them: HostConfig.Tmpfs only). */
function mountsOf(c: ContainerConfig): ShownMount[] {
  const points = (c as unknown as { MountPoints?: Record<string, ShownMount> | null }).MountPoints ?? {};
  return Object.values(points).filter((m) => !m.TmpfsFlag).sort((a, b) => (a.Destination < b.Destination ? -1 : 1));
}

/** What a container's record says of its network (written by chapter 6; absent before it). */
function networkOf(c: ContainerConfig): { ports: PortMap; networks: string[] } {
  const n = (c as unknown as { NetworkSettings?: { Ports?: PortMap; Networks?: Record<string, { NetworkID?: string }> } }).NetworkSettings;
  return { ports: n?.Ports ?? {}, networks: Object.keys(n?.Networks ?? {}) };
}

// #region ps-row
/** One row for the template: docker/cli's ContainerContext, field by field. */
function containerContext(c: Summary, trunc: boolean, used?: Set<string>): GoStruct {
  const labels = Object.keys(c.labels).map((k) => `${k}=${c.labels[k]}`);
  return new GoStruct('*formatter.ContainerContext', {
    ID: () => (trunc ? short(c.id) : c.id),
    Names: () => c.name,
    Image: () => {
      if (!c.image) return '<no image>';
      if (trunc && c.imageID && short(c.imageID) === short(c.image)) return short(c.image);
      return c.image;
    },
    Command: () => goQuote(trunc ? ellipsis(c.command, 20) : c.command),
    CreatedAt: () => (c.created ? goTimeString(Date.parse(c.created)) : goTimeString(0)),
    RunningFor: () => `${humanDuration(Date.now() - (c.created ? Date.parse(c.created) : 0))} ago`,
    Ports: () => formatPorts(c.ports ?? {}),
    State: () => c.state,
    Status: () => c.status,
    Size: () => {
      used?.add('Size'); // docker/cli turns --size on when the template asks for .Size
      const rw = humanSize(c.size?.rw ?? 0);
      return c.size && c.size.rootFs > 0 ? `${rw} (virtual ${humanSize(c.size.rootFs)})` : rw;
    },
    Labels: () => labels.sort().join(','),
    Label: (name: string) => c.labels[name] ?? '',
    // docker/cli: a volume's name, else the host path; each cut to 15 unless --no-trunc
    Mounts: () => (c.mounts ?? []).map((m) => (trunc ? ellipsis(m.Name || m.Source, 15) : m.Name || m.Source)).join(','),
    LocalVolumes: () => String((c.mounts ?? []).filter((m) => m.Driver === 'local').length),
    Networks: () => (c.networks ?? []).join(','),
  });
}
// #endregion ps-row

const EMPTY: Summary = { id: '', name: '', image: '', imageID: '', command: '', created: '', state: '', status: '', labels: {} };

/**
 * The docker CLI's check of --format before it asks for the list: the
 * template must parse ("failed to parse template: …") and run on an empty
 * container ("failed to execute template: …", which is where a name that
 * is no field shows). Returns whether it uses .Size.
 */
function checkFormat(format: string): boolean {
  let template;
  try {
    template = parseTemplate(format);
  } catch (e) {
    if (e instanceof TemplateError) throw new RunError(1, `failed to parse template: ${e.goMessage}`, { cause: e });
    throw e;
  }
  const used = new Set<string>();
  try {
    template.execute(containerContext(EMPTY, true, used));
  } catch (e) {
    if (e instanceof TemplateError) throw new RunError(1, `failed to execute template: ${e.goMessage}`, { cause: e });
    throw e;
  }
  return used.has('Size');
}

// #region ps-size
/**
 * The bytes of the container's writable layer, as dockerd counts them
 * (its directory.Size on overlay2's diff/): every file that is not a
 * directory and not empty, a hard-linked file once. The layer belongs to a
 * container that may be running: the walk opens each name inside the
 * directory it holds, never by path (storage/walk.ts), and sizes come from
 * the descriptor.
 */
function writableLayerSize(s: Stores, containerID: string): number {
  const mount = s.layers.getMount(containerID);
  if (!mount) return 0;
  const seen = new Set<bigint>();
  let size = 0;
  try {
    for (const e of walkLayer(s.driver.layerDir(mount.mountID))) {
      const st = fs.fstatSync(e.fd, { bigint: true });
      if (st.isDirectory()) e.descend();
      else if (st.size > 0n && !seen.has(st.ino)) {
        seen.add(st.ino);
        size += Number(st.size);
      }
    }
  } catch (e) {
    // The layer went away under us (rm at the same time): Docker logs the
    // error and shows what it could count.
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  return size;
}
// #endregion ps-size

/** The image a container was made from and every image built on it (dockerd's populateImageFilterByParents). */
function ancestorImages(s: Stores, refs: string[]): Set<string> {
  const wanted = new Set<string>();
  for (const ref of refs) {
    try {
      wanted.add(s.images.resolve(ref));
    } catch (e) {
      // dockerd logs "Error while looking up for image" and goes on.
      if (!(e instanceof NoSuchImageError)) throw e;
    }
  }
  if (wanted.size === 0) return wanted;
  const out = new Set(wanted);
  for (const id of s.images.list()) {
    const seen = new Set<string>();
    for (let p = id; p && !seen.has(p); p = s.images.parent(p)) {
      seen.add(p);
      if (wanted.has(p)) {
        out.add(id);
        break;
      }
    }
  }
  return out;
}

/** before= and since=: a container by name, ID or ID prefix; one that is not there is the daemon's error. */
function containerFilter(root: string, f: Filters, key: string): string | null {
  let found: string | null = null;
  for (const v of valuesOf(f, key)) {
    try {
      found = resolveContainer(root, v).ID;
    } catch (e) {
      if (e instanceof NoSuchContainerError) throw daemonError(e.message, e);
      throw e;
    }
  }
  return found;
}

/** The image's labels, which Docker copies into the container's (there is no --label yet), and any of its own. */
function labelsOf(s: Stores, c: ContainerConfig): Record<string, string> {
  let fromImage: Record<string, string> = {};
  if (c.Image) {
    try {
      fromImage = s.images.get(c.Image).config.Labels ?? {};
    } catch {
      /* the image was removed since (rmi -f): its labels are gone with it */
    }
  }
  return { ...fromImage, ...(((c.Config as Record<string, unknown>).Labels as Record<string, string> | undefined) ?? {}) };
}

/** The IMAGE of a container: the name it was run with while that name still means its image, else the image's ID (dockerd's refreshImage). */
function imageName(s: Stores, c: ContainerConfig): string {
  const name = c.Config.Image;
  if (!c.Image) return name || '(--rootfs)';
  try {
    if (name && s.images.resolve(name) === c.Image) return name;
  } catch (e) {
    if (!(e instanceof NoSuchImageError)) throw e;
  }
  return c.Image;
}

// #region ps-filter
/**
 * The daemon's list: newest first; before= skips down to that container
 * (and it), since= stops at it; without -a (or -n, or a status filter)
 * only running ones; then every filter key must let the container through.
 */
function selectContainers(root: string, s: Stores, all: ContainerConfig[], f: Filters, opts: { all: boolean; limit: number }): ContainerConfig[] {
  validateFilters(f, PS_FILTERS);
  const exited = valuesOf(f, 'exited').map((v) => {
    if (!/^[+-]?\d+$/.test(v)) throw daemonError(`invalid filter 'exited=${v}': strconv.Atoi: parsing ${JSON.stringify(v)}: invalid syntax`);
    if (BigInt(v) > 2n ** 63n - 1n || BigInt(v) < -(2n ** 63n)) throw daemonError(`invalid filter 'exited=${v}': strconv.Atoi: parsing ${JSON.stringify(v)}: value out of range`);
    return Number(v);
  });
  for (const v of valuesOf(f, 'status')) if (!STATES.includes(v)) throw daemonError(`invalid filter 'status=${v}'`);
  const showAll = opts.all || f.has('status');
  // is-task=true|false (swarm's tasks): no container here is one.
  let isTask: boolean | undefined;
  if (f.has('is-task')) {
    if (f.get('is-task')!.has('true')) isTask = true;
    else if (f.get('is-task')!.has('false')) isTask = false;
    else throw daemonError(`invalid filter 'is-task=[${valuesOf(f, 'is-task').join(' ')}]'`);
  }
  for (const v of valuesOf(f, 'health')) if (!HEALTH.includes(v)) throw daemonError(`unrecognized filter value for health: ${v}`);
  let before = containerFilter(root, f, 'before');
  const since = containerFilter(root, f, 'since');
  const ancestors = f.has('ancestor') ? ancestorImages(s, valuesOf(f, 'ancestor')) : null;
  // id= names a container as `docker rm` would: a full ID or a prefix of exactly one.
  const ids = valuesOf(f, 'id');
  const byID = new Set<string>();
  for (const v of ids) {
    const found = v === '' ? [] : all.filter((c) => c.ID.startsWith(v));
    if (found.length === 1) byID.add(found[0].ID);
  }

  const out: ContainerConfig[] = [];
  for (const c of all) {
    if (before) {
      if (c.ID === before) before = null;
      continue;
    }
    if (since && c.ID === since) break;
    const state = stateOf(c);
    if (state !== 'running' && state !== 'paused' && !showAll && opts.limit <= 0) continue;
    if (ids.length && !byID.has(c.ID)) continue;
    if (!matches(f, 'name', c.Name) && !matches(f, 'name', c.Name.slice(1))) continue;
    if (!matches(f, 'id', c.ID)) continue;
    if (isTask === true) continue; //                no swarm tasks here
    if (!matchesLabels(f, 'label', labelsOf(s, c))) continue;
    if (!matches(f, 'isolation', '')) continue; //   Linux containers have no isolation mode
    if (opts.limit > 0 && out.length === opts.limit) break;
    if (exited.length && !(state !== 'running' && c.State.StartedAt && !c.State.StartedAt.startsWith('0001-') && exited.includes(c.State.ExitCode))) continue;
    if (!matches(f, 'status', state)) continue;
    if (!exactMatches(f, 'health', 'none')) continue;
    // volume=NAME or a mount point's destination (moby's ps filter)
    if (f.has('volume') && !mountsOf(c).some((m) => f.get('volume')!.has(m.Name) || f.get('volume')!.has(m.Destination))) continue;
    if (!matchesNetwork(f, c) || !matchesPort(f, 'publish', c) || !matchesPort(f, 'expose', c)) continue;
    if (ancestors && !(c.Image && ancestors.has(c.Image))) continue;
    out.push(c);
  }
  return out;
}
// #endregion ps-filter

/** network=NAME|ID: one of the container's networks, by exact name or ID prefix. */
function matchesNetwork(f: Filters, c: ContainerConfig): boolean {
  const want = f.get('network');
  if (!want) return true;
  const n = (c as unknown as { NetworkSettings?: { Networks?: Record<string, { NetworkID?: string }> } }).NetworkSettings?.Networks ?? {};
  return [...want].some((w) => Object.entries(n).some(([name, e]) => name === w || (e.NetworkID && e.NetworkID.startsWith(w))));
}

/**
 * publish=PORT[/PROTO] and expose=…: Docker's port filters. `expose` is any
 * port the container exposes, `publish` one it publishes; a range matches
 * any port in it; the protocol is tcp unless named.
 */
function matchesPort(f: Filters, key: 'publish' | 'expose', c: ContainerConfig): boolean {
  const want = f.get(key);
  if (!want) return true;
  const { ports } = networkOf(c);
  const exposed = Object.keys((c.Config as { ExposedPorts?: object }).ExposedPorts ?? {});
  const have = key === 'expose' ? [...new Set([...exposed, ...Object.keys(ports)])] : Object.entries(ports).filter(([, b]) => b && b.length).map(([k]) => k);
  return [...want].some((w) => {
    const m = /^(\d+)(?:-(\d+))?(?:\/(\w+))?$/.exec(w);
    if (!m) return false;
    const [lo, hi, proto] = [Number(m[1]), Number(m[2] ?? m[1]), m[3] ?? 'tcp'];
    return have.some((k) => {
      const [port, p] = k.split('/');
      return p === proto && Number(port) >= lo && Number(port) <= hi;
    });
  });
}

export const psCommand: Command = {
  name: 'ps',
  aliases: ['container ls', 'container list'],
  summary: 'List containers',
  usage: 'ps [OPTIONS]',
  maxArgs: 0,
  flags: [
    { name: 'all', short: 'a', kind: 'bool', usage: 'Show all containers (default shows just running)' },
    { name: 'filter', short: 'f', kind: 'stringArray', valueName: 'filter', usage: 'Filter output based on conditions provided' },
    { name: 'format', kind: 'string', usage: "Format output using a custom template: 'table' (the default), 'table TEMPLATE' (a Go template, with column headers), 'json', or 'TEMPLATE'" },
    { name: 'last', short: 'n', kind: 'int', usage: 'Show n last created containers (includes all states) (default -1)' },
    { name: 'latest', short: 'l', kind: 'bool', usage: 'Show the latest created container (includes all states)' },
    { name: 'no-trunc', kind: 'bool', usage: "Don't truncate output" },
    { name: 'quiet', short: 'q', kind: 'bool', usage: 'Only display container IDs' },
    { name: 'size', short: 's', kind: 'bool', usage: 'Display total file sizes' },
  ],
  async run(inv) {
    reapAbandoned(inv.stateRoot, inv.layers); // what killed CLIs and monitors left (pipeline.ts)
    const quiet = Boolean(inv.flags.get('quiet'));
    const format = (inv.flags.get('format') as string | undefined) ?? '';
    if (format && quiet) process.stderr.write('WARNING: Ignoring custom format, because both --format and --quiet are set.\n');
    const filters = parseFilters((inv.flags.get('filter') as string[] | undefined) ?? [], 'ps');
    let size = Boolean(inv.flags.get('size'));
    if (format) {
      const usesSize = checkFormat(format);
      if (usesSize && !quiet && !inv.flags.has('size')) size = true;
    }
    let limit = (inv.flags.get('last') as number | undefined) ?? -1;
    if (inv.flags.get('latest') && limit === -1) limit = 1;

    const s = openStores(inv.stateRoot);
    const all = listContainers(inv.stateRoot)
      .map((c) => refreshState(inv.stateRoot, c))
      .sort((a, b) => Date.parse(b.Created) - Date.parse(a.Created));
    const shown = selectContainers(inv.stateRoot, s, all, filters, { all: Boolean(inv.flags.get('all')), limit });

    const now = Date.now();
    const summaries: Summary[] = shown.map((c) => {
      const sum: Summary = {
        id: c.ID, name: c.Name.slice(1), image: imageName(s, c), imageID: c.Image ?? '',
        command: commandLine(c), created: c.Created, state: stateOf(c), status: statusText(c, now), labels: labelsOf(s, c),
        ...networkOf(c),
        mounts: mountsOf(c),
      };
      if (size) {
        const rw = writableLayerSize(s, c.ID);
        const image = c.Image && s.images.exists(c.Image) ? imageSize(s, s.images.get(c.Image)) : 0;
        sum.size = { rw, rootFs: c.Image ? image + rw : 0 };
      }
      return sum;
    });
    const trunc = !inv.flags.get('no-trunc');
    let template = format;
    if (quiet) template = '{{.ID}}';
    else if (!format || format === 'table') template = DEFAULT_TABLE + (size ? '\t{{.Size}}' : '');
    process.stdout.write(formatList(template, summaries.map((c) => containerContext(c, trunc)), PS_HEADER));
    return 0;
  },
};
