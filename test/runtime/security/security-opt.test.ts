// --security-opt's words and errors, as Docker's daemon parses them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseSecurityOpts } from '../../../runtime/security/security-opt.js';
import { RunError } from '../../../runtime/core/pipeline.js';

const refused = (opts: string[], message: RegExp) =>
  assert.throws(() => parseSecurityOpts(opts), (e: unknown) => e instanceof RunError && e.code === 125 && message.test(e.message));

test('no options: the builtin profile, no no_new_privs, paths confined', () => {
  const o = parseSecurityOpts([]);
  assert.equal(o.seccomp, 'builtin');
  assert.equal(o.noNewPrivileges, false);
  assert.equal(o.unconfinedPaths, false);
});

test('no-new-privileges alone, or with a boolean in Go\'s spellings; the last one wins', () => {
  assert.equal(parseSecurityOpts(['no-new-privileges']).noNewPrivileges, true);
  assert.equal(parseSecurityOpts(['no-new-privileges=true']).noNewPrivileges, true);
  assert.equal(parseSecurityOpts(['no-new-privileges:1']).noNewPrivileges, true);
  assert.equal(parseSecurityOpts(['no-new-privileges', 'no-new-privileges=false']).noNewPrivileges, false);
  refused(['no-new-privileges=yes'], /^invalid --security-opt 2: "no-new-privileges=yes"/);
});

test('seccomp=unconfined, seccomp=FILE (read by the CLI, as docker does), and a missing file', () => {
  assert.equal(parseSecurityOpts(['seccomp=unconfined']).seccomp, 'unconfined');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'secopt-'));
  try {
    const f = path.join(dir, 'p.json');
    fs.writeFileSync(f, '{"defaultAction":"SCMP_ACT_ALLOW"}');
    assert.deepEqual(parseSecurityOpts([`seccomp=${f}`]).seccomp, { json: '{"defaultAction":"SCMP_ACT_ALLOW"}', file: f });
    refused([`seccomp=${path.join(dir, 'nope.json')}`], /^opening seccomp profile \(.*nope\.json\) failed: .*no such file or directory/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('Docker\'s errors for a word without a value and for an unknown key', () => {
  refused(['foo'], /^invalid --security-opt 1: "foo"/);
  refused(['foo=bar'], /^invalid --security-opt 2: "foo=bar"/);
  refused(['systempaths=confined'], /^invalid --security-opt 2: "systempaths=confined"/);
  assert.equal(parseSecurityOpts(['systempaths=unconfined']).unconfinedPaths, true);
  // accepted and ignored, as on a host without AppArmor or SELinux
  assert.doesNotThrow(() => parseSecurityOpts(['apparmor=unconfined', 'label=disable', 'label:type:foo']));
});
