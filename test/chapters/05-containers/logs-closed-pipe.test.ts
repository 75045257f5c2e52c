// Chapter 5, section 2: "What the monitor does", its "Logs of any size: from
// the end, rotated, with backpressure" (a closed pipe ends the CLI quietly).
//
// Chapter 5, for real, as root: dockling's stdout into a pipe that closes
// early. The docker CLI dies of SIGPIPE there and the shell reports 141,
// with nothing on stderr; dockling does the same (runtime/core/stdio.ts):
// no Node stack trace, status 141, and nothing left behind: a foreground
// `run --rm` whose CLI went away is removed by its monitor when it ends, an
// export unmounts the root it mounted.
//
// test/run.ts runs this file with layers 1..4 too, where every test must
// fail: there is no `run -d`, `logs`, `attach` or `export`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { BIN, rootOrSkip, until, withoutWarning } from '../../helpers/dockling.js';
import { chapter5 } from './helpers.js';

const skip = rootOrSkip();
const c = chapter5('ch5-epipe');

/** `dockling ARGS | READER` in bash: dockling's own status (PIPESTATUS), its stderr. */
function piped(args: string[], reader: string): { code: number; stderr: string } {
  const cli = [process.execPath, '--', BIN, '--root', c.root(), ...args].map((a) => `'${a}'`).join(' ');
  const r = spawnSync('bash', ['-c', `${cli} | ${reader} >/dev/null; echo \${PIPESTATUS[0]}`], { encoding: 'utf8', timeout: 120_000 });
  return { code: Number(r.stdout.trim()), stderr: withoutWarning(r.stderr) };
}

function quiet141(r: { code: number; stderr: string }, what: string): void {
  assert.doesNotMatch(r.stderr, /^\s+at /m, `${what}: a stack trace on stderr:\n${r.stderr}`);
  assert.equal(r.stderr, '', `${what}: stderr`);
  assert.equal(r.code, 141, `${what}: status`);
}

test('run --rm … | head -1: 141, no trace; the container runs to its end and its monitor removes it', { skip }, async () => {
  try {
    quiet141(piped(['run', '--rm', 'busybox', 'seq', '1', '200000'], 'head -1'), 'run | head -1');
    await until(() => c.ok(['ps', '-a', '-q']) === '', 30_000, 'the --rm container to be removed by its monitor');
  } finally {
    await c.cleanup();
  }
});

test('logs C | head -1: 141, no trace', { skip }, async () => {
  try {
    c.runD(['--name', 'many', 'busybox', 'seq', '1', '200000']);
    assert.equal(c.ok(['wait', 'many']), '0\n');
    quiet141(piped(['logs', 'many'], 'head -1'), 'logs | head -1');
    quiet141(piped(['logs', '-f', 'many'], 'head -1'), 'logs -f | head -1');
  } finally {
    await c.cleanup();
  }
});

test('attach C | sleep 0: 141, no trace; the container runs on', { skip }, async () => {
  try {
    c.runD(['--name', 'talker', 'busybox', 'sh', '-c', 'while :; do echo x; sleep 0.01; done']);
    quiet141(piped(['attach', '--no-stdin', 'talker'], 'sleep 0'), 'attach | sleep 0');
    assert.match(c.status('talker') ?? '', /^Up /, 'the container still runs after its attach client died');
  } finally {
    await c.cleanup();
  }
});

test('save busybox | head -c10 and export C | head: 141, no trace, the export root unmounted', { skip }, async () => {
  try {
    quiet141(piped(['save', 'busybox'], 'head -c10'), 'save | head -c10');
    c.runD(['--name', 'exp', 'busybox', 'true']);
    assert.equal(c.ok(['wait', 'exp']), '0\n');
    quiet141(piped(['export', 'exp'], 'head'), 'export | head');
    // cleanup() checks that no mount is left under the state root.
  } finally {
    await c.cleanup();
  }
});
