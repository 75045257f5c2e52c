// Chapter 9's layer: Dockerfile builds. It adds no stage to `run`: a build
// is made of runs (each RUN is a container of the pipeline, chapters 1-7
// and 11) and of commits (chapter 4's layers), put in order by a
// Dockerfile. It adds `build` and `builder prune`.
import type { Layer } from '../core/layer.js';
import { buildCommand } from './build-command.js';

export const buildLayer: Layer = {
  chapter: 9,
  name: 'builds',
  runFlags: [],
  commands: [buildCommand],
  stages: {},
};
