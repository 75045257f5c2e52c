// The seccomp part's decisions, without a container: which profile a run
// gets (--privileged and seccomp=unconfined: none), which capabilities it
// is compiled for (the bounding set the capabilities part chose, else
// Docker's 14), the program kept in the container's directory (mode 0600),
// and `exec` picking that program up.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { RunContext } from '../../../runtime/core/layer.js';
import type { ContainerConfig } from '../../../runtime/core/containers.js';
import type { ExecSettings } from '../../../runtime/core/spec.js';
// (the layer first: its parts import securityOpts from it, as the CLI loads them)
import { parsedSecurityOpts } from '../../../runtime/security/layer.js';
import { seccomp, PROGRAM_FILE } from '../../../runtime/security/seccomp.js';
import { parseSecurityOpts } from '../../../runtime/security/security-opt.js';
import { SYSCALLS_X86_64 } from '../../../runtime/security/seccomp/syscalls-x86_64.js';
import { runFilter } from './bpf-interpreter.js';

function context(opts: string[], flags: Record<string, unknown> = {}, bounding?: string[]): { ctx: RunContext; dir: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seccomp-part-test-'));
  fs.writeFileSync(path.join(dir, 'config.v2.json'), '{}');
  const ctx = {
    flags: new Map(Object.entries(flags)),
    slots: new Map(),
    spec: { process: bounding ? { capabilities: { bounding, effective: bounding, permitted: bounding, inheritable: bounding, ambient: [] } } : {} },
    container: { id: 'c0', name: 'c0', dir },
  } as unknown as RunContext;
  parsedSecurityOpts.set(ctx, parseSecurityOpts(opts));
  return { ctx, dir };
}

const mountVerdict = (program: string) =>
  runFilter(Buffer.from(program, 'base64'), { nr: SYSCALLS_X86_64.mount, arch: 0xc000003e, args: [0n, 0n, 0n, 0n, 0n, 0n] }) >>> 0;

describe('the seccomp part', () => {
  test('--privileged and seccomp=unconfined: no filter, no file', () => {
    for (const [opts, flags] of [[[], { privileged: true }], [['seccomp=unconfined'], {}]] as const) {
      const { ctx, dir } = context([...opts], flags);
      try {
        seccomp.validate!(ctx);
        seccomp.prepare!(ctx);
        assert.equal(ctx.spec.seccomp, undefined);
        assert.ok(!fs.existsSync(path.join(dir, PROGRAM_FILE)));
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    }
  });

  test('compiled for the bounding set: mount is allowed only with CAP_SYS_ADMIN; the program is kept 0600 for exec', () => {
    const withAdmin = context([], {}, ['CAP_CHOWN', 'CAP_SYS_ADMIN']);
    const without = context([]);
    try {
      for (const { ctx } of [withAdmin, without]) {
        seccomp.validate!(ctx);
        seccomp.prepare!(ctx);
      }
      assert.equal(mountVerdict(withAdmin.ctx.spec.seccomp!.program), 0x7fff0000);
      assert.equal(mountVerdict(without.ctx.spec.seccomp!.program), 0x00050001, "Docker's 14 capabilities when none are set");
      const file = path.join(withAdmin.dir, PROGRAM_FILE);
      assert.equal(fs.statSync(file).mode & 0o777, 0o600);
      assert.equal(fs.readFileSync(file).toString('base64'), withAdmin.ctx.spec.seccomp!.program);

      const c = JSON.parse(fs.readFileSync(path.join(withAdmin.dir, 'config.v2.json'), 'utf8')) as ContainerConfig;
      const settings: ExecSettings = {};
      seccomp.exec!(c, new Map(), settings);
      assert.equal(settings.seccomp?.program, withAdmin.ctx.spec.seccomp!.program);
    } finally {
      fs.rmSync(withAdmin.dir, { recursive: true, force: true });
      fs.rmSync(without.dir, { recursive: true, force: true });
    }
  });

  test('info: the profile in force, as Docker lists it under Security Options', () => {
    assert.deepEqual(seccomp.info!('/nonexistent'), ['seccomp', ' Profile: builtin']);
  });
});
