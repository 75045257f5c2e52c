// Chapter 3 (the image store, on aufs; chapter 4 runs the same store on overlay2), the commands at the top of the README (`inspect` and `image
// inspect`), their -f templates.
//
// Chapter 4: the -f templates of `inspect` and `image inspect`: Go's
// text/template (runtime/core/template/). A template Go cannot parse is
// Docker CLI's "template parsing error: …", exit status 64, nothing printed
// on stdout and nothing looked up; a name the document does not have is
// exit 1 with Go's `map has no entry for key`. Never the template's text
// echoed back with exit 0, which a script would take for a value.
//
// test/run.ts runs this file with layers 1..3 (every test must pass) and
// with layers 1..2 (every test must fail: there is no inspect there).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dockling, rootOrSkip } from '../../helpers/dockling.ts';
import { expectCode, useStateRoot } from '../../helpers/chapter.ts';

const skip = rootOrSkip();
const root = useStateRoot('ch4-template');

for (const cmd of [['inspect'], ['image', 'inspect']]) {
  test(`${cmd.join(' ')} -f '{{': template parsing error, unclosed action, exit 64 (docker/cli's words)`, { skip }, () => {
    const r = expectCode(dockling(root(), [...cmd, '-f', '{{', 'busybox']), 64);
    assert.equal(r.stdout, '');
    assert.equal(r.stderr, 'dockling: template parsing error: template: :1: unclosed action\n');
    // Go counts lines from 1; the action's line is the one named.
    const r2 = expectCode(dockling(root(), [...cmd, '-f', '{{.Os}}\n{{.Id', 'busybox']), 64);
    assert.equal(r2.stderr, 'dockling: template parsing error: template: :2: unclosed action\n');
  });

  test(`${cmd.join(' ')} -f: an unknown function is a parse error (64); Go's actions run; a missing key is exit 1`, { skip }, () => {
    const r = expectCode(dockling(root(), [...cmd, '-f', '{{nosuch .Os}}', 'busybox']), 64);
    assert.equal(r.stdout, '');
    assert.equal(r.stderr, 'dockling: template parsing error: template: :1: function "nosuch" not defined\n');
    expectCode(dockling(root(), ['image', 'inspect', 'busybox']), 0); // (which puts busybox in the store)
    const arch = JSON.stringify({ x64: 'amd64', arm64: 'arm64' }[process.arch as string] ?? process.arch);
    assert.equal(expectCode(dockling(root(), [...cmd, '-f', '{{.Os}} {{json .Architecture}}', 'busybox']), 0).stdout, `linux ${arch}\n`);
    assert.equal(expectCode(dockling(root(), [...cmd, '-f', '{{if eq .Os "linux"}}{{upper .Os}}{{end}}', 'busybox']), 0).stdout, 'LINUX\n');
    const missing = expectCode(dockling(root(), [...cmd, '-f', '{{.Bogus}}', 'busybox']), 1);
    assert.equal(missing.stderr, 'dockling: template parsing error: template: :1:2: executing "" at <.Bogus>: map has no entry for key "Bogus"\n');
  });
}
