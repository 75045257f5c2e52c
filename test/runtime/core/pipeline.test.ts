// The pipeline's `until`: the stages up to one, then cleanup with the outcome asked for.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { newRunContext, type Layer, type RunContext } from '../../../runtime/core/layer.js';
import { RunError, runPipeline } from '../../../runtime/core/pipeline.js';

function recorder(chapter: number, ran: string[], fail?: string): Layer {
  const stage = (name: string) => (ctx: RunContext) => {
    ran.push(`${chapter}:${name}:${ctx.outcome}`);
    if (name === fail) throw new RunError(125, `chapter ${chapter} refused at ${name}`);
  };
  const names = ['validate', 'prepare', 'create', 'limit', 'network', 'start', 'wait', 'cleanup'] as const;
  return { chapter, name: `l${chapter}`, runFlags: [], commands: [], stages: Object.fromEntries(names.map((n) => [n, stage(n)])) };
}

function context(root: string): RunContext {
  return newRunContext({ chapter: 2, stateRoot: root, flags: new Map(), image: 'x', command: [] });
}

test('until: the stages up to it, every layer, then cleanup (reversed) with its outcome; exit 0', async () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'pipeline-'));
  try {
    const ran: string[] = [];
    const ctx = context(root);
    ctx.until = { stage: 'prepare', outcome: 'keep' };
    assert.equal(await runPipeline(ctx, [recorder(2, ran), recorder(1, ran)]), 0);
    assert.deepEqual(ran, ['1:validate:remove', '2:validate:remove', '1:prepare:remove', '2:prepare:remove', '2:cleanup:keep', '1:cleanup:keep']);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('until: a failure before it stops there, its outcome is not applied, and its code is the exit code', async () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'pipeline-'));
  try {
    const ran: string[] = [];
    const ctx = context(root);
    ctx.until = { stage: 'prepare', outcome: 'keep' };
    assert.equal(await runPipeline(ctx, [recorder(1, ran, 'prepare'), recorder(2, ran)]), 125);
    assert.deepEqual(ran, ['1:validate:remove', '2:validate:remove', '1:prepare:remove', '2:cleanup:remove', '1:cleanup:remove']);
    assert.match(ctx.failure!.message, /refused at prepare/);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});
