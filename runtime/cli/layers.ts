// Every layer dockling has, one per chapter written so far. `--chapter N`
// keeps the layers with chapter <= N.
import type { Layer } from '../core/layer.js';
import { namespacesLayer } from '../process/layer.js';
import { cgroupsLayer } from '../cgroups/layer.js';
import { imagesLayer } from '../image/layer.js';
import { overlay2Layer } from '../storage/overlay2-layer.js';
import { containersLayer } from '../container/layer.js';
import { networkLayer } from '../network/layer.js';
import { volumesLayer } from '../volume/layer.js';
import { registryLayer } from '../registry/layer.js';
import { buildLayer } from '../build/layer.js';
import { hardeningLayer } from '../security/layer.js';

export const ALL_LAYERS: Layer[] = [namespacesLayer, cgroupsLayer, imagesLayer, overlay2Layer, containersLayer, networkLayer, volumesLayer, registryLayer, buildLayer, hardeningLayer];

export const LATEST_CHAPTER = Math.max(...ALL_LAYERS.map((l) => l.chapter));

export function layersUpTo(chapter: number): Layer[] {
  return ALL_LAYERS.filter((l) => l.chapter <= chapter);
}
