// Chapter 9's instructions at work: multi-stage builds (COPY --from, an
// ARG before FROM, --target, stages nobody needs skipped), ONBUILD in a
// child build, heredocs, and what ENV, USER and WORKDIR do to a RUN.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rootOrSkip } from '../../helpers/dockling.ts';
import { expectCode } from '../../helpers/chapter.ts';
import { chapter9 } from './helpers.ts';

const skip = rootOrSkip();
const t = chapter9('ch9-stages');

test('multi-stage: COPY --from takes a file from an earlier stage; the final image has none of the build stage’s other files', { skip }, () => {
  const dir = t.context({
    Dockerfile: [
      'ARG BASE=busybox',
      'FROM ${BASE} AS build',
      'RUN mkdir /out && echo "built by stage build" > /out/artifact && echo junk > /junk',
      'FROM ${BASE}',
      'COPY --from=build /out/artifact /app/artifact',
      'ARG BASE',
      'RUN echo "base=$BASE" > /app/base-arg',
      'CMD ["cat", "/app/artifact"]',
      '',
    ].join('\n'),
  });
  try {
    const r = expectCode(t.build(dir, ['-t', 'ch9/multi']), 0);
    assert.match(r.stdout, /^Step 1\/7 : FROM \$\{BASE\} AS build$/m, 'an ARG before FROM counts as no step');
    assert.equal(expectCode(t.cli(['run', '--rm', 'ch9/multi']), 0).stdout, 'built by stage build\n');
    // `ARG BASE` with no default inside a stage takes the value given before the first FROM.
    assert.equal(expectCode(t.cli(['run', '--rm', 'ch9/multi', 'cat', '/app/base-arg']), 0).stdout, 'base=busybox\n');
    const ls = expectCode(t.cli(['run', '--rm', 'ch9/multi', 'ls', '/junk']), 1);
    assert.match(ls.stderr, /No such file/);
    // The build stage's image stays, untagged and childless (a dangling
    // image, as the classic builder leaves it): image prune takes it.
    const dangling = t.cliOk(['images', '-q', '--filter', 'dangling=true']).trim().split('\n');
    assert.equal(dangling.length, 1, 'the build stage’s last step');
    // builder prune takes it, and the untagged step below it.
    const pruned = t.cliOk(['builder', 'prune', '-f']);
    assert.match(pruned, new RegExp(`^Deleted build cache objects:\nsha256:${dangling[0]}[0-9a-f]{52}\n`));
    assert.equal(t.cliOk(['images', '-q', '--filter', 'dangling=true']), '');
  } finally {
    t.rmi('ch9/multi');
    t.cli(['image', 'prune', '-f']);
  }
});

test('--target stops at a stage, and a stage the target does not need is not built', { skip }, () => {
  const dir = t.context({
    Dockerfile: [
      'FROM busybox AS unused',
      'RUN echo never-runs',
      'FROM busybox AS base',
      'RUN echo base > /base',
      'FROM base AS test',
      'RUN echo test > /test',
      'FROM base',
      'RUN echo final > /final',
      '',
    ].join('\n'),
  });
  try {
    const r = expectCode(t.build(dir, ['--target', 'test', '-t', 'ch9/target']), 0);
    assert.doesNotMatch(r.stdout, /never-runs|echo final/, `only base and test are built:\n${r.stdout}`);
    assert.match(r.stdout, /^Step 4\/4 : RUN echo test > \/test$/m);
    assert.equal(expectCode(t.cli(['run', '--rm', 'ch9/target', 'cat', '/base', '/test']), 0).stdout, 'base\ntest\n');
    const bad = expectCode(t.build(dir, ['--target', 'nosuch']), 1);
    assert.match(bad.stderr, /failed to reach build target nosuch in Dockerfile/);
  } finally {
    t.rmi('ch9/target');
  }
});

test('ONBUILD is stored in the parent and runs first in a child build', { skip }, () => {
  const parent = t.context({ Dockerfile: 'FROM busybox\nONBUILD COPY greeting /greeting\nONBUILD RUN cat /greeting > /seen\n' });
  const child = t.context({ Dockerfile: 'FROM ch9/onbuild-parent\nCMD ["cat", "/seen"]\n', greeting: 'hello from the child context\n' });
  try {
    expectCode(t.build(parent, ['-t', 'ch9/onbuild-parent']), 0);
    const [p] = JSON.parse(t.cliOk(['image', 'inspect', 'ch9/onbuild-parent']));
    assert.deepEqual(p.Config.OnBuild, ['COPY greeting /greeting', 'RUN cat /greeting > /seen']);
    const r = expectCode(t.build(child, ['-t', 'ch9/onbuild-child']), 0);
    assert.match(r.stdout, /# Executing 2 build triggers/);
    assert.equal(expectCode(t.cli(['run', '--rm', 'ch9/onbuild-child']), 0).stdout, 'hello from the child context\n');
    const [c] = JSON.parse(t.cliOk(['image', 'inspect', 'ch9/onbuild-child']));
    assert.ok(!c.Config.OnBuild?.length, 'the child does not pass the triggers on');
  } finally {
    t.rmi('ch9/onbuild-child', 'ch9/onbuild-parent');
  }
});

test('heredocs: RUN <<EOF runs its lines as a script; COPY <<EOF writes a file, expanding $vars unless the word is quoted', { skip }, () => {
  const dir = t.context({
    Dockerfile: [
      'FROM busybox',
      'ENV WHO=world',
      'RUN <<EOF',
      'echo "line one" > /script-out',
      'echo "line two" >> /script-out',
      'EOF',
      'COPY <<EOF /greeting',
      'hello $WHO',
      'EOF',
      "COPY <<'EOF' /literal",
      'hello $WHO',
      'EOF',
      '',
    ].join('\n'),
  });
  try {
    expectCode(t.build(dir, ['-t', 'ch9/heredoc']), 0);
    const out = expectCode(t.cli(['run', '--rm', 'ch9/heredoc', 'cat', '/script-out', '/greeting', '/literal']), 0).stdout;
    assert.equal(out, 'line one\nline two\nhello world\nhello $WHO\n');
  } finally {
    t.rmi('ch9/heredoc');
  }
});

test('ENV, USER and WORKDIR hold in the RUNs after them; ${v:-default} expands in ENV, WORKDIR and COPY', { skip }, () => {
  const dir = t.context({
    Dockerfile: [
      'FROM busybox',
      'ENV APP=/srv/app LEVEL=${UNSET:-info}',
      'WORKDIR $APP',
      'RUN id -u > uid-as-root && pwd > where',
      'USER nobody',
      'RUN id -un > /tmp/who',
      'COPY --chown=nobody note.txt ${APP}/note.txt',
      '',
    ].join('\n'),
    'note.txt': 'n\n',
  });
  try {
    expectCode(t.build(dir, ['-t', 'ch9/env']), 0);
    const out = expectCode(t.cli(['run', '--rm', '--user', 'root', 'ch9/env', 'sh', '-c', 'cat uid-as-root where /tmp/who; echo "$LEVEL"; stat -c "%U %a" note.txt']), 0).stdout;
    assert.equal(out, '0\n/srv/app\nnobody\ninfo\nnobody 644\n');
    const [img] = JSON.parse(t.cliOk(['image', 'inspect', 'ch9/env']));
    assert.equal(img.Config.WorkingDir, '/srv/app');
    assert.equal(img.Config.User, 'nobody');
  } finally {
    t.rmi('ch9/env');
  }
});

test('FROM scratch: an image of nothing but what COPY put in it', { skip }, () => {
  const dir = t.context({ Dockerfile: 'FROM scratch\nCOPY hello.txt /\n', 'hello.txt': 'only me\n' });
  try {
    expectCode(t.build(dir, ['-t', 'ch9/scratch']), 0);
    const [img] = JSON.parse(t.cliOk(['image', 'inspect', 'ch9/scratch']));
    assert.equal(img.RootFS.Layers.length, 1);
    const saved = expectCode(t.cli(['image', 'save', 'ch9/scratch']), 0);
    assert.ok(saved.stdout.includes('hello.txt'), 'the one layer holds the file');
  } finally {
    t.rmi('ch9/scratch');
  }
});
