// `volume create/ls/inspect/rm/prune`, run in-process as the CLI runs them,
// against a private state root: what they print, on which stream, and
// their exit codes, as the docker CLI's.
import { test, describe } from 'node:test';
import { runInProcess } from '../../helpers/in-process.ts';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from '../../../runtime/core/layer.js';
import type { FlagValue } from '../../../runtime/core/flags.js';
import { RunError } from '../../../runtime/core/pipeline.js';
import { volumeCommands } from '../../../runtime/volume/volume-commands.js';
import { volumeData } from '../../../runtime/volume/model.js';
import { ANONYMOUS_LABEL, createVolume, getVolume, listVolumes } from '../../../runtime/volume/store.js';
import { useTempDir } from '../../helpers/temp.js';

const dir = useTempDir('volcmd-test-');
let n = 0;
const freshRoot = () => {
  const d = path.join(dir(), `root${n++}`);
  fs.mkdirSync(d);
  return d;
};

const cmd = (name: string) => volumeCommands.find((c) => c.name === name || c.aliases?.includes(name)) as Command;

/** Run a command in-process: its stdout, stderr and exit code. */
const run = (root: string, name: string, args: string[], flags: Record<string, FlagValue> = {}) => runInProcess(cmd(name), 7, root, args, flags);

/** A container config with the volume among its MountPoints. */
function containerUsing(root: string, id: string, volume: string) {
  const d = path.join(root, 'containers', id);
  fs.mkdirSync(d, { recursive: true });
  fs.writeFileSync(path.join(d, 'config.v2.json'), JSON.stringify({
    ID: id, Name: '/c', State: { Status: 'exited', Running: false, Pid: 0 },
    MountPoints: { '/data': { Type: 'volume', Name: volume, Source: '', Destination: '/data', Driver: 'local', Mode: 'z', RW: true, Propagation: '' } },
  }));
}

describe('volume create', () => {
  test('prints the name; a second create of it too (the same volume)', async () => {
    const root = freshRoot();
    assert.deepEqual(await run(root, 'volume create', ['notes']), { stdout: 'notes\n', stderr: '', code: 0 });
    assert.deepEqual(await run(root, 'volume create', [], { name: 'notes' }), { stdout: 'notes\n', stderr: '', code: 0 });
    const anon = await run(root, 'volume create', []);
    assert.match(anon.stdout, /^[0-9a-f]{64}\n$/);
    assert.equal(listVolumes(root).length, 2);
  });

  test('labels and -o options reach the record', async () => {
    const root = freshRoot();
    const r = await run(root, 'volume create', ['scratch'], { label: ['tier=db', 'flag'], opt: ['type=tmpfs', 'device=tmpfs', 'o=size=16m,uid=1000'] });
    assert.equal(r.code, 0, r.stderr);
    const v = getVolume(root, 'scratch');
    assert.deepEqual(v.Labels, { tier: 'db', flag: '' });
    assert.deepEqual(v.Options, { type: 'tmpfs', device: 'tmpfs', o: 'size=16m,uid=1000' });
  });

  test('refusals: --name and a name both, a bad label, another driver, a bad name or option', async () => {
    const root = freshRoot();
    assert.deepEqual(await run(root, 'volume create', ['a1'], { name: 'a1' }), {
      stdout: '', code: 1, stderr: 'conflicting options: cannot specify a volume-name through both --name and as a positional arg\n',
    });
    const badLabel = await run(root, 'volume create', ['a1'], { label: ['=x'] });
    assert.equal(badLabel.code, 125);
    assert.equal(badLabel.stderr, `invalid argument "=x" for "--label" flag: invalid label '=x': empty name\nSee 'dockling volume create --help'.\n`);
    assert.match((await run(root, 'volume create', ['a1'], { label: ['a b=1'] })).stderr, /label 'a b' contains whitespaces/);
    assert.deepEqual(await run(root, 'volume create', ['a1'], { driver: 'nfsplugin' }), {
      stdout: '', code: 1, stderr: 'Error response from daemon: create a1: error looking up volume plugin nfsplugin: plugin "nfsplugin" not found\n',
    });
    const badName = await run(root, 'volume create', ['a/b']);
    assert.equal(badName.code, 1);
    assert.match(badName.stderr, /^Error response from daemon: create a\/b: "a\/b" includes invalid characters for a local volume name/);
    assert.deepEqual(await run(root, 'volume create', ['a1'], { opt: ['colour=blue'] }), {
      stdout: '', code: 1, stderr: 'Error response from daemon: create a1: invalid option: "colour"\n',
    });
    assert.deepEqual(listVolumes(root), []);
  });
});

describe('volume ls', () => {
  test('Docker\'s columns, in natural order; -q; --format; filters', async () => {
    const root = freshRoot();
    createVolume(root, { name: 'vol10', labels: { tier: 'db' } });
    createVolume(root, { name: 'vol2' });
    createVolume(root, { name: 'data' });
    containerUsing(root, 'a'.repeat(64), 'vol2');

    const ls = await run(root, 'volume ls', []);
    assert.equal(ls.code, 0);
    assert.equal(ls.stdout, 'DRIVER    VOLUME NAME\nlocal     data\nlocal     vol2\nlocal     vol10\n');
    assert.equal((await run(root, 'volume list', [], { quiet: true })).stdout, 'data\nvol2\nvol10\n');
    assert.equal((await run(root, 'volume ls', [], { quiet: true, format: 'table' })).stdout, 'data\nvol2\nvol10\n');
    assert.equal((await run(root, 'volume ls', [], { quiet: true, format: '{{.Name}}:{{.Labels}}' })).stdout, 'data:\nvol2:\nvol10:tier=db\n', '--format wins over -q');
    assert.equal(
      (await run(root, 'volume ls', [], { format: 'table {{.Name}}\t{{.Mountpoint}}', filter: ['name=vol1'] })).stdout,
      `VOLUME NAME   MOUNTPOINT\nvol10         ${volumeData(root, 'vol10')}\n`,
    );
    const json = (await run(root, 'volume ls', [], { format: 'json', filter: ['name=data'] })).stdout;
    assert.deepEqual(JSON.parse(json), {
      Availability: 'N/A', Driver: 'local', Group: 'N/A', Labels: '', Links: 'N/A', Mountpoint: volumeData(root, 'data'), Name: 'data', Scope: 'local', Size: 'N/A', Status: 'N/A',
    });

    const q = (filter: string[]) => run(root, 'volume ls', [], { quiet: true, filter }).then((r) => r.stdout);
    assert.equal(await q(['dangling=true']), 'data\nvol10\n');
    assert.equal(await q(['dangling=false']), 'vol2\n');
    assert.equal(await q(['label=tier=db']), 'vol10\n');
    assert.equal(await q(['label=tier']), 'vol10\n');
    assert.equal(await q(['driver=local', 'name=^v']), 'vol2\nvol10\n');
    assert.equal(await q(['driver=nfs']), '');
    assert.deepEqual(await run(root, 'volume ls', [], { filter: ['bogus=1'] }), { stdout: '', code: 1, stderr: "Error response from daemon: invalid filter 'bogus'\n" });
    assert.equal((await run(root, 'volume ls', [], { filter: ['dangling=maybe'] })).stderr, "Error response from daemon: invalid filter 'dangling=[maybe]'\n");
  });
});

describe('volume inspect', () => {
  test('Docker\'s JSON: its keys in its order, null labels and options, the Mountpoint under the state root', async () => {
    const root = freshRoot();
    const rec = createVolume(root, { name: 'notes' }).record;
    const r = await run(root, 'volume inspect', ['notes']);
    assert.equal(r.code, 0);
    assert.equal(
      r.stdout,
      `[\n    {\n        "CreatedAt": "${rec.CreatedAt}",\n        "Driver": "local",\n        "Labels": null,\n        "Mountpoint": "${volumeData(root, 'notes')}",\n        "Name": "notes",\n        "Options": null,\n        "Scope": "local"\n    }\n]\n`,
    );
    const anon = createVolume(root, {}).record.Name;
    const labels = JSON.parse((await run(root, 'volume inspect', [anon])).stdout)[0].Labels;
    assert.deepEqual(labels, { [ANONYMOUS_LABEL]: '' });
  });

  test('-f, and a missing volume: the others printed, its error on stderr, exit 1', async () => {
    const root = freshRoot();
    createVolume(root, { name: 'notes' });
    assert.deepEqual(await run(root, 'volume inspect', ['notes'], { format: '{{.Mountpoint}}' }), { stdout: volumeData(root, 'notes') + '\n', stderr: '', code: 0 });
    const r = await run(root, 'volume inspect', ['ghost', 'notes'], { format: '{{.Name}} {{.Driver}}' });
    assert.deepEqual(r, { stdout: 'notes local\n', stderr: 'Error response from daemon: get ghost: no such volume\n', code: 1 });
    assert.equal((await run(root, 'volume inspect', ['notes'], { format: '{{.Name' })).code, 64);
  });
});

describe('volume rm', () => {
  test('each name printed as removed; one in use or missing is an error of its own, exit 1', async () => {
    const root = freshRoot();
    for (const name of ['one', 'two', 'busy']) createVolume(root, { name });
    const ID = 'c'.repeat(64);
    containerUsing(root, ID, 'busy');
    const r = await run(root, 'volume rm', ['one', 'busy', 'ghost', 'two']);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, 'one\ntwo\n');
    assert.match(r.stderr, new RegExp(`remove busy: volume is in use - \\[${ID}\\]`));
    assert.match(r.stderr, /get ghost: no such volume/);
    assert.deepEqual(listVolumes(root).map((v) => v.Name), ['busy']);
    // -f: a missing one is no error (its name is still printed); one in use still is.
    assert.deepEqual(await run(root, 'volume remove', ['ghost'], { force: true }), { stdout: 'ghost\n', stderr: '', code: 0 });
    assert.equal((await run(root, 'volume rm', ['busy'], { force: true })).code, 1);
  });
});

describe('volume prune', () => {
  test('-f: anonymous unused volumes only; -a: named ones too; the report as Docker prints it', async () => {
    const root = freshRoot();
    const anon = createVolume(root, {}).record.Name;
    const used = createVolume(root, {}).record.Name;
    createVolume(root, { name: 'named' });
    containerUsing(root, 'd'.repeat(64), used);
    fs.writeFileSync(path.join(volumeData(root, anon), 'f'), 'hello');
    assert.deepEqual(await run(root, 'volume prune', [], { force: true }), { stdout: `Deleted Volumes:\n${anon}\n\nTotal reclaimed space: 5B\n`, stderr: '', code: 0 });
    assert.deepEqual(await run(root, 'volume prune', [], { force: true }), { stdout: 'Total reclaimed space: 0B\n', stderr: '', code: 0 });
    assert.deepEqual(await run(root, 'volume prune', [], { force: true, all: true }), { stdout: 'Deleted Volumes:\nnamed\n\nTotal reclaimed space: 0B\n', stderr: '', code: 0 });
    assert.deepEqual(listVolumes(root).map((v) => v.Name), [used]);
  });

  test('--all with a filter all=: refused as the CLI refuses it; bad filters as the daemon', async () => {
    const root = freshRoot();
    assert.deepEqual(await run(root, 'volume prune', [], { force: true, all: true, filter: ['all=0'] }), {
      stdout: '', code: 1, stderr: 'conflicting options: cannot specify both --all and --filter all=1\n',
    });
    assert.equal((await run(root, 'volume prune', [], { force: true, filter: ['until=1h'] })).stderr, "Error response from daemon: invalid filter 'until'\n");
  });
});
