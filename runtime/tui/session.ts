// What the walkthrough keeps outside its screen: the scratch state root its
// steps run in (and the clean-up of everything they made there), whether
// this machine can run them at all, and the learner's progress.
//
// No Ink here: `--script` uses this file alone.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeFileAtomic } from '../core/files.js';

// #region read-only
/**
 * Why this machine cannot run the steps (null when it can). Namespaces,
 * cgroups and mounts are Linux's, and making them takes root: elsewhere the
 * walkthrough opens read-only, with these words on how to get a machine
 * that can.
 */
export function cannotRun(platform = process.platform, uid = process.getuid?.()): string | null {
  const vm = 'Get the VM: `cd vagrant && vagrant up && vagrant ssh`, then `cd /dockling && sudo npm start` (see README.md).';
  if (platform !== 'linux') return `Read-only: the steps need Linux (namespaces, cgroups and mounts are Linux's), and this is ${platform}. ${vm}`;
  if (uid !== 0) return `Read-only: the steps need root (they make namespaces, cgroups and mounts). Run \`sudo npm start\`, or on a machine where you cannot: ${vm}`;
  return null;
}
// #endregion read-only

// #region scratch-root
/** The walkthrough's own state root, never the learner's /var/lib/dockling. */
export function makeScratchRoot(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'dockling-walkthrough-'));
}

/** The CLI the clean-up runs (this file runs from runtime/tui/ under tsx, and from dist/). */
function docklingBin(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!fs.existsSync(path.join(dir, 'package.json')) && dir !== '/') dir = path.dirname(dir);
  return process.env.DOCKLING_BIN ?? path.join(dir, 'bin/dockling.js');
}

/** Mount points inside a directory, deepest first (the order they can be unmounted in). */
export function mountsInside(dir: string): string[] {
  return fs
    .readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4])
    .filter((p) => p && p.startsWith(dir + '/'))
    .sort((a, b) => b.length - a.length);
}

/**
 * Remove everything the steps made in the scratch root, whatever state the
 * walkthrough was left in (quit half-way through chapter 5, `web` still
 * running): every container removed with `rm -f` (which kills it and frees
 * its cgroup, mounts and layers), the networks a chapter made pruned, any
 * mount still inside unmounted, then the directory itself. Returns what
 * could not be removed, for the screen to say.
 */
export function cleanUpScratchRoot(root: string, chapter: number): string[] {
  if (!fs.existsSync(root)) return [];
  const dockling = (...args: string[]) =>
    spawnSync(process.execPath, ['--', docklingBin(), '--root', root, ...args], {
      env: { ...process.env, DOCKLING_CHAPTER: String(chapter) },
      stdio: 'ignore',
      timeout: 30_000,
    });
  // A step stopped half-way (quit while `run -d` was making its container)
  // may still be writing here for a moment as it ends: go round again until
  // the directory is gone, for up to about five seconds.
  let left: string[] = [];
  for (let round = 0; round < 10; round++) {
    if (round > 0) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 500);
    const containers = path.join(root, 'containers');
    const ids = fs.existsSync(containers) ? fs.readdirSync(containers).filter((f) => /^[0-9a-f]{64}$/.test(f)) : [];
    if (ids.length) dockling('rm', '-f', ...ids);
    if (chapter >= 6 && fs.existsSync(path.join(root, 'network'))) dockling('network', 'prune', '-f');
    left = [];
    for (const m of os.platform() === 'linux' ? mountsInside(root) : []) {
      const r = spawnSync('umount', ['--lazy', m], { stdio: 'ignore' });
      if (r.status !== 0) left.push(`mount ${m}`);
    }
    try {
      fs.rmSync(root, { recursive: true, force: true });
      return left;
    } catch (e) {
      left.push(`${root}: ${(e as Error).message}`);
    }
  }
  return left;
}
// #endregion scratch-root

// #region progress
export interface ChapterProgress {
  /** the steps whose check held, by index */
  done: number[];
  /** the step the learner was at */
  current: number;
}
export interface Progress {
  chapters: Record<string, ChapterProgress>;
  /** the chapter last opened */
  last?: number;
}

/** Per user: in the home directory ($DOCKLING_PROGRESS moves it, for tests). */
export function progressFile(): string {
  return process.env.DOCKLING_PROGRESS ?? path.join(os.homedir(), '.dockling', 'walkthrough.json');
}

export function loadProgress(file = progressFile()): Progress {
  try {
    const p = JSON.parse(fs.readFileSync(file, 'utf8'));
    if (p && typeof p === 'object' && p.chapters && typeof p.chapters === 'object') return p as Progress;
  } catch {
    /* none yet, or unreadable: start afresh rather than refuse to open */
  }
  return { chapters: {} };
}

/** Written whole or not at all (writeFileAtomic: a temporary file renamed over the old one). */
export function saveProgress(p: Progress, file = progressFile()): void {
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    writeFileAtomic(file, JSON.stringify(p, null, 2) + '\n');
  } catch {
    /* a home we cannot write (read-only, another user's): progress is not kept, the guide goes on */
  }
}

export function resetProgress(file = progressFile()): void {
  fs.rmSync(file, { force: true });
}

/** done, current or not yet: how the chapter list shows a chapter. */
export function chapterState(p: Progress, chapter: number, steps: number): 'done' | 'current' | 'not yet' {
  const c = p.chapters[String(chapter)];
  if (!c) return p.last === chapter ? 'current' : 'not yet';
  if (steps > 0 && new Set(c.done).size >= steps) return 'done';
  return 'current';
}
// #endregion progress
