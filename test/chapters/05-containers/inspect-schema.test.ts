// Chapter 5, "inspect": the whole document, as the Docker Engine API
// defines it. A script written against `docker inspect` (or a client of
// the Engine API) reads keys by name and expects Docker's types: every key
// of ContainerInspectResponse must be there with its type (the tables of
// test/helpers/engine-api.ts, from the API's swagger definitions), the
// layers' values under Docker's names (--cpus as NanoCpus, the namespaces
// as modes), the network's keys empty until chapter 6, and times as Go
// prints them (nanoseconds, never JavaScript's milliseconds).
//
// test/run.ts runs this file with layers 1..5 (every test must pass) and
// with layers 1..4 (every test must fail: there `run -d` does not exist and
// chapter 4's document has no State.Error, no HostConfig table, no
// NetworkSettings).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rootOrSkip } from '../../helpers/dockling.ts';
import { CONTAINER_INSPECT, GO_TIME, check } from '../../helpers/engine-api.ts';
import { chapter5 } from './helpers.ts';

const skip = rootOrSkip();
const c = chapter5('ch5-inspect-schema');

/** `inspect REF`'s one object, parsed. */
const inspectOf = (ref: string) => {
  const all = JSON.parse(c.ok(['inspect', ref])) as Record<string, any>[];
  assert.equal(all.length, 1);
  return all[0];
};

test('inspect of a running and of an exited container: every key of the Engine API’s ContainerInspectResponse, with its type', { skip }, async () => {
  try {
    c.runD(['--name', 'shaped', '--cpus', '0.5', '-m', '64m', '--restart', 'on-failure:3', '-e', 'GREETING=hi', '-w', '/tmp', 'busybox', 'sleep', '60']);
    c.ok(['run', '--name', 'done', 'busybox', 'true']);
    for (const name of ['shaped', 'done']) {
      const doc = inspectOf(name);
      // MonitorPid: dockling's own (the process that keeps the container), listed last.
      assert.deepEqual(check(doc, CONTAINER_INSPECT, '', ['MonitorPid']), [], `${name}: the document does not fit the Engine API's schema`);
    }
  } finally {
    await c.cleanup();
  }
});

test('inspect: the layers’ values under Docker’s names, the network’s keys empty, Go’s times', { skip }, async () => {
  try {
    c.runD(['--name', 'valued', '--cpus', '0.5', '-m', '64m', '--restart', 'on-failure:3', 'busybox', 'sleep', '60']);
    const doc = inspectOf('valued');
    const hc = doc.HostConfig;
    // --cpus is NanoCpus; the period and quota it becomes stay the kernel's (0 here, as Docker shows).
    assert.deepEqual([hc.NanoCpus, hc.CpuPeriod, hc.CpuQuota], [500_000_000, 0, 0]);
    assert.deepEqual([hc.Memory, hc.MemorySwap], [64 * 1024 * 1024, 128 * 1024 * 1024]);
    assert.deepEqual(hc.RestartPolicy, { Name: 'on-failure', MaximumRetryCount: 3 });
    // chapter 1's namespaces: its own network namespace with loopback only is --network none.
    assert.deepEqual([hc.NetworkMode, hc.IpcMode, hc.PidMode, hc.UTSMode, hc.CgroupnsMode], ['none', 'private', '', '', 'private']);
    assert.equal(hc.ShmSize, 64 * 1024 * 1024);
    assert.deepEqual([hc.Binds, hc.PortBindings, hc.Links, hc.Dns], [null, {}, null, []]);
    assert.ok(!('Init' in hc), 'Init is left out without --init, as Docker’s CLI leaves it out');
    // Docker's key order: a diff of two inspect documents lines up.
    const keys = Object.keys(hc);
    assert.deepEqual(keys.slice(0, 6), ['Binds', 'ContainerIDFile', 'LogConfig', 'NetworkMode', 'PortBindings', 'RestartPolicy']);
    assert.ok(keys.indexOf('Isolation') < keys.indexOf('CpuShares') && keys.indexOf('IOMaximumBandwidth') < keys.indexOf('MaskedPaths'));
    assert.deepEqual(doc.NetworkSettings.Networks, {});
    assert.deepEqual(doc.NetworkSettings.Ports, {});
    assert.equal(doc.NetworkSettings.IPAddress, '');
    assert.deepEqual(doc.Mounts, []);
    // -d: nothing attached.
    assert.deepEqual([doc.Config.AttachStdin, doc.Config.AttachStdout, doc.Config.AttachStderr], [false, false, false]);
    assert.match(doc.Created, GO_TIME);
    assert.match(doc.State.StartedAt, GO_TIME);
    assert.equal(doc.State.FinishedAt, '0001-01-01T00:00:00Z', 'a running container’s FinishedAt is Go’s zero time');
    assert.ok(Date.parse(doc.State.StartedAt) >= Date.parse(doc.Created));

    c.ok(['rm', '-f', 'valued']);
    c.ok(['run', '--name', 'attached', 'busybox', 'true']);
    const done = inspectOf('attached');
    assert.deepEqual([done.Config.AttachStdin, done.Config.AttachStdout, done.Config.AttachStderr], [false, true, true]);
    assert.match(done.State.FinishedAt, GO_TIME);
    // Finer than JavaScript's milliseconds (nanoseconds, save one time in a million that ends in 000000).
    assert.match(done.Created, /\.\d{4,9}Z$/);
  } finally {
    await c.cleanup();
  }
});
