// Chapter 4's image commands: images (in images.ts), image inspect, history, tag, rmi,
// import, save, load, info. Each reads or changes the stores of
// open-stores.ts; what they print follows the docker CLI.
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from '../core/layer.js';
import { RunError } from '../core/pipeline.js';
import { reportFailure } from '../core/failure.js';
import { listContainers, isRunning } from '../core/containers.js';
import { ago, humanSize, inspectJSON, inspectTemplate, templateError } from '../core/format.js';
import { type ImageConfig, type RunConfig } from './config.js';
import { chainIDs } from '../core/digest.js';
import { InvalidReferenceError, familiarString, parseReference, withDefaultTag } from './reference.js';
import { NoSuchImageError } from './image-store.js';
import { freeUnusedLayers, type Stores } from './open-stores.js';
import { ownedTempDir } from './leftovers.js';
import { storesWithBusybox, writeOutput, writeTo } from './busybox.js';
import { infoCommand } from './info.js';
import { withChanges } from './change.js';
import { goTime, localRFC3339, nowRFC3339Nano } from '../core/time.js';
import { formatRecords } from '../core/list-format.js';
import { imageSize, imagesCommand } from './images.js';

const short = (id: string) => id.replace(/^sha256:/, '').slice(0, 12);

function resolveOrFail(s: Stores, ref: string): string {
  try {
    return s.images.resolve(ref);
  } catch (e) {
    if (e instanceof NoSuchImageError) throw new RunError(1, e.message, { cause: e });
    throw e;
  }
}

export function parseRefOrFail(ref: string) {
  try {
    return withDefaultTag(parseReference(ref));
  } catch (e) {
    if (e instanceof InvalidReferenceError) throw new RunError(1, `${e.message}: "${ref}"`, { cause: e });
    throw e;
  }
}

// #region image-inspect
/**
 * `image inspect`'s object for one image, shaped like Docker's (the Engine
 * API's ImageInspect, as dockerd 20.10 answers it): its config's fields
 * under Docker's names, ContainerConfig (the container a commit came from,
 * or Docker's empty config), sizes, where its layers are, and when it was
 * last tagged. Times are printed as Go prints them (core/time.ts).
 */
export function imageInspect(s: Stores, id: string): Record<string, unknown> {
  const c = s.images.get(id);
  const chains = chainIDs(c.rootfs.diff_ids);
  const top = chains.length ? s.layers.get(chains[chains.length - 1]) : null;
  const size = imageSize(s, c);
  return {
    Id: id,
    RepoTags: s.images.tagsOf(id),
    RepoDigests: s.images.digestsOf(id), // given by a registry (chapter 8)
    Parent: s.images.parent(id),
    Comment: c.comment ?? '',
    Created: goTime(c.created),
    Container: c.container ?? '',
    ContainerConfig: dockerRunConfig(c.container_config ?? {}),
    DockerVersion: c.docker_version ?? '',
    Author: c.author ?? '',
    Config: dockerRunConfig(c.config),
    Architecture: c.architecture,
    ...(c.variant ? { Variant: c.variant } : {}),
    Os: c.os,
    Size: size,
    VirtualSize: size, //           the same number since Docker 1.10's content-addressed layers
    GraphDriver: { Data: top ? s.driver.metadata(top.cacheID) : null, Name: s.driver.name },
    RootFS: { Type: 'layers', Layers: c.rootfs.diff_ids },
    Metadata: { LastTagTime: goTime(s.images.lastTagTime(id)) },
  };
}
// #endregion image-inspect

/**
 * A config in Docker's container.Config shape: every key Docker prints, in
 * its order, with Go's empty value where the image says nothing; the keys
 * Go leaves out when empty (ExposedPorts, StopSignal…) only when set.
 */
function dockerRunConfig(config: RunConfig): Record<string, unknown> {
  const rc = config as RunConfig & Record<string, unknown>;
  const optional = (k: string) => (rc[k] !== undefined && rc[k] !== null && rc[k] !== '' && rc[k] !== false ? { [k]: rc[k] } : {});
  return {
    Hostname: rc.Hostname ?? '', Domainname: rc.Domainname ?? '', User: rc.User ?? '',
    AttachStdin: rc.AttachStdin ?? false, AttachStdout: rc.AttachStdout ?? false, AttachStderr: rc.AttachStderr ?? false,
    ...optional('ExposedPorts'),
    Tty: rc.Tty ?? false, OpenStdin: rc.OpenStdin ?? false, StdinOnce: rc.StdinOnce ?? false,
    Env: rc.Env ?? null, Cmd: rc.Cmd ?? null,
    ...optional('Healthcheck'), ...optional('ArgsEscaped'),
    Image: rc.Image ?? '', Volumes: rc.Volumes ?? null, WorkingDir: rc.WorkingDir ?? '', Entrypoint: rc.Entrypoint ?? null,
    ...optional('NetworkDisabled'), ...optional('MacAddress'),
    OnBuild: rc.OnBuild ?? null, Labels: rc.Labels ?? null,
    ...optional('StopSignal'), ...optional('StopTimeout'), ...optional('Shell'),
  };
}

export const formatFlag = { name: 'format', short: 'f', kind: 'string' as const, usage: 'Format output using a custom template: \'json\' prints in JSON format, \'TEMPLATE\' prints output using the given Go template' };

/** Docker parses -f's template before looking anything up: a bad one is exit 64 (docker/cli's inspect). */
export function checkFormat(format: string | undefined): void {
  const bad = templateError(format ?? '');
  if (bad) throw new RunError(64, bad);
}

/**
 * The docker CLI's inspect loop: look up each reference; print what was
 * found together (one JSON array, or the -f template once per object), and
 * name what was not on stderr ("Error: No such image: x"); exit 1 if any
 * was missing. `inspectOne` returns null for "not found".
 */
export function inspectEach(refs: string[], format: string | undefined, kind: 'image' | 'object', inspectOne: (ref: string) => unknown): number {
  const found: unknown[] = [];
  let code = 0;
  for (const ref of refs) {
    const doc = inspectOne(ref);
    if (doc !== null) {
      found.push(doc);
      continue;
    }
    process.stderr.write(`Error: No such ${kind}: ${ref}\n`);
    code = 1;
  }
  return printInspected(found, format, code);
}

/**
 * What inspect found, printed: one JSON array, or each document through
 * the -f template (one it fails on is an error line and the others still
 * print: docker/cli's inspect). Returns the exit code: 1 if the template
 * failed, else `code` (1 when a reference was not found).
 */
export function printInspected(found: unknown[], format: string | undefined, code: number): number {
  if (!format) {
    process.stdout.write(inspectJSON(found));
    return code;
  }
  const { stdout, errors } = inspectTemplate(format, found);
  process.stdout.write(stdout);
  for (const e of errors) process.stderr.write(`dockling: ${e}\n`);
  return errors.length ? 1 : code;
}

/** An image's inspect document, or null if there is no such image. */
export function imageInspectOrNull(s: Stores, ref: string): Record<string, unknown> | null {
  try {
    return imageInspect(s, s.images.resolve(ref));
  } catch (e) {
    if (e instanceof NoSuchImageError) return null;
    throw e;
  }
}

const imageInspectCommand: Command = {
  name: 'image inspect',
  summary: 'Display detailed information on one or more images',
  usage: 'image inspect [OPTIONS] IMAGE [IMAGE...]',
  flags: [formatFlag],
  minArgs: 1,
  async run(inv) {
    const format = inv.flags.get('format') as string | undefined;
    checkFormat(format);
    const s = await storesWithBusybox(inv.stateRoot);
    return inspectEach(inv.args, format, 'image', (ref) => imageInspectOrNull(s, ref));
  },
};

// #region history
/**
 * history's columns as docker/cli's formatter names them: the fields a
 * --format template may use, and each one's header in a `table`.
 */
const HISTORY_HEADER = { ID: 'IMAGE', CreatedSince: 'CREATED', CreatedAt: 'CREATED AT', CreatedBy: 'CREATED BY', Size: 'SIZE', Comment: 'COMMENT' };
// docker/cli's default tables: -H=false swaps "2 hours ago" for the date.
const HISTORY_TABLE = 'table {{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}';
const HISTORY_TABLE_NOT_HUMAN = 'table {{.ID}}\t{{.CreatedAt}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}';
// Docker's "N/A" for an entry dated before 2000 (a zero or missing date).
const EPOCH_2000 = Date.UTC(2000, 0, 1);

const historyCommand: Command = {
  name: 'history',
  aliases: ['image history'],
  summary: 'Show the history of an image',
  usage: 'history [OPTIONS] IMAGE',
  flags: [
    { name: 'format', kind: 'string', usage: "Format output using a custom template: 'table' (the default), 'table TEMPLATE' (a table with headers), 'json', or a Go TEMPLATE" },
    { name: 'human', short: 'H', kind: 'bool', usage: 'Print sizes and dates in human readable format (default true)' },
    { name: 'no-trunc', kind: 'bool', usage: "Don't truncate output" },
    { name: 'quiet', short: 'q', kind: 'bool', usage: 'Only show image IDs' },
  ],
  minArgs: 1,
  maxArgs: 1,
  async run(inv) {
    const human = inv.flags.get('human') !== false;
    const noTrunc = Boolean(inv.flags.get('no-trunc'));
    const s = await storesWithBusybox(inv.stateRoot);
    const id = resolveOrFail(s, inv.args[0]);
    const c = s.images.get(id);
    const chains = chainIDs(c.rootfs.diff_ids);
    // Layers and history entries line up: each entry without empty_layer
    // made the next layer.
    let layer = 0;
    const entries = c.history.map((h) => {
      const size = h.empty_layer ? 0 : (s.layers.get(chains[layer++])?.size ?? 0);
      return { h, size };
    });
    entries.reverse();
    // The daemon's IDs: the image's on the newest entry, then its parent's
    // (the image it was committed on, if that is still here), and the
    // parent's parent…; below the last image it knows, "<missing>" (their
    // configs were never stored apart).
    const ids: string[] = [];
    for (let cur = id; ids.length < entries.length; cur = s.images.parent(cur)) {
      ids.push(cur);
      const parent = s.images.parent(cur);
      if (!parent || !s.images.exists(parent)) break;
    }
    const rows = entries.map(({ h, size }, i) => {
      const created = Date.parse(h.created);
      const createdAt = Number.isNaN(created) ? '' : localRFC3339(created);
      const createdBy = (h.created_by ?? '').replaceAll('\t', ' ');
      return {
        ID: i >= ids.length ? '<missing>' : noTrunc ? ids[i] : short(ids[i]),
        CreatedAt: createdAt,
        CreatedSince: !human ? createdAt : Number.isNaN(created) || created <= EPOCH_2000 ? 'N/A' : ago(h.created),
        CreatedBy: noTrunc || createdBy.length <= 45 ? createdBy : createdBy.slice(0, 44) + '…',
        Size: human ? humanSize(size) : String(size),
        Comment: h.comment ?? '',
      };
    });
    // docker/cli: -q is the default table's stand-in; a --format wins over it.
    const given = inv.flags.get('format') as string | undefined;
    const format = given && given !== 'table' ? given : inv.flags.get('quiet') ? '{{.ID}}' : human ? HISTORY_TABLE : HISTORY_TABLE_NOT_HUMAN;
    process.stdout.write(formatRecords(format, '*formatter.historyContext', HISTORY_HEADER, rows));
    return 0;
  },
};
// #endregion history

const tagCommand: Command = {
  name: 'tag',
  aliases: ['image tag'],
  summary: 'Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE',
  usage: 'tag SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]',
  flags: [],
  minArgs: 2,
  async run(inv) {
    const s = await storesWithBusybox(inv.stateRoot);
    const target = parseRefOrFail(inv.args[1]);
    if (target.digest) throw new RunError(1, `refusing to create a tag with a digest reference: "${inv.args[1]}"`);
    await s.images.lockedAsync(async () => s.images.tag(resolveOrFail(s, inv.args[0]), target));
    return 0;
  },
};

// #region rmi
/**
 * Remove a name, and the image once nothing points at it: no other name,
 * no container (unless -f), no child image. Then free its layers from the
 * top down, each only if no other image and no container stands on it.
 */
function removeImage(s: Stores, refOrId: string, force: boolean, out: string[], prune = true): void {
  const id = resolveOrFail(s, refOrId);
  const names = s.images.namesOf(id);
  const byName = names.length > 0 && !/^(sha256:)?[0-9a-f]+$/.test(refOrId);
  const users = listContainers(s.root).filter((c) => c.Image === id);
  const children = s.images.list().filter((other) => s.images.parent(other) === id);
  if (byName) {
    const ref = parseRefOrFail(refOrId);
    const last = names.length === 1;
    if (last && users.length && !force) {
      throw new RunError(1, `conflict: unable to remove repository reference "${refOrId}" (must force) - container ${short(users[0].ID)} is using its referenced image ${short(id)}`);
    }
    s.images.untag(ref);
    out.push(`Untagged: ${familiarString(ref)}`);
    // A tag gone, with no other tag left in its repository: the digest
    // references of that repository (chapter 8's pulls) go too, as in
    // Docker, or `rmi busybox` would leave a nameless busybox@sha256:… row.
    if (!ref.digest) {
      const repo = familiarString({ ...ref, tag: undefined });
      const sameRepo = (n: string, sep: string) => n.startsWith(repo + sep);
      if (!s.images.tagsOf(id).some((n) => sameRepo(n, ':'))) {
        for (const d of s.images.digestsOf(id).filter((n) => sameRepo(n, '@'))) {
          s.images.untag(parseReference(d));
          out.push(`Untagged: ${d}`);
        }
      }
    }
    // The image itself stays while other names, children or running containers need it.
    if (s.images.namesOf(id).length || children.length || users.some(isRunning)) return;
  } else {
    if (names.length > 1 && !force) throw new RunError(1, `conflict: unable to delete ${short(id)} (must be forced) - image is referenced in multiple repositories`);
    if (children.length) throw new RunError(1, `conflict: unable to delete ${short(id)} (cannot be forced) - image has dependent child images`);
    if (users.length && !force) throw new RunError(1, `conflict: unable to delete ${short(id)} (must be forced) - image is being used by stopped container ${short(users[0].ID)}`);
    // A running container's image cannot go, even forced: refuse before
    // untagging anything, so that nothing has changed (Docker's answer).
    const running = users.find(isRunning);
    if (running) throw new RunError(1, `conflict: unable to delete ${short(id)} (cannot be forced) - image is being used by running container ${short(running.ID)}`);
    for (const n of names) {
      s.images.untag(parseReference(n));
      out.push(`Untagged: ${n}`);
    }
  }
  deleteWithParents(s, id, prune, out);
}

/**
 * Delete an image, then, unless --no-prune, its parent when nothing else
 * keeps it: no name, no other child, no container. A build leaves such a
 * chain (an image per step, chapter 9): removing the built image removes
 * the steps that only it stood on, as Docker's rmi does.
 */
function deleteWithParents(s: Stores, id: string, prune: boolean, out: string[]): void {
  for (let cur = id; cur; ) {
    const parent = s.images.parent(cur);
    const top = chainIDs(s.images.get(cur).rootfs.diff_ids).at(-1) ?? null;
    s.images.delete(cur);
    out.push(`Deleted: ${cur}`);
    for (const chain of freeUnusedLayers(s, top)) out.push(`Deleted: ${chain}`);
    const keep = !prune || !parent || !s.images.exists(parent) || s.images.namesOf(parent).length > 0 ||
      s.images.list().some((other) => s.images.parent(other) === parent) || listContainers(s.root).some((c) => c.Image === parent);
    cur = keep ? '' : parent;
  }
}
// #endregion rmi

const rmiCommand: Command = {
  name: 'rmi',
  aliases: ['image rm', 'image remove'],
  summary: 'Remove one or more images',
  usage: 'rmi [OPTIONS] IMAGE [IMAGE...]',
  flags: [
    { name: 'force', short: 'f', kind: 'bool', usage: 'Force removal of the image' },
    { name: 'no-prune', kind: 'bool', usage: 'Do not delete untagged parents' },
  ],
  minArgs: 1,
  async run(inv) {
    const s = await storesWithBusybox(inv.stateRoot);
    let code = 0;
    for (const ref of inv.args) {
      const out: string[] = [];
      try {
        await s.images.lockedAsync(async () => removeImage(s, ref, Boolean(inv.flags.get('force')), out, !inv.flags.get('no-prune')));
      } catch (e) {
        if (!(e instanceof RunError)) throw e;
        reportFailure(e);
        // `rmi -f` of an image that is not there: the wanted end state
        // holds, and the docker CLI says so but exits 0.
        if (inv.flags.get('force') && e.cause instanceof NoSuchImageError) continue;
        code = 1;
      }
      process.stdout.write(out.map((l) => l + '\n').join(''));
    }
    return code;
  },
};

/**
 * A tar that was refused (hostile, or not a tar) is the user's input at
 * fault, not dockling: one line and status 1, as Docker answers.
 * (Matched by name: the tar code is loaded only when a tar is read.)
 */
export function tarInputError(e: unknown): never {
  const name = (e as Error)?.constructor?.name;
  if (name === 'LayerTarError' || name === 'TarFormatError') throw new RunError(1, (e as Error).message, { cause: e });
  throw e;
}

/** Read a tar from a file or stdin ("-") into a file we can read twice. */
export async function inputFile(stateRoot: string, arg: string | undefined, what: string): Promise<{ file: string; done: () => void }> {
  if (arg && arg !== '-') {
    if (!fs.existsSync(arg)) throw new RunError(1, `open ${arg}: no such file or directory`);
    return { file: arg, done: () => {} };
  }
  if (process.stdin.isTTY) throw new RunError(1, `requested load from stdin, but stdin is empty (give ${what} with -i FILE or redirect it)`);
  const dir = ownedTempDir(stateRoot, 'stdin');
  const file = path.join(dir, 'input.tar');
  await writeTo(file, async (out) => {
    for await (const chunk of process.stdin) out.write(chunk as Buffer);
  });
  return { file, done: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

const importCommand: Command = {
  name: 'import',
  aliases: ['image import'],
  summary: 'Import the contents from a tarball to create a filesystem image',
  usage: 'import [OPTIONS] file|- [REPOSITORY[:TAG]]',
  flags: [
    { name: 'message', short: 'm', kind: 'string', usage: 'Set commit message for imported image' },
    { name: 'change', short: 'c', kind: 'stringArray', usage: 'Apply Dockerfile instruction to the created image' },
  ],
  minArgs: 1,
  async run(inv) {
    const runConfig = withChanges({}, (inv.flags.get('change') as string[] | undefined) ?? []);
    const s = await storesWithBusybox(inv.stateRoot);
    const ref = inv.args[1] === undefined ? null : parseRefOrFail(inv.args[1]);
    const input = await inputFile(inv.stateRoot, inv.args[0], 'the tar');
    try {
      const id = await s.images.lockedAsync(async () => {
        const layer = await s.layers.register(input.file, null).catch(tarInputError);
        const created = nowRFC3339Nano();
        const message = inv.flags.get('message') as string | undefined;
        const config: ImageConfig = {
          architecture: (await import('./config.js')).goArch(), os: 'linux', created, config: runConfig,
          rootfs: { type: 'layers', diff_ids: [layer.diffID] },
          history: [{ created, created_by: '', comment: message ?? `Imported from ${inv.args[0] === '-' ? '-' : path.resolve(inv.args[0])}` }],
          ...(message ? { comment: message } : {}),
        };
        const id = s.images.put(config);
        if (ref) s.images.tag(id, ref);
        return id;
      });
      process.stdout.write(id + '\n');
      return 0;
    } finally {
      input.done();
    }
  },
};

/**
 * The docker CLI's check of -o before it saves (ValidateOutputPath): the
 * directory must exist, and the path must be a regular file or a directory
 * if it exists. Same messages.
 */
function validateOutputPath(file: string): void {
  const dir = path.dirname(path.normalize(file));
  if (dir !== '.' && !fs.existsSync(dir)) throw new RunError(1, `failed to save image: invalid output path: directory "${dir}" does not exist`);
  const st = fs.statSync(file, { throwIfNoEntry: false });
  if (st && !st.isFile() && !st.isDirectory()) throw new RunError(1, `failed to save image: invalid output path: "${file}" must be a directory or a regular file`);
  if (st?.isDirectory()) throw new RunError(1, `failed to save image: open ${file}: is a directory`);
}

const saveCommand: Command = {
  name: 'save',
  aliases: ['image save'],
  summary: 'Save one or more images to a tar archive (streamed to STDOUT by default)',
  usage: 'save [OPTIONS] IMAGE [IMAGE...]',
  flags: [{ name: 'output', short: 'o', kind: 'string', usage: 'Write to a file, instead of STDOUT' }],
  minArgs: 1,
  async run(inv) {
    const s = await storesWithBusybox(inv.stateRoot);
    const file = inv.flags.get('output') as string | undefined;
    if (!file && process.stdout.isTTY) throw new RunError(1, 'Cowardly refusing to save to a terminal. Use the -o flag or redirect');
    if (file) validateOutputPath(file);
    const wanted = inv.args.map((ref) => ({ ref, id: resolveOrFail(s, ref) }));
    const { saveArchive } = await import('./archive.js');
    try {
      await writeOutput(file, (out) => saveArchive(s, wanted, out));
    } catch (e) {
      // The reader of standard output went away (`save | head -c10`): as a
      // Go program killed by SIGPIPE, docker save stops, silently, with 141
      // (core/stdio.ts); nothing to undo.
      if ((e as NodeJS.ErrnoException).code === 'EPIPE') return 141;
      const err = e as NodeJS.ErrnoException;
      if (err.syscall && err.code) throw new RunError(1, `failed to save image: ${err.message}`, { cause: e });
      throw e;
    }
    return 0;
  },
};

const loadCommand: Command = {
  name: 'load',
  aliases: ['image load'],
  summary: 'Load an image from a tar archive or STDIN',
  usage: 'load [OPTIONS]',
  flags: [
    { name: 'input', short: 'i', kind: 'string', usage: 'Read from tar archive file, instead of STDIN' },
    { name: 'quiet', short: 'q', kind: 'bool', usage: 'Suppress the load output' },
  ],
  async run(inv) {
    const s = await storesWithBusybox(inv.stateRoot);
    const input = await inputFile(inv.stateRoot, inv.flags.get('input') as string | undefined, 'the archive');
    try {
      const { loadArchive } = await import('./archive.js');
      const lines = await s.images.lockedAsync(() => loadArchive(s, input.file)).catch(tarInputError);
      if (!inv.flags.get('quiet')) process.stdout.write(lines.map((l) => l + '\n').join(''));
      return 0;
    } finally {
      input.done();
    }
  },
};

export const imageCommands: Command[] = [imagesCommand, imageInspectCommand, historyCommand, tagCommand, rmiCommand, importCommand, saveCommand, loadCommand, infoCommand];
