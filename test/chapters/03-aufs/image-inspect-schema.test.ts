// Chapter 3 (the image store, on aufs; chapter 4 runs the same store on overlay2), `image inspect`: the document as the Docker Engine API
// defines it (the Image definition of its swagger, API v1.41, as dockerd
// 20.10 answers GET /images/{name}/json): every key with its type
// (test/helpers/engine-api.ts), ContainerConfig as Docker keeps it (the
// committed container's config; Docker's empty config for an image that
// no container made), and times as Go prints them.
//
// test/run.ts runs this file with layers 1..3 (every test must pass) and
// with layers 1..2 (every test must fail: there are no images there).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dockling, rootOrSkip } from '../../helpers/dockling.ts';
import { expectCode, useStateRoot } from '../../helpers/chapter.ts';
import { GO_TIME, IMAGE_INSPECT, check } from '../../helpers/engine-api.ts';

const skip = rootOrSkip();
const root = useStateRoot('ch4-image-inspect-schema');
const ok = (args: string[]) => expectCode(dockling(root(), args), 0).stdout;
const imageOf = (ref: string) => {
  const all = JSON.parse(ok(['image', 'inspect', ref])) as Record<string, any>[];
  assert.equal(all.length, 1);
  return all[0];
};

test('image inspect of a base image and of a committed one: every key of the Engine API’s ImageInspect, with its type', { skip }, () => {
  try {
    ok(['run', '--name', 'maker', '-e', 'MADE=yes', 'busybox', 'sh', '-c', 'echo hi > /made']);
    ok(['commit', 'maker', 'made:1']);
    for (const ref of ['busybox', 'made:1']) {
      const doc = imageOf(ref);
      assert.deepEqual(check(doc, IMAGE_INSPECT), [], `${ref}: the document does not fit the Engine API's schema`);
      assert.match(doc.Created, GO_TIME, `${ref}: Created is not Go’s RFC3339Nano`);
      assert.match(doc.Metadata.LastTagTime, GO_TIME);
      assert.equal(doc.VirtualSize, doc.Size);
    }
    const base = imageOf('busybox');
    // No container made it: Docker's empty config (every key, Go's zero values).
    assert.deepEqual([base.Container, base.ContainerConfig.Cmd, base.ContainerConfig.Image, base.ContainerConfig.Hostname], ['', null, '', '']);
    const made = imageOf('made:1');
    const maker = JSON.parse(ok(['inspect', '-f', '{{json .}}', 'maker']));
    assert.equal(made.Container, maker.Id, 'Container: the ID of the committed container');
    assert.deepEqual(made.ContainerConfig.Cmd, ['sh', '-c', 'echo hi > /made'], 'ContainerConfig: the committed container’s config');
    assert.equal(made.ContainerConfig.Image, 'busybox');
    assert.ok(made.ContainerConfig.Env.includes('MADE=yes'));
  } finally {
    dockling(root(), ['rm', '-f', 'maker']);
    dockling(root(), ['rmi', 'made:1']);
  }
});
