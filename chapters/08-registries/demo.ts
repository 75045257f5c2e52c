// Chapter 8's demo steps, in order: a registry of our own on 127.0.0.1:5000
// (Debian's docker-registry, the Distribution project's server), an image
// pushed to it, the registry's files that hold it, a second push that
// mounts a blob instead of sending it, the image removed here and pulled
// back by `run`, its digest, the catalog, and the clean-up.
// test/chapters/08-registries/demo.test.ts runs them unattended; with
// `--chapter 7` every step fails (the setup and teardown steps, which make
// the scene, are run but not counted).
import { lines, ran, type DemoStep, type StepResult } from '../demo.js';

/** The demo's registry: its config, storage and log under the state root, its PID in registry.pid. */
const START_REGISTRY = [
  'set -e',
  'mkdir -p {root}/registry',
  "printf 'version: 0.1\\nlog: {level: error}\\nstorage: {filesystem: {rootdirectory: %s/registry}, delete: {enabled: true}}\\nhttp: {addr: 127.0.0.1:5000}\\n' {root} > {root}/registry.yml",
  'docker-registry serve {root}/registry.yml > {root}/registry.log 2>&1 &',
  'echo $! > {root}/registry.pid',
  'for i in $(seq 100); do',
  '  if busybox wget -qO- http://127.0.0.1:5000/v2/ >/dev/null 2>&1; then echo "a registry on http://127.0.0.1:5000 (PID $(cat {root}/registry.pid)), storing in {root}/registry"; exit 0; fi',
  '  sleep 0.1',
  'done',
  'cat {root}/registry.log; exit 1',
].join('\n');

const STOP_REGISTRY = 'p=$(cat {root}/registry.pid) && kill $p && while kill -0 $p 2>/dev/null; do sleep 0.1; done && echo "registry $p stopped"';

const seen: { digest?: string } = {};

/** The requests a step's trace shows: "PUT /v2/lab/web/manifests/v1 → 201". */
const requests = (r: StepResult) => r.trace.flatMap((e) => (e.op === 'http' ? [`${e.method} ${e.url} → ${e.status}`] : []));

export const steps: DemoStep[] = [
  {
    title: 'host: start a registry on 127.0.0.1:5000',
    section: '#8-a-classrooms-registry',
    look: 'A registry is an HTTP server that stores blobs by digest and manifests by tag. This is the Distribution project\'s own (Docker\'s registry:2 image runs the same program), listening on loopback only.',
    args: [],
    host: ['sh', '-c', START_REGISTRY],
    role: 'setup',
    check: (r) => ran(r) ?? (/registry on http:\/\/127\.0\.0\.1:5000/.test(r.stdout) ? null : `the registry should answer: ${r.stdout}${r.stderr}`),
  },
  {
    title: 'an image to push: a container with one new file, committed',
    section: '#8-a-classrooms-registry',
    look: 'busybox plus one layer: /hello.',
    args: ['run', '--name', 'web-src', 'busybox', 'sh', '-c', 'echo "hello from the registry" > /hello'],
    role: 'setup',
    check: (r) => ran(r),
  },
  {
    title: 'commit web-src localhost:5000/lab/web:v1',
    section: '#8-a-classrooms-registry',
    code: 'runtime/image/container-commands.ts#commit',
    look: 'The name says where the image lives: registry localhost:5000, repository lab/web, tag v1.',
    args: ['commit', 'web-src', 'localhost:5000/lab/web:v1'],
    role: 'setup',
    check: (r) => ran(r),
  },
  {
    title: 'rm web-src; tag busybox localhost:5000/lab/busybox:1',
    section: '#8-a-classrooms-registry',
    look: 'A second name for busybox, in a second repository of the same registry.',
    args: ['rm', 'web-src'],
    role: 'setup',
    check: (r) => ran(r),
  },
  {
    title: 'tag busybox localhost:5000/lab/busybox:1',
    section: '#8-a-classrooms-registry',
    code: 'runtime/image/reference.ts#grammar',
    look: 'No copy is made: a tag is a name pointing at an image ID.',
    args: ['tag', 'busybox', 'localhost:5000/lab/busybox:1'],
    role: 'setup',
    check: (r) => ran(r),
  },
  {
    title: 'push localhost:5000/lab/web:v1',
    section: '#6-push',
    code: 'runtime/registry/push.ts#push',
    look:
      'Each layer is compressed and sent as a blob (POST an upload, PATCH the bytes, PUT ?digest= to commit it), then the config, ' +
      'then the manifest under the tag. The last line is the manifest\'s digest: the image\'s name by content. With --trace, each request.',
    args: ['push', 'localhost:5000/lab/web:v1'],
    check(r) {
      const bad = ran(r);
      if (bad) return bad;
      if ((r.stdout.match(/: Pushed$/gm) ?? []).length !== 2) return `two layers pushed: ${r.stdout}`;
      const d = /^v1: digest: (sha256:[0-9a-f]{64}) size: \d+$/m.exec(r.stdout);
      if (!d) return `the digest line: ${r.stdout}`;
      seen.digest = d[1];
      return requests(r).some((q) => q === 'PUT /v2/lab/web/manifests/v1 → 201') ? null : `the trace should show the manifest PUT last: ${requests(r).join(', ')}`;
    },
  },
  {
    title: 'host: the registry\'s files for lab/web:v1',
    section: '#1-content-addressing-end-to-end',
    code: 'runtime/registry/push.ts#push-layer',
    look: 'The registry keeps the tag as a file holding the manifest\'s digest (current/link): the same digest push printed. The blobs are in blobs/sha256/, named by their digests.',
    args: [],
    host: ['sh', '-c', 'cd {root}/registry/docker/registry/v2 && cat repositories/lab/web/_manifests/tags/v1/current/link && echo && ls blobs/sha256/*'],
    check: (r) => ran(r) ?? (seen.digest && lines(r.stdout)[0] === seen.digest ? null : `the tag's link should be the pushed digest ${seen.digest}: ${r.stdout}`),
  },
  {
    title: 'push localhost:5000/lab/busybox:1',
    section: '#6-push',
    code: 'runtime/registry/push.ts#uploads',
    look: 'busybox\'s layer is already in lab/web: the registry is asked to mount it into lab/busybox (POST ?mount=…&from=lab/web). No byte of it is sent again.',
    args: ['push', 'localhost:5000/lab/busybox:1'],
    check: (r) => ran(r) ?? (/: Mounted from lab\/web$/m.test(r.stdout) ? null : `the layer should be mounted from lab/web: ${r.stdout}`),
  },
  {
    title: 'rmi localhost:5000/lab/web:v1',
    section: '#run-pulls-what-is-missing',
    code: 'runtime/image/commands.ts#rmi',
    hostView: ['storage'],
    look: 'Both names go: the tag, and the digest the push recorded (RepoDigests). Then the image and its own layer; busybox\'s layer stays, busybox stands on it.',
    args: ['rmi', 'localhost:5000/lab/web:v1'],
    check: (r) => ran(r) ?? (/^Untagged: localhost:5000\/lab\/web@sha256:/m.test(r.stdout) ? null : `the digest reference should be untagged too: ${r.stdout}`),
  },
  {
    title: 'run --rm localhost:5000/lab/web:v1 cat /hello',
    section: '#run-pulls-what-is-missing',
    code: 'runtime/registry/pull.ts#pull',
    hostView: ['storage'],
    look:
      'Not here, so run pulls it: the manifest by tag, the config, then each layer not in the store. busybox\'s layer "Already exists" (its chainID is in the layerdb); ' +
      'the other is downloaded, verified against its digest, and registered on top. Then the container runs.',
    args: ['run', '--rm', 'localhost:5000/lab/web:v1', 'cat', '/hello'],
    check(r) {
      const bad = ran(r);
      if (bad) return bad;
      if (!/Unable to find image 'localhost:5000\/lab\/web:v1' locally/.test(r.stderr)) return `run should say the image is not here: ${r.stderr}`;
      if (!/: Already exists$/m.test(r.stderr) || !/: Pull complete$/m.test(r.stderr)) return `one layer already here, one pulled: ${r.stderr}`;
      return r.stdout.trim() === 'hello from the registry' ? null : `the container should print /hello: ${r.stdout}`;
    },
  },
  {
    title: 'images --digests localhost:5000/lab/web',
    section: '#1-content-addressing-end-to-end',
    code: 'runtime/registry/distribution.ts#record-layer',
    look: 'The DIGEST column: the manifest\'s digest, the same as push printed. `pull localhost:5000/lab/web@<digest>` names exactly this image, whatever v1 points at later.',
    args: ['images', '--digests', 'localhost:5000/lab/web'],
    check: (r) => ran(r) ?? (seen.digest && r.stdout.includes(seen.digest) ? null : `the digest ${seen.digest}: ${r.stdout}`),
  },
  {
    title: 'search localhost:5000/lab',
    section: '#7-search',
    code: 'runtime/registry/search.ts#search',
    look: 'Docker Hub has a search API; this registry has not, so dockling lists its catalog (/v2/_catalog) filtered by the term, and says so.',
    args: ['search', 'localhost:5000/lab'],
    check: (r) => ran(r) ?? (/localhost:5000\/lab\/busybox/.test(r.stdout) && /localhost:5000\/lab\/web/.test(r.stdout) ? null : `both repositories: ${r.stdout}`),
  },
  {
    title: 'rmi localhost:5000/lab/web:v1 localhost:5000/lab/busybox:1',
    section: '#1-content-addressing-end-to-end',
    code: 'runtime/image/commands.ts#rmi',
    hostView: ['storage'],
    look: 'The pulled image goes, names and all; busybox stays.',
    args: ['rmi', 'localhost:5000/lab/web:v1', 'localhost:5000/lab/busybox:1'],
    check: (r) => ran(r) ?? (/^Untagged: localhost:5000\/lab\/busybox@sha256:/m.test(r.stdout) ? null : `both names of both images: ${r.stdout}`),
  },
  {
    title: 'host: stop the registry',
    section: '#8-a-classrooms-registry',
    look: 'Its files stay under the state root until it is removed.',
    args: [],
    host: ['sh', '-c', STOP_REGISTRY],
    role: 'teardown',
    check: (r) => ran(r),
  },
];
