// Unpacking a layer tar (chapter 4). The tar comes from outside (a registry,
// `docker load`, a build) and the extraction runs as root, so the tar is
// hostile until proven otherwise: whatever its names, symlinks and hardlinks
// say, nothing outside the layer directory may be created, changed or
// removed. The rules, each against a known attack:
//
// #region rules
// - names are cleaned lexically and any ".." that climbs out is refused
//   ("../../etc/cron.d/x", the "zip slip");
// - every existing parent is lstat'ed and must be a real directory: we never
//   walk through a symlink, so "evil -> /etc" then "evil/passwd" cannot
//   write to the host, nor can a chain of harmless-looking relative links;
// - an existing final path is removed, never opened: files are created with
//   O_EXCL|O_NOFOLLOW, so a planted symlink or hardlink is not written through;
// - a hardlink must name a non-directory already inside the layer, reached
//   without symlinks: link() would otherwise give the container a host file.
//
// Symlink targets themselves are stored as they are: they are resolved
// later, inside the container's root, never by us.
// #endregion rules
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { constants } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import zlib from 'node:zlib';
import { lsetxattr, mknod, SyscallError } from '../sys/libc.js';
import { trace } from '../trace/trace.js';
import { TarReader, type TarHeader } from './tar.js';
import { TarSplitRecorder } from './tar-split.js';
import { removeTree } from './remove.js';
import { chownToRemappedRoot, hostOwner } from './idmap.js';

/** A layer tar that was refused or could not be unpacked; the layer directory is gone. */
export class LayerTarError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(`layer tar: ${message}`, options);
  }
}

export interface ExtractOptions {
  /** 'overlay': OCI whiteouts become 0/0 char devices and an opaque xattr; 'aufs': kept as the files they are */
  whiteouts: 'overlay' | 'aufs';
}

const WH = '.wh.';
const META = '.wh..wh.';
const OPAQUE = '.wh..wh..opq';
const { O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW } = fs.constants;
const { errno } = constants;

/** An entry's name for a message: a hostile one may be thousands of characters long. */
const shown = (name: string) => JSON.stringify(name.length > 120 ? `${name.slice(0, 100)}…` : name) + (name.length > 120 ? ` (${name.length} characters)` : '');

const refuse = (name: string, why: string): never => {
  throw new LayerTarError(`entry ${shown(name)} ${why}`);
};

/** Linux's PATH_MAX: no system call takes a longer path (ENAMETOOLONG). */
const PATH_MAX = 4096;

/** "a/./b//c/../d" → "a/b/d"; leading "/" and "./" go; null when ".." climbs above the top. */
export function clean(name: string): string | null {
  const parts: string[] = [];
  for (const c of name.split('/')) {
    if (c === '' || c === '.') continue;
    if (c !== '..') parts.push(c);
    else if (parts.pop() === undefined) return null;
  }
  return parts.join('/');
}

const kindOf = (st: fs.Stats) => (st.isSymbolicLink() ? 'a symlink (extraction never follows symlinks)' : 'not a directory');

class Extraction {
  entries = 0;
  size = 0;
  split: TarSplitRecorder;
  private fd: number | null = null;
  private h: TarHeader | null = null;
  private full = '';
  /** directory mtimes, set last: adding a child changes its parent's mtime */
  private dirTimes = new Map<string, number>();

  constructor(private dir: string, private whiteouts: 'overlay' | 'aufs') {
    this.split = new TarSplitRecorder((name) => {
      const fd = fs.openSync(path.join(dir, name), fs.constants.O_RDONLY | O_NOFOLLOW);
      try {
        return fs.readFileSync(fd);
      } finally {
        fs.closeSync(fd);
      }
    });
  }

  entry(h: TarHeader): void {
    this.entries++;
    this.h = h;
    this.named(() => this.create(h));
  }

  /** Run a step of the current entry; a failure names the entry. */
  private named(step: () => void): void {
    try {
      step();
    } catch (e) {
      throw e instanceof LayerTarError ? e : new LayerTarError(`entry ${shown(this.h!.name)}: ${(e as Error).message}`, { cause: e });
    }
  }

  data(chunk: Buffer): void {
    if (this.fd === null) return this.split.raw(chunk); // a body not kept on disk stays in the tar-split
    for (let off = 0; off < chunk.length; ) off += fs.writeSync(this.fd, chunk, off);
  }

  entryEnd(): void {
    if (this.fd === null) return;
    const fd = this.fd;
    this.fd = null;
    this.named(() => {
      try {
        this.metadata(this.full, this.h!, fd);
      } finally {
        fs.closeSync(fd);
      }
    });
  }

  /** Directory times, once every entry is in place. */
  finish(): void {
    for (const [full, mtime] of this.dirTimes) fs.lutimesSync(full, mtime, mtime);
  }

  abort(): void {
    if (this.fd !== null) fs.closeSync(this.fd);
    this.fd = null;
  }

  private create(h: TarHeader): void {
    if (h.name === '') refuse(h.name, 'has an empty name');
    if (h.name.includes('\0')) refuse(h.name, 'has a NUL byte in its name');
    const rel = clean(h.name);
    if (rel === null) return refuse(h.name, 'escapes the layer directory');
    if (rel === '') {
      if (h.type === 'dir') return; // "./": the layer directory itself (Docker skips it too)
      refuse(h.name, `is a ${h.type} in place of the layer directory itself`);
    }
    // aufs's own bookkeeping (.wh..wh.plnk/, .wh..wh.aufs, ...) is not part of the image: skipped, as Docker does.
    if (rel.startsWith(META) && rel !== OPAQUE) return;
    // A path the kernel cannot take is refused before anything is made of
    // it (a 3000-level PAX name needs 6000 bytes): Docker fails there too.
    if (this.dir.length + 1 + rel.length >= PATH_MAX) refuse(h.name, `is too deep: its path in the layer would be longer than Linux's PATH_MAX (${PATH_MAX} bytes)`);
    const base = path.posix.basename(rel);
    if (base.startsWith(WH) && this.whiteout(h, rel, base)) return;
    this.parents(h.name, rel);
    const full = path.join(this.dir, rel);

    if (h.type === 'hardlink') return this.hardlink(h, rel, full);
    if (this.replace(rel, h.type === 'dir') === 'dir') return this.metadata(full, h);
    switch (h.type) {
      case 'dir':
        fs.mkdirSync(full, 0o700);
        break;
      case 'file':
        this.fd = fs.openSync(full, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600);
        this.full = full;
        this.size += h.size;
        if (h.size > 0) this.split.body(rel, h.size);
        return; // the body follows through data(); entryEnd() sets the metadata
      case 'symlink':
        fs.symlinkSync(h.linkname, full);
        // The layer's size is dockerd's walk of the diff directory, which
        // counts what lstat says of each entry but a directory: a symlink's
        // size is the length of its target.
        this.size += Buffer.byteLength(h.linkname);
        break;
      default:
        mknod(full, h.type === 'char' ? 'c' : h.type === 'block' ? 'b' : 'p', 0o600, h.devmajor, h.devminor);
    }
    this.metadata(full, h);
  }

  /** OCI whiteouts; true when the entry was handled here (not extracted as a plain file). */
  private whiteout(h: TarHeader, rel: string, base: string): boolean {
    const parent = path.posix.dirname(rel) === '.' ? '' : path.posix.dirname(rel);
    const name = base.slice(WH.length);
    if (base === OPAQUE) {
      if (this.whiteouts === 'aufs') return false;
      // overlayfs: a directory with trusted.overlay.opaque=y hides the lower layers' content.
      this.parents(h.name, rel);
      lsetxattr(path.join(this.dir, parent), 'trusted.overlay.opaque', Buffer.from('y'));
      return true;
    }
    if (base.startsWith(META)) return true; // aufs bookkeeping deeper down: skipped too
    // ".wh." would delete the directory itself, ".wh.." its parent: outside the layer.
    if (name === '' || name === '.' || name === '..') refuse(h.name, 'is a whiteout that names no file in its directory');
    if (this.whiteouts === 'aufs') return false;
    // overlayfs: a 0/0 character device means "deleted in this layer".
    const target = parent ? parent + '/' + name : name;
    this.parents(h.name, target);
    const full = path.join(this.dir, target);
    this.replace(target, false);
    mknod(full, 'c', 0, 0, 0);
    const o = hostOwner(h.uid, h.gid);
    fs.lchownSync(full, o.uid, o.gid);
    fs.lutimesSync(full, h.mtime, h.mtime);
    return true;
  }

  /** Create missing parents; every existing one must be a real directory. */
  private parents(name: string, rel: string): void {
    const parts = rel.split('/');
    let p = this.dir;
    for (let i = 0; i < parts.length - 1; i++) {
      p += '/' + parts[i];
      const st = fs.lstatSync(p, { throwIfNoEntry: false });
      if (!st) {
        fs.mkdirSync(p, 0o755), fs.chmodSync(p, 0o755); // chmod: the umask must not decide
        const o = hostOwner(0, 0); // root's, as tar leaves a missing parent (shifted with --userns-remap)
        if (o.uid !== 0 || o.gid !== 0) fs.lchownSync(p, o.uid, o.gid);
      }
      else if (!st.isDirectory()) refuse(name, `goes through ${JSON.stringify(parts.slice(0, i + 1).join('/'))}, which is ${kindOf(st)}`);
    }
  }

  /** Remove what is at rel, unless it is a directory and `keepDir` (a dir entry merges into it). */
  private replace(rel: string, keepDir: boolean): 'dir' | 'free' {
    const full = path.join(this.dir, rel);
    const st = fs.lstatSync(full, { throwIfNoEntry: false });
    if (!st) return 'free';
    if (keepDir && st.isDirectory()) return 'dir';
    this.split.removing(rel);
    for (const d of this.dirTimes.keys()) if (d === full || d.startsWith(full + '/')) this.dirTimes.delete(d);
    if (st.isDirectory()) removeTree(full);
    else fs.unlinkSync(full);
    return 'free';
  }

  private hardlink(h: TarHeader, rel: string, full: string): void {
    const target = clean(h.linkname);
    if (target === null) return refuse(h.name, `is a hardlink to ${JSON.stringify(h.linkname)}, which escapes the layer directory`);
    if (target === '' || target === rel) refuse(h.name, `is a hardlink to ${target ? 'itself' : 'the layer directory'}`);
    this.replace(rel, false);
    // The target is looked up like an entry's parents: no symlink on the way, and it must exist.
    const parts = target.split('/');
    let p = this.dir;
    for (let i = 0; i < parts.length; i++) {
      p += '/' + parts[i];
      const st = fs.lstatSync(p, { throwIfNoEntry: false });
      if (!st) refuse(h.name, `is a hardlink to ${JSON.stringify(h.linkname)}, which is not in the layer (yet)`);
      else if (i < parts.length - 1 && !st.isDirectory()) refuse(h.name, `is a hardlink through ${JSON.stringify(parts.slice(0, i + 1).join('/'))}, which is ${kindOf(st)}`);
      else if (i === parts.length - 1 && st.isDirectory()) refuse(h.name, `is a hardlink to the directory ${JSON.stringify(h.linkname)}`);
    }
    // link(2) does not follow a final symlink: a link to a symlink is a second name for the symlink.
    fs.linkSync(p, full);
  }

  /** Owner, then mode (chown clears setuid bits), then xattrs (chown clears file capabilities), then times. */
  private metadata(full: string, h: TarHeader, fd?: number): void {
    // With --userns-remap the owner is shifted into the remapped range (idmap.ts).
    const o = hostOwner(h.uid, h.gid);
    if (fd !== undefined) fs.fchownSync(fd, o.uid, o.gid);
    else fs.lchownSync(full, o.uid, o.gid);
    if (fd !== undefined) fs.fchmodSync(fd, h.mode);
    else if (h.type !== 'symlink') fs.chmodSync(full, h.mode); // (Linux has no symlink modes)
    for (const name of Object.keys(h.xattrs).sort()) {
      // overlayfs metadata comes only from our own whiteout handling: a tar must not forge it.
      if (name.startsWith('trusted.overlay.')) continue;
      try {
        lsetxattr(full, name, h.xattrs[name]);
      } catch (e) {
        // As Docker: an attribute this filesystem cannot hold (ENOTSUP), or not on this kind of
        // file (EPERM: user.* on a symlink), is dropped, not fatal.
        if (!(e instanceof SyscallError) || (e.errno !== errno.ENOTSUP && e.errno !== errno.EPERM)) throw e;
      }
    }
    if (h.type === 'dir') this.dirTimes.set(full, h.mtime);
    else if (fd !== undefined) fs.futimesSync(fd, h.mtime, h.mtime);
    else fs.lutimesSync(full, h.mtime, h.mtime);
  }
}

/**
 * The tar's bytes, uncompressed: gzip (magic 1f 8b) goes through gunzip. A
 * plain tar file is read into one buffer, reused: each piece is hashed and
 * written before the next is read, and no garbage piles up for the GC.
 */
async function* tarBytes(src: string | Readable): AsyncGenerator<Buffer> {
  if (typeof src === 'string') {
    const fh = await fs.promises.open(src, 'r');
    let gzip = false;
    try {
      const buf = Buffer.allocUnsafe(1 << 20);
      let pos = 0;
      for (let n = -1; n !== 0 && !gzip; pos += n) {
        n = (await fh.read(buf, 0, buf.length, pos)).bytesRead;
        if (pos === 0) gzip = n >= 2 && buf[0] === 0x1f && buf[1] === 0x8b;
        if (n && !gzip) yield buf.subarray(0, n);
      }
    } finally {
      await fh.close();
    }
    if (!gzip) return;
    src = fs.createReadStream(src);
  }
  const input = src;
  const it = input[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  let head = Buffer.alloc(0);
  try {
    while (head.length < 2) {
      const r = await it.next();
      if (r.done) break;
      head = Buffer.concat([head, Buffer.from(r.value)]);
    }
    const rest = async function* () {
      yield head;
      for (let r = await it.next(); !r.done; r = await it.next()) yield r.value;
    };
    if (head[0] !== 0x1f || head[1] !== 0x8b) return yield* rest();
    const gunzip = zlib.createGunzip();
    Readable.from(rest()).on('error', (e) => gunzip.destroy(e)).pipe(gunzip);
    yield* gunzip;
  } finally {
    input.destroy(); // also when the extraction stopped early: no open file is left behind
  }
}

/**
 * Unpack a layer tar (a path to a tar or tar.gz, or a stream) into `dir`,
 * which must not exist yet. On any error `dir` is removed and a LayerTarError
 * names the entry and the reason. diffID: sha256 of the uncompressed tar;
 * size: bytes of regular files; tarSplit: how to re-create the exact tar.
 */
export async function extractLayer(src: string | Readable, dir: string, opts: ExtractOptions): Promise<{ diffID: string; size: number; entries: number; tarSplit: Buffer }> {
  if (fs.existsSync(dir)) throw new LayerTarError(`${dir} already exists: a layer is unpacked into a new directory`);
  fs.mkdirSync(path.dirname(dir), { recursive: true });
  fs.mkdirSync(dir, 0o755);
  fs.chmodSync(dir, 0o755);
  chownToRemappedRoot(dir); // the layer's "/" is root's: the remapped root's with --userns-remap
  const x = new Extraction(dir, opts.whiteouts);
  const reader = new TarReader({ entry: (h) => x.entry(h), data: (c) => x.data(c), entryEnd: () => x.entryEnd(), raw: (b) => x.split.raw(b) });
  const hash = createHash('sha256');
  try {
    for await (const chunk of tarBytes(src)) {
      hash.update(chunk);
      reader.write(chunk);
    }
    reader.end();
    x.finish();
  } catch (e) {
    x.abort();
    removeTree(dir);
    if (e instanceof LayerTarError) throw e;
    throw new LayerTarError(`${typeof src === 'string' ? src : 'stream'}: ${(e as Error).message}`, { cause: e });
  }
  const diffID = 'sha256:' + hash.digest('hex');
  trace.emit(4, { op: 'extract', digest: diffID, path: dir, entries: x.entries });
  return { diffID, size: x.size, entries: x.entries, tarSplit: x.split.finish() };
}
