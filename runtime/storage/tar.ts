// Layer tars (chapter 4). An image layer is a tar archive: the OCI image spec
// ("Image Layer Filesystem Changeset") says which tar: POSIX ustar headers,
// with PAX extended headers for what ustar cannot hold. A tar is a row of
// 512-byte blocks: a header block, the body rounded up to whole blocks, the
// next header, ... and two zero blocks at the end.
//
// The reader is push-based and synchronous (write(chunk), end()): whoever
// owns the stream decides how bytes arrive, and the reader never holds more
// than one header or one extended header in memory, so a 50 MB file streams.
// The writer is deterministic: the same entries always give the same bytes,
// which is what makes a layer's sha256 (its diffID) reproducible.

export type EntryType = 'file' | 'dir' | 'symlink' | 'hardlink' | 'char' | 'block' | 'fifo';

export interface TarHeader {
  name: string;
  type: EntryType;
  /** permission bits incl. setuid/setgid/sticky (0o7777) */
  mode: number;
  uid: number;
  gid: number;
  /** body bytes; 0 for every type but 'file' */
  size: number;
  /** whole seconds since the epoch */
  mtime: number;
  /** symlink target, or the earlier entry a hardlink names */
  linkname: string;
  devmajor: number;
  devminor: number;
  uname: string;
  gname: string;
  /** extended attributes (PAX SCHILY.xattr.NAME records) */
  xattrs: Record<string, Buffer>;
}

/** What a writer needs: a name and a type; the rest defaults to 0 / empty. */
export type TarEntry = Pick<TarHeader, 'name' | 'type'> & Partial<TarHeader>;

/** Bytes that are not a well-formed tar (bad checksum, truncated, ...). */
export class TarFormatError extends Error {
  override name = 'TarFormatError';
}

export interface TarHandlers {
  entry(h: TarHeader): void;
  /** a piece of the current entry's body */
  data(chunk: Buffer): void;
  entryEnd(): void;
  /** every byte that is not a body, in order: header blocks, extended headers, padding, end blocks (tar-split keeps them) */
  raw?(bytes: Buffer): void;
}

const BLOCK = 512;
const TYPES: Record<string, EntryType> = { '0': 'file', '\0': 'file', '7': 'file', '1': 'hardlink', '2': 'symlink', '3': 'char', '4': 'block', '5': 'dir', '6': 'fifo' };
const FLAGS: Record<EntryType, string> = { file: '0', hardlink: '1', symlink: '2', char: '3', block: '4', dir: '5', fifo: '6' };
// A PAX or GNU long-name header is read into memory whole: cap it, or a
// hostile tar could claim a 100 GB "name".
const MAX_EXTENDED = 1 << 20;
const padOf = (n: number) => (BLOCK - (n % BLOCK)) % BLOCK;
const cstr = (b: Buffer, off: number, len: number) => {
  const s = b.subarray(off, off + len);
  const nul = s.indexOf(0);
  return (nul < 0 ? s : s.subarray(0, nul)).toString('utf8');
};

/** A numeric field: octal text, or (GNU) base-256 when the top bit of its first byte is set. */
function parseNumber(b: Buffer, off: number, len: number, what: string): number {
  if (b[off] & 0x80) {
    if (b[off] === 0xff) throw new TarFormatError(`negative ${what} in a base-256 field`);
    let v = b[off] & 0x7f;
    for (let i = 1; i < len; i++) v = v * 256 + b[off + i];
    if (!Number.isSafeInteger(v)) throw new TarFormatError(`${what} too large`);
    return v;
  }
  const text = b.toString('latin1', off, off + len).replace(/[\0 ]+$/, '').replace(/^ +/, '');
  if (!/^[0-7]*$/.test(text)) throw new TarFormatError(`${what} field ${JSON.stringify(text)} is not an octal number`);
  return text === '' ? 0 : parseInt(text, 8);
}

/** PAX records: "LEN key=value\n", LEN counting the whole record; values may be binary (xattrs). */
function parsePax(buf: Buffer): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  let off = 0;
  while (off < buf.length) {
    if (buf[off] === 0) break; // some writers pad the data with NULs
    const sp = buf.indexOf(0x20, off);
    const digits = sp < 0 ? '' : buf.toString('latin1', off, sp);
    const len = /^[1-9][0-9]{0,7}$/.test(digits) ? Number(digits) : 0;
    const rec = buf.subarray(off, off + len);
    const eq = rec.indexOf(0x3d, sp - off);
    if (len === 0 || off + len > buf.length || eq < 0 || rec[len - 1] !== 0x0a)
      throw new TarFormatError(`malformed PAX record at byte ${off} of an extended header`);
    out.set(rec.toString('utf8', sp - off + 1, eq), rec.subarray(eq + 1, len - 1));
    off += len;
  }
  return out;
}

export class TarReader {
  private block = Buffer.alloc(BLOCK);
  private have = 0; // bytes of `block` filled
  private state: 'header' | 'body' | 'extended' | 'pad' | 'trailer' = 'header';
  private left = 0; // bytes left of the body / extended header / padding
  private zeros = 0; // zero blocks seen in a row
  private offset = 0; // bytes consumed, for error messages
  private current: TarHeader | null = null;
  private extKind = '';
  private ext: Buffer[] = [];
  private pax = new Map<string, Buffer>();
  private longName: string | null = null;
  private longLink: string | null = null;
  private failed: Error | null = null;

  constructor(private h: TarHandlers) {}

  write(chunk: Buffer): void {
    if (this.failed) throw this.failed;
    try {
      let i = 0;
      while (i < chunk.length) {
        const rest = chunk.length - i;
        const n = this.state === 'header' ? Math.min(BLOCK - this.have, rest) : this.state === 'trailer' ? rest : Math.min(this.left, rest);
        const piece = chunk.subarray(i, i + n);
        i += n;
        this.offset += n;
        if (this.state === 'trailer') this.h.raw?.(piece); // after the end: kept for tar-split, never read
        else if (this.state === 'header') {
          piece.copy(this.block, this.have);
          if ((this.have += n) === BLOCK) (this.have = 0), this.onBlock();
        } else {
          this.left -= n;
          if (this.state === 'body') this.h.data(piece);
          else if (this.state === 'pad') this.h.raw?.(piece);
          else this.ext.push(Buffer.from(piece)), this.h.raw?.(piece);
          if (this.left === 0) this.onDone();
        }
      }
    } catch (e) {
      this.failed = e as Error;
      throw e;
    }
  }

  /** The input is over: it must have ended where a tar may end. */
  end(): void {
    if (this.failed) throw this.failed;
    const at =
      this.state === 'body' ? `inside entry ${JSON.stringify(this.current!.name)} (${this.left} of its ${this.current!.size} bytes missing)`
      : this.state === 'extended' ? 'inside an extended header'
      : this.state === 'pad' ? 'inside the padding after an entry'
      : this.have ? 'inside a header block' : '';
    if (at) throw (this.failed = new TarFormatError(`truncated tar: the input ends ${at}, at byte ${this.offset}`));
    // One zero block is accepted (GNU tar does); none means the tar was cut at an entry boundary.
    if (this.state !== 'trailer' && this.zeros === 0)
      throw (this.failed = new TarFormatError(`truncated tar: no end-of-archive blocks after byte ${this.offset}`));
  }

  private onBlock(): void {
    const b = this.block;
    const at = this.offset - BLOCK;
    if (b.every((x) => x === 0)) {
      this.h.raw?.(Buffer.from(b));
      if (++this.zeros === 2) this.state = 'trailer';
      return;
    }
    if (this.zeros) throw new TarFormatError(`a lone zero block before the header at byte ${at} (a corrupt tar)`);
    // The checksum is the sum of the header's bytes with its own field read
    // as spaces. Some old tars summed signed bytes: accept both, as GNU tar does.
    let unsigned = 0, signed = 0;
    for (let i = 0; i < BLOCK; i++) {
      const v = i >= 148 && i < 156 ? 0x20 : b[i];
      unsigned += v;
      signed += v > 127 ? v - 256 : v;
    }
    let stored = NaN;
    try {
      stored = parseNumber(b, 148, 8, 'checksum');
    } catch {
      // not even a number: reported as a bad checksum below
    }
    if (stored !== unsigned && stored !== signed)
      throw new TarFormatError(`bad header checksum at byte ${at}: ${Number.isNaN(stored) ? 'the field is not a number' : `stored ${stored}, computed ${unsigned}`} (a corrupt tar, or not a tar)`);
    this.h.raw?.(Buffer.from(b));
    const flag = String.fromCharCode(b[156]);
    const size = parseNumber(b, 124, 12, 'size');
    if (flag === 'x' || flag === 'g' || flag === 'L' || flag === 'K') {
      if (size > MAX_EXTENDED) throw new TarFormatError(`extended header at byte ${at} is ${size} bytes (at most ${MAX_EXTENDED})`);
      this.extKind = flag;
      this.ext = [];
      this.state = 'extended';
      this.left = size;
      if (size === 0) this.onDone();
      return;
    }
    // POSIX ustar ("ustar\0") splits long names into prefix + name; GNU's
    // "ustar  " uses those bytes for other things.
    const posix = b.toString('latin1', 257, 263) === 'ustar\0';
    const prefix = posix ? cstr(b, 345, 155) : '';
    const pax = this.pax;
    const text = (k: string) => (pax.get(k)?.length ? pax.get(k)!.toString('utf8') : undefined);
    const num = (k: string, field: number) => {
      const v = text(k);
      if (v === undefined) return field;
      if (!/^-?[0-9]+(\.[0-9]*)?$/.test(v)) throw new TarFormatError(`PAX ${k}=${JSON.stringify(v)} is not a number`);
      return Math.floor(Number(v)); // mtime may carry a fraction: layers keep whole seconds
    };
    const name = this.longName ?? text('path') ?? (prefix ? prefix + '/' : '') + cstr(b, 0, 100);
    let type = TYPES[flag];
    if (!type) throw new TarFormatError(`entry ${JSON.stringify(name)}: unsupported type flag ${JSON.stringify(flag)}`);
    if (pax.has('GNU.sparse.major') || pax.has('GNU.sparse.size')) throw new TarFormatError(`entry ${JSON.stringify(name)}: sparse files are not supported`);
    if (flag === '\0' && name.endsWith('/')) type = 'dir'; // pre-POSIX tars marked directories by the slash only
    const xattrs: Record<string, Buffer> = {};
    for (const [k, v] of pax) if (k.startsWith('SCHILY.xattr.')) xattrs[k.slice(13)] = Buffer.from(v);
    const hdr: TarHeader = {
      name, type,
      mode: parseNumber(b, 100, 8, 'mode') & 0o7777,
      uid: num('uid', parseNumber(b, 108, 8, 'uid')),
      gid: num('gid', parseNumber(b, 116, 8, 'gid')),
      // Only regular files have a body, whatever the size field says (as Go's archive/tar reads it).
      size: type === 'file' ? num('size', size) : 0,
      mtime: num('mtime', parseNumber(b, 136, 12, 'mtime')),
      linkname: this.longLink ?? text('linkpath') ?? cstr(b, 157, 100),
      uname: text('uname') ?? cstr(b, 265, 32),
      gname: text('gname') ?? cstr(b, 297, 32),
      devmajor: type === 'char' || type === 'block' ? parseNumber(b, 329, 8, 'devmajor') : 0,
      devminor: type === 'char' || type === 'block' ? parseNumber(b, 337, 8, 'devminor') : 0,
      xattrs,
    };
    this.pax = new Map();
    this.longName = this.longLink = null;
    this.current = hdr;
    this.h.entry(hdr);
    this.state = 'body';
    this.left = hdr.size;
    if (hdr.size === 0) this.onDone();
  }

  /** The body, extended header or padding in progress is complete. */
  private onDone(): void {
    if (this.state === 'pad') {
      this.state = 'header';
      return;
    }
    let size: number;
    if (this.state === 'body') {
      size = this.current!.size;
      this.current = null;
      this.h.entryEnd();
    } else {
      const data = Buffer.concat(this.ext);
      size = data.length;
      // 'g' (global) headers are ignored, as Docker does: a layer is read entry by entry.
      if (this.extKind === 'x') for (const [k, v] of parsePax(data)) this.pax.set(k, v);
      if (this.extKind === 'L') this.longName = cstr(data, 0, data.length);
      if (this.extKind === 'K') this.longLink = cstr(data, 0, data.length);
    }
    this.left = padOf(size);
    this.state = this.left ? 'pad' : 'header';
  }
}

// --- the writer ---

const isASCII = (s: string) => /^[\x00-\x7f]*$/.test(s);
const MAX8 = 0o7777777;
const MAX12 = 0o77777777777;

function paxRecord(key: string, value: Buffer): Buffer {
  const rest = Buffer.byteLength(key) + value.length + 3; // " " "=" "\n"
  let digits = 1;
  while (String(rest + digits).length > digits) digits++; // the length counts its own digits
  return Buffer.concat([Buffer.from(`${rest + digits} ${key}=`), value, Buffer.from('\n')]);
}

/** ustar's 155-byte prefix + 100-byte name split at a "/", when the name allows it (as Go's archive/tar does). */
function splitName(name: string): [string, string] | null {
  if (name.length <= 100) return ['', name];
  let end = Math.min(name.length, 156);
  if (end === name.length && name.endsWith('/')) end--;
  const i = name.lastIndexOf('/', end - 1);
  if (i <= 0 || name.length - i - 1 > 100 || name.length - i - 1 === 0 || i > 155) return null;
  return [name.slice(0, i), name.slice(i + 1)];
}

function ustarBlock(f: { name: string; prefix: string; mode: number; uid: number; gid: number; size: number; mtime: number; flag: string; linkname: string; uname: string; gname: string; devmajor: number; devminor: number }): Buffer {
  const b = Buffer.alloc(BLOCK);
  const octal = (off: number, len: number, v: number) => b.write(v.toString(8).padStart(len - 1, '0') + '\0', off, len, 'latin1');
  b.write(f.name, 0, 100, 'utf8');
  octal(100, 8, f.mode);
  octal(108, 8, f.uid);
  octal(116, 8, f.gid);
  octal(124, 12, f.size);
  octal(136, 12, f.mtime);
  b.write(f.flag, 156, 'latin1');
  b.write(f.linkname, 157, 100, 'utf8');
  b.write('ustar\x0000', 257, 'latin1');
  b.write(f.uname, 265, 32, 'utf8');
  b.write(f.gname, 297, 32, 'utf8');
  octal(329, 8, f.devmajor);
  octal(337, 8, f.devminor);
  b.write(f.prefix, 345, 155, 'utf8');
  b.fill(0x20, 148, 156);
  let sum = 0;
  for (const x of b) sum += x;
  b.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8, 'latin1');
  return b;
}

/** The header blocks of one entry: a PAX 'x' header first only when ustar cannot hold a field. */
export function headerBlocks(e: TarEntry): Buffer {
  const h = { mode: 0, uid: 0, gid: 0, size: 0, mtime: 0, linkname: '', uname: '', gname: '', devmajor: 0, devminor: 0, xattrs: {}, ...e };
  const pax = new Map<string, Buffer>();
  const split = isASCII(h.name) ? splitName(h.name) : null;
  if (!split) pax.set('path', Buffer.from(h.name));
  const linkOk = isASCII(h.linkname) && h.linkname.length <= 100;
  if (!linkOk) pax.set('linkpath', Buffer.from(h.linkname));
  const fit = (k: string, v: number, max: number) => (v >= 0 && v <= max ? v : (pax.set(k, Buffer.from(String(v))), 0));
  const f = {
    name: split ? split[1] : h.name.replace(/[^\x00-\x7f]/g, '').slice(0, 100),
    prefix: split ? split[0] : '',
    mode: h.mode & 0o7777, flag: FLAGS[h.type],
    uid: fit('uid', h.uid, MAX8), gid: fit('gid', h.gid, MAX8),
    size: fit('size', h.size, MAX12), mtime: fit('mtime', Math.floor(h.mtime), MAX12),
    linkname: linkOk ? h.linkname : h.linkname.replace(/[^\x00-\x7f]/g, '').slice(0, 100),
    uname: isASCII(h.uname) && h.uname.length <= 32 ? h.uname : (pax.set('uname', Buffer.from(h.uname)), ''),
    gname: isASCII(h.gname) && h.gname.length <= 32 ? h.gname : (pax.set('gname', Buffer.from(h.gname)), ''),
    devmajor: h.devmajor, devminor: h.devminor,
  };
  for (const [k, v] of Object.entries(h.xattrs)) pax.set('SCHILY.xattr.' + k, v);
  const main = ustarBlock(f);
  if (pax.size === 0) return main;
  // Records sorted by key, so the bytes never depend on insertion order.
  const keys = [...pax.keys()].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  const data = Buffer.concat(keys.map((k) => paxRecord(k, pax.get(k)!)));
  // Named like Go's (Docker's) writer: DIR/PaxHeaders.0/BASE, ASCII, cut to fit.
  const slash = h.name.replace(/\/+$/, '').lastIndexOf('/');
  const paxName = (h.name.slice(0, slash + 1) + 'PaxHeaders.0/' + h.name.slice(slash + 1)).replace(/[^\x00-\x7f]/g, '').slice(0, 100).replace(/\/+$/, '');
  const x = ustarBlock({ name: paxName, prefix: '', mode: 0, uid: 0, gid: 0, size: data.length, mtime: 0, flag: 'x', linkname: '', uname: '', gname: '', devmajor: 0, devminor: 0 });
  return Buffer.concat([x, data, Buffer.alloc(padOf(data.length)), main]);
}

/** Writes entries as blocks to `push`; a file's body follows its entry() through data(). */
export class TarWriter {
  private left = 0;
  private size = 0;
  private name = '';

  constructor(private push: (bytes: Buffer) => void) {}

  entry(e: TarEntry): void {
    if (this.left) throw new Error(`tar writer: entry ${JSON.stringify(this.name)} still needs ${this.left} bytes`);
    this.name = e.name;
    this.left = this.size = e.type === 'file' ? e.size ?? 0 : 0;
    this.push(headerBlocks({ ...e, size: this.size }));
  }

  data(chunk: Buffer): void {
    if (chunk.length > this.left) throw new Error(`tar writer: entry ${JSON.stringify(this.name)} got more than its ${this.size} bytes`);
    this.left -= chunk.length;
    if (chunk.length) this.push(chunk);
    if (this.left === 0 && padOf(this.size)) this.push(Buffer.alloc(padOf(this.size)));
  }

  /** An entry and its whole body in one call. */
  add(e: TarEntry, body: Buffer = Buffer.alloc(0)): void {
    this.entry(e.type === 'file' ? { ...e, size: body.length } : e);
    if (body.length) this.data(body);
  }

  /** The end of the archive: two zero blocks. */
  finish(): void {
    if (this.left) throw new Error(`tar writer: entry ${JSON.stringify(this.name)} still needs ${this.left} bytes`);
    this.push(Buffer.alloc(2 * BLOCK));
  }
}
