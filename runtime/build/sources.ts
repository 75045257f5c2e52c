// COPY and ADD's sources: found in the build context, never outside it.
//
// The context is a directory dockling made (context.ts): the user's
// directory, filtered by .dockerignore, or a tar from stdin, unpacked. Every
// source is opened with openat2(RESOLVE_IN_ROOT) from a descriptor of that
// directory: `..`, an absolute path and a symlink that points out all stop
// at the context's root, as Docker's scoped path resolution makes them.
// A name that climbs above the root before any symlink (`COPY ../x`) is
// refused with Docker's words, since that is what the user asked for.
import fs from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { openInRoot, errnoOf } from '../process/in-root.js';
import { readlinkFd } from '../sys/libc.js';
import { RunError } from '../core/pipeline.js';
import { matchPattern } from './glob.js';

const { O_DIRECTORY } = fs.constants;

/** One source, found: its path in the context, held open (O_PATH). */
export interface Source {
  /** the path relative to the context root, cleaned ("." for the root itself) */
  rel: string;
  fd: number;
  isDir: boolean;
}

const hasWildcards = (p: string) => /[*?[\\]/.test(p);

/** The name as a path under the context root, or null when it climbs out (`../x`). */
export function contextPath(src: string): string | null {
  const parts: string[] = [];
  for (const part of src.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (src.startsWith('/')) continue; // "/.." is "/": an absolute path is relative to the context root
      if (!parts.length) return null;
      parts.pop();
    } else parts.push(part);
  }
  return parts.join('/') || '.';
}

/** Every path in the context (relative, "/"-separated), directories before what they hold. */
function walk(rootFd: number, rel: string, out: string[]): void {
  let fd: number;
  try {
    fd = openInRoot(rootFd, rel, false, O_DIRECTORY);
  } catch {
    return; // not a directory
  }
  try {
    for (const name of fs.readdirSync(`/proc/self/fd/${fd}`).sort()) {
      const child = rel === '.' ? name : `${rel}/${name}`;
      out.push(child);
      walk(rootFd, child, out);
    }
  } finally {
    fs.closeSync(fd);
  }
}

// #region find-sources
/**
 * The sources one COPY names: each is a path or a pattern (Go's
 * filepath.Match: `*` never crosses a `/`), relative to the context root.
 * `instruction` names the step in Docker's messages ("COPY failed: …").
 */
export function findSources(rootFd: number, srcs: string[], instruction: string): Source[] {
  const found: Source[] = [];
  const open = (rel: string): Source => {
    const fd = openInRoot(rootFd, rel, true);
    return { rel, fd, isDir: fs.fstatSync(fd).isDirectory() };
  };
  try {
    for (const src of srcs) {
      const rel = contextPath(src);
      if (rel === null) throw new RunError(1, `${instruction} failed: forbidden path outside the build context: ${src} ()`);
      if (!hasWildcards(src)) {
        try {
          found.push(open(rel));
        } catch (e) {
          if (errnoOf(e) !== 'ENOENT' && errnoOf(e) !== 'ENOTDIR') throw e;
          throw new RunError(1, `${instruction} failed: file not found in build context or excluded by .dockerignore: stat ${src}: file does not exist`);
        }
        continue;
      }
      const all: string[] = [];
      walk(rootFd, '.', all);
      let matched;
      try {
        matched = all.filter((p) => matchPattern(rel, p));
      } catch (e) {
        throw new RunError(1, `${instruction} failed: ${(e as Error).message}: ${src}`, { cause: e });
      }
      // A directory matched whole takes what it holds along: drop its children.
      const dirs = new Set<string>();
      for (const p of matched) {
        if ([...dirs].some((d) => p.startsWith(d + '/'))) continue;
        const s = open(p);
        if (s.isDir) dirs.add(p);
        found.push(s);
      }
      if (!matched.length) throw new RunError(1, `${instruction} failed: no source files were specified`);
    }
  } catch (e) {
    for (const s of found) fs.closeSync(s.fd);
    throw e;
  }
  return found;
}
// #endregion find-sources

export function closeSources(sources: Source[]): void {
  for (const s of sources) fs.closeSync(s.fd);
}

// #region source-checksum
/**
 * The cache's view of the sources: a sha256 over every entry's name, type,
 * mode, owner, link target and content, in name order. Times are left out,
 * as Docker's classic builder leaves them out: touching a file or checking
 * the context out again does not break the cache, changing a byte does.
 * Returned in Docker's form: "file:…" for one file, "dir:…" for one
 * directory, "multi:…" for several sources.
 */
export function sourcesChecksum(sources: Source[]): string {
  const all = createHash('sha256');
  for (const s of sources) all.update(`${s.rel}\0${entryHash(s.fd)}\0`);
  if (sources.length === 1) return `${sources[0].isDir ? 'dir' : 'file'}:${entryHash(sources[0].fd)}`;
  return `multi:${all.digest('hex')}`;
}

function entryHash(fd: number): string {
  const h = createHash('sha256');
  const one = (entryFd: number, name: string) => {
    const st = fs.fstatSync(entryFd);
    h.update(`${name}\0${st.mode}\0${st.uid}:${st.gid}\0`);
    if (st.isSymbolicLink()) h.update(readlinkFd(entryFd));
    else if (st.isFile()) h.update(fs.readFileSync(`/proc/self/fd/${entryFd}`));
    else if (st.isDirectory()) {
      for (const child of fs.readdirSync(`/proc/self/fd/${entryFd}`).sort()) {
        const cfd = openInRoot(entryFd, child, false);
        try {
          one(cfd, path.posix.join(name, child));
        } finally {
          fs.closeSync(cfd);
        }
      }
    }
    h.update('\n');
  };
  one(fd, '.');
  return h.digest('hex');
}
// #endregion source-checksum
