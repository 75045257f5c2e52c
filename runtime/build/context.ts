// The build context: the files COPY and ADD may read. The docker CLI tars
// the context directory (less what .dockerignore excludes) and sends it to
// the daemon, which unpacks it into a directory of its own; a build never
// reads the user's directory itself. dockling has no daemon, but keeps that
// shape: the context is copied into a scratch directory of the state root,
// filtered, and every COPY reads from there. So a file excluded by
// .dockerignore cannot be copied, a file changed during the build does not
// change the build, and a context that came as a tar on stdin is the same
// thing as one that came as a directory.
import fs from 'node:fs';
import path from 'node:path';
import { RunError } from '../core/pipeline.js';
import { trace } from '../trace/trace.js';
import { ownedTempDir } from '../image/leftovers.js';
import { unpacker } from '../container/cp-archive.js';
import { O_PATH } from '../sys/libc.js';
import { openInRoot } from '../process/in-root.js';
import { parseDockerignore, isIgnored, dirMayHaveExceptions, type Pattern } from './dockerignore.js';

const CH = 9;

export interface BuildContext {
  /** the scratch directory holding the context's files */
  dir: string;
  /** the Dockerfile's text, and the name errors call it by */
  dockerfile: { name: string; text: string };
  /** bytes of file content in the context (Docker's "Sending build context … 2.048kB") */
  size: number;
  /** remove the scratch directory */
  close(): void;
}

export interface ContextOptions {
  stateRoot: string;
  /** PATH, or "-" for stdin */
  arg: string;
  /** -f: the Dockerfile, relative to the current directory (or "-" for stdin) */
  file?: string;
  stdin: NodeJS.ReadableStream;
}

async function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(Buffer.isBuffer(c) ? c : Buffer.from(c as string));
  return Buffer.concat(chunks);
}

const isTar = (b: Buffer) => (b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b) || (b.length >= 262 && b.subarray(257, 262).toString('latin1') === 'ustar');

// #region copy-context
/**
 * Copy `src` into `dst`, leaving out what .dockerignore excludes. An
 * excluded directory is still walked when an exception (`!pattern`) may
 * bring something under it back. Symlinks are copied as symlinks, never
 * followed: a link that points out of the context stays a link, and COPY
 * resolves it inside the context (sources.ts).
 */
function copyTree(src: string, dst: string, patterns: Pattern[], rel: string, skip: Set<string>): number {
  let size = 0;
  for (const name of fs.readdirSync(src).sort()) {
    const childRel = rel ? `${rel}/${name}` : name;
    const from = path.join(src, name);
    const to = path.join(dst, name);
    const st = fs.lstatSync(from);
    const ignored = isIgnored(patterns, childRel);
    if (st.isDirectory()) {
      if (ignored && !dirMayHaveExceptions(patterns, childRel)) continue;
      if (skip.has(`${st.dev}:${st.ino}`)) continue; // dockling's state root inside the context: never part of it
      fs.mkdirSync(to);
      size += copyTree(from, to, patterns, childRel, skip);
    } else if (ignored) continue;
    else if (st.isFile()) {
      fs.copyFileSync(from, to);
      size += st.size;
    } else if (st.isSymbolicLink()) fs.symlinkSync(fs.readlinkSync(from), to);
    else continue; // sockets, FIFOs, devices: not content (the docker CLI's tar skips sockets; a device has no place in a context)
    fs.lchownSync(to, st.uid, st.gid);
    if (!st.isSymbolicLink()) fs.chmodSync(to, st.mode & 0o7777);
    fs.lutimesSync(to, st.atime, st.mtime);
  }
  return size;
}
// #endregion copy-context

/** A tar context (from stdin) unpacked into `dir` by the same unpacker as `cp`: no name may climb out. */
async function unpackContext(tar: Buffer, dir: string): Promise<void> {
  const { gunzipSync } = await import('node:zlib');
  const bytes = tar[0] === 0x1f ? gunzipSync(tar) : tar;
  const fd = fs.openSync(dir, O_PATH | fs.constants.O_DIRECTORY);
  try {
    const u = unpacker({ rootFd: fd, dir: '/', owner: null, hostSide: true, show: (p) => p, warn: (m) => process.stderr.write(`dockling: ${m}\n`) });
    u.write(bytes);
    u.reader.end();
    u.finish();
  } catch (e) {
    throw new RunError(1, `unable to prepare context: the tar on stdin cannot be unpacked: ${(e as Error).message}`, { cause: e });
  } finally {
    fs.closeSync(fd);
  }
}

/** The Dockerfile's name inside a context: PATH/Dockerfile, or PATH/dockerfile as the docker CLI falls back to. */
function defaultDockerfile(dir: string): string {
  const upper = path.join(dir, 'Dockerfile');
  if (fs.existsSync(upper) || !fs.existsSync(path.join(dir, 'dockerfile'))) return upper;
  return path.join(dir, 'dockerfile');
}

function readDockerfile(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new RunError(1, `unable to prepare context: unable to evaluate symlinks in Dockerfile path: lstat ${path.resolve(file)}: no such file or directory`, { cause: e });
    if (code === 'EISDIR') throw new RunError(1, `unable to prepare context: the Dockerfile (${file}) cannot be a directory: name the file with -f`, { cause: e });
    throw new RunError(1, `unable to read the Dockerfile ${file}: ${(e as Error).message}`, { cause: e });
  }
}

/**
 * The Dockerfile inside a tar context: resolved inside the context (a
 * `Dockerfile -> /etc/shadow` symlink in the tar reads the context's own
 * /etc/shadow, which is not there), never a host path.
 */
function readInContext(dir: string, name: string): string {
  const dirFd = fs.openSync(dir, O_PATH | fs.constants.O_DIRECTORY);
  let fd: number | undefined;
  try {
    fd = openInRoot(dirFd, name, true);
    if (!fs.fstatSync(fd).isFile()) throw new RunError(1, `unable to prepare context: ${name} in the context is not a regular file`);
    return fs.readFileSync(`/proc/self/fd/${fd}`, 'utf8');
  } catch (e) {
    if (e instanceof RunError) throw e;
    throw new RunError(1, `unable to prepare context: the context on stdin has no ${name} (name it with -f): ${(e as Error).message}`, { cause: e });
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
    fs.closeSync(dirFd);
  }
}

// #region open-context
export async function openContext(o: ContextOptions): Promise<BuildContext> {
  if (/^(https?|git|ssh):\/\/|^git@|\.git$/.test(o.arg)) {
    throw new RunError(1, `unable to prepare context: ${o.arg} is a remote context (a URL or a Git repository): dockling builds offline, so clone or download it and build the directory`);
  }
  if (o.arg === '-' && o.file === '-') throw new RunError(1, 'invalid argument: can\'t use stdin for both build context and dockerfile');
  const dir = ownedTempDir(o.stateRoot, 'context');
  trace.emit(CH, { op: 'mkdir', path: dir, mode: 0o700 });
  const close = () => {
    trace.emit(CH, { op: 'remove', path: dir });
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    let text: string;
    let name = 'Dockerfile';
    let size = 0;
    if (o.arg === '-') {
      // stdin is a Dockerfile (no context at all) or a tar (the context, Dockerfile inside).
      const input = await readAll(o.stdin);
      if (isTar(input)) {
        await unpackContext(input, dir);
        name = o.file ?? 'Dockerfile';
        text = readInContext(dir, name);
      } else text = input.toString('utf8');
    } else {
      let st: fs.Stats;
      try {
        st = fs.statSync(o.arg);
      } catch (e) {
        throw new RunError(1, `unable to prepare context: path "${o.arg}" not found`, { cause: e });
      }
      if (!st.isDirectory()) throw new RunError(1, `unable to prepare context: context must be a directory: ${path.resolve(o.arg)}`);
      const file = o.file === '-' ? null : o.file ? path.resolve(o.file) : defaultDockerfile(o.arg);
      text = file ? readDockerfile(file) : (await readAll(o.stdin)).toString('utf8');
      if (file) name = path.relative(path.resolve(o.arg), file).startsWith('..') ? path.basename(file) : path.relative(path.resolve(o.arg), file);
      let patterns: Pattern[] = [];
      const ignoreFile = path.join(o.arg, '.dockerignore');
      try {
        if (fs.existsSync(ignoreFile)) patterns = parseDockerignore(fs.readFileSync(ignoreFile, 'utf8'));
      } catch (e) {
        throw new RunError(1, `unable to prepare context: .dockerignore: ${(e as Error).message}`, { cause: e });
      }
      // The state root (and so this scratch directory) may lie inside the
      // context: copying it into itself would never end. It is left out.
      const rootSt = fs.statSync(o.stateRoot);
      try {
        size = copyTree(o.arg, dir, patterns, '', new Set([`${rootSt.dev}:${rootSt.ino}`]));
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (!code) throw e;
        throw new RunError(1, `unable to prepare context: ${(e as Error).message.replace(/^\w+: /, '')}: fix the file's permissions, or leave it out with .dockerignore`, { cause: e });
      }
    }
    trace.emit(CH, { op: 'write', path: dir, value: `the build context (${size} bytes of files), less what .dockerignore excludes` });
    return { dir, dockerfile: { name, text }, size, close };
  } catch (e) {
    close();
    throw e;
  }
}
// #endregion open-context
