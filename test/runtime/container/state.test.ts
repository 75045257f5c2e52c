// Which state allows which verb (container/state.ts): the one place ps,
// start, stop, kill, exec, attach, rm and prune ask. The processes are
// this test's own (alive) and an exited child (gone).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import type { ContainerConfig } from '../../../runtime/core/containers.js';
import { canRemove, canStart, canStop, hasEnded, isRunning, liveStatus } from '../../../runtime/container/state.js';

const ALIVE = process.pid;
const GONE = spawnSync('true').pid!; // exited and collected

function container(status: 'created' | 'running' | 'exited', pid: number, monitorPid: number): ContainerConfig {
  return {
    ID: 'a'.repeat(64), Name: '/box', Created: '', Path: 'sleep', Args: [], Rootfs: '', Chapter: 5, MonitorPid: monitorPid,
    State: { Status: status, Running: status === 'running', Pid: pid, ExitCode: 0, StartedAt: '', FinishedAt: '' },
    Config: { Hostname: '', Env: [], Cmd: [], Image: '', WorkingDir: '/', Tty: false, OpenStdin: false },
  } as unknown as ContainerConfig;
}

const answers = (c: ContainerConfig) => ({
  status: liveStatus(c), isRunning: isRunning(c), hasEnded: hasEnded(c), canStart: canStart(c), canStop: canStop(c),
  canRemove: canRemove(c, false), canForceRemove: canRemove(c, true),
});

test('a running container: stop and kill it, rm only with -f; start has nothing to do', () => {
  assert.deepEqual(answers(container('running', ALIVE, ALIVE)), {
    status: 'running', isRunning: true, hasEnded: false, canStart: false, canStop: true, canRemove: false, canForceRemove: true,
  });
});

test('PID 1 gone, its monitor still recording the end: still running, not yet ended', () => {
  assert.deepEqual(answers(container('running', GONE, ALIVE)), {
    status: 'running', isRunning: true, hasEnded: false, canStart: false, canStop: true, canRemove: false, canForceRemove: true,
  });
});

test('an exited container, or a dead one (its monitor killed): start and rm it; nothing to stop', () => {
  for (const c of [container('exited', 0, GONE), container('running', GONE, GONE), container('created', 0, 0)]) {
    const a = answers(c);
    assert.deepEqual({ ...a, status: undefined }, {
      status: undefined, isRunning: false, hasEnded: true, canStart: true, canStop: false, canRemove: true, canForceRemove: true,
    }, c.State.Status);
  }
  assert.equal(liveStatus(container('running', GONE, GONE)), 'dead');
});
