// Chapter 1: `dockling version`, docker version's two blocks. The Client
// block is the CLI; the Server block says what does the daemon's work:
// the chapters' layers switched on, one component each. --format runs a
// Go template on a document shaped like docker's.
//
// test/run.ts runs this file with layers 1..1 (every test must pass) and
// with no layer at all (every test must fail: `version` is chapter 1's).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import { dockling, REPO } from '../../helpers/dockling.js';
import { expectCode, useStateRoot } from '../../helpers/chapter.js';

const root = useStateRoot('ch1-version');
const CHAPTER = Number(process.env.DOCKLING_CHAPTER ?? 1);
const VERSION = (JSON.parse(fs.readFileSync(`${REPO}/package.json`, 'utf8')) as { version: string }).version;
const ARCH = ({ x64: 'amd64', arm64: 'arm64' } as Record<string, string>)[process.arch] ?? process.arch;

test("version: docker's Client and Server blocks, labels aligned at column 20, the layers switched on", () => {
  const r = expectCode(dockling(root(), ['version']), 0);
  assert.equal(r.stderr, '');
  const lines = r.stdout.split('\n');
  assert.equal(lines[0], 'Client: dockling');
  assert.equal(lines[1], ` Version:           ${VERSION}`);
  assert.equal(lines[2], ' API version:       1.41');
  assert.ok(lines.includes(` Node.js version:   ${process.version}`), r.stdout);
  assert.ok(lines.includes(` OS/Arch:           linux/${ARCH}`), r.stdout);
  assert.ok(lines.includes(' Context:           default'), r.stdout);
  assert.match(r.stdout, /\n\nServer: dockling\n Engine:\n  Version:          /);
  assert.ok(lines.includes('  API version:      1.41 (minimum version 1.12)'), r.stdout);
  assert.ok(lines.includes(`  Kernel version:   ${os.release()}`), r.stdout);
  // the chapters whose layers are on, the unwritten ones not among them
  const written = [1, 2, 4, 5, 11].filter((n) => n <= CHAPTER).join(', ');
  assert.ok(lines.includes(`  Chapters:         ${written}`), r.stdout);
  // chapter 1's component: what makes the namespaces
  assert.match(r.stdout, /\n namespaces:\n  Version:          chapter 1\n  Runtime:          \S+nsexec\n/);
  // a later chapter's component only when its layer is on
  assert.equal(r.stdout.includes('\n cgroups:\n'), CHAPTER >= 2, r.stdout);
  assert.ok(r.stdout.endsWith('\n') && !r.stdout.endsWith('\n\n'));
});

test("version --format: a Go template on docker's document; json; exit 64 for a template that does not parse, 1 for a missing field", () => {
  assert.equal(expectCode(dockling(root(), ['version', '--format', '{{.Client.Version}}']), 0).stdout, `${VERSION}\n`);
  // Go's field name in a template, the JSON key in {{json .}}, as docker's struct
  assert.equal(expectCode(dockling(root(), ['version', '-f', '{{.Client.APIVersion}} {{.Server.MinAPIVersion}} {{.Server.Os}}']), 0).stdout, '1.41 1.12 linux\n');
  const doc = JSON.parse(expectCode(dockling(root(), ['version', '--format', '{{json .}}']), 0).stdout);
  assert.deepEqual(Object.keys(doc), ['Client', 'Server']);
  assert.equal(doc.Client.ApiVersion, '1.41');
  assert.equal(doc.Client.Platform.Name, 'dockling');
  assert.equal(doc.Client.Context, 'default');
  assert.equal(doc.Server.KernelVersion, os.release());
  assert.equal(doc.Server.Components[0].Name, 'Engine');
  assert.equal(doc.Server.Components[0].Details.ApiVersion, '1.41');
  assert.deepEqual(doc.Server.Components.slice(1).map((c: { Name: string }) => c.Name)[0], 'namespaces');
  assert.deepEqual(JSON.parse(expectCode(dockling(root(), ['version', '-f', 'json']), 0).stdout).Client, doc.Client);
  assert.equal(expectCode(dockling(root(), ['version', '-f', '{{range .Server.Components}}{{.Name}} {{end}}']), 0).stdout.split(' ')[0], 'Engine');
  const bad = expectCode(dockling(root(), ['version', '-f', '{{.Client']), 64);
  assert.equal(bad.stdout, '');
  assert.match(bad.stderr, /template parsing error: template: :1: unclosed action/);
  const missing = expectCode(dockling(root(), ['version', '-f', '{{.Client.Bogus}}']), 1);
  assert.match(missing.stderr, /map has no entry for key "Bogus"/);
  // -v stays docker's one line
  assert.match(expectCode(dockling(root(), ['-v']), 0).stdout, new RegExp(`^dockling version ${VERSION.replace(/\./g, '\\.')}, `));
});
