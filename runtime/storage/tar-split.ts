// tar-split (chapter 4). A layer is named by the sha256 of its tar (the
// diffID), but once extracted only its files are kept. To hand the layer on
// again (docker save, docker push) the very same bytes must come back: the
// same headers, PAX records, padding and end blocks in the same order, or the
// digest changes and every image naming the layer breaks. Docker keeps
// layerdb/sha256/<chainID>/tar-split.json.gz for this, and so do we, in our
// own simpler shape: gzipped JSON lines of
//
//   {"type":"segment","payload":"<base64>"}   bytes kept as they were
//   {"type":"file","name":"a/b","size":N}     N bytes read back from dir/a/b
//
// Only file bodies are left out (they are on disk already); everything else
// is small and kept inline.
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';

type Line = { type: 'segment'; payload: Buffer } | { type: 'file'; name: string; size: number };

/** Records a tar as it is extracted; the extractor tells it which bodies went to disk, and where. */
export class TarSplitRecorder {
  private lines: Line[] = [];
  private pending: Buffer[] = [];
  /** file bodies recorded so far, by path: the index of their line */
  private bodies = new Map<string, number>();

  /** @param readBody reads a body back from disk (the layer dir's `name`) */
  constructor(private readBody: (name: string) => Buffer) {}

  /** Bytes to keep as they are: headers, padding, end blocks, bodies not kept on disk. */
  raw(bytes: Buffer): void {
    if (bytes.length) this.pending.push(Buffer.from(bytes)); // a copy: the caller may reuse its buffer
  }

  /** The current entry's body (`size` bytes) is on disk at `name`. */
  body(name: string, size: number): void {
    this.flush();
    this.bodies.set(name, this.lines.length);
    this.lines.push({ type: 'file', name, size });
  }

  /**
   * `name` (and, if it is a directory, all below it) is about to be removed
   * or replaced. A tar may hold the same path twice; the later entry wins on
   * disk, so the earlier body would be lost: read it now and keep it inline.
   */
  removing(name: string): void {
    for (const [n, i] of this.bodies) {
      if (n !== name && !n.startsWith(name + '/')) continue;
      this.lines[i] = { type: 'segment', payload: this.readBody(n) };
      this.bodies.delete(n);
    }
  }

  /** The tar-split of the whole tar, gzipped. */
  finish(): Buffer {
    this.flush();
    const json = this.lines.map((l) =>
      JSON.stringify(l.type === 'segment' ? { type: 'segment', payload: l.payload.toString('base64') } : l),
    );
    return zlib.gzipSync(json.join('\n') + '\n');
  }

  private flush(): void {
    if (this.pending.length) this.lines.push({ type: 'segment', payload: Buffer.concat(this.pending) });
    this.pending = [];
  }
}

/** Write to `out`, waiting while it asks us to (backpressure). */
export async function put(out: NodeJS.WritableStream, bytes: Buffer): Promise<void> {
  if (!out.write(bytes)) await once(out, 'drain');
}

/**
 * Re-create the layer's exact tar from its tar-split and its extracted files
 * in `dir`, streaming it to `out` (which is left open). Returns the sha256 of
 * what was written and its size in bytes. A file whose size differs from
 * the recorded one means the layer's files were changed after extraction.
 */
export async function assembleLayer(tarSplit: Buffer, dir: string, out: NodeJS.WritableStream): Promise<{ diffID: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  const emit = async (b: Buffer) => {
    hash.update(b);
    size += b.length;
    await put(out, b);
  };
  const text = zlib.gunzipSync(tarSplit).toString('utf8');
  for (const [n, line] of text.split('\n').entries()) {
    if (line === '') continue;
    const l = JSON.parse(line) as { type?: unknown; payload?: unknown; name?: unknown; size?: unknown };
    if (l.type === 'segment' && typeof l.payload === 'string') {
      await emit(Buffer.from(l.payload, 'base64'));
    } else if (l.type === 'file' && typeof l.name === 'string' && Number.isSafeInteger(l.size)) {
      await copyBody(dir, l.name, l.size as number, emit);
    } else {
      throw new Error(`tar-split: line ${n + 1} is neither a segment nor a file`);
    }
  }
  return { diffID: 'sha256:' + hash.digest('hex'), size };
}

async function copyBody(dir: string, name: string, size: number, emit: (b: Buffer) => Promise<void>): Promise<void> {
  // The names were cleaned at extraction; check again rather than trust a file.
  if (name.split('/').some((c) => c === '..' || c === '') ) throw new Error(`tar-split: file name ${JSON.stringify(name)} is not a clean relative path`);
  const file = path.join(dir, name);
  const fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile() || st.size !== size)
      throw new Error(`tar-split: ${file} is ${st.isFile() ? `${st.size} bytes` : 'not a regular file'}, the layer recorded ${size} bytes: the layer's files were changed`);
    for (let left = size; left > 0; ) {
      // A fresh buffer per write: `out` may still hold the previous one.
      const buf = Buffer.allocUnsafe(Math.min(left, 1 << 20));
      const n = fs.readSync(fd, buf, 0, buf.length, null);
      if (n === 0) throw new Error(`tar-split: ${file} ended early`);
      left -= n;
      await emit(buf.subarray(0, n));
    }
  } finally {
    fs.closeSync(fd);
  }
}
