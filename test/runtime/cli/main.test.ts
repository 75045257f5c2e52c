// The CLI's own global flags, before any chapter's layer is involved: these
// hold at every --chapter, 0 included, so they are tested here rather than
// in a chapter's tests (which must fail without their chapter's layer).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { BIN, dockling } from '../../helpers/dockling.js';

test("125 for an empty --root (an unset variable, say): never the system's /var/lib/dockling instead", () => {
  for (const chapter of ['0', '5']) {
    // A bad flag after it too: were --root '' taken, this would fail on the
    // flag, and nothing would have been made under /var/lib/dockling.
    const r = dockling('', ['run', '--no-such-flag', 'busybox', 'true'], { env: { DOCKLING_CHAPTER: chapter } });
    assert.equal(r.code, 125, r.stderr);
    assert.match(r.stderr, /^dockling: invalid --root "": the state root must be a directory[^\n]*\n$/);
    assert.equal(r.stdout, '');
  }
});

test('DOCKLING_ROOT set but empty is refused the same way', () => {
  const r = spawnSync(process.execPath, ['--', BIN, 'ps'], { encoding: 'utf8', env: { ...process.env, DOCKLING_ROOT: '', DOCKLING_CHAPTER: '5' } });
  assert.equal(r.status, 125, r.stderr);
  assert.match(r.stderr, /invalid --root ""/);
});
