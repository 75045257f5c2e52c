// The FUSE protocol, as the kernel's header <linux/fuse.h> (protocol 7.x)
// lays it out: what our server reads from /dev/fuse and writes back.
//
// Every request is one read(2) of the device: a 40-byte fuse_in_header
// (its length, the opcode, a unique number, the inode it is about, and the
// calling process's uid, gid and pid), then the opcode's own struct and
// names. Every reply is one write(2): a 16-byte fuse_out_header (length,
// a negative errno or 0, the request's unique number), then the reply's
// struct. Integers are the machine's own byte order: little-endian on
// amd64 and arm64, the two this book runs on.
//
// The kernel names each file by a "node id" of our choosing, learned from
// our LOOKUP (and CREATE, MKNOD, MKDIR, SYMLINK, LINK) replies; node id 1 is
// the root. It counts the lookups it holds and gives them back with FORGET.

export const FUSE_KERNEL_VERSION = 7;
/** the minor version we speak: 7.31 has everything below (max_pages, cache_symlinks) */
export const FUSE_KERNEL_MINOR_VERSION = 31;
export const ROOT_ID = 1n;

export const OP = {
  LOOKUP: 1, FORGET: 2, GETATTR: 3, SETATTR: 4, READLINK: 5, SYMLINK: 6, MKNOD: 8, MKDIR: 9,
  UNLINK: 10, RMDIR: 11, RENAME: 12, LINK: 13, OPEN: 14, READ: 15, WRITE: 16, STATFS: 17,
  RELEASE: 18, FSYNC: 20, SETXATTR: 21, GETXATTR: 22, LISTXATTR: 23, REMOVEXATTR: 24, FLUSH: 25,
  INIT: 26, OPENDIR: 27, READDIR: 28, RELEASEDIR: 29, FSYNCDIR: 30, GETLK: 31, SETLK: 32, SETLKW: 33,
  ACCESS: 34, CREATE: 35, INTERRUPT: 36, BMAP: 37, DESTROY: 38, IOCTL: 39, POLL: 40,
  BATCH_FORGET: 42, FALLOCATE: 43, READDIRPLUS: 44, RENAME2: 45, LSEEK: 46, COPY_FILE_RANGE: 47,
} as const;

/** the opcode's name, for the trace */
export const opName = (code: number): string => Object.entries(OP).find(([, v]) => v === code)?.[0] ?? `OPCODE_${code}`;

/** fuse_init_in/out flags we look at or set */
export const INIT = {
  ASYNC_READ: 1 << 0,
  ATOMIC_O_TRUNC: 1 << 3,
  BIG_WRITES: 1 << 5,
  AUTO_INVAL_DATA: 1 << 12,
  MAX_PAGES: 1 << 22,
  CACHE_SYMLINKS: 1 << 23,
} as const;

/** fuse_setattr_in.valid: which fields the caller set */
export const FATTR = {
  MODE: 1 << 0, UID: 1 << 1, GID: 1 << 2, SIZE: 1 << 3, ATIME: 1 << 4, MTIME: 1 << 5,
  FH: 1 << 6, ATIME_NOW: 1 << 7, MTIME_NOW: 1 << 8, LOCKOWNER: 1 << 9, CTIME: 1 << 10,
} as const;

/** fuse_open_out.open_flags: keep the page cache across opens (a file of a read-only branch never changes) */
export const FOPEN_KEEP_CACHE = 1 << 1;

/**
 * The largest read or write in one request: 256 pages (1 MiB), the most
 * FUSE_MAX_PAGES allows. Every request is two trips across the kernel
 * boundary and a wake-up of our JavaScript thread, so fewer, larger ones
 * are cheaper. The read buffer must hold a write and its headers.
 */
export const MAX_WRITE = 1024 * 1024;
export const READ_BUFFER = MAX_WRITE + 4096;

export interface Request {
  opcode: number;
  unique: bigint;
  nodeid: bigint;
  uid: number;
  gid: number;
  pid: number;
  /** the bytes after the header: the opcode's struct, then its names */
  body: Buffer;
}

export function parseRequest(buf: Buffer, length: number): Request {
  if (length < 40) throw new Error(`fuse: short request (${length} bytes)`);
  const len = buf.readUInt32LE(0);
  return {
    opcode: buf.readUInt32LE(4),
    unique: buf.readBigUInt64LE(8),
    nodeid: buf.readBigUInt64LE(16),
    uid: buf.readUInt32LE(24),
    gid: buf.readUInt32LE(28),
    pid: buf.readUInt32LE(32),
    body: buf.subarray(40, Math.min(len, length)),
  };
}

/** The NUL-terminated names after a request's struct: LOOKUP's one, RENAME's two, SYMLINK's name and target. */
export function names(body: Buffer, offset: number, count: number): string[] {
  const out: string[] = [];
  let at = offset;
  for (let i = 0; i < count; i++) {
    const end = body.indexOf(0, at);
    const stop = end < 0 ? body.length : end;
    out.push(body.toString('utf8', at, stop));
    at = stop + 1;
  }
  return out;
}

/** The reply header, for a body of `bodyLength` bytes (error: a negative errno, or 0). */
export function outHeader(unique: bigint, error: number, bodyLength: number): Buffer {
  const h = Buffer.alloc(16);
  h.writeUInt32LE(16 + bodyLength, 0);
  h.writeInt32LE(error, 4);
  h.writeBigUInt64LE(unique, 8);
  return h;
}

/** What our server says about a file: lstat's answer, in nanoseconds. */
export interface Attr {
  ino: bigint;
  size: bigint;
  blocks: bigint;
  atimeNs: bigint;
  mtimeNs: bigint;
  ctimeNs: bigint;
  mode: number;
  nlink: number;
  uid: number;
  gid: number;
  rdev: number;
  blksize: number;
}

export function attrOf(st: import('node:fs').BigIntStats): Attr {
  return {
    ino: st.ino, size: st.size, blocks: st.blocks, atimeNs: st.atimeNs, mtimeNs: st.mtimeNs, ctimeNs: st.ctimeNs,
    mode: Number(st.mode), nlink: Number(st.nlink), uid: Number(st.uid), gid: Number(st.gid), rdev: Number(st.rdev), blksize: Number(st.blksize),
  };
}

/** struct fuse_attr: 88 bytes */
function writeAttr(b: Buffer, at: number, a: Attr): void {
  const sec = (ns: bigint) => ns / 1_000_000_000n;
  const nsec = (ns: bigint) => Number(ns % 1_000_000_000n);
  b.writeBigUInt64LE(a.ino, at);
  b.writeBigUInt64LE(a.size, at + 8);
  b.writeBigUInt64LE(a.blocks, at + 16);
  b.writeBigUInt64LE(sec(a.atimeNs), at + 24);
  b.writeBigUInt64LE(sec(a.mtimeNs), at + 32);
  b.writeBigUInt64LE(sec(a.ctimeNs), at + 40);
  b.writeUInt32LE(nsec(a.atimeNs), at + 48);
  b.writeUInt32LE(nsec(a.mtimeNs), at + 52);
  b.writeUInt32LE(nsec(a.ctimeNs), at + 56);
  b.writeUInt32LE(a.mode, at + 60);
  b.writeUInt32LE(a.nlink, at + 64);
  b.writeUInt32LE(a.uid, at + 68);
  b.writeUInt32LE(a.gid, at + 72);
  // rdev: the kernel's new_encode_dev, which is also the low 32 bits of glibc's dev_t
  b.writeUInt32LE(a.rdev % 2 ** 32, at + 76);
  b.writeUInt32LE(a.blksize, at + 80);
  b.writeUInt32LE(0, at + 84);
}

/** How long the kernel may trust a name or an attribute before asking again: 1 s. */
const VALID_SECONDS = 1n;

/** struct fuse_entry_out: 128 bytes */
export function entryOut(nodeid: bigint, a: Attr): Buffer {
  const b = Buffer.alloc(128);
  b.writeBigUInt64LE(nodeid, 0);
  b.writeBigUInt64LE(0n, 8); // generation: node ids are never reused while the mount lives
  b.writeBigUInt64LE(VALID_SECONDS, 16);
  b.writeBigUInt64LE(VALID_SECONDS, 24);
  writeAttr(b, 40, a);
  return b;
}

/**
 * A LOOKUP's "no such name", as an entry the kernel may cache: node id 0
 * for VALID_SECONDS. An error reply is never cached, so a shell searching
 * $PATH, or the dynamic loader its library directories, would ask again
 * for every missing name. A name we create replaces the kernel's negative
 * entry at once (the kernel made that request itself).
 */
export function negativeEntryOut(): Buffer {
  const b = Buffer.alloc(128);
  b.writeBigUInt64LE(VALID_SECONDS, 16);
  return b;
}

/** struct fuse_attr_out: 104 bytes */
export function attrOut(a: Attr): Buffer {
  const b = Buffer.alloc(104);
  b.writeBigUInt64LE(VALID_SECONDS, 0);
  writeAttr(b, 16, a);
  return b;
}

/** struct fuse_open_out: 16 bytes */
export function openOut(fh: bigint, flags: number): Buffer {
  const b = Buffer.alloc(16);
  b.writeBigUInt64LE(fh, 0);
  b.writeUInt32LE(flags, 8);
  return b;
}

/** struct fuse_init_out: 64 bytes */
export function initOut(flags: number, maxReadahead: number): Buffer {
  const b = Buffer.alloc(64);
  b.writeUInt32LE(FUSE_KERNEL_VERSION, 0);
  b.writeUInt32LE(FUSE_KERNEL_MINOR_VERSION, 4);
  b.writeUInt32LE(maxReadahead, 8);
  b.writeUInt32LE(flags, 12);
  b.writeUInt16LE(16, 16); // max_background
  b.writeUInt16LE(12, 18); // congestion_threshold
  b.writeUInt32LE(MAX_WRITE, 20);
  b.writeUInt32LE(1, 24); // time_gran: nanoseconds
  b.writeUInt16LE(MAX_WRITE / 4096, 28); // max_pages
  return b;
}

/** struct fuse_kstatfs inside fuse_statfs_out: 80 bytes */
export function statfsOut(s: { blocks: number; bfree: number; bavail: number; files: number; ffree: number; bsize: number }): Buffer {
  const b = Buffer.alloc(80);
  b.writeBigUInt64LE(BigInt(s.blocks), 0);
  b.writeBigUInt64LE(BigInt(s.bfree), 8);
  b.writeBigUInt64LE(BigInt(s.bavail), 16);
  b.writeBigUInt64LE(BigInt(s.files), 24);
  b.writeBigUInt64LE(BigInt(s.ffree), 32);
  b.writeUInt32LE(s.bsize, 40);
  b.writeUInt32LE(255, 44); // namelen
  b.writeUInt32LE(s.bsize, 48); // frsize
  return b;
}

/** struct fuse_write_out / fuse_getxattr_out: a size and padding */
export function sizeOut(n: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeUInt32LE(n, 0);
  return b;
}

/**
 * One struct fuse_dirent: inode, the offset of the NEXT entry (what the
 * kernel hands back to continue), name length, type (DT_*), the name,
 * padded to 8 bytes.
 */
export function dirent(ino: bigint, nextOffset: number, type: number, name: string): Buffer {
  const n = Buffer.from(name);
  const b = Buffer.alloc(24 + Math.ceil(n.length / 8) * 8);
  b.writeBigUInt64LE(ino, 0);
  b.writeBigUInt64LE(BigInt(nextOffset), 8);
  b.writeUInt32LE(n.length, 16);
  b.writeUInt32LE(type, 20);
  n.copy(b, 24);
  return b;
}

/**
 * A notification (a message the server sends unasked, unique 0):
 * FUSE_NOTIFY_INVAL_INODE, "forget what you cached of this node's
 * attributes" (offset -1: its pages may stay).
 */
export function invalInode(nodeid: bigint): Buffer {
  const b = Buffer.alloc(16 + 24);
  b.writeUInt32LE(b.length, 0);
  b.writeInt32LE(2, 4); // FUSE_NOTIFY_INVAL_INODE, in the error field
  b.writeBigUInt64LE(0n, 8);
  b.writeBigUInt64LE(nodeid, 16);
  b.writeBigInt64LE(-1n, 24);
  b.writeBigInt64LE(0n, 32);
  return b;
}
