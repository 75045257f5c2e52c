// Chapter 9's layer: Dockerfile builds. It adds no stage to `run`: a build
// is made of runs (each RUN is a container of the pipeline, chapters 1-7
// and 11) and of commits (chapter 4's layers), put in order by a
// Dockerfile. It adds `build` and `builder prune`.
import type { Command, Layer } from '../core/layer.js';
import { humanSize } from '../core/format.js';
import { openStores } from '../image/open-stores.js';
import { confirmed, pruneImages } from '../image/prune.js';
import { buildCommand } from './build-command.js';

/**
 * The classic builder's cache is its images: a step's image is found again
 * as a child of the step before. The ones no name and no other image keeps
 * (a build stage's last step, a rebuilt step's old image) are dangling;
 * `builder prune` removes them, and the untagged steps only they stood on.
 */
const builderPruneCommand: Command = {
  name: 'builder prune',
  summary: 'Remove build cache',
  usage: 'builder prune [OPTIONS]',
  maxArgs: 0,
  flags: [{ name: 'force', short: 'f', kind: 'bool', usage: 'Do not prompt for confirmation' }],
  async run(inv) {
    if (!inv.flags.get('force') && !(await confirmed('WARNING! This will remove all dangling build cache.'))) return 0;
    const { lines, reclaimed } = await pruneImages(openStores(inv.stateRoot), false);
    const ids = lines.filter((l) => l.startsWith('deleted: ')).map((l) => l.slice('deleted: '.length));
    process.stdout.write(`${ids.length ? `Deleted build cache objects:\n${ids.join('\n')}\n\n` : ''}Total reclaimed space: ${humanSize(reclaimed)}\n`);
    return 0;
  },
};

export const buildLayer: Layer = {
  chapter: 9,
  name: 'builds',
  runFlags: [],
  commands: [buildCommand, builderPruneCommand],
  stages: {},
};
