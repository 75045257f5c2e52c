// Chapter 8, "Try it": the demo steps of chapters/08-registries/demo.ts,
// run unattended and in order in one state root (the suite's network
// namespace has its own loopback, so the demo's registry on 127.0.0.1:5000
// is the file's alone). The setup steps (start the registry, make the
// image) run first and the teardown (stop it) last, outside the count.
// test/run.ts runs this file with layers 1..8 (every step must pass) and
// with layers 1..7 (every step must fail: there is no push or pull).
import fs from 'node:fs';
import path from 'node:path';
import { steps } from '../../../chapters/08-registries/demo.js';
import { demoSuite } from '../../helpers/demo-suite.js';

demoSuite({
  chapter: 8,
  steps,
  names: ['web-src'],
  finally: [['rmi', '-f', 'localhost:5000/lab/web:v1', 'localhost:5000/lab/busybox:1']],
  leftovers: (root) => {
    const repos = path.join(root, 'image/overlay2/repositories.json');
    const names = fs.existsSync(repos) ? Object.keys(JSON.parse(fs.readFileSync(repos, 'utf8')).Repositories) : [];
    return names.filter((n) => n !== 'busybox').map((n) => `image ${n}`);
  },
});
