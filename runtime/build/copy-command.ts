// COPY and ADD as steps: read the flags and words, find the sources (in the
// context, or with --from in another stage's image), make the cache's key
// from their content, and write them with a layer step (copy-step.ts).
import fs from 'node:fs';
import path from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { RunError } from '../core/pipeline.js';
import { chainIDs } from '../core/digest.js';
import { selfStamp } from '../core/files.js';
import { O_PATH } from '../sys/libc.js';
import { NoSuchImageError } from '../image/image-store.js';
import { ensureBusyboxImage, BUSYBOX } from '../image/busybox.js';
import { familiarString, parseReference } from '../image/reference.js';
import { openInRoot } from '../process/in-root.js';
import { resolveUser } from '../container/user.js';
import type { Instruction } from './ast.js';
import { expandHeredoc, ExpandError } from './words.js';
import { closeSources, findSources, sourcesChecksum, type Source } from './sources.js';
import { copyInto, layerStep } from './copy-step.js';
import { cachedOr, DEFAULT_SHELL, type BuildRun } from './dispatch.js';
import { expansionEnv, type BuildConfig, type StageState } from './state.js';

type CopyInstruction = Instruction & { keyword: 'COPY' | 'ADD' };

/** --chmod=755: octal, as Docker reads it. */
function parseChmod(text: string, keyword: string): number {
  if (!/^[0-7]{1,4}$/.test(text)) throw new RunError(1, `${keyword} --chmod=${text}: invalid chmod parameter: write the mode in octal, e.g. --chmod=755`);
  return parseInt(text, 8);
}

/** A file of the image, read through a descriptor resolved inside it ('' when missing, as runc reads /etc/passwd). */
function readInImage(rootFd: number, p: string): string {
  try {
    const fd = openInRoot(rootFd, p, true);
    try {
      return fs.fstatSync(fd).isFile() ? fs.readFileSync(`/proc/self/fd/${fd}`, 'utf8') : '';
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return '';
  }
}

/** --chown=user:group, by name (the image's /etc/passwd and /etc/group, read inside it) or by number. */
function ownerIn(rootFd: number, spec: string, keyword: string): { uid: number; gid: number } {
  const numeric = /^\d+(:\d+)?$/.exec(spec);
  if (numeric) {
    const [u, g] = spec.split(':');
    return { uid: Number(u), gid: Number(g ?? u) };
  }
  try {
    const u = resolveUser(spec, [], readInImage(rootFd, '/etc/passwd'), readInImage(rootFd, '/etc/group'));
    // A user alone gets the same-numbered group, as Docker's --chown does (not the user's primary group).
    return { uid: u.uid, gid: spec.includes(':') ? u.gid : u.uid };
  } catch (e) {
    throw new RunError(1, `${keyword} --chown=${spec}: ${(e as Error).message}`, { cause: e });
  }
}

// #region copy-from
/**
 * The directory COPY reads from: the context, or with --from the root of
 * another image (an earlier stage's, by name or index, or any image by
 * name), mounted read-only for the step and let go after it.
 */
async function withSourceRoot<T>(b: BuildRun, from: string | null, fn: (rootFd: number) => Promise<T>): Promise<T> {
  if (from === null) {
    const fd = fs.openSync(b.contextDir, O_PATH | fs.constants.O_DIRECTORY);
    try {
      return await fn(fd);
    } finally {
      fs.closeSync(fd);
    }
  }
  let imageID = b.stageImages.get(from.toLowerCase());
  if (!imageID) {
    try {
      imageID = b.s.images.resolve(from);
    } catch (e) {
      if (!(e instanceof NoSuchImageError)) throw e;
      let name = from;
      try {
        name = familiarString(parseReference(from));
      } catch {
        throw new RunError(1, `COPY --from=${from}: no stage and no image of that name (invalid reference format)`, { cause: e });
      }
      if (name !== BUSYBOX) throw new RunError(1, `COPY --from=${from}: no stage of that name, and no image ${name} here (pulling comes with chapter 8)`, { cause: e });
      imageID = await b.s.images.lockedAsync(() => ensureBusyboxImage(b.s));
    }
  }
  const image = b.s.images.get(imageID);
  if (!image.rootfs.diff_ids.length) return fn(-1); // an empty (scratch) stage: nothing to copy
  const id = `build-${selfStamp()}-${randomBytes(6).toString('hex')}`;
  const m = b.s.images.locked(() => b.s.layers.createMount(id, chainIDs(image.rootfs.diff_ids).at(-1)!));
  try {
    const fd = fs.openSync(b.s.driver.get(m.mountID), O_PATH | fs.constants.O_DIRECTORY);
    try {
      return await fn(fd);
    } finally {
      fs.closeSync(fd);
    }
  } finally {
    b.s.driver.put(m.mountID);
    b.s.images.locked(() => b.s.layers.removeMount(id));
  }
}
// #endregion copy-from

export async function copyStep(b: BuildRun, st: StageState, ins: CopyInstruction, config: BuildConfig, x: (w: string) => string): Promise<string> {
  const k = ins.keyword;
  const srcs = ins.sources.map(x);
  for (const src of srcs) {
    if (/^https?:\/\//i.test(src)) {
      if (k === 'COPY') throw new RunError(1, `COPY failed: source can't be a URL for COPY: ${src}`);
      throw new RunError(1, `ADD failed: ${src} is a URL, and dockling builds offline: download it into the build context and ADD (or COPY) the file`);
    }
  }
  const rawDest = x(ins.dest);
  const destIsDir = rawDest.endsWith('/') || rawDest.endsWith('/.') || rawDest === '.';
  const dest = path.posix.resolve(config.WorkingDir || '/', rawDest);
  if (srcs.length + ins.heredocs.length > 1 && !destIsDir) {
    throw new RunError(1, `When using ${k} with more than one source file, the destination must be a directory and end with a /`);
  }
  const chmod = ins.chmod === null ? null : parseChmod(x(ins.chmod), k);
  const chown = ins.chown === null ? null : x(ins.chown);
  const env = expansionEnv(st);
  let inline: { name: string; content: string }[];
  try {
    inline = ins.heredocs.map((h) => ({ name: h.name, content: h.expand ? expandHeredoc(h.content, env, b.escape) : h.content }));
  } catch (e) {
    if (e instanceof ExpandError) throw new RunError(1, `${e.message} (${k} on line ${ins.line})`, { cause: e });
    throw e;
  }
  const from = ins.from === null ? null : x(ins.from);
  return withSourceRoot(b, from, async (srcFd) => {
    const sources: Source[] = srcFd < 0 ? [] : findSources(srcFd, srcs.filter((s) => !ins.heredocs.some((h) => `<<${h.name}` === s)), k);
    try {
      if (sources.length + inline.length > 1 && !destIsDir) {
        throw new RunError(1, `When using ${k} with more than one source file, the destination must be a directory and end with a /`);
      }
      // The cache's key: what the sources hold, where they go, and how.
      const inlineHash = inline.length ? 'heredoc:' + createHash('sha256').update(JSON.stringify(inline)).digest('hex') : '';
      const what = [sources.length ? sourcesChecksum(sources) : '', inlineHash].filter(Boolean).join(' ');
      const flags = [from !== null ? `--from=${from}` : '', chown !== null ? `--chown=${chown}` : '', chmod !== null ? `--chmod=${chmod.toString(8)}` : ''].filter(Boolean);
      const comment = `${k} ${[...flags, what].join(' ')} in ${rawDest} `;
      const containerConfig: BuildConfig = { ...config, Cmd: [...(config.Shell ?? DEFAULT_SHELL), `#(nop) ${comment}`] };
      return await cachedOr(b, st, containerConfig, () =>
        layerStep(b.s, st, async (rootFd) => {
          const owner = chown === null ? null : ownerIn(rootFd, chown, k);
          await copyInto(rootFd, { instruction: k, sources, inline, dest: destIsDir ? dest + '/' : dest, destIsDir, owner, chmod, extract: k === 'ADD' });
        }, { config, containerConfig, createdBy: containerConfig.Cmd!.join(' ') }),
      );
    } finally {
      closeSources(sources);
    }
  });
}
