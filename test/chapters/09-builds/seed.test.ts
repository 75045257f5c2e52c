// Chapter 9, for real, as root: the seed's Dockerfile (FROM, MAINTAINER,
// RUN, EXPOSE, CMD), built with `build -t=…`, run with -p and served over
// loopback; the classic builder's output, step by step; each step an image
// whose history says what made it; and rmi of the result removing the
// steps that only it stood on.
//
// test/run.ts runs this file with layers 1..9 (every test must pass) and
// with layers 1..8 (every test must fail: there is no `build`).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { rootOrSkip } from '../../helpers/dockling.ts';
import { expectCode } from '../../helpers/chapter.ts';
import { builtId, chapter9, stepIds } from './helpers.ts';
import { SEED_DOCKERFILE } from '../../../chapters/09-builds/demo.js';

const skip = rootOrSkip();
const t = chapter9('ch9-seed');

const SEED = SEED_DOCKERFILE;

test('the seed: build -t=NAME prints each step as the classic builder does, and the image serves its page with -p', { skip }, async () => {
  const dir = t.context({ Dockerfile: SEED });
  try {
    const r = expectCode(t.build(dir, ['-t=dengqinghua/static_web:v1']), 0);
    const steps = [...r.stdout.matchAll(/^Step (\d+)\/(\d+) : (.*)$/gm)].map((m) => `${m[1]}/${m[2]} ${m[3]}`);
    assert.deepEqual(steps, [
      '1/6 FROM busybox',
      '2/6 MAINTAINER dengqinghua "dengqinghua.42@gmail.com"',
      '3/6 RUN mkdir -p /var/www/html',
      '4/6 RUN echo "Hi, I am in your container" > /var/www/html/index.html',
      '5/6 EXPOSE 80',
      '6/6 CMD ["httpd", "-f", "-p", "80", "-h", "/var/www/html"]',
    ]);
    // A RUN's container is named as it starts and removed once committed.
    const ran = [...r.stdout.matchAll(/^ ---> Running in ([0-9a-f]{12})\nRemoving intermediate container \1$/gm)];
    assert.equal(ran.length, 2, `two RUN containers, each removed:\n${r.stdout}`);
    assert.equal(stepIds(r.stdout).length, 6, 'an image ID after each step');
    assert.match(r.stdout, /Successfully built [0-9a-f]{12}\nSuccessfully tagged dengqinghua\/static_web:v1\n$/);
    const id = builtId(r.stdout)!;
    assert.equal(stepIds(r.stdout).at(-1), id);

    const [img] = JSON.parse(t.cliOk(['image', 'inspect', 'dengqinghua/static_web:v1']));
    assert.equal(img.Author, 'dengqinghua "dengqinghua.42@gmail.com"', 'MAINTAINER sets Author');
    assert.deepEqual(img.Config.Cmd, ['httpd', '-f', '-p', '80', '-h', '/var/www/html']);
    assert.deepEqual(Object.keys(img.Config.ExposedPorts), ['80/tcp']);

    t.cliOk(['run', '-d', '-p', '80', '--name', 'static_web', 'dengqinghua/static_web:v1']);
    try {
      const ps = t.cliOk(['ps', '-l']);
      const port = /0\.0\.0\.0:(\d+)->80\/tcp/.exec(ps)?.[1];
      assert.ok(port, `ps -l shows the published port:\n${ps}`);
      let body = '';
      for (let i = 0; i < 50 && !body; i++) {
        body = await fetch(`http://127.0.0.1:${port}/`).then((res) => res.text(), () => '');
        if (!body) await new Promise((res) => setTimeout(res, 100));
      }
      assert.equal(body, 'Hi, I am in your container\n');
    } finally {
      t.cli(['rm', '-f', 'static_web']);
    }
  } finally {
    t.rmi('dengqinghua/static_web:v1');
  }
});

test('history shows each step as Docker records it: the RUN’s command, and /bin/sh -c #(nop) for a change of config', { skip }, () => {
  const dir = t.context({ Dockerfile: SEED });
  try {
    expectCode(t.build(dir, ['-q', '-t', 'ch9/seed']), 0);
    const rows = t.cliOk(['history', '--no-trunc', '--format', '{{.CreatedBy}}|{{.Size}}', 'ch9/seed']).trim().split('\n');
    assert.deepEqual(rows.slice(0, 5), [
      '/bin/sh -c #(nop)  CMD ["httpd" "-f" "-p" "80" "-h" "/var/www/html"]|0B',
      '/bin/sh -c #(nop)  EXPOSE 80|0B',
      '/bin/sh -c echo "Hi, I am in your container" > /var/www/html/index.html|27B',
      '/bin/sh -c mkdir -p /var/www/html|0B',
      '/bin/sh -c #(nop)  MAINTAINER dengqinghua "dengqinghua.42@gmail.com"|0B',
    ]);
    // Only the RUNs that changed files added layers: busybox's one, and the echo's.
    const [img] = JSON.parse(t.cliOk(['image', 'inspect', 'ch9/seed']));
    const [base] = JSON.parse(t.cliOk(['image', 'inspect', 'busybox']));
    assert.equal(img.RootFS.Layers.length, base.RootFS.Layers.length + 2, 'mkdir and echo each add a layer; the config steps none');
    assert.equal(img.Parent.length, 71, 'the image names the step before it as its parent');
  } finally {
    t.rmi('ch9/seed');
  }
});

test('-q prints only the ID, and no step output; --iidfile writes it; several -t name the same image', { skip }, () => {
  const dir = t.context({ Dockerfile: 'FROM busybox\nRUN echo visible-only-without-q\nLABEL a=b\n' });
  const iid = `${dir}/iid`;
  try {
    const r = expectCode(t.build(dir, ['-q', '--iidfile', iid, '-t', 'ch9/q:1', '-t=ch9/q:2']), 0);
    assert.match(r.stdout, /^sha256:[0-9a-f]{64}\n$/);
    assert.doesNotMatch(r.stdout + r.stderr, /visible-only-without-q|Step/);
    assert.equal(`${fs.readFileSync(iid, 'utf8')}\n`, r.stdout);
    const ids = t.cliOk(['images', '--format', '{{.Repository}}:{{.Tag}} {{.ID}}', 'ch9/q']).trim().split('\n').sort();
    assert.deepEqual(ids, [`ch9/q:1 ${r.stdout.slice(7, 19)}`, `ch9/q:2 ${r.stdout.slice(7, 19)}`]);
  } finally {
    t.rmi('ch9/q:1', 'ch9/q:2');
  }
});

test('EXPOSE in the Dockerfile is what -P publishes', { skip }, async () => {
  const dir = t.context({ Dockerfile: 'FROM busybox\nEXPOSE 8080 9000-9001/udp\nCMD ["sleep", "30"]\n' });
  try {
    expectCode(t.build(dir, ['-q', '-t', 'ch9/expose']), 0);
    t.cliOk(['run', '-d', '-P', '--name', 'exp', 'ch9/expose']);
    try {
      const ports = t.cliOk(['port', 'exp']).trim().split('\n').map((l) => l.split(' -> ')[0]).sort();
      assert.deepEqual(ports, ['8080/tcp', '9000/udp', '9001/udp']);
    } finally {
      t.cli(['rm', '-f', 'exp']);
    }
  } finally {
    t.rmi('ch9/expose');
  }
});
