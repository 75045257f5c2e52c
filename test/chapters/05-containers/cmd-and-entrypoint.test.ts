// Chapter 5, section 7: "CMD and ENTRYPOINT".
//
// Chapter 5, for real, as root: CMD vs ENTRYPOINT through real runs. Images
// are made with `commit -c` (Dockerfile instructions, exec and shell form),
// then run with and without arguments and --entrypoint, against Docker's
// table:
//
//   image ENTRYPOINT ["echo","ep"], CMD ["dflt"]
//     run IMG                          → echo ep dflt
//     run IMG a b                      → echo ep a b
//     run --entrypoint echo IMG [x]    → echo [x]          (CMD dropped)
//     run --entrypoint "" IMG echo hi  → echo hi
//     run --entrypoint "" IMG          → no command specified (125)
//   image ENTRYPOINT echo shell (shell form: /bin/sh -c "echo shell")
//     run IMG, run IMG a b             → shell             (CMD and args ignored)
//
// test/run.ts runs this file with layers 1..5 (every test must pass) and
// with layers 1..4 (every test must fail: --entrypoint is read and ignored
// there, and `run -d` does not exist).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rootOrSkip } from '../../helpers/dockling.js';
import { expectCode } from '../../helpers/chapter.js';
import { chapter5 } from './helpers.js';

const skip = rootOrSkip();
const c = chapter5('ch5-command');

/** An image from a stopped busybox container, with the given --change instructions. */
function image(tag: string, changes: string[]): void {
  c.ok(['run', '--name', `base-${tag}`, 'busybox', 'true']);
  c.ok(['commit', ...changes.flatMap((ch) => ['-c', ch]), `base-${tag}`, tag]);
  c.ok(['rm', `base-${tag}`]);
}

const run = (args: string[]) => c.ok(['run', '--rm', ...args]);
const json = (ref: string) => c.inspect(ref, '{{json .Config.Entrypoint}} {{json .Config.Cmd}}');

test('exec-form ENTRYPOINT + CMD: the arguments replace CMD; --entrypoint X replaces ENTRYPOINT and drops CMD', { skip }, async () => {
  try {
    image('ep-exec', ['ENTRYPOINT ["echo","ep"]', 'CMD ["dflt"]']);
    assert.equal(json('ep-exec'), '["echo","ep"] ["dflt"]');
    assert.equal(run(['ep-exec']), 'ep dflt\n');
    assert.equal(run(['ep-exec', 'a', 'b']), 'ep a b\n');
    assert.equal(run(['--entrypoint', 'echo', 'ep-exec', 'x']), 'x\n');
    assert.equal(run(['--entrypoint', 'echo', 'ep-exec']), '\n', 'the image’s CMD must not follow --entrypoint');
    assert.equal(run(['--entrypoint', '/bin/sh', 'ep-exec', '-c', 'echo $0-$1', 'zero', 'one']), 'zero-one\n');
    // A detached container runs the same command.
    c.runD(['--name', 'ep-d', 'ep-exec', 'detached']);
    assert.equal(c.ok(['wait', 'ep-d']), '0\n');
    assert.equal(c.logsOf('ep-d').stdout, 'ep detached\n');
  } finally {
    await c.cleanup();
    c.dk(['rmi', 'ep-exec']);
  }
});

test('--entrypoint "" removes the ENTRYPOINT: the arguments alone run; without any, no command (125)', { skip }, async () => {
  try {
    image('ep-clear', ['ENTRYPOINT ["echo","ep"]', 'CMD ["dflt"]']);
    assert.equal(run(['--entrypoint', '', 'ep-clear', 'echo', 'plain']), 'plain\n');
    assert.equal(run(['--entrypoint=', 'ep-clear', 'sh', '-c', 'echo $((6*7))']), '42\n');
    // moby: the run's Entrypoint [""] is not empty when merged, so the
    // image's CMD is not taken either; then [""] is reset: nothing to run.
    const none = expectCode(c.dk(['run', '--rm', '--entrypoint', '', 'ep-clear']), 125);
    assert.match(none.stderr, /no command specified/i);
    // The image has a CMD: the message must not say it lacks one.
    assert.match(none.stderr, /--entrypoint "" removes the image's ENTRYPOINT and, as in Docker, its CMD too/);
    assert.doesNotMatch(none.stderr, /gives no CMD/);
    assert.deepEqual(c.ok(['ps', '-a', '-q']), '', 'the refused run made no container');
  } finally {
    await c.cleanup();
    c.dk(['rmi', 'ep-clear']);
  }
});

test('shell-form ENTRYPOINT ignores CMD and the arguments; --entrypoint still overrides it', { skip }, async () => {
  try {
    image('ep-shell', ['ENTRYPOINT echo shell', 'CMD ["ignored"]']);
    assert.equal(json('ep-shell'), '["/bin/sh","-c","echo shell"] ["ignored"]');
    assert.equal(run(['ep-shell']), 'shell\n');
    assert.equal(run(['ep-shell', 'a', 'b']), 'shell\n');
    assert.equal(run(['--entrypoint', 'echo', 'ep-shell', 'over']), 'over\n');
    // Shell-form CMD under no ENTRYPOINT runs through sh -c.
    image('cmd-shell', ['CMD echo from-$((1+2))']);
    assert.equal(json('cmd-shell'), 'null ["/bin/sh","-c","echo from-$((1+2))"]');
    assert.equal(run(['cmd-shell']), 'from-3\n');
    assert.equal(run(['--entrypoint', 'echo', 'cmd-shell']), '\n');
  } finally {
    await c.cleanup();
    c.dk(['rmi', 'ep-shell', 'cmd-shell']);
  }
});

test('inspect shows each container’s Entrypoint and Cmd (and Path, Args) as Docker records them', { skip }, async () => {
  try {
    image('ep-insp', ['ENTRYPOINT ["echo","ep"]', 'CMD ["dflt"]']);
    c.ok(['run', '--name', 'k-plain', 'ep-insp']);
    c.ok(['run', '--name', 'k-args', 'ep-insp', 'a', 'b']);
    c.ok(['run', '--name', 'k-ep', '--entrypoint', 'echo', 'ep-insp', 'x']);
    c.ok(['run', '--name', 'k-clear', '--entrypoint', '', 'ep-insp', 'echo', 'y']);
    c.ok(['run', '--name', 'k-ep-only', '--entrypoint', 'true', 'ep-insp']);
    assert.equal(json('k-plain'), '["echo","ep"] ["dflt"]');
    assert.equal(json('k-args'), '["echo","ep"] ["a","b"]');
    assert.equal(json('k-ep'), '["echo"] ["x"]');
    assert.match(json('k-clear'), /^(null|\[\]) \["echo","y"\]$/);
    assert.match(json('k-ep-only'), /^\["true"\] (null|\[\])$/);
    assert.equal(c.inspect('k-args', '{{.Path}} {{json .Args}}'), 'echo ["ep","a","b"]');
    assert.equal(c.inspect('k-ep', '{{.Path}} {{json .Args}}'), 'echo ["x"]');
    assert.equal(c.inspect('k-clear', '{{.Path}} {{json .Args}}'), 'echo ["y"]');
    // start runs the recorded command again, not the image's.
    c.ok(['start', 'k-ep']);
    assert.equal(c.ok(['wait', 'k-ep']), '0\n');
    assert.equal(c.logsOf('k-ep').stdout, 'x\nx\n');
  } finally {
    await c.cleanup();
    c.dk(['rmi', 'ep-insp']);
  }
});
