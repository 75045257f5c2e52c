// Chapter 9's demo steps, in order: the seed's Dockerfile built (each step
// a container or a change of config, each an image), built again from the
// cache, its history read, its image run with -p and its page fetched; a
// multi-stage build; `build --check`; a RUN that fails; and the clean-up,
// where rmi takes the build's intermediate images along.
// test/chapters/09-builds/demo.test.ts runs them unattended; with
// `--chapter 8` every step fails: there is no `build`.
import { lines, ran, type DemoStep, type StepResult } from '../demo.js';

export const SEED_DOCKERFILE = `# Version: 0.0.1
FROM busybox
MAINTAINER dengqinghua "dengqinghua.42@gmail.com"
RUN mkdir -p /var/www/html
RUN echo "Hi, I am in your container" > /var/www/html/index.html
EXPOSE 80
CMD ["httpd", "-f", "-p", "80", "-h", "/var/www/html"]
`;

const MULTI_STAGE = `FROM busybox AS build
RUN echo "made in the build stage" > /artifact && echo "tools nobody ships" > /toolchain
FROM busybox
COPY --from=build /artifact /artifact
CMD ["cat", "/artifact"]
`;

const seen: { id?: string } = {};

/** The image IDs a build printed after its steps (" ---> 1a2b3c4d5e6f"). */
const stepIds = (out: string) => [...out.matchAll(/^ ---> ([0-9a-f]{12})$/gm)].map((m) => m[1]);

/** The step's trace must show a container made for a RUN (its mkdir under containers/). */
function madeContainers(r: StepResult): number {
  return r.trace.filter((e) => e.op === 'mkdir' && /\/containers\/[0-9a-f]{64}$/.test(e.path)).length;
}

export const steps: DemoStep[] = [
  {
    title: 'build -t="dengqinghua/static_web:v1" - : the seed’s Dockerfile, from stdin',
    section: '#9-one-stage-step-by-step',
    code: 'runtime/build/builder.ts#build',
    hostView: ['storage'],
    look: 'Six steps. FROM finds busybox; MAINTAINER, EXPOSE and CMD change only the config (an image each, no layer); each RUN is a container ("Running in"), committed, then removed. Every " ---> " line is an image ID.',
    args: ['build', '-t=dengqinghua/static_web:v1', '-'],
    input: SEED_DOCKERFILE,
    check(r) {
      const bad = ran(r);
      if (bad) return bad;
      const ids = stepIds(r.stdout);
      if (ids.length !== 6) return `an image after each of the 6 steps: ${r.stdout}`;
      seen.id = ids[5];
      if (madeContainers(r) !== 2) return 'the trace should show one container per RUN, two';
      return /Successfully tagged dengqinghua\/static_web:v1/.test(r.stdout) ? null : 'the last line names the tag';
    },
  },
  {
    title: 'the same build again: the cache',
    section: '#7-the-cache-a-chain-of-hashes',
    code: 'runtime/build/state.ts#cache-key',
    look: 'Every step after FROM says "Using cache": the same parent and the same instruction found last time’s image. No container runs, and the result is the same image ID.',
    args: ['build', '-t=dengqinghua/static_web:v1', '-'],
    input: SEED_DOCKERFILE,
    check(r) {
      const bad = ran(r);
      if (bad) return bad;
      const hits = (r.stdout.match(/Using cache/g) ?? []).length;
      if (hits !== 5) return `5 steps from the cache, saw ${hits}`;
      if (madeContainers(r)) return 'no container should run for a cached build';
      return stepIds(r.stdout)[5] === seen.id ? null : `the same image ID as before (${seen.id}): ${r.stdout}`;
    },
  },
  {
    title: 'history dengqinghua/static_web:v1',
    section: '#1-a-build-is-a-chain-of-images',
    code: 'runtime/build/state.ts#commit-step',
    look: 'One line per step, newest first. A RUN’s line is its command; a change of config is "/bin/sh -c #(nop)" and the instruction; only the echo added bytes.',
    args: ['history', 'dengqinghua/static_web:v1'],
    check: (r) => ran(r) ?? (/#\(nop\)\s+EXPOSE 80\s/.test(r.stdout) && /\/bin\/sh -c mkdir -p \/var\/www\/html/.test(r.stdout) ? null : `the #(nop) and RUN lines: ${r.stdout}`),
  },
  {
    title: 'run -d -p 80 --name static_web dengqinghua/static_web:v1',
    section: '#13-chapter-9-on-top-of-chapters-17',
    code: 'runtime/process/layer.ts#image-command',
    hostView: ['ns', 'links'],
    look: 'The image’s CMD (httpd) runs; -p 80 publishes the EXPOSEd port on a port the host chooses.',
    args: ['run', '-d', '-p', '80', '--name', 'static_web', 'dengqinghua/static_web:v1'],
    check: (r) => ran(r) ?? (/^[0-9a-f]{64}$/.test(r.stdout.trim()) ? null : `run -d prints the ID: ${r.stdout}`),
  },
  {
    title: 'ps -l',
    section: '#13-chapter-9-on-top-of-chapters-17',
    code: 'runtime/container/ps.ts#ps-row',
    look: 'The seed’s line: 0.0.0.0:NNNNN->80/tcp, the host port chosen for the container’s 80.',
    args: ['ps', '-l'],
    check: (r) => ran(r) ?? (/0\.0\.0\.0:\d+->80\/tcp\s+static_web/.test(r.stdout) ? null : `the published port: ${r.stdout}`),
  },
  {
    title: 'exec static_web wget -qO- http://127.0.0.1/',
    section: '#13-chapter-9-on-top-of-chapters-17',
    code: 'runtime/container/exec.ts#exec',
    hostView: ['ns'],
    look: 'The page the second RUN wrote, served by the image’s CMD.',
    args: ['exec', 'static_web', 'wget', '-qO-', 'http://127.0.0.1/'],
    check: (r) => ran(r) ?? (r.stdout === 'Hi, I am in your container\n' ? null : `the page: ${r.stdout}`),
  },
  {
    title: 'build -t lab/multi - : two stages, one image',
    section: '#8-multi-stage-why-a-build-has-more-than-one-from',
    code: 'runtime/build/builder.ts#needed-stages',
    hostView: ['storage'],
    look: 'The first stage makes a file; the second starts again from busybox and COPY --from=build takes only that file. The final image has no /toolchain.',
    args: ['build', '-t', 'lab/multi', '-'],
    input: MULTI_STAGE,
    check: (r) => ran(r) ?? (/Step 4\/5 : COPY --from=build \/artifact \/artifact/.test(r.stdout) ? null : `the COPY --from step: ${r.stdout}`),
  },
  {
    title: 'run --rm lab/multi sh -c "cat /artifact; ls /toolchain"',
    section: '#8-multi-stage-why-a-build-has-more-than-one-from',
    code: 'runtime/build/copy-command.ts#copy-from',
    look: 'The artifact is there; the build stage’s other file is not.',
    args: ['run', '--rm', 'lab/multi', 'sh', '-c', 'cat /artifact; ls /toolchain'],
    check: (r) => ran(r, 1) ?? (r.stdout === 'made in the build stage\n' && /No such file/.test(r.stderr) ? null : `the artifact only: ${r.stdout} ${r.stderr}`),
  },
  {
    title: 'build --check - : lint without building',
    section: '#10-build---check',
    code: 'runtime/build/report.ts#snippet',
    look: 'Docker 27’s check: the seed’s MAINTAINER is deprecated (a LABEL says it now). Nothing is built.',
    args: ['build', '--check', '-'],
    input: SEED_DOCKERFILE,
    check: (r) => ran(r) ?? (/MaintainerDeprecated/.test(r.stdout) && !/Step/.test(r.stdout) ? null : `the warning, no steps: ${r.stdout}`),
  },
  {
    title: 'build --force-rm - : a RUN that fails',
    section: '#5-running-a-step-a-run-is-a-container',
    code: 'runtime/build/run-step.ts#run-step',
    hostView: ['storage'],
    look: 'The build stops at the failing step with Docker’s message and the command’s exit code (3); --force-rm removes the failed step’s container too.',
    args: ['build', '--force-rm', '-'],
    input: 'FROM busybox\nRUN echo trying && exit 3\n',
    check: (r) => ran(r, 3) ?? (/returned a non-zero code: 3/.test(r.stderr) ? null : `Docker's message: ${r.stderr}`),
  },
  {
    title: 'rm -f static_web',
    section: '#11-removing-what-a-build-made',
    code: 'runtime/image/container-commands.ts#rm',
    hostView: ['storage'],
    look: 'The container goes; the images stay.',
    args: ['rm', '-f', 'static_web'],
    check: (r) => ran(r) ?? (r.stdout === 'static_web\n' ? null : `rm names the container it removed: ${r.stdout} ${r.stderr}`),
  },
  {
    title: 'rmi dengqinghua/static_web:v1 lab/multi',
    section: '#11-removing-what-a-build-made',
    code: 'runtime/image/commands.ts#rmi',
    hostView: ['storage'],
    look: 'Each image goes with the untagged steps below it that nothing else uses: a Deleted line per image and per layer. busybox stays: it has a name.',
    args: ['rmi', 'dengqinghua/static_web:v1', 'lab/multi'],
    check(r) {
      const bad = ran(r);
      if (bad) return bad;
      const deleted = lines(r.stdout).filter((l) => l.startsWith('Deleted: ')).length;
      return deleted >= 8 ? null : `the images of every step deleted: ${r.stdout}`;
    },
  },
  {
    title: 'image prune -f: the build stage’s image',
    section: '#11-removing-what-a-build-made',
    code: 'runtime/image/prune.ts#image-prune',
    hostView: ['storage'],
    look: 'The multi-stage build left the build stage’s last image behind, with no name and no child: a dangling image, as Docker’s classic builder leaves it. prune removes it.',
    args: ['image', 'prune', '-f'],
    check: (r) => ran(r) ?? (/^Deleted Images:\ndeleted: sha256:[0-9a-f]{64}\n/m.test(r.stdout) ? null : `one dangling image deleted: ${r.stdout}`),
  },
];
