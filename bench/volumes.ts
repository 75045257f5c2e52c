// Chapter 7's rows: what volumes cost a container's start. Five named
// volumes (made by the first run, found by every later one: a bind mount
// each, made by the init in the container's mount namespace) and five
// anonymous ones (made, mounted and removed again by every --rm run),
// each against the same run with none; docker with five named volumes as
// the peer when dockerd runs.

import fs from 'node:fs';
import path from 'node:path';

export const FIVE_VOLUMES = [1, 2, 3, 4, 5].flatMap((i) => ['-v', `bv${i}:/v${i}`]);
export const FIVE_ANONYMOUS = [1, 2, 3, 4, 5].flatMap((i) => ['-v', `/a${i}`]);

export function volumeRatioRows(med: (key: string) => number, withDocker: boolean) {
  const rows = [
    { label: 'dockling run --rm, 5 named volumes', medianMs: med('dockling-volumes5'), peer: 'dockling run --rm, no volume', peerMs: med('dockling') },
    { label: 'dockling run --rm, 5 anonymous volumes (made and removed)', medianMs: med('dockling-anon5'), peer: 'dockling run --rm, no volume', peerMs: med('dockling') },
  ];
  if (withDocker) {
    rows.push(
      { label: 'dockling run --rm, 5 named volumes', medianMs: med('dockling-volumes5'), peer: 'docker run --rm, 5 named volumes', peerMs: med('docker-volumes5') },
      { label: 'docker run --rm, 5 named volumes', medianMs: med('docker-volumes5'), peer: 'docker run --rm, no volume', peerMs: med('docker-bridge') },
    );
  }
  return rows;
}

/** Volumes the runs left that they should not have: every --rm run removes its anonymous ones. */
export function strayVolumes(stateRoot: string): string[] {
  let names: string[];
  try {
    names = fs.readdirSync(path.join(stateRoot, 'volumes'));
  } catch {
    return []; // no volume made (the rows did not run)
  }
  return names.filter((n) => !n.startsWith('.') && !/^bv[1-5]$/.test(n)).map((n) => `volume ${n} (an anonymous volume a --rm run did not remove)`);
}
