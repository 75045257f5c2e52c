// Chapter 11, section 2: "Capabilities: root, in 41 pieces", its paragraph on
// exec (and what sections 3-6 hold an exec'd process to).
//
// Chapter 11, `exec`: a process started in a running container is held to
// what the container's own processes are (runc applies the container's
// process settings to every exec): its capability sets and no_new_privs,
// applied by dist/nsenter inside the container just before execve. `exec
// --privileged` gets every capability, as Docker's does; a non-root --user
// gets only the bounding set. The expected lines are what a real `docker
// exec` (20.10.24) printed for the same containers.
//
// test/run.ts runs this file at chapter 11 (all pass) and at chapter 10
// (all fail: the exec'd process has every capability of the host's root).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { dockling, rootOrSkip } from '../../helpers/dockling.js';
import { expectCode, useStateRoot } from '../../helpers/chapter.js';

const skip = rootOrSkip();
const root = useStateRoot('ch11-exec');

const HOST = /^CapEff:\s*([0-9a-f]+)$/m.exec(fs.readFileSync('/proc/self/status', 'utf8'))![1];
const ZERO = '0000000000000000';

const dk = (args: string[]) => dockling(root(), args);
const ok = (args: string[]) => expectCode(dk(args), 0).stdout;

/** A container `name` (sleep 600) made with `flags`, removed after fn. */
async function withContainer(name: string, flags: string[], fn: () => void | Promise<void>): Promise<void> {
  try {
    ok(['run', '-d', '--name', name, ...flags, 'busybox', 'sleep', '600']);
    await fn();
  } finally {
    dk(['rm', '-f', name]);
  }
}

/** The exec'd process's own capability lines and NoNewPrivs. */
function execSets(name: string, execFlags: string[] = []): Record<string, string> {
  const out = ok(['exec', ...execFlags, name, 'grep', '-E', '^(Cap|NoNewPrivs)', '/proc/self/status']);
  return Object.fromEntries(out.trim().split('\n').map((l) => l.split(/:\s+/) as [string, string]));
}

test('exec gets the container’s capability sets (Docker’s default)', { skip }, () =>
  withContainer('exec-default', [], () => {
    const m = '00000000a80425fb';
    assert.deepEqual(execSets('exec-default'), { CapInh: ZERO, CapPrm: m, CapEff: m, CapBnd: m, CapAmb: ZERO, NoNewPrivs: '0' });
  }));

test('exec gets the container’s --cap-add, --cap-drop and no_new_privs', { skip }, () =>
  withContainer('exec-tweaked', ['--cap-drop', 'mknod', '--cap-add', 'net_admin', '--security-opt', 'no-new-privileges'], () => {
    const m = '00000000a00435fb';
    assert.deepEqual(execSets('exec-tweaked'), { CapInh: ZERO, CapPrm: m, CapEff: m, CapBnd: m, CapAmb: ZERO, NoNewPrivs: '1' });
    // and the kernel holds it to them
    const r = dk(['exec', 'exec-tweaked', 'mknod', '/n', 'c', '1', '3']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /Operation not permitted/);
  }));

test('exec --privileged: every capability dockling holds; the container’s no_new_privs stays', { skip }, () =>
  withContainer('exec-priv', ['--security-opt', 'no-new-privileges'], () => {
    const s = execSets('exec-priv', ['--privileged']);
    assert.deepEqual([s.CapEff, s.CapPrm, s.CapBnd, s.CapInh, s.NoNewPrivs], [HOST, HOST, HOST, ZERO, '1']);
  }));

test('exec --user 1000: no effective or permitted capabilities, the container’s bounding set', { skip }, () =>
  withContainer('exec-user', ['--cap-drop', 'ALL', '--cap-add', 'CHOWN'], () => {
    const s = execSets('exec-user', ['--user', '1000']);
    assert.deepEqual([s.CapEff, s.CapPrm, s.CapBnd, s.CapInh, s.CapAmb], [ZERO, ZERO, '0000000000000001', ZERO, ZERO]);
  }));
