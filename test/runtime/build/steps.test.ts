// The builder's pure parts: how a step is written into the history (Go's
// %q forms), the cache's key, the command a RUN stands for, where a COPY
// source lies in the context, and how an error shows its lines.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { goQuote, goDuration, healthcheckComment } from '../../../runtime/build/config-words.ts';
import { cacheKey, EMPTY_LAYER_DIFF_ID } from '../../../runtime/build/state.ts';
import { commandOf } from '../../../runtime/build/dispatch.ts';
import { contextPath } from '../../../runtime/build/sources.ts';
import { snippet, checkReport } from '../../../runtime/build/report.ts';
import { neededStages } from '../../../runtime/build/builder.ts';
import { parseDockerfile } from '../../../runtime/build/parser.ts';
import { parseInstructions } from '../../../runtime/build/instructions.ts';
import { runError } from '../../helpers/run-error.ts';
import { TarWriter } from '../../../runtime/storage/tar.ts';
import { sha256 } from '../../../runtime/core/digest.ts';

test('history lines are Go’s %q: a string slice as ["a" "b"], a HEALTHCHECK as its struct', () => {
  assert.equal(goQuote(['httpd', '-f', 'a "quoted" word']), '["httpd" "-f" "a \\"quoted\\" word"]');
  assert.equal(goQuote([]), '[]');
  assert.equal(healthcheckComment({ Test: ['CMD-SHELL', 'true'], Interval: 30e9, Retries: 3 }), '&{["CMD-SHELL" "true"] "30s" "0s" "0s" "0s" \'\\x03\'}');
  assert.equal(healthcheckComment({ Test: ['CMD', 'x'], Timeout: 90e9 }), '&{["CMD" "x"] "0s" "1m30s" "0s" "0s" \'\\x00\'}');
});

test('HEALTHCHECK durations are Go durations; anything else is refused with the way to write one', () => {
  assert.equal(goDuration('1m30s', 'interval'), 90e9);
  assert.equal(goDuration('500ms', 'timeout'), 5e8);
  assert.equal(goDuration('1h', 'interval'), 3600e9);
  for (const bad of ['30', 'soon', '1x', '']) assert.match(runError(() => goDuration(bad, 'interval')).message, /invalid duration/);
});

test('the cache key does not depend on the order of a config’s keys, and does on every value', () => {
  fc.assert(
    fc.property(fc.dictionary(fc.string({ minLength: 1, maxLength: 6 }), fc.string()), fc.string(), (labels, cmd) => {
      const a = { Labels: labels, Cmd: [cmd], Env: ['A=1'] };
      const reordered = { Env: ['A=1'], Cmd: [cmd], Labels: Object.fromEntries(Object.entries(labels).reverse()) };
      assert.equal(cacheKey(a), cacheKey(reordered));
      assert.notEqual(cacheKey(a), cacheKey({ ...a, Cmd: [cmd + 'x'] }));
    }),
  );
});

test('the empty layer’s diffID is the digest of a tar with nothing in it', () => {
  const chunks: Buffer[] = [];
  new TarWriter((b) => chunks.push(b)).finish();
  assert.equal(sha256(Buffer.concat(chunks)), EMPTY_LAYER_DIFF_ID);
});

test('RUN’s command: the exec form as written, the shell form under SHELL, a lone heredoc as the script, a heredoc after a command as more shell', () => {
  const hd = { name: 'EOF', content: 'echo a\necho b\n', expand: true, chomp: false };
  assert.deepEqual(commandOf({ args: ['echo', 'hi'], prependShell: false, heredocs: [] }, {}), ['echo', 'hi']);
  assert.deepEqual(commandOf({ args: ['echo $HOME'], prependShell: true, heredocs: [] }, {}), ['/bin/sh', '-c', 'echo $HOME']);
  assert.deepEqual(commandOf({ args: ['echo hi'], prependShell: true, heredocs: [] }, { Shell: ['/bin/ash', '-eo', 'pipefail', '-c'] }), ['/bin/ash', '-eo', 'pipefail', '-c', 'echo hi']);
  assert.deepEqual(commandOf({ args: ['<<EOF'], prependShell: true, heredocs: [hd] }, {}), ['/bin/sh', '-c', 'echo a\necho b\n']);
  assert.deepEqual(commandOf({ args: ['cat <<EOF > /f'], prependShell: true, heredocs: [hd] }, {}), ['/bin/sh', '-c', 'cat <<EOF > /f\necho a\necho b\nEOF\n']);
});

test('a COPY source is a path under the context root: `..` may not climb above it, an absolute path starts at it', () => {
  assert.equal(contextPath('app/./x'), 'app/x');
  assert.equal(contextPath('/etc/passwd'), 'etc/passwd');
  assert.equal(contextPath('/../../etc'), 'etc');
  assert.equal(contextPath('a/../b'), 'b');
  assert.equal(contextPath('.'), '.');
  assert.equal(contextPath('../x'), null);
  assert.equal(contextPath('a/../../x'), null);
  fc.assert(
    fc.property(fc.array(fc.constantFrom('a', 'b', '..', '.', ''), { maxLength: 8 }), (parts) => {
      const p = contextPath(parts.join('/'));
      if (p !== null) assert.ok(!p.split('/').includes('..') && !p.startsWith('/'), `${parts.join('/')} → ${p}`);
    }),
  );
});

test('an error’s snippet: the file and line, two lines before, the culprit marked', () => {
  const text = 'FROM busybox\nRUN a\nRUN b\nRUNN c\nRUN d\n';
  assert.equal(snippet(text, 'Dockerfile', 4), 'Dockerfile:4\n--------------------\n   2 |     RUN a\n   3 |     RUN b\n   4 | >>> RUNN c\n--------------------');
  assert.equal(checkReport([], text), 'Check complete, no warnings found.\n');
  const one = checkReport([{ rule: 'MaintainerDeprecated', message: 'Maintainer instruction is deprecated in favor of using label', file: 'Dockerfile', line: 1, endLine: 1 }], text);
  assert.match(one, /^Check complete, 1 warning has been found!\n\nWARNING: MaintainerDeprecated - https:\/\/docs\.docker\.com\/go\/dockerfile\/rule\/maintainer-deprecated\/\n/);
});

test('the stages a target needs: its FROM’s stage and every COPY --from, transitively; no other', () => {
  const d = parseInstructions(parseDockerfile([
    'FROM busybox AS a', 'RUN true',
    'FROM busybox AS b', 'COPY --from=a /x /x',
    'FROM busybox AS unused', 'RUN true',
    'FROM b AS c', 'COPY --from=0 /y /y',
    'FROM busybox', 'RUN true', '',
  ].join('\n'), 'Dockerfile'));
  assert.deepEqual([...neededStages(d, d.stages[3])].sort(), [0, 1, 3]);
  assert.deepEqual([...neededStages(d, d.stages[4])], [4]);
});
