// What chapter 9's tests share: a state root with the usual leak check
// (chapter.ts), and a store check beside it: after each test, the images,
// the layers and the layerdb mounts in the state root are the ones it had
// before. A build makes an image per step; a test removes what it built
// (rmi of the last image takes the untagged steps below it along).
import { after, afterEach, before, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { dockling, type Result } from '../../helpers/dockling.ts';
import { expectCode, useStateRoot } from '../../helpers/chapter.ts';

const ls = (dir: string) => {
  try {
    return fs.readdirSync(dir).filter((n) => !n.startsWith('.')).sort();
  } catch {
    return []; // not made yet
  }
};

/** What a build may leave: image configs, layers, writable layers, scratch directories. */
export function storeOf(root: string): Record<string, string[]> {
  const home = path.join(root, 'image/overlay2');
  return {
    images: ls(path.join(home, 'imagedb/content/sha256')),
    layers: ls(path.join(home, 'layerdb/sha256')),
    mounts: ls(path.join(home, 'layerdb/mounts')),
    overlay2: ls(path.join(root, 'overlay2')).filter((n) => n !== 'l'),
    scratch: ls(path.join(root, 'tmp')),
  };
}

/** A build context: files by relative path (a string is a file's content; {link} a symlink; {mode} a file with that mode). */
export type Files = Record<string, string | { link: string } | { content: string; mode: number }>;

export function writeContext(dir: string, files: Files): void {
  for (const [rel, f] of Object.entries(files)) {
    const p = path.join(dir, rel);
    fs.mkdirSync(path.dirname(p), { recursive: true });
    if (typeof f === 'string') fs.writeFileSync(p, f);
    else if ('link' in f) fs.symlinkSync(f.link, p);
    else fs.writeFileSync(p, f.content, { mode: f.mode });
  }
}

export function chapter9(label: string) {
  const root = useStateRoot(label);
  const contexts: string[] = [];
  let before9: Record<string, string[]> = {};
  const cli = (args: string[], opts: Parameters<typeof dockling>[2] = {}): Result => dockling(root(), args, opts);
  before(() => {
    // busybox:latest is made on first use: made now, so that it is part of the "before".
    expectCode(cli(['image', 'inspect', 'busybox']), 0);
  });
  beforeEach(() => {
    before9 = storeOf(root());
  });
  afterEach(() => {
    assert.deepEqual(storeOf(root()), before9, 'the image store is as it was before the test (images, layers, mounts, scratch)');
  });
  after(() => {
    for (const d of contexts) fs.rmSync(d, { recursive: true, force: true });
  });
  return {
    root,
    cli,
    cliOk: (args: string[], opts: Parameters<typeof dockling>[2] = {}) => expectCode(cli(args, opts), 0).stdout,
    /** a new context directory with these files (removed after the file's last test) */
    context(files: Files): string {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ch9-ctx-'));
      contexts.push(dir);
      writeContext(dir, files);
      return dir;
    },
    /** `dockling build ARGS… CONTEXT` */
    build: (dir: string, args: string[] = [], opts: Parameters<typeof dockling>[2] = {}) => cli(['build', ...args, dir], opts),
    /** remove images (their untagged steps go with them) */
    rmi: (...refs: string[]) => refs.length && cli(['rmi', '-f', ...refs]),
  };
}

/** The image IDs a build printed, one per step (" ---> 1a2b3c4d5e6f"). */
export const stepIds = (out: string) => [...out.matchAll(/^ ---> ([0-9a-f]{12})$/gm)].map((m) => m[1]);
/** How many steps came from the cache. */
export const cacheHits = (out: string) => (out.match(/^ ---> Using cache$/gm) ?? []).length;
/** The built image's short ID. */
export const builtId = (out: string) => /^Successfully built ([0-9a-f]{12})$/m.exec(out)?.[1];
