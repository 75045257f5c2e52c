// Chapter 8's layer: registries. It adds `pull`, `push`, `login`,
// `logout` and `search`, the `--pull` flag of `run` and `create`, and
// fills chapter 4's pullImage hook, so that `run` fetches an image it does
// not have, as `docker run` does.
import type { Layer } from '../core/layer.js';
import { openStores } from '../image/open-stores.js';
import { registryCommands } from './commands.js';
import { pullImage } from './pull.js';
import { formatReference, parseReference } from '../image/reference.js';
import { fromDaemon } from './commands.js';

const CH = 8;

export const registryLayer: Layer = {
  chapter: CH,
  name: 'registries',
  runFlags: [
    { name: 'pull', kind: 'string', valueName: 'string', usage: 'Pull image before running ("always"|"missing"|"never") (default "missing")' },
  ],
  commands: registryCommands,
  // What --pull means is read where the image is looked up: chapter 4's validate.
  stages: {},
  async pullImage(stateRoot, name, out) {
    try {
      // The docker CLI adds ":latest" before it asks: no "Using default tag" line.
      return (await pullImage(openStores(stateRoot), formatReference(parseReference(name)), out, { tty: false })).id;
    } catch (e) {
      throw fromDaemon(e);
    }
  },
};
