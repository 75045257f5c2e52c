// One FUSE mount, served: read a request from /dev/fuse, do it on the
// union (aufs-union.ts), write the reply. The kernel sends requests when a
// process in the container (or anyone) touches a file under the mount.
//
// The kernel names files by node ids, which we hand out in LOOKUP replies;
// here a node id stands for a path in the union. A rename moves the paths
// of the nodes under it; an unlink detaches the node from its path (an open
// file lives on, as a deleted file does). FORGET gives lookups back; a node
// nobody holds is dropped.
import fs from 'node:fs';
import os from 'node:os';
import {
  attrOf, attrOut, dirent, entryOut, negativeEntryOut, FATTR, FOPEN_KEEP_CACHE, INIT, initOut, names, OP, opName, openOut, outHeader,
  parseRequest, READ_BUFFER, invalInode, MAX_WRITE, ROOT_ID, sizeOut, statfsOut, type Request,
} from './fuse-protocol.js';
import { errnoOf, Union, UnionError } from './aufs-union.js';
import type { TraceEvent } from '../trace/events.js';

interface Node {
  /** its path in the union ("" is the root), or null once unlinked */
  rel: string | null;
  lookups: number;
}

interface Handle {
  fd: number;
  node: bigint;
  writable: boolean;
}

const { ENOENT } = os.constants.errno;

export class FuseSession {
  private nodes = new Map<bigint, Node>([[ROOT_ID, { rel: '', lookups: 1 }]]);
  private byPath = new Map<string, bigint>([['', ROOT_ID]]);
  private nextNode = 2n;
  private files = new Map<bigint, Handle>();
  private dirs = new Map<bigint, { name: string; ino: bigint; type: number }[]>();
  private nextHandle = 1n;
  /** requests served, by opcode name (the server's status) */
  readonly counts: Record<string, number> = {};
  private ended = false;
  /** nodes whose attributes changed behind the kernel's back (a copy-up gives a file a new inode, a link a new count) */
  private stale = new Set<bigint>();
  private readReply = Buffer.allocUnsafe(MAX_WRITE);

  /**
   * fd: our end of /dev/fuse for this mount; emit: where trace events go
   * (null: not traced).
   */
  constructor(
    private fd: number,
    readonly union: Union,
    readonly target: string,
    private emit: ((e: TraceEvent) => void) | null,
  ) {
    union.onCopyUp = (e) => {
      this.emit?.({ op: 'copy-up', path: '/' + e.rel, from: e.from, to: e.to });
      const node = this.byPath.get(e.rel);
      if (node !== undefined) this.stale.add(node);
      // A file open for reading still reads the lower copy; aufs re-points
      // it at the copied-up file, so it sees the writes made through the
      // new one (the kernel would otherwise show two different files).
      for (const h of this.files.values()) {
        if (h.writable || this.nodes.get(h.node)?.rel !== e.rel) continue;
        const fd = fs.openSync(e.to, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
        fs.closeSync(h.fd);
        h.fd = fd;
      }
    };
    union.onWhiteout = (rel) => this.emit?.({ op: 'whiteout', path: '/' + rel });
  }

  // #region request-loop
  /**
   * Serve until the mount is gone: read(2) on /dev/fuse blocks in one of
   * libuv's worker threads until the kernel has a request; ENODEV means the
   * mount was unmounted (or aborted) and this connection is over.
   */
  async serve(): Promise<void> {
    const buffers = [Buffer.alloc(READ_BUFFER), Buffer.alloc(READ_BUFFER)];
    let which = 0;
    let pending = this.read(buffers[which]);
    while (!this.ended) {
      const n = await pending;
      if (n === null) break;
      const buf = buffers[which];
      // The next read waits for the kernel while this request is served.
      which ^= 1;
      pending = this.read(buffers[which]);
      if (n > 0) this.handle(parseRequest(buf, n));
    }
    this.close();
  }

  /** One read of the device: a request's length, 0 for "nothing this time", null for "the mount is gone". */
  private read(buf: Buffer): Promise<number | null> {
    return new Promise((resolve) =>
      fs.read(this.fd, buf, 0, buf.length, null, (err, n) => {
        if (!err) return resolve(n);
        const code = (err as NodeJS.ErrnoException).errno ?? 0;
        // ENOENT: a request was interrupted before we read it; EINTR, EAGAIN: try again.
        if (-code === ENOENT || (err as NodeJS.ErrnoException).code === 'EINTR' || (err as NodeJS.ErrnoException).code === 'EAGAIN') return resolve(0);
        if ((err as NodeJS.ErrnoException).code !== 'ENODEV') process.stderr.write(`aufs: ${this.target}: reading /dev/fuse: ${err.message}\n`);
        resolve(null);
      }),
    );
  }

  private close(): void {
    this.ended = true;
    for (const h of this.files.values()) fs.closeSync(h.fd);
    this.files.clear();
    try {
      fs.closeSync(this.fd);
    } catch {
      // closed already
    }
  }

  /**
   * One write(2) per reply, header and body together. (writev takes at
   * most 1024 pieces: a long directory listing is joined first.) A reply
   * the kernel refuses is answered again as EIO: a request left without
   * an answer would leave its caller waiting forever.
   */
  private reply(req: Request, error: number, ...body: Buffer[]): void {
    const parts = body.length > 64 ? [Buffer.concat(body)] : body;
    const len = parts.reduce((n, b) => n + b.length, 0);
    try {
      fs.writevSync(this.fd, [outHeader(req.unique, -error, error ? 0 : len), ...(error ? [] : parts)]);
    } catch (e) {
      // ENOENT: the caller gave up on this request (interrupted): nothing to answer.
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
      process.stderr.write(`aufs: ${this.target}: replying to ${opName(req.opcode)}: ${(e as Error).message}\n`);
      if (error !== os.constants.errno.EIO) this.reply(req, os.constants.errno.EIO);
    }
  }
  /** After the reply: tell the kernel which cached attributes are wrong now. */
  private notifyStale(): void {
    for (const node of this.stale) {
      try {
        fs.writeSync(this.fd, invalInode(node));
      } catch {
        // ENOENT: the kernel has no such inode cached any more
      }
    }
    this.stale.clear();
  }
  // #endregion request-loop

  private rel(id: bigint): string {
    const n = this.nodes.get(id);
    if (!n || n.rel === null) throw new UnionError('ENOENT', `node ${id}`);
    return n.rel;
  }

  private childRel(parent: bigint, name: string): string {
    if (name === '' || name === '.' || name === '..' || name.includes('/')) throw new UnionError('EINVAL', name);
    const dir = this.rel(parent);
    return dir === '' ? name : `${dir}/${name}`;
  }

  /** A LOOKUP (or a create) hands the kernel a node: one more lookup it holds. */
  private entry(rel: string): Buffer {
    const found = this.union.resolve(rel);
    if (!found) throw new UnionError('ENOENT', rel);
    let id = this.byPath.get(rel);
    if (id === undefined) {
      id = this.nextNode++;
      this.nodes.set(id, { rel, lookups: 0 });
      this.byPath.set(rel, id);
    }
    this.nodes.get(id)!.lookups++;
    return entryOut(id, attrOf(found.st));
  }

  private forget(id: bigint, count: number): void {
    const n = this.nodes.get(id);
    if (!n || id === ROOT_ID) return;
    n.lookups -= count;
    if (n.lookups > 0) return;
    this.nodes.delete(id);
    if (n.rel !== null && this.byPath.get(n.rel) === id) this.byPath.delete(n.rel);
  }

  /** The name `rel` is gone from the union: its node (and any under it) keep their handles but lose the path. */
  private detach(rel: string): void {
    for (const [p, id] of [...this.byPath]) {
      if (p === rel || p.startsWith(rel + '/')) {
        this.byPath.delete(p);
        const n = this.nodes.get(id);
        if (n) n.rel = null;
      }
    }
  }

  /** A rename moved `from` to `to`: so did every node under it. */
  private move(from: string, to: string): void {
    this.detach(to);
    for (const [p, id] of [...this.byPath]) {
      if (p !== from && !p.startsWith(from + '/')) continue;
      const q = to + p.slice(from.length);
      this.byPath.delete(p);
      this.byPath.set(q, id);
      this.nodes.get(id)!.rel = q;
    }
  }

  private attr(id: bigint, fh: bigint | null): Buffer {
    const h = fh !== null ? this.files.get(fh) : undefined;
    if (h) return attrOut(attrOf(fs.fstatSync(h.fd, { bigint: true })));
    const found = this.union.resolve(this.rel(id));
    if (!found) throw new UnionError('ENOENT', this.rel(id));
    return attrOut(attrOf(found.st));
  }

  private newHandle(h: Handle): bigint {
    const fh = this.nextHandle++;
    this.files.set(fh, h);
    return fh;
  }

  // #region dispatch
  private handle(req: Request): void {
    const op = opName(req.opcode);
    this.counts[op] = (this.counts[op] ?? 0) + 1;
    // FORGET and INTERRUPT have no reply; the others have exactly one.
    if (req.opcode === OP.FORGET) return this.forget(req.nodeid, Number(req.body.readBigUInt64LE(0)));
    if (req.opcode === OP.BATCH_FORGET) {
      const count = req.body.readUInt32LE(0);
      for (let i = 0; i < count; i++) this.forget(req.body.readBigUInt64LE(8 + 16 * i), Number(req.body.readBigUInt64LE(16 + 16 * i)));
      return;
    }
    if (req.opcode === OP.INTERRUPT) return;
    let what = '';
    let answer = 'ok';
    try {
      const out = this.dispatch(req, (s, a) => ((what = s), (answer = a ?? answer)));
      if (out === null) return;
      this.reply(req, 0, ...out);
      this.notifyStale();
      if (this.emit && what) this.emit({ op: 'fuse', request: op, path: what, reply: answer });
    } catch (e) {
      const errno = errnoOf(e);
      this.reply(req, errno);
      this.notifyStale();
      if (this.emit) this.emit({ op: 'fuse', request: op, path: what, reply: (e as NodeJS.ErrnoException).code ?? 'EIO' });
      if (errno === os.constants.errno.EIO) process.stderr.write(`aufs: ${this.target}: ${op} ${what}: ${(e as Error).stack}\n`);
    }
  }

  /** Do one request; the reply's body (null: answered already, or no reply). `say` names the path (and an answer other than ok), for the trace. */
  private dispatch(req: Request, say: (what: string, answer?: string) => void): Buffer[] | null {
    const b = req.body;
    const u = this.union;
    switch (req.opcode) {
      case OP.INIT: {
        // We speak 7.31 whatever the kernel offers above it; the kernel
        // adapts to the lower of the two.
        const kernelFlags = b.readUInt32LE(12);
        // AUTO_INVAL_DATA: when a file's mtime (or size) is not what the
        // kernel cached, it drops the file's cached pages; see OPEN.
        const want = INIT.ASYNC_READ | INIT.ATOMIC_O_TRUNC | INIT.BIG_WRITES | INIT.MAX_PAGES | INIT.CACHE_SYMLINKS | INIT.AUTO_INVAL_DATA;
        say(`protocol ${b.readUInt32LE(0)}.${b.readUInt32LE(4)}`);
        // max_readahead: the kernel's own offer (128 KiB); a larger one
        // would be ignored, so the CLI raises the window in sysfs instead
        // (aufs-client.ts, raiseReadahead).
        return [initOut(kernelFlags & want, b.readUInt32LE(8))];
      }
      case OP.DESTROY:
        this.ended = true;
        return [];
      case OP.LOOKUP: {
        const rel = this.childRel(req.nodeid, names(b, 0, 1)[0]);
        say('/' + rel);
        const found = u.resolve(rel);
        if (!found) return say('/' + rel, 'ENOENT'), [negativeEntryOut()]; // an answer the kernel may keep
        const out = this.entry(rel);
        say(`/${rel} (branch ${found.branch})`);
        return [out];
      }
      case OP.GETATTR: {
        const fh = b.readUInt32LE(0) & 1 ? b.readBigUInt64LE(8) : null; // FUSE_GETATTR_FH
        say('/' + (this.nodes.get(req.nodeid)?.rel ?? '(deleted)'));
        return [this.attr(req.nodeid, fh)];
      }
      case OP.SETATTR: {
        const valid = b.readUInt32LE(0);
        const fh = valid & FATTR.FH ? b.readBigUInt64LE(8) : null;
        const h = fh !== null ? this.files.get(fh) : undefined;
        const now = Date.now() / 1000;
        const a = {
          mode: valid & FATTR.MODE ? b.readUInt32LE(68) : undefined,
          uid: valid & FATTR.UID ? b.readUInt32LE(76) : undefined,
          gid: valid & FATTR.GID ? b.readUInt32LE(80) : undefined,
          size: valid & FATTR.SIZE ? Number(b.readBigUInt64LE(16)) : undefined,
          atime: valid & FATTR.ATIME_NOW ? now : valid & FATTR.ATIME ? Number(b.readBigUInt64LE(32)) + b.readUInt32LE(56) / 1e9 : undefined,
          mtime: valid & FATTR.MTIME_NOW ? now : valid & FATTR.MTIME ? Number(b.readBigUInt64LE(40)) + b.readUInt32LE(60) / 1e9 : undefined,
        };
        // ftruncate(2) on a file open for writing: that file is already the writable branch's.
        if (h?.writable && a.size !== undefined && a.mode === undefined && a.uid === undefined && a.gid === undefined && a.atime === undefined && a.mtime === undefined) {
          fs.ftruncateSync(h.fd, a.size);
          say(`/${this.nodes.get(h.node)?.rel ?? '(deleted)'} size=${a.size}`);
          return [this.attr(req.nodeid, fh)];
        }
        const rel = this.rel(req.nodeid);
        say('/' + rel);
        u.setattr(rel, a);
        return [this.attr(req.nodeid, null)];
      }
      case OP.READLINK: {
        const rel = this.rel(req.nodeid);
        say('/' + rel);
        const found = u.resolve(rel);
        if (!found) throw new UnionError('ENOENT', rel);
        return [fs.readlinkSync(found.path, { encoding: 'buffer' })];
      }
      case OP.SYMLINK: {
        const [name, target] = names(b, 0, 2);
        const rel = this.childRel(req.nodeid, name);
        say(`/${rel} -> ${target}`);
        u.symlink(rel, target, req.uid, req.gid);
        return [this.entry(rel)];
      }
      case OP.MKNOD: {
        const rel = this.childRel(req.nodeid, names(b, 16, 1)[0]);
        say('/' + rel);
        u.mknod(rel, b.readUInt32LE(0), b.readUInt32LE(4), req.uid, req.gid);
        return [this.entry(rel)];
      }
      case OP.MKDIR: {
        const rel = this.childRel(req.nodeid, names(b, 8, 1)[0]);
        say('/' + rel);
        u.mkdir(rel, b.readUInt32LE(0), req.uid, req.gid);
        return [this.entry(rel)];
      }
      case OP.UNLINK:
      case OP.RMDIR: {
        const rel = this.childRel(req.nodeid, names(b, 0, 1)[0]);
        say('/' + rel);
        if (req.opcode === OP.UNLINK) u.unlink(rel);
        else u.rmdir(rel);
        this.detach(rel);
        return [];
      }
      case OP.RENAME:
      case OP.RENAME2: {
        const newdir = b.readBigUInt64LE(0);
        const flags = req.opcode === OP.RENAME2 ? b.readUInt32LE(8) : 0;
        const [from, to] = names(b, req.opcode === OP.RENAME2 ? 16 : 8, 2);
        const rel = this.childRel(req.nodeid, from);
        const newRel = this.childRel(newdir, to);
        say(`/${rel} -> /${newRel}`);
        // RENAME_NOREPLACE (1) we do; RENAME_EXCHANGE and RENAME_WHITEOUT we do not.
        if (flags & ~1) throw new UnionError('EINVAL', `rename flags ${flags}`);
        u.rename(rel, newRel, (flags & 1) !== 0);
        this.move(rel, newRel);
        return [];
      }
      case OP.LINK: {
        const old = this.rel(b.readBigUInt64LE(0));
        const rel = this.childRel(req.nodeid, names(b, 8, 1)[0]);
        say(`/${rel} => /${old}`);
        u.link(old, rel);
        this.stale.add(b.readBigUInt64LE(0)); // its link count changed
        return [this.entry(rel)];
      }
      // #region keep-cache
      case OP.OPEN: {
        const rel = this.rel(req.nodeid);
        say('/' + rel);
        const o = u.open(rel, b.readUInt32LE(0));
        // The kernel keeps a file's pages in its page cache while it is
        // open; at the next open it drops them, unless we say KEEP_CACHE.
        // A file served from a read-only branch never changes, so its
        // pages stay good: read it twice, and the second read is the page
        // cache's alone. A file of the writable branch may have changed
        // under another name (a hard link is another node to the kernel),
        // so its pages go: close-to-open, as NFS does.
        return [openOut(this.newHandle({ fd: o.fd, node: req.nodeid, writable: o.writable }), o.branch > 0 ? FOPEN_KEEP_CACHE : 0)];
      }
      // #endregion keep-cache
      case OP.CREATE: {
        const flags = b.readUInt32LE(0);
        const rel = this.childRel(req.nodeid, names(b, 16, 1)[0]);
        say('/' + rel);
        u.createFile(rel, b.readUInt32LE(4), req.uid, req.gid);
        const entry = this.entry(rel);
        const o = u.open(rel, flags & ~fs.constants.O_TRUNC);
        const id = this.byPath.get(rel)!;
        return [entry, openOut(this.newHandle({ fd: o.fd, node: id, writable: o.writable }), 0)];
      }
      case OP.READ: {
        const h = this.files.get(b.readBigUInt64LE(0));
        if (!h) throw new UnionError('EBADF', 'read');
        const size = Math.min(b.readUInt32LE(16), this.readReply.length);
        const data = this.readReply; // one buffer for every READ: the reply is written before the next request is served
        const n = fs.readSync(h.fd, data, 0, size, b.readBigUInt64LE(8));
        if (this.emit) say(`/${this.nodes.get(h.node)?.rel ?? '(deleted)'} ${n} bytes at ${b.readBigUInt64LE(8)}`);
        return [data.subarray(0, n)];
      }
      case OP.WRITE: {
        const h = this.files.get(b.readBigUInt64LE(0));
        if (!h) throw new UnionError('EBADF', 'write');
        const size = b.readUInt32LE(16);
        const n = fs.writeSync(h.fd, b, 40, size, Number(b.readBigUInt64LE(8)));
        if (this.emit) say(`/${this.nodes.get(h.node)?.rel ?? '(deleted)'} ${n} bytes at ${b.readBigUInt64LE(8)}`);
        return [sizeOut(n)];
      }
      case OP.FLUSH:
        return [];
      case OP.FSYNC: {
        const h = this.files.get(b.readBigUInt64LE(0));
        if (h) fs.fsyncSync(h.fd);
        return [];
      }
      case OP.RELEASE: {
        const fh = b.readBigUInt64LE(0);
        const h = this.files.get(fh);
        if (h) fs.closeSync(h.fd), this.files.delete(fh);
        return [];
      }
      case OP.STATFS:
        return [statfsOut(u.statfs())];
      case OP.OPENDIR: {
        const rel = this.rel(req.nodeid);
        say('/' + rel);
        // The listing is taken once, at opendir: READDIR pages through it by
        // offset, and a name made or deleted meanwhile neither repeats nor
        // skips an entry.
        const self = u.resolve(rel);
        if (!self) throw new UnionError('ENOENT', rel);
        // (An inode number of 0 would make readdir(3) callers skip the entry.)
        const up = u.resolve(rel.includes('/') ? rel.slice(0, rel.lastIndexOf('/')) : '') ?? self;
        const list = [{ name: '.', ino: self.st.ino, type: 4 }, { name: '..', ino: up.st.ino, type: 4 }, ...u.readdir(rel)];
        const fh = this.nextHandle++;
        this.dirs.set(fh, list);
        return [openOut(fh, 0)];
      }
      case OP.READDIR: {
        const list = this.dirs.get(b.readBigUInt64LE(0));
        if (!list) throw new UnionError('EBADF', 'readdir');
        const offset = Number(b.readBigUInt64LE(8));
        const size = b.readUInt32LE(16);
        const out: Buffer[] = [];
        let used = 0;
        for (let i = offset; i < list.length; i++) {
          const d = dirent(list[i].ino, i + 1, list[i].type, list[i].name);
          if (used + d.length > size) break;
          out.push(d);
          used += d.length;
        }
        return out;
      }
      case OP.RELEASEDIR:
        this.dirs.delete(b.readBigUInt64LE(0));
        return [];
      case OP.FSYNCDIR:
        return [];
      case OP.ACCESS: {
        // default_permissions: the kernel checked the mode bits already.
        const rel = this.rel(req.nodeid);
        if (!u.resolve(rel)) throw new UnionError('ENOENT', rel);
        return [];
      }
      case OP.GETXATTR:
      case OP.LISTXATTR: {
        const size = b.readUInt32LE(0);
        const rel = this.rel(req.nodeid);
        let value: Buffer;
        if (req.opcode === OP.GETXATTR) {
          const name = names(b, 8, 1)[0];
          say(`/${rel} ${name}`);
          const v = u.getxattr(rel, name);
          if (v === null) throw new UnionError('ENODATA', name);
          value = v;
        } else {
          say('/' + rel);
          value = Buffer.from(u.listxattr(rel).map((n) => n + '\0').join(''), 'latin1');
        }
        // size 0 asks how big; otherwise the value, or ERANGE if it does not fit.
        if (size === 0) return [sizeOut(value.length)];
        if (value.length > size) throw new UnionError('ERANGE', rel);
        return [value];
      }
      case OP.SETXATTR: {
        const size = b.readUInt32LE(0);
        const flags = b.readUInt32LE(4);
        const name = names(b, 8, 1)[0];
        const at = 8 + Buffer.byteLength(name) + 1;
        const rel = this.rel(req.nodeid);
        say(`/${rel} ${name}`);
        u.setxattr(rel, name, Buffer.from(b.subarray(at, at + size)), flags);
        return [];
      }
      case OP.REMOVEXATTR: {
        const name = names(b, 0, 1)[0];
        const rel = this.rel(req.nodeid);
        say(`/${rel} ${name}`);
        u.removexattr(rel, name);
        return [];
      }
      default:
        // ENOSYS: the kernel remembers, and does without (locks locally,
        // fallocate refused, copy_file_range by reads and writes, …).
        throw Object.assign(new Error(opName(req.opcode)), { code: 'ENOSYS' });
    }
  }
  // #endregion dispatch
}
