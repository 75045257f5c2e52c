// The container store: one directory per container, a unique ID, and a name
// no other live container holds (checked and taken under the store's lock).
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { NameConflictError, abandonment, createContainer, listContainers, readConfig, updateConfig, type ContainerConfig, type ContainerRecord } from '../../../runtime/core/containers.js';
import { useTempDir } from '../../helpers/temp.js';

const root = useTempDir('containers-test-');

let n = 0;
const store = () => path.join(root(), `s${n++}`);

function config(rec: ContainerRecord, monitorPid: number, chapter = 1): ContainerConfig {
  return {
    ID: rec.id, Name: '/' + rec.name, Created: new Date().toISOString(), Path: 'true', Args: [],
    State: { Status: 'created', Running: false, Pid: 0, ExitCode: 0, StartedAt: '', FinishedAt: '' },
    Config: { Hostname: rec.id.slice(0, 12), Env: [], Cmd: ['true'], Image: 'busybox', WorkingDir: '/', Tty: false, OpenStdin: false },
    Rootfs: '/nonexistent', Chapter: chapter, MonitorPid: monitorPid,
  };
}

const deadPid = () => spawnSync('true').pid!;

describe('createContainer', () => {
  test('makes <root>/containers/<64 hex id>/config.v2.json with the name, under no leftover lock', () => {
    const s = store();
    const rec = createContainer(s, 'web', (r) => config(r, process.pid));
    assert.match(rec.id, /^[0-9a-f]{64}$/);
    assert.equal(rec.name, 'web');
    assert.equal(rec.dir, path.join(s, 'containers', rec.id));
    assert.equal(readConfig(rec.dir)?.Name, '/web');
    assert.deepEqual(fs.readdirSync(path.join(s, 'containers')), [rec.id]);
  });

  test("a name held by a live container is refused with Docker's message", () => {
    const s = store();
    const first = createContainer(s, 'web', (r) => config(r, process.pid));
    assert.throws(
      () => createContainer(s, 'web', (r) => config(r, process.pid)),
      (e: Error) =>
        e instanceof NameConflictError &&
        e.message ===
          `Conflict. The container name "/web" is already in use by container "${first.id}". You have to remove (or rename) that container to be able to reuse that name.`,
    );
    assert.deepEqual(listContainers(s).map((c) => c.ID), [first.id], 'the refused one left no directory');
  });

  test('a name held by a chapter-1 container whose processes are gone is reclaimed', () => {
    const s = store();
    const stale = createContainer(s, 'web', (r) => config(r, deadPid()));
    const fresh = createContainer(s, 'web', (r) => config(r, process.pid));
    assert.notEqual(fresh.id, stale.id);
    assert.equal(fs.existsSync(stale.dir), false);
    assert.deepEqual(listContainers(s).map((c) => c.Name), ['/web']);
  });

  test('without a name, a generated one that is free', () => {
    const s = store();
    const names = new Set<string>();
    for (let i = 0; i < 30; i++) names.add(createContainer(s, undefined, (r) => config(r, process.pid)).name);
    assert.equal(names.size, 30);
    for (const name of names) assert.match(name, /^[a-z]+_[a-z]+\d?$/);
  });

  test('updateConfig changes the stored config atomically', () => {
    const s = store();
    const rec = createContainer(s, 'upd', (r) => config(r, process.pid));
    updateConfig(rec, (c) => (c.State.Status = 'running'));
    assert.equal(readConfig(rec.dir)?.State.Status, 'running');
    assert.deepEqual(fs.readdirSync(rec.dir), ['config.v2.json']);
  });
});

describe('abandonment: what the next command does for a container nobody looks after', () => {
  const made = (chapter: number, status: 'created' | 'running' | 'exited', monitorPid: number, autoRemove?: boolean) => {
    const c = config({ id: 'f'.repeat(64), name: 'x', dir: '/nonexistent' }, monitorPid, chapter);
    c.State.Status = status;
    if (autoRemove !== undefined) c.HostConfig = { AutoRemove: autoRemove };
    return c;
  };

  test('nothing while its monitor (or CLI) lives, whatever its state', () => {
    for (const status of ['created', 'running', 'exited'] as const) {
      assert.equal(abandonment(made(1, status, process.pid)), null);
      assert.equal(abandonment(made(5, status, process.pid, true)), null);
    }
  });

  test('before chapter 5: removed unless marked exited', () => {
    assert.equal(abandonment(made(1, 'running', deadPid())), 'remove');
    assert.equal(abandonment(made(4, 'created', deadPid())), 'remove');
    assert.equal(abandonment(made(4, 'exited', deadPid())), null);
  });

  test('chapter 5: a --rm one past its end is removed (running or exited); a kept one still running is released; a kept exited one is left alone', () => {
    assert.equal(abandonment(made(5, 'created', deadPid())), 'remove');
    assert.equal(abandonment(made(5, 'running', deadPid(), true)), 'remove');
    assert.equal(abandonment(made(5, 'exited', deadPid(), true)), 'remove');
    assert.equal(abandonment(made(5, 'running', deadPid(), false)), 'release');
    assert.equal(abandonment(made(5, 'exited', deadPid(), false)), null);
  });
});
