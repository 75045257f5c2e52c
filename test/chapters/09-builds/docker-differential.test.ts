// Differential: `dockling build` against Docker's classic builder
// (DOCKER_BUILDKIT=0, the builder whose output, history and cache dockling
// follows), on a private dockerd 20.10 of this file's own (its network
// namespace, its docker0; test/helpers/docker-differential.ts). Both sides
// build the same Dockerfiles from the same context directories, FROM the
// same busybox image, and their outputs are compared after normalising what
// must differ (IDs, times, sizes, "docker"/"dockling").
//
// Two differences are the design's and are taken out before comparing,
// rather than listed per step: dockling prints no "Sending build context to
// Docker daemon" line (it has no daemon), and makes no container for a
// step that only changes the config (Docker's classic builder makes one
// that never runs, to commit it), so the " ---> Running in" and "Removing
// intermediate container" lines are compared by the chapter's own tests
// (seed.test.ts counts one container per RUN) and dropped here.
//
// test/run.ts runs it with layers 1..9 (every test must pass) and 1..8
// (every test must fail: there is no `build`).
import { test } from 'node:test';
import fs from 'node:fs';
import path from 'node:path';
import { check, differential, newReport, privateDockerd, whyNoDockerd, type Table } from '../../helpers/docker-differential.js';
import { chapter9 } from './helpers.ts';
import { SEED_DOCKERFILE } from '../../../chapters/09-builds/demo.js';

// The docker side's client builds with the classic builder.
process.env.DOCKER_BUILDKIT = '0';

const skip = whyNoDockerd();
const t = chapter9('ch9-differential');
const daemon = privateDockerd({ skip, label: 'differential9', networkArgs: ['--iptables=true', '--ip-masq=true'], root: () => t.root() });

/** The lines only one side has by design (see the top of the file); the legacy-builder banner of newer docker CLIs. */
const BUILD_NOISE = /^(Sending build context to Docker daemon.*|.*---> Running in <id>|Removing intermediate container <id>|DEPRECATED: The legacy builder.*|\s+Install the buildx component.*|\s+https:\/\/docs\.docker\.com\/go\/buildx\/)\r*\n/gm;
const build = (s: string) => s.replace(/\r/g, '').replace(BUILD_NOISE, '');

/** Differences dockling keeps on purpose, or that Docker's versions allow. */
const ALLOWED: Table = {
  'parse-error': {
    stderr: 'dockling adds the file, the lines around the mistake and a marker under the classic builder\'s line (BuildKit\'s form), and the "did you mean" hint BuildKit gives',
  },
};

const { compare, both } = differential(daemon, () => t.root(), [ALLOWED]);

const SEED = SEED_DOCKERFILE;

const CONFIG = `FROM busybox
ENV APP=/srv/app MODE=prod
WORKDIR $APP
COPY note.txt ./
USER nobody
LABEL team="the lab"
VOLUME /data
STOPSIGNAL SIGINT
ENTRYPOINT ["cat"]
CMD ["note.txt"]
`;

test('build: the seed with -t, its cache, history and config; config steps; a failing RUN, a parse error, a missing file, -q', { skip }, async () => {
  const ctx = (name: string, files: Record<string, string>) => {
    const dir = path.join(daemon.tmp(), name);
    fs.mkdirSync(dir, { recursive: true });
    for (const [f, body] of Object.entries(files)) fs.writeFileSync(path.join(dir, f), body);
    return dir;
  };
  const seed = ctx('seed', { Dockerfile: SEED });
  const config = ctx('config', { Dockerfile: CONFIG, 'note.txt': 'a note\n' });
  const failing = ctx('failing', { Dockerfile: 'FROM busybox\nRUN echo about-to-fail && exit 3\n' });
  const parse = ctx('parse', { Dockerfile: 'FROM busybox\nRUN echo ok\nRUNN echo typo\n' });
  const missing = ctx('missing', { Dockerfile: 'FROM busybox\nCOPY nosuch.txt /\n' });
  const report = newReport();
  try {
    await compare(
      [
        { id: 'build-seed', norm: build, args: ['build', '-t=dengqinghua/static_web:v1', seed] },
        { id: 'build-seed-cached', norm: build, args: ['build', '-t=dengqinghua/static_web:v1', seed] },
        { id: 'history-seed', args: ['history', '--no-trunc', '--format', '{{.CreatedBy}} {{.Size}}', 'dengqinghua/static_web:v1'] },
        { id: 'inspect-seed', args: ['image', 'inspect', '-f', '{{json .Config.Cmd}} {{json .Config.ExposedPorts}} {{.Author}} {{json .Config.Env}} {{.Config.WorkingDir}}', 'dengqinghua/static_web:v1'] },
        { id: 'build-config', norm: build, args: ['build', '-t', 'ch9/config', config] },
        { id: 'inspect-config', args: ['image', 'inspect', '-f', '{{json .Config.Env}} {{.Config.WorkingDir}} {{.Config.User}} {{json .Config.Labels}} {{json .Config.Volumes}} {{.Config.StopSignal}} {{json .Config.Entrypoint}} {{json .Config.Cmd}}', 'ch9/config'] },
        { id: 'history-config', args: ['history', '--no-trunc', '--format', '{{.CreatedBy}}', 'ch9/config'] },
        { id: 'run-config', args: ['run', '--rm', 'ch9/config'] },
        { id: 'build-failing', norm: build, args: ['build', '--force-rm', failing] },
        { id: 'parse-error', norm: build, args: ['build', parse] },
        { id: 'build-missing', norm: build, args: ['build', missing] },
        { id: 'build-q', args: ['build', '-q', seed] },
        { id: 'rmi-config', norm: (s) => s.split('\n').filter((l) => l.startsWith('Untagged')).join('\n'), args: ['rmi', 'ch9/config'] },
      ],
      report,
    );
  } finally {
    both(['rmi', 'dengqinghua/static_web:v1', 'ch9/config']);
    both(['image', 'prune', '-f']);
  }
  check(report);
});
