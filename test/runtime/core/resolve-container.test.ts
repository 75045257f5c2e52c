// Which container a reference means (resolveContainer, runtime/core/containers.ts):
// the daemon's GetContainer: a full ID, then an exact name, then a unique ID
// prefix (truncindex: "Multiple IDs found with provided prefix"), else
// "No such container".
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { resolveContainer, type ContainerConfig } from '../../../runtime/core/containers.js';
import { useTempDir } from '../../helpers/temp.js';

// --- resolveContainer --------------------------------------------------------

const tmp = useTempDir('resolve-container-test-');
let stores = 0;

/** A fake state root holding containers/<id>/config.v2.json for each (id, name). */
function fakeStore(entries: { id: string; name: string }[]): string {
  const root = path.join(tmp(), `s${stores++}`);
  for (const { id, name } of entries) {
    const dir = path.join(root, 'containers', id);
    fs.mkdirSync(dir, { recursive: true });
    const c = {
      ID: id, Name: '/' + name, Created: '2024-01-01T00:00:00Z', Path: 'true', Args: [],
      State: { Status: 'exited', Running: false, Pid: 0, ExitCode: 0, StartedAt: '', FinishedAt: '' },
      Config: { Hostname: id.slice(0, 12), Env: [], Cmd: ['true'], Image: 'busybox', WorkingDir: '/', Tty: false, OpenStdin: false },
      Rootfs: '/nonexistent', Chapter: 5, MonitorPid: 0,
    } satisfies ContainerConfig;
    fs.writeFileSync(path.join(dir, 'config.v2.json'), JSON.stringify(c));
  }
  return root;
}

/** The daemon's GetContainer, written out. */
function model(entries: { id: string; name: string }[], ref: string): { id: string } | { error: string } {
  const byId = entries.find((e) => e.id === ref);
  if (byId) return { id: byId.id };
  const byName = entries.find((e) => e.name === ref.replace(/^\//, ''));
  if (byName) return { id: byName.id };
  const byPrefix = ref === '' ? [] : entries.filter((e) => e.id.startsWith(ref));
  if (byPrefix.length === 1) return { id: byPrefix[0].id };
  if (byPrefix.length > 1) return { error: `Multiple IDs found with provided prefix: ${ref}` };
  return { error: `No such container: ${ref}` };
}

function actual(root: string, ref: string): { id: string } | { error: string } {
  try {
    return { id: resolveContainer(root, ref).ID };
  } catch (e) {
    return { error: (e as Error).message };
  }
}

const hexId = (head: string) => (head + '0123456789abcdef'.repeat(4)).slice(0, 64);

describe('resolveContainer', () => {
  const entries = [
    { id: hexId('abc1'), name: 'web' },
    { id: hexId('abc2'), name: 'db' },
    { id: hexId('def0'), name: 'abc2' }, // a name that is another container's ID prefix
  ];

  test('a full ID, a name (with or without "/"), a unique prefix', () => {
    const root = fakeStore(entries);
    assert.equal(resolveContainer(root, entries[0].id).ID, entries[0].id);
    assert.equal(resolveContainer(root, 'web').ID, entries[0].id);
    assert.equal(resolveContainer(root, '/db').ID, entries[1].id);
    assert.equal(resolveContainer(root, 'abc1').ID, entries[0].id);
    assert.equal(resolveContainer(root, 'de').ID, entries[2].id);
  });

  test('an exact name wins over an ID prefix it also is', () => {
    const root = fakeStore(entries);
    assert.equal(resolveContainer(root, 'abc2').ID, entries[2].id);
  });

  test("an ambiguous prefix is refused with Docker's message; an unknown reference too", () => {
    const root = fakeStore(entries);
    assert.throws(() => resolveContainer(root, 'abc'), { message: 'Multiple IDs found with provided prefix: abc' });
    assert.throws(() => resolveContainer(root, 'nosuch'), { message: 'No such container: nosuch' });
    assert.throws(() => resolveContainer(root, 'ABC1'), { message: 'No such container: ABC1' }, 'IDs are lower-case hex');
    assert.throws(() => resolveContainer(fakeStore([]), 'web'), { message: 'No such container: web' }, 'an empty store');
  });

  test("a full ID wins over a name that spells it (the daemon looks IDs up first)", () => {
    const a = { id: hexId('aaaa'), name: 'first' };
    const b = { id: hexId('bbbb'), name: a.id }; // a 64-hex name is a valid name
    for (const order of [[a, b], [b, a]]) {
      const root = fakeStore(order);
      assert.equal(resolveContainer(root, a.id).ID, a.id);
    }
  });

  test('random stores and references against the model', () => {
    const hex = fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: 1, maxLength: 4 });
    const name = fc.oneof(fc.constantFrom('web', 'db', 'a1', 'ab', 'abc', 'cafe', '0a'), hex.filter((h) => h.length >= 2));
    const store = fc
      .uniqueArray(fc.record({ head: hex, name }), { selector: (e) => e.name, maxLength: 6 })
      .map((xs) => {
        const seen = new Set<string>();
        return xs
          .map((x, i) => ({ id: hexId(x.head + i.toString(16)), name: x.name }))
          .filter((x) => !seen.has(x.id) && (seen.add(x.id), true));
      });
    fc.assert(
      fc.property(store, fc.nat(), fc.oneof(hex, name, fc.constantFrom('nosuch', '/web')), fc.nat({ max: 3 }), (es, pick, other, kind) => {
        const root = fakeStore(es);
        const e = es.length ? es[pick % es.length] : undefined;
        const ref = e && kind === 0 ? e.id : e && kind === 1 ? e.name : e && kind === 2 ? e.id.slice(0, 1 + (pick % 12)) : other;
        assert.deepEqual(actual(root, ref), model(es, ref), `ref ${JSON.stringify(ref)} in ${JSON.stringify(es)}`);
      }),
      { numRuns: 300 },
    );
  });
});
