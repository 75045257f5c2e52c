// No input, however hostile, prints a JavaScript stack trace (issue 13).
//
// Random command lines — every command of every chapter, with flags of the
// right and the wrong kind, hostile words, missing and extra arguments, at
// random --chapter values — are run through the real CLI on an empty state
// root. Each must end with one of Docker's exit codes and, whatever it says,
// say it without a stack frame. Commands that would start a container, wait
// for input or stream forever are left out: their failures are the chapters'
// tests'; this file is about the command line.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import fc from 'fast-check';
import { commandsOf } from '../../../runtime/cli/main.js';
import { ALL_LAYERS } from '../../../runtime/cli/layers.js';
import { dockling, tempRoot } from '../../helpers/dockling.js';

/**
 * They would run a container, read a stream, or follow one until stopped;
 * or write to a path named on the command line (rootfs DIR, save -o,
 * export -o), which a random word must never name.
 */
const LEFT_OUT = new Set(['run', 'create', 'start', 'restart', 'attach', 'exec', 'stats', 'load', 'import', 'walkthrough', 'wait', 'logs', 'rootfs', 'save', 'export']);
const NAMES = [...commandsOf(ALL_LAYERS).keys()].filter((n) => !LEFT_OUT.has(n.split(' ').at(-1)!) && !LEFT_OUT.has(n));
const FLAGS = [...new Set([...commandsOf(ALL_LAYERS).values()].flatMap(({ cmd }) => cmd.flags.flatMap((f) => [`--${f.name}`, ...(f.short ? [`-${f.short}`] : [])])))];

const hostile = fc.constantFrom(
  '', '-', '--', '---', '--=', '-=', '=', '--x=', '-x', '--no-such-flag', '-zz', '{{', '}}', '{{.}}', '{{json .}}', '{{.Bogus}}', '{{printf "%d" .}}',
  '%s%n', '../../etc/passwd', '/etc/shadow', 'busybox', 'busybox:latest', 'sha256:', 'sha256:' + 'f'.repeat(64), 'a'.repeat(300),
  'ünïcødé', '日本', ' ', '\t', 'a b', 'x:y:z', ':', '@', 'localhost:5000/x', 'UPPER', '0', '-1', '99999999999999999999', 'NaN', 'true', 'false',
);
const word = fc.oneof(hostile, fc.constantFrom(...FLAGS), fc.string({ maxLength: 12 }).filter((s) => !s.includes('\0')));

const STACK = /^\s+at (?:\S.* \()?(?:node:|file:|\/)[^\n]*:\d+:\d+\)?$|node:internal|\n\s+at new /m;
const DOCKER_CODES = new Set([0, 1, 64, 125]);

test('random command lines: Docker exit codes, and never a JavaScript stack trace', () => {
  const root = tempRoot('fuzz');
  try {
    fc.assert(
      fc.property(fc.constantFrom(...NAMES), fc.array(word, { maxLength: 5 }), fc.integer({ min: 0, max: 11 }), (name, args, chapter) => {
        const argv = [...name.split(' '), ...args];
        const r = dockling(root, argv, { env: { DOCKLING_CHAPTER: String(chapter) }, timeout: 20_000 });
        const what = `dockling ${argv.map((a) => JSON.stringify(a)).join(' ')} (chapter ${chapter}) → ${r.code}\n${r.stderr}`;
        assert.doesNotMatch(r.stderr, STACK, what);
        assert.doesNotMatch(r.stdout, STACK, what);
        assert.ok(DOCKER_CODES.has(r.code), what);
      }),
      { numRuns: 120 },
    );
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});
