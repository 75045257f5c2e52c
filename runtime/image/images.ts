// Chapter 4's `images` as a Docker user scripts it: REPOSITORY[:TAG],
// -a, -q, --no-trunc, --digests, --filter/-f and --format (Go templates,
// `table`, `json`).
//
// As in Docker, the daemon's half picks the images (the filters, and
// without -a no untagged image that others are built on: those are the
// "intermediate" images), newest first; the CLI's half prints one row per
// name an image has (an image tagged twice is two rows, and two lines of
// -q), through docker/cli's imageContext fields: .ID .Repository .Tag
// .Digest .CreatedSince .CreatedAt .Size .VirtualSize .SharedSize
// .UniqueSize .Containers.
import type { Command } from '../core/layer.js';
import { ago, humanSize } from '../core/format.js';
import { BadPatternError, boolFilter, daemonError, matchesLabels, parseFilters, pathMatch, validateFilters, valuesOf, type Filters } from '../core/filters.js';
import { formatList, goTimeString, headerOf } from '../core/list-format.js';
import { GoStruct } from '../core/template/index.js';
import { familiarName, familiarString, parseReference } from './reference.js';
import { NoSuchImageError } from './image-store.js';
import type { Stores } from './open-stores.js';
import { storesWithBusybox } from './busybox.js';
import { chainIDs } from '../core/digest.js';
import type { ImageConfig } from './config.js';

/** Size of an image: the bytes of all its layers (Docker's "SIZE"). */
export function imageSize(s: Stores, c: ImageConfig): number {
  return chainIDs(c.rootfs.diff_ids).reduce((n, ch) => n + (s.layers.get(ch)?.size ?? 0), 0);
}

const short = (id: string) => id.replace(/^sha256:/, '').slice(0, 12);

// dockerd's acceptedImageFilterTags.
const IMAGE_FILTERS = ['dangling', 'label', 'before', 'since', 'reference', 'until'];

const GO_UNITS: Record<string, number> = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, 'μs': 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * until=: Docker's GetTimestamp, in seconds since 1970. A Go duration
 * ("10m", "1h30m") counts back from now; a date or time ("2026-12-04",
 * "2026-12-04T15:00:00Z") is that instant; a number is a Unix time.
 * (dockling reads dates with JavaScript's parser, which takes Docker's
 * RFC 3339 forms; a malformed one gets the words Docker gives a bad number.)
 */
function untilTime(value: string, now = Date.now()): number {
  const duration = /^([+-]?)((?:\d+\.?\d*|\.\d+)(?:ns|us|µs|μs|ms|s|m|h))+$/.test(value) && value !== '0';
  if (duration) {
    let ms = 0;
    for (const [, n, unit] of value.matchAll(/(\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h)/g)) ms += Number(n) * GO_UNITS[unit];
    return Math.floor((now - (value.startsWith('-') ? -ms : ms)) / 1000);
  }
  if (/^\d+(\.\d+)?$/.test(value)) return Number(value);
  const t = value.includes('-') ? Date.parse(value) : NaN;
  if (Number.isNaN(t)) throw daemonError(`failed to parse value as time or duration: ${JSON.stringify(value)}`);
  return Math.floor(t / 1000);
}

const IMAGES_HEADER = headerOf('*formatter.imageContext', {
  ID: 'IMAGE ID', Repository: 'REPOSITORY', Tag: 'TAG', Digest: 'DIGEST', CreatedSince: 'CREATED', CreatedAt: 'CREATED AT',
  Size: 'SIZE', Containers: 'CONTAINERS', VirtualSize: 'SIZE', SharedSize: 'SHARED SIZE', UniqueSize: 'UNIQUE SIZE',
});

const DEFAULT_TABLE = 'table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{if .CreatedSince }}{{.CreatedSince}}{{else}}N/A{{end}}\t{{.Size}}';
const DIGEST_TABLE = 'table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{if .CreatedSince }}{{.CreatedSince}}{{else}}N/A{{end}}\t{{.Size}}';

interface Row {
  id: string;
  repo: string;
  tag: string;
  digest: string;
  created: string;
  size: number;
}

/** One row for the template: docker/cli's imageContext. */
function imageContext(r: Row, trunc: boolean): GoStruct {
  const size = () => humanSize(r.size);
  return new GoStruct('*formatter.imageContext', {
    ID: () => (trunc ? short(r.id) : r.id),
    Repository: () => r.repo,
    Tag: () => r.tag,
    Digest: () => r.digest,
    CreatedSince: () => ago(r.created),
    CreatedAt: () => goTimeString(Date.parse(r.created)),
    Size: size,
    VirtualSize: size, //   the same number since Docker 1.10
    SharedSize: () => 'N/A', // only `system df` asks the daemon for these
    UniqueSize: () => 'N/A',
    Containers: () => 'N/A',
  });
}

/** before= / since=: an image by name or ID; one that is not there is the daemon's error. */
function imageTime(s: Stores, ref: string): number {
  try {
    return Math.floor(Date.parse(s.images.get(s.images.resolve(ref)).created) / 1000);
  } catch (e) {
    if (e instanceof NoSuchImageError) throw daemonError(e.message, e);
    throw e;
  }
}

/** reference.FamiliarMatch: the glob against "name:tag", or else against the name alone. */
function referenceMatches(pattern: string, name: string): boolean {
  try {
    return pathMatch(pattern, familiarString(parseReference(name))) || pathMatch(pattern, familiarName(parseReference(name)));
  } catch (e) {
    if (e instanceof BadPatternError) throw daemonError(e.message, e);
    throw e;
  }
}

// #region image-rows
/**
 * An image's rows, as the docker CLI makes them: one per tag, with the
 * digest its repository got from a registry (chapter 8), if any; a
 * repository known only by digest (`pull x@sha256:…`) gets a row with the
 * tag <none>; an image with no name at all, one row of <none>s.
 */
function nameRows(tags: string[], digests: string[]): { repo: string; tag: string; digest: string }[] {
  const split = (n: string, sep: string) => [n.slice(0, n.lastIndexOf(sep)), n.slice(n.lastIndexOf(sep) + 1)];
  const digestsOf = new Map<string, string[]>();
  for (const d of digests) {
    const [repo, digest] = split(d, '@');
    digestsOf.set(repo, [...(digestsOf.get(repo) ?? []), digest]);
  }
  const rows: { repo: string; tag: string; digest: string }[] = [];
  for (const t of tags) {
    const [repo, tag] = split(t, ':');
    for (const digest of digestsOf.get(repo) ?? ['<none>']) rows.push({ repo, tag, digest });
  }
  for (const [repo, ds] of digestsOf) {
    if (tags.some((t) => split(t, ':')[0] === repo)) continue;
    for (const digest of ds) rows.push({ repo, tag: '<none>', digest });
  }
  return rows.length ? rows : [{ repo: '<none>', tag: '<none>', digest: '<none>' }];
}
// #endregion image-rows

// #region images-filter
/**
 * dockerd's image list: each image through the filters (times compared in
 * whole seconds, as the API gives them), its names cut down to those
 * `reference` matches; an untagged image is shown only if it is a leaf
 * (no image built on it) or -a asks for all.
 */
function selectImages(s: Stores, f: Filters, all: boolean): Row[] {
  validateFilters(f, IMAGE_FILTERS);
  const danglingOnly = boolFilter(f, 'dangling') ?? false;
  let before = Infinity;
  for (const v of valuesOf(f, 'before')) before = Math.min(before, imageTime(s, v));
  for (const v of valuesOf(f, 'until')) before = Math.min(before, untilTime(v));
  let since = -Infinity;
  for (const v of valuesOf(f, 'since')) since = Math.max(since, imageTime(s, v));
  const patterns = valuesOf(f, 'reference');

  const ids = s.images.list();
  const hasChildren = new Set(ids.map((id) => s.images.parent(id)).filter(Boolean));
  const rows: Row[] = [];
  for (const id of ids) {
    if (danglingOnly && hasChildren.has(id)) continue; // dangling=true looks at leaves only
    const config = s.images.get(id);
    const created = Math.floor(Date.parse(config.created) / 1000);
    if (!(created < before) || !(created > since)) continue;
    if (f.has('label') && !matchesLabels(f, 'label', config.config.Labels)) continue;
    const match = (n: string) => patterns.length === 0 || patterns.some((p) => referenceMatches(p, n));
    const tags = s.images.tagsOf(id).filter(match);
    const digests = s.images.digestsOf(id).filter(match);
    if (tags.length === 0) {
      if (!all && hasChildren.has(id) && digests.length === 0) continue; // an intermediate image
      if (f.has('dangling') && !danglingOnly) continue;
      if (patterns.length && digests.length === 0) continue;
    } else if (danglingOnly) continue;
    const row = { id, created: config.created, size: imageSize(s, config) };
    for (const r of nameRows(tags, digests)) rows.push({ ...row, ...r });
  }
  return rows.sort((a, b) => Date.parse(b.created) - Date.parse(a.created) || a.repo.localeCompare(b.repo) || a.tag.localeCompare(b.tag));
}
// #endregion images-filter

export const imagesCommand: Command = {
  name: 'images',
  aliases: ['image ls', 'image list'],
  summary: 'List images',
  usage: 'images [OPTIONS] [REPOSITORY[:TAG]]',
  maxArgs: 1,
  flags: [
    { name: 'all', short: 'a', kind: 'bool', usage: 'Show all images (default hides intermediate images)' },
    { name: 'digests', kind: 'bool', usage: 'Show digests' },
    { name: 'filter', short: 'f', kind: 'stringArray', valueName: 'filter', usage: 'Filter output based on conditions provided' },
    { name: 'format', kind: 'string', usage: "Format output using a custom template: 'table' (the default), 'table TEMPLATE' (a Go template, with column headers), 'json', or 'TEMPLATE'" },
    { name: 'no-trunc', kind: 'bool', usage: "Don't truncate output" },
    { name: 'quiet', short: 'q', kind: 'bool', usage: 'Only show image IDs' },
  ],
  async run(inv) {
    const filters = parseFilters((inv.flags.get('filter') as string[] | undefined) ?? [], 'images');
    // `images busybox` is the filter reference=busybox (a glob, like -f's).
    const match = inv.args[0];
    if (match !== undefined) {
      if (!filters.has('reference')) filters.set('reference', new Set());
      filters.get('reference')!.add(match);
    }
    const s = await storesWithBusybox(inv.stateRoot);
    const rows = selectImages(s, filters, Boolean(inv.flags.get('all')));

    // docker/cli's NewImageFormat: -q is the IDs unless a format is given;
    // --digests adds the DIGEST column (to a custom table too).
    const digests = Boolean(inv.flags.get('digests'));
    let format = (inv.flags.get('format') as string | undefined) || 'table';
    if (format === 'table') format = inv.flags.get('quiet') ? '{{.ID}}' : digests ? DIGEST_TABLE : DEFAULT_TABLE;
    else if (format.startsWith('table') && digests && !format.includes('{{.Digest}}')) format += '\t{{.Digest}}';
    process.stdout.write(formatList(format, rows.map((r) => imageContext(r, !inv.flags.get('no-trunc'))), IMAGES_HEADER));
    return 0;
  },
};
