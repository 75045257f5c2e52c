// Chapter 9, "Try it": the demo steps of chapters/09-builds/demo.ts, run
// unattended and in order in one state root (the steps build on each
// other: the image built is rebuilt from the cache, run, then removed).
// Each step's own check must hold. test/run.ts runs this file with layers
// 1..9 (every step must pass) and with layers 1..8 (every step must fail:
// there is no `build`). After the last step no container, mount or layer
// of a build step remains, and no image but busybox.
import fs from 'node:fs';
import path from 'node:path';
import { steps } from '../../../chapters/09-builds/demo.js';
import { demoSuite } from '../../helpers/demo-suite.js';

demoSuite({
  chapter: 9,
  steps,
  names: ['static_web'],
  finally: [['rmi', '-f', 'dengqinghua/static_web:v1', 'lab/multi']],
  leftovers: (root) => {
    const repos = path.join(root, 'image/overlay2/repositories.json');
    const names = fs.existsSync(repos) ? Object.keys(JSON.parse(fs.readFileSync(repos, 'utf8')).Repositories) : [];
    const images = fs.readdirSync(path.join(root, 'image/overlay2/imagedb/content/sha256'));
    const problems = names.filter((n) => n !== 'busybox').map((n) => `image ${n}`);
    if (images.length !== 1) problems.push(`${images.length} image configs, not busybox's alone`);
    return problems;
  },
});
