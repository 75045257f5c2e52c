// Chapter 9's cache, for real: a step's image is found again when its
// parent and the step (after expansion) are the same and, for COPY, the
// content of what it copies is the same (names, modes, owners, bytes;
// times ignored). An unchanged rebuild gives the same image ID; a changed
// file re-runs exactly the steps from its COPY on; --no-cache re-runs all.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { rootOrSkip } from '../../helpers/dockling.ts';
import { expectCode } from '../../helpers/chapter.ts';
import { builtId, cacheHits, chapter9, stepIds } from './helpers.ts';

const skip = rootOrSkip();
const t = chapter9('ch9-cache');

const FIVE_STEPS = `FROM busybox
RUN echo one > /one
COPY app.txt /srv/app.txt
RUN cat /srv/app.txt > /srv/copy
ENV MODE=prod
CMD ["cat", "/srv/copy"]
`;

test('an unchanged rebuild is all cache and the same image ID; a changed file re-runs exactly the steps from its COPY on', { skip }, () => {
  const dir = t.context({ Dockerfile: FIVE_STEPS, 'app.txt': 'v1\n' });
  const tags: string[] = [];
  try {
    const first = expectCode(t.build(dir, ['-t', 'ch9/cache:1']), 0).stdout;
    tags.push('ch9/cache:1');
    assert.equal(cacheHits(first), 0);
    const again = expectCode(t.build(dir, ['-t', 'ch9/cache:1']), 0).stdout;
    assert.equal(cacheHits(again), 5, `every step after FROM from the cache:\n${again}`);
    assert.deepEqual(stepIds(again), stepIds(first), 'the same image at every step');
    assert.doesNotMatch(again, /Running in/);

    // Touching the file (a new mtime, same bytes) keeps the cache.
    const file = path.join(dir, 'app.txt');
    fs.utimesSync(file, new Date('2001-01-01'), new Date('2001-01-01'));
    assert.equal(builtId(expectCode(t.build(dir, ['-t', 'ch9/cache:1']), 0).stdout), builtId(first));

    // A changed byte: steps 1-2 (FROM, RUN) from the cache, the COPY and all after it made anew.
    fs.writeFileSync(file, 'v2\n');
    const changed = expectCode(t.build(dir, ['-t', 'ch9/cache:2']), 0).stdout;
    tags.push('ch9/cache:2');
    assert.equal(cacheHits(changed), 1, `only the RUN before the COPY is cached:\n${changed}`);
    assert.deepEqual(stepIds(changed).slice(0, 2), stepIds(first).slice(0, 2));
    assert.notEqual(stepIds(changed)[2], stepIds(first)[2]);
    assert.equal(expectCode(t.cli(['run', '--rm', 'ch9/cache:2']), 0).stdout, 'v2\n');

    // A changed mode is a changed file too.
    fs.chmodSync(file, 0o600);
    const moded = expectCode(t.build(dir, ['-t', 'ch9/cache:3']), 0).stdout;
    tags.push('ch9/cache:3');
    assert.equal(cacheHits(moded), 1);
  } finally {
    t.rmi(...tags);
  }
});

test('--no-cache re-runs every step and makes new images; the cache is still used by the next build', { skip }, () => {
  const dir = t.context({ Dockerfile: FIVE_STEPS, 'app.txt': 'x\n' });
  try {
    const first = expectCode(t.build(dir, ['-t', 'ch9/nc:1']), 0).stdout;
    const fresh = expectCode(t.build(dir, ['--no-cache', '-t', 'ch9/nc:2']), 0).stdout;
    assert.equal(cacheHits(fresh), 0);
    assert.equal((fresh.match(/Running in/g) ?? []).length, 2, 'both RUNs ran again');
    assert.notEqual(builtId(fresh), builtId(first));
  } finally {
    t.rmi('ch9/nc:1', 'ch9/nc:2');
  }
});

test('a --build-arg value is part of a RUN’s step: another value misses the cache, the same one hits', { skip }, () => {
  const dir = t.context({ Dockerfile: 'FROM busybox\nARG FLAVOUR=plain\nRUN echo "$FLAVOUR" > /flavour\n' });
  try {
    const a = expectCode(t.build(dir, ['-t', 'ch9/arg:a', '--build-arg', 'FLAVOUR=salt']), 0).stdout;
    const b = expectCode(t.build(dir, ['-t', 'ch9/arg:b', '--build-arg', 'FLAVOUR=pepper']), 0).stdout;
    assert.equal(cacheHits(b), 1, 'the ARG step is cached, the RUN is not');
    const a2 = expectCode(t.build(dir, ['-t', 'ch9/arg:a', '--build-arg', 'FLAVOUR=salt']), 0).stdout;
    assert.equal(builtId(a2), builtId(a));
    assert.equal(expectCode(t.cli(['run', '--rm', 'ch9/arg:b', 'cat', '/flavour']), 0).stdout, 'pepper\n');
    // The value is in the RUN's history line (Docker's "|1 FLAVOUR=…"), not in the image's env.
    const hist = t.cliOk(['history', '--no-trunc', '--format', '{{.CreatedBy}}', 'ch9/arg:b']);
    assert.match(hist, /^\|1 FLAVOUR=pepper \/bin\/sh -c echo "\$FLAVOUR" > \/flavour$/m);
    const [img] = JSON.parse(t.cliOk(['image', 'inspect', 'ch9/arg:b']));
    assert.ok(!(img.Config.Env ?? []).some((e: string) => e.startsWith('FLAVOUR=')));
  } finally {
    t.rmi('ch9/arg:a', 'ch9/arg:b');
  }
});
