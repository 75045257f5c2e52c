// What chapter 7's tests share: a state root with the usual leak check
// (chapter.ts), and a volume check beside it: after each test, the volumes
// in the state root are the ones it had before (a test removes what it made).
import { afterEach, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { dockling } from '../../helpers/dockling.ts';
import { expectCode, runners, useStateRoot } from '../../helpers/chapter.ts';

/** The volumes on disk: the names under <root>/volumes (its lock and dot files aside). */
export function volumesOn(root: string): string[] {
  try {
    return fs.readdirSync(path.join(root, 'volumes')).filter((n) => !n.startsWith('.')).sort();
  } catch {
    return []; // no volume made yet
  }
}

export function chapter7(label: string) {
  const root = useStateRoot(label);
  const { run, ok } = runners(root);
  let before: string[] = [];
  beforeEach(() => {
    before = volumesOn(root());
  });
  afterEach(() => {
    assert.deepEqual(volumesOn(root()), before, 'the volumes are the ones there were before the test');
  });
  const cli = (args: string[]) => dockling(root(), args);
  const cliOk = (args: string[]) => expectCode(cli(args), 0).stdout;
  return {
    root,
    run,
    ok,
    cli,
    cliOk,
    /** a volume's _data on the host */
    data: (name: string) => path.join(root(), 'volumes', name, '_data'),
    /** remove containers (with their anonymous volumes) and named volumes, whatever state they are in */
    cleanup(containers: string[], volumes: string[] = []) {
      if (containers.length) cli(['rm', '-f', '-v', ...containers]);
      if (volumes.length) cli(['volume', 'rm', '-f', ...volumes]);
    },
    /** an image made from busybox by a shell script and --change lines (commit) */
    image(tag: string, script: string, changes: string[] = []) {
      const name = `mk-${tag.replace(/[^a-z0-9]/g, '-')}`;
      try {
        expectCode(cli(['run', '--name', name, 'busybox', 'sh', '-c', script]), 0);
        expectCode(cli(['commit', ...changes.flatMap((c) => ['--change', c]), name, tag]), 0);
      } finally {
        cli(['rm', '-f', name]);
      }
    },
  };
}
