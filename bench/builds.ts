// Chapter 9's rows: `build` of a 5-step Dockerfile (two RUNs, a COPY, an
// ENV and a CMD after its FROM), with --no-cache (every step made: two
// containers run and committed, a COPY through a scratch layer, three
// images of config) and again from the cache (every step found), against
// docker's classic builder (DOCKER_BUILDKIT=0) on the bench's own dockerd.

import fs from 'node:fs';
import path from 'node:path';

/** The Dockerfile, FROM the image each side has: busybox for dockling, the bench's import for docker. */
export const buildDockerfile = (from: string) => `FROM ${from}
RUN echo one > /one
COPY app.txt /srv/app.txt
RUN cat /srv/app.txt > /srv/copy
ENV MODE=prod
CMD ["cat", "/srv/copy"]
`;

/** Two contexts under `dir` (one per side, the same file), made once; returns their paths. */
export function makeBuildContexts(dir: string, dockerImage: string): { dockling: string; docker: string } {
  const out = { dockling: path.join(dir, 'ctx-dockling'), docker: path.join(dir, 'ctx-docker') };
  for (const [side, from] of [['dockling', 'busybox'], ['docker', dockerImage]] as const) {
    fs.mkdirSync(out[side], { recursive: true });
    fs.writeFileSync(path.join(out[side], 'Dockerfile'), buildDockerfile(from));
    fs.writeFileSync(path.join(out[side], 'app.txt'), 'the file the COPY step copies\n');
  }
  return out;
}

/** The ratio rows: each dockling build against docker's same build. */
export function buildRatioRows(med: (key: string) => number, withDocker: boolean) {
  if (!withDocker) return [];
  return [
    { label: 'dockling build --no-cache (5 steps)', medianMs: med('dockling-build-nocache'), peer: 'DOCKER_BUILDKIT=0 docker build --no-cache', peerMs: med('docker-build-nocache') },
    { label: 'dockling build, all from the cache', medianMs: med('dockling-build-cached'), peer: 'DOCKER_BUILDKIT=0 docker build, all from the cache', peerMs: med('docker-build-cached') },
  ];
}
