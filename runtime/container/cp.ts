// Chapter 5: `cp` (and `container cp`), Docker's copy between a container
// and the host, in both directions, for running and stopped containers.
//
// Docker splits the work: the CLI decides what goes where (its path rules,
// below), the daemon reads or writes a tar stream in the container's root.
// Here both halves run in one process; the tar stream stays the interface
// between them, which is what makes `-` (a tar on stdin or stdout) the
// same code path as a file or a directory. The file system half, and how it
// stays inside the container's root, is cp-archive.ts.
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import type { Command } from '../core/layer.js';
import { RunError } from '../core/pipeline.js';
import { humanSize } from '../core/format.js';
import { brokenPipe, writeOut } from '../core/stdio.js';
import { resolveContainer, NoSuchContainerError, type ContainerConfig } from '../core/containers.js';
import { openStores } from '../image/open-stores.js';
import { O_PATH, readlinkFd } from '../sys/libc.js';
import { TarFormatError, TarWriter } from '../storage/tar.js';
import { trace } from '../trace/trace.js';
import { CopyError, codeOf, describe, openInRoot, packTree, toContainerOwner, unpacker } from './cp-archive.js';
import { resolveUser } from './user.js';

const CH = 5;
const O_CLOEXEC = 0o2000000;
const { O_DIRECTORY, O_NOFOLLOW, O_RDONLY, O_NONBLOCK, O_NOCTTY } = fs.constants;

interface Options {
  follow: boolean;
  archive: boolean;
  quiet: boolean;
}

// #region cp-split
/**
 * "CONTAINER:PATH" or a local path, as the docker CLI tells them apart: an
 * absolute path is local, and so is one whose part before the ":" starts
 * with "." (`./file:name.txt`); otherwise the first ":" splits.
 */
export function splitCpArg(arg: string): { container: string; path: string } {
  if (arg.startsWith('/')) return { container: '', path: arg };
  const i = arg.indexOf(':');
  if (i < 0 || arg.startsWith('.')) return { container: '', path: arg };
  return { container: arg.slice(0, i), path: arg.slice(i + 1) };
}
// #endregion cp-split

/** Go's archive.PreserveTrailingDotOrSeparator: a cleaned path keeps the "/." or "/" it was given with. */
function preserveTrailing(cleaned: string, original: string): string {
  if ((original.endsWith('/.') || original === '.') && !cleaned.endsWith('/.')) return (cleaned.endsWith('/') ? cleaned : cleaned + '/') + '.';
  if (original.endsWith('/') && !cleaned.endsWith('/')) return cleaned + '/';
  return cleaned;
}
const specifiesCurrentDir = (p: string) => p === '.' || p.endsWith('/.');
const assertsDirectory = (p: string) => p.endsWith('/') || specifiesCurrentDir(p);

/** Docker's SplitPathDirEntry: "/a/b/" → ["/a", "b"], "/a/b/." → ["/a/b", "."]. */
function splitPathDirEntry(p: string): [string, string] {
  let cleaned = path.posix.normalize(p).replace(/(.)\/+$/, '$1');
  if (specifiesCurrentDir(p)) cleaned = cleaned.replace(/\/\.$/, '') + '/.';
  return [path.posix.dirname(cleaned), path.posix.basename(cleaned) || '/'];
}

/**
 * The name the copied tree has in the tar: the last name of the path asked
 * for ("etc" for /etc and /etc/), "." for "its contents" (/etc/. and the
 * root). With -L it is still the link's name, as Docker rebases it.
 */
function topName(abs: string): string {
  if (specifiesCurrentDir(abs) || path.posix.normalize(abs) === '/') return '.';
  return path.posix.basename(abs);
}

/** An absolute local path that keeps its trailing "/" or "/.". */
const resolveLocalPath = (p: string) => preserveTrailing(path.resolve(p), p);

interface CopyInfo {
  path: string;
  exists: boolean;
  isDir: boolean;
}

// #region prepare-copy
/**
 * Docker's PrepareArchiveCopy: where to unpack the tar, and which first
 * name of its entries to rename, from what the source is and what the
 * destination is (or is not yet):
 * - DEST is a directory: unpack into it ("into this directory");
 * - DEST is a file: a directory may not replace it; a file takes its name;
 * - DEST does not exist: unpack into its parent, the tree taking DEST's
 *   name, unless DEST ends with "/" for a file ("the destination
 *   directory must exist").
 */
function prepareCopy(srcBase: string, srcIsDir: boolean, dst: CopyInfo): { dir: string; rebase?: { from: string; to: string } } {
  const [dstDir, dstBase] = splitPathDirEntry(dst.path);
  if (dst.exists && dst.isDir) return { dir: dst.path };
  if (dst.exists && srcIsDir) throw new CopyError('cannot copy directory');
  if (!dst.exists && !srcIsDir && assertsDirectory(dst.path)) throw new CopyError('no such directory');
  return { dir: dstDir, rebase: { from: srcBase, to: dstBase } };
}
// #endregion prepare-copy

// --- the container's root ---

interface Root {
  fd: number;
  /** the directory on the host (for the trace) */
  dir: string;
  close(): void;
  /** where the container sees this root: '' for its own, a mount point for one of chapter 7's volumes or binds */
  at?: string;
  /** a read-only mount (chapter 7's :ro) */
  readOnly?: boolean;
}

// #region cp-through-mounts
/**
 * Where a path of the container is to be found: in its root, or, under one
 * of the volumes and bind mounts chapter 7 records (MountPoints in its
 * config), in that mount's host directory, as Docker's cp goes through the
 * container's mounts. That directory becomes the root the path is resolved
 * in (openat2 RESOLVE_IN_ROOT): a symlink in a volume stays in the volume.
 * (A tmpfs has no host directory: its files are the container's memory.)
 */
function viewFor(c: ContainerConfig, root: Root, abs: string): { root: Root; abs: string } {
  const points = (c as ContainerConfig & { MountPoints?: Record<string, { Type: string; Source: string; Destination: string; RW: boolean }> | null }).MountPoints ?? {};
  const clean = path.posix.normalize(abs);
  let best: { Source: string; Destination: string; RW: boolean } | null = null;
  for (const p of Object.values(points)) {
    if (p.Type === 'tmpfs' || !p.Source) continue;
    const under = clean === p.Destination || clean.startsWith(p.Destination + '/');
    if (under && (!best || p.Destination.length > best.Destination.length)) best = p;
  }
  if (!best) return { root, abs };
  let fd: number;
  try {
    fd = fs.openSync(best.Source, O_PATH | O_DIRECTORY | O_CLOEXEC);
  } catch (e) {
    throw new CopyError(`the mount ${best.Destination} of the container (${best.Source}) is gone: ${describe(e)}`, { cause: e });
  }
  const rest = abs.slice(best.Destination.length) || '/';
  return { root: { fd, dir: best.Source, close: () => fs.closeSync(fd), at: best.Destination, readOnly: !best.RW }, abs: rest.startsWith('/') ? rest : '/' + rest };
}
// #endregion cp-through-mounts

/**
 * A descriptor of the container's root: its overlay merged directory,
 * mounted already while it runs, mounted for the copy when it is stopped
 * (and unmounted after, as `export` does). A --rootfs container's root is
 * the directory it was run from.
 */
function openRoot(stateRoot: string, c: ContainerConfig): Root {
  const s = c.Driver ? openStores(stateRoot) : null;
  const m = s?.layers.getMount(c.ID);
  let dir = c.Rootfs;
  let release = () => {};
  if (s && m) {
    const wasMounted = s.driver.mounted(m.mountID);
    dir = s.driver.get(m.mountID);
    if (!wasMounted) release = () => s.driver.put(m.mountID);
  }
  let fd: number;
  try {
    fd = fs.openSync(dir, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  } catch (e) {
    release();
    throw new RunError(1, `the root of container ${c.Name.slice(1)} is gone (${dir}): ${describe(e)}`, { cause: e });
  }
  // Every descriptor inside the mount is closed before it is unmounted (or umount says EBUSY).
  return { fd, dir, close: () => (fs.closeSync(fd), release()) };
}

/** Where an entry we hold is, as a path inside the root (readlink of /proc/self/fd), or null if it cannot be told. */
function pathInRoot(root: Root, fd: number): string | null {
  const top = fs.readlinkSync(`/proc/self/fd/${root.fd}`);
  const at = fs.readlinkSync(`/proc/self/fd/${fd}`);
  const inside = at === top ? '/' : at.startsWith(top + '/') ? at.slice(top.length) : null;
  // Under a mount point (viewFor): the path the container sees it at.
  if (inside === null || !root.at) return inside;
  return inside === '/' ? root.at : root.at + inside;
}

/** A small regular file of the container's, read inside its root ('' when it is missing). */
function readInRoot(root: Root, file: string): string {
  let pfd: number;
  try {
    pfd = openInRoot(root.fd, file, true);
  } catch (e) {
    if (codeOf(e) === 'ENOENT') return '';
    throw e;
  }
  try {
    if (!fs.fstatSync(pfd).isFile()) throw new CopyError(`unable to read ${file}: not a regular file`);
    const fd = fs.openSync(`/proc/self/fd/${pfd}`, O_RDONLY | O_NONBLOCK | O_NOCTTY);
    try {
      return fs.readFileSync(fd, 'utf8');
    } finally {
      fs.closeSync(fd);
    }
  } finally {
    fs.closeSync(pfd);
  }
}

/** Docker's message for a path the container does not have. */
const notFound = (p: string, ref: string) => new CopyError(`Could not find the file ${p} in container ${ref}`);

// --- CONTAINER:SRC → DEST ---

// #region copy-from-container
async function copyFromContainer(stateRoot: string, ref: string, srcPath: string, dest: string, o: Options): Promise<void> {
  // The local side is checked first, as the docker CLI does before it asks the daemon.
  const dstPath = dest === '-' ? '-' : resolveLocalPath(dest);
  if (dstPath !== '-') validateOutputPath(dstPath);
  const c = containerOrFail(stateRoot, ref);
  const container = openRoot(stateRoot, c);
  let fd = -1;
  const asked = preserveTrailing(path.posix.join('/', srcPath), srcPath);
  let view: ReturnType<typeof viewFor>;
  try {
    view = viewFor(c, container, asked);
  } catch (e) {
    container.close();
    throw e;
  }
  const { root, abs: inRoot } = view;
  try {
    const abs = asked;
    const open = (follow: boolean) => {
      try {
        return openInRoot(root.fd, inRoot, follow);
      } catch (e) {
        if (codeOf(e) === 'ENOENT') throw notFound(srcPath, ref);
        throw new CopyError(`lstat ${abs}: ${describe(e)}`, { cause: e });
      }
    };
    fd = open(false);
    // -L: a symlink named as SRC is copied as what it points to (inside the root), under its own name.
    if (o.follow && fs.fstatSync(fd).isSymbolicLink()) fs.closeSync(fd), (fd = -1), (fd = open(true));
    const isDir = fs.fstatSync(fd).isDirectory();
    const top = topName(abs);
    if (dstPath === '-') {
      await streamOut(fd, top);
      return;
    }
    const dst = copyInfoDestinationPath(dstPath);
    const { dir, rebase } = prepareCopy(top, isDir, dst);
    let copied = 0;
    try {
      const hostFd = fs.openSync(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
      try {
        const u = unpacker({
          rootFd: hostFd, dir: '/', owner: null, rebase, hostSide: true,
          show: (p) => path.join(dir, p),
          warn: (msg) => process.stderr.write(`dockling: ${msg}\n`),
        });
        const writer = new TarWriter((b) => ((copied += b.length), u.write(b)));
        await packTree(fd, top, writer, async () => {}, { owners: 'container' });
        writer.finish();
        u.reader.end();
        const r = u.finish();
        trace.emit(CH, { op: 'extract', digest: r.digest, path: dir, entries: r.entries });
      } finally {
        fs.closeSync(hostFd);
      }
    } finally {
      // Docker prints the summary after the copy, whether it failed or not.
      if (!o.quiet) process.stderr.write(`Successfully copied ${humanSize(copied)} to ${dstPath}\n`);
    }
  } finally {
    if (fd >= 0) fs.closeSync(fd);
    if (root !== container) root.close();
    container.close();
  }
}
// #endregion copy-from-container

/** `-`: the tar on stdout, waiting for a slow reader, stopping when it has gone (`| head`). */
async function streamOut(fd: number, top: string): Promise<void> {
  const queue: Buffer[] = [];
  const writer = new TarWriter((b) => queue.push(b));
  const flush = async () => {
    for (const b of queue.splice(0)) if (!brokenPipe()) await writeOut(process.stdout, b);
  };
  await packTree(fd, top, writer, flush, { owners: 'container', stopped: brokenPipe });
  if (brokenPipe()) return;
  writer.finish();
  await flush();
}

/** The docker CLI's ValidateOutputPath: DEST's directory must exist, and DEST be a directory or a regular file if it exists. */
function validateOutputPath(p: string): void {
  const dir = path.dirname(path.normalize(p));
  if (!fs.existsSync(dir)) throw new CopyError(`invalid output path: directory ${JSON.stringify(dir)} does not exist`);
  let st: fs.Stats;
  try {
    st = fs.statSync(p);
  } catch (e) {
    if (codeOf(e) === 'ENOENT') return;
    throw new CopyError(`stat ${p}: ${describe(e)}`, { cause: e });
  }
  if (st.isDirectory() || st.isFile()) return;
  if (st.isBlockDevice() || st.isCharacterDevice()) throw new CopyError(`invalid output path: ${JSON.stringify(p)} must be a directory or a regular file: got a device`);
}

/**
 * Docker's CopyInfoDestinationPath, on the host: DEST as it is, or what a
 * symlink there points to (the user's own links, followed up to 10 times);
 * a DEST that does not exist needs a parent directory that does.
 */
function copyInfoDestinationPath(original: string): CopyInfo {
  let p = original;
  let st: fs.Stats | null = null;
  for (let n = 0; ; n++) {
    try {
      st = fs.lstatSync(p);
    } catch (e) {
      if (codeOf(e) !== 'ENOENT') throw new CopyError(`lstat ${p}: ${describe(e)}`, { cause: e });
      st = null;
    }
    if (!st?.isSymbolicLink()) break;
    if (n >= 10) throw new CopyError(`too many symlinks in ${original}`);
    const target = fs.readlinkSync(p);
    p = target.startsWith('/') ? target : path.join(splitPathDirEntry(p)[0], target);
  }
  if (st) return { path: p, exists: true, isDir: st.isDirectory() };
  const parent = splitPathDirEntry(p)[0];
  let pst: fs.Stats;
  try {
    pst = fs.statSync(parent);
  } catch (e) {
    throw new CopyError(`stat ${parent}: ${describe(e)}`, { cause: e });
  }
  if (!pst.isDirectory()) throw new CopyError('not a directory');
  return { path: p, exists: false, isDir: false };
}

// --- SRC → CONTAINER:DEST ---

// #region copy-to-container
async function copyToContainer(stateRoot: string, src: string, ref: string, dstPath: string, o: Options): Promise<void> {
  const srcPath = src === '-' ? '-' : resolveLocalPath(src);
  // As in Docker, a missing container is reported when the copy is sent,
  // after the local source was checked.
  let c: ContainerConfig | null = null;
  let missing: RunError | null = null;
  try {
    c = containerOrFail(stateRoot, ref);
  } catch (e) {
    if (!(e instanceof RunError)) throw e;
    missing = e;
  }
  const root = c ? openRoot(stateRoot, c) : null;
  try {
    const absDst = preserveTrailing(path.posix.join('/', dstPath), dstPath);
    const dst: CopyInfo = { path: dstPath, exists: false, isDir: false };
    if (root) {
      const view = viewFor(c!, root, absDst);
      try {
        statDestination(view.root, ref, dstPath, view.abs, dst);
      } finally {
        if (view.root !== root) view.root.close();
      }
    }

    let copied = 0;
    let unpackInto: string;
    let feed: (write: (b: Buffer) => void) => Promise<void>;
    if (srcPath === '-') {
      if (!dst.isDir) throw new CopyError(`destination "${ref}:${dstPath}" must be a directory`);
      unpackInto = dst.path;
      feed = readStdinTar;
    } else {
      const { top, fd } = openLocalSource(srcPath, o.follow);
      try {
        const plan = prepareCopy(top, fs.fstatSync(fd).isDirectory(), dst);
        unpackInto = plan.dir;
        const rebase = plan.rebase;
        feed = async (write) => {
          const writer = new TarWriter((b) => ((copied += b.length), write(b)));
          await packTree(fd, top, writer, async () => {}, { owners: 'host' });
          writer.finish();
        };
        if (missing) throw missing;
        await extractInto(root!, c!, ref, unpackInto, o, feed, rebase).finally(() => {
          if (!o.quiet) process.stderr.write(`Successfully copied ${humanSize(copied)} to ${ref}:${dst.path}\n`);
        });
        return;
      } finally {
        fs.closeSync(fd);
      }
    }
    if (missing) throw missing;
    await extractInto(root!, c!, ref, unpackInto, o, feed).finally(() => {
      if (!o.quiet) process.stderr.write(`Successfully copied ${humanSize(copied)} to ${ref}:${dst.path}\n`);
    });
  } finally {
    root?.close();
  }
}
// #endregion copy-to-container

/**
 * What DEST is in the container (Docker's ContainerStatPath, then the
 * CLI's one step through a symlink there): a symlink is replaced by the
 * path it resolves to inside the root. A DEST that cannot be looked at is
 * taken as "does not exist yet", as the docker CLI does.
 */
function statDestination(root: Root, ref: string, dstPath: string, absDst: string, dst: CopyInfo): void {
  let fd: number;
  try {
    fd = openInRoot(root.fd, absDst, false);
  } catch {
    return; // Docker ignores this error: the extraction below reports what is wrong
  }
  try {
    let st = fs.fstatSync(fd);
    if (st.isSymbolicLink()) {
      let followed: number;
      try {
        followed = openInRoot(root.fd, absDst, true);
      } catch {
        // A dangling link: its target, by name, is where the copy goes.
        const link = readlinkFd(fd);
        dst.path = link.startsWith('/') ? link : path.posix.join(splitPathDirEntry(dstPath)[0], link);
        return;
      }
      fs.closeSync(fd);
      fd = followed;
      dst.path = pathInRoot(root, fd) ?? dst.path;
      st = fs.fstatSync(fd);
    }
    if (st.isBlockDevice() || st.isCharacterDevice()) throw new CopyError(`destination "${ref}:${dstPath}" must be a directory or a regular file: got a device`);
    dst.exists = true;
    dst.isDir = st.isDirectory();
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Docker's CopyInfoSourcePath, on the host: the source's directory with
 * its symlinks resolved, its last name taken as it is (a symlink is copied
 * as a symlink) unless -L.
 */
function openLocalSource(srcPath: string, follow: boolean): { top: string; fd: number } {
  const top = topName(srcPath);
  let resolved: string;
  try {
    if (follow) resolved = fs.realpathSync(srcPath);
    else {
      const [dir, base] = splitPathDirEntry(srcPath);
      resolved = preserveTrailing(path.join(fs.realpathSync(dir), base), srcPath);
    }
    const fd = fs.openSync(resolved, O_PATH | O_CLOEXEC | (follow ? 0 : O_NOFOLLOW));
    return { top, fd };
  } catch (e) {
    throw new CopyError(`lstat ${srcPath}: ${describe(e)}`, { cause: e });
  }
}

/** A tar (plain or gzip'ed, as Docker accepts it) from stdin, chunk by chunk. */
async function readStdinTar(write: (b: Buffer) => void): Promise<void> {
  let gunzip: zlib.Gunzip | null = null;
  let first = true;
  for await (const chunk of process.stdin as AsyncIterable<Buffer>) {
    if (first && chunk[0] === 0x1f && chunk[1] === 0x8b) gunzip = zlib.createGunzip();
    first = false;
    if (!gunzip) write(chunk);
    else gunzip.write(chunk);
  }
  if (gunzip) {
    const out: Buffer[] = [];
    gunzip.on('data', (b: Buffer) => out.push(b));
    await new Promise<void>((resolve, reject) => {
      gunzip!.once('end', resolve);
      gunzip!.once('error', reject);
      gunzip!.end();
    });
    for (const b of out) write(b);
  }
}

// #region extract-into-container
/**
 * Docker's ContainerExtractToDir: DIR (every symlink in it followed, inside
 * the root) must be a directory; a --read-only container's root takes
 * nothing; then the tar is unpacked there, owned as its headers say (or,
 * with -a, by the container's user), shifted for --userns-remap.
 */
async function extractInto(
  root: Root, c: ContainerConfig, ref: string, dir: string, o: Options,
  feed: (write: (b: Buffer) => void) => Promise<void>, rebase?: { from: string; to: string },
): Promise<void> {
  const asked = preserveTrailing(path.posix.join('/', dir), dir);
  const view = viewFor(c, root, asked);
  try {
    await extractIntoView(root, view.root, view.abs, c, ref, dir, o, feed, rebase);
  } finally {
    if (view.root !== root) view.root.close();
  }
}

/** extractInto, once the root that holds `abs` is known: the container's, or a mount's (viewFor). */
async function extractIntoView(
  container: Root, root: Root, abs: string, c: ContainerConfig, ref: string, dir: string, o: Options,
  feed: (write: (b: Buffer) => void) => Promise<void>, rebase?: { from: string; to: string },
): Promise<void> {
  let fd: number;
  try {
    fd = openInRoot(root.fd, abs, true);
  } catch (e) {
    if (codeOf(e) === 'ENOENT') throw notFound(dir, ref);
    throw new CopyError(`${abs}: ${describe(e)}`, { cause: e });
  }
  let inside: string;
  try {
    if (!fs.fstatSync(fd).isDirectory()) throw new CopyError('extraction point is not a directory');
    // unpacked by its path inside `root` (the mount's, for a volume)
    const shown = pathInRoot(root, fd);
    inside = shown === null ? abs : root.at ? shown.slice(root.at.length) || '/' : shown;
  } finally {
    fs.closeSync(fd);
  }
  // Docker's two refusals: a read-only mount, else a read-only root.
  if (root.readOnly) throw new CopyError('mounted volume is marked read-only');
  if (!root.at && c.HostConfig?.ReadonlyRootfs === true) throw new CopyError('container rootfs is marked read-only');
  let fixed: { uid: number; gid: number } | null = null;
  const user = (c.Config as { User?: string }).User;
  if (o.archive && user) {
    try {
      fixed = resolveUser(user, [], readInRoot(container, '/etc/passwd'), readInRoot(container, '/etc/group'));
    } catch (e) {
      throw new CopyError((e as Error).message, { cause: e });
    }
  }
  const u = unpacker({
    rootFd: root.fd, dir: inside, owner: toContainerOwner(fixed), rebase, hostSide: false,
    show: (p) => p, warn: (msg) => process.stderr.write(`dockling: ${msg}\n`),
  });
  try {
    await feed((b) => u.write(b));
    u.reader.end();
  } catch (e) {
    if (e instanceof TarFormatError) throw new CopyError(`invalid tar stream: ${e.message}`, { cause: e });
    throw e;
  }
  const r = u.finish();
  trace.emit(CH, { op: 'extract', digest: r.digest, path: path.join(root.dir, inside), entries: r.entries });
}
// #endregion extract-into-container

function containerOrFail(stateRoot: string, ref: string): ContainerConfig {
  try {
    return resolveContainer(stateRoot, ref);
  } catch (e) {
    if (e instanceof NoSuchContainerError) throw new RunError(1, e.message, { cause: e });
    throw e;
  }
}

// #region cp-command
export const cpCommand: Command = {
  name: 'cp',
  aliases: ['container cp'],
  summary: 'Copy files/folders between a container and the local filesystem',
  usage: 'cp [OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-\n\tdockling cp [OPTIONS] SRC_PATH|- CONTAINER:DEST_PATH',
  flags: [
    { name: 'archive', short: 'a', kind: 'bool', usage: 'Archive mode (copy all uid/gid information)' },
    { name: 'follow-link', short: 'L', kind: 'bool', usage: 'Always follow symbol link in SRC_PATH' },
    { name: 'quiet', short: 'q', kind: 'bool', usage: 'Suppress progress output during copy. Progress output is automatically suppressed if no terminal is attached' },
  ],
  minArgs: 2,
  maxArgs: 2,
  async run(inv) {
    const [source, destination] = inv.args;
    if (source === '') throw new RunError(1, 'source can not be empty');
    if (destination === '') throw new RunError(1, 'destination can not be empty');
    const q = inv.flags.get('quiet') as boolean | undefined;
    const o: Options = {
      follow: inv.flags.get('follow-link') === true,
      archive: inv.flags.get('archive') === true,
      // Without -q, the summary line is printed only when stdout is a terminal (Docker's rule).
      quiet: q ?? !process.stdout.isTTY,
    };
    const src = splitCpArg(source);
    const dst = splitCpArg(destination);
    try {
      if (src.container && dst.container) throw new RunError(1, 'copying between containers is not supported');
      if (src.container) await copyFromContainer(inv.stateRoot, src.container, src.path, destination, o);
      else if (dst.container) await copyToContainer(inv.stateRoot, source, dst.container, dst.path, o);
      else throw new RunError(1, 'must specify at least one container source');
    } catch (e) {
      if (e instanceof CopyError) throw new RunError(1, e.message, { cause: e });
      // A system call that failed where no message was made for it: still exit 1 with its words, never a stack.
      if (!(e instanceof RunError) && codeOf(e)) throw new RunError(1, `${describe(e)}: ${(e as Error).message}`, { cause: e });
      throw e;
    }
    return 0;
  },
};
// #endregion cp-command
