// The grader of lab 02-cgroups-layer.
//
//   npx tsx tutorials/labs/02-cgroups-layer/grade.ts [YOUR_FILE]
//
// It bundles dockling exactly as `npm run build` does, but with YOUR_FILE
// (default: work/layer.ts beside this file) in place of
// runtime/cgroups/layer.ts, then runs chapter 2's tests against that build
// (DOCKLING_BIN) and prints the score. Nothing of the real build changes.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(HERE, '../../..');
const REPLACED = path.join(REPO, 'runtime/cgroups/layer.ts');

/** Bundle dockling into outDir with `student` standing in for the cgroups layer. */
export async function buildWith(student: string, outDir: string): Promise<string> {
  const source = fs.readFileSync(student, 'utf8');
  await build({
    entryPoints: { main: path.join(REPO, 'runtime/cli/main.ts'), init: path.join(REPO, 'runtime/cli/init.ts') },
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    packages: 'external',
    outdir: outDir,
    logLevel: 'error',
    // node_modules are not bundled: resolve them from the repository.
    nodePaths: [path.join(REPO, 'node_modules')],
    plugins: [
      {
        name: 'swap-in-the-student-layer',
        setup(b) {
          b.onLoad({ filter: /runtime[\\/]cgroups[\\/]layer\.ts$/ }, (args) =>
            args.path === REPLACED ? { contents: source, loader: 'ts', resolveDir: path.dirname(REPLACED) } : undefined,
          );
        },
      },
    ],
  });
  // The namespace helper is C and is not part of the lab: reuse the real one.
  const nsexec = path.join(REPO, 'dist/nsexec');
  if (!fs.existsSync(nsexec)) throw new Error('dist/nsexec is missing: run `npm run build` first');
  fs.copyFileSync(nsexec, path.join(outDir, 'nsexec'));
  fs.chmodSync(path.join(outDir, 'nsexec'), 0o755);
  // node_modules must be found from the build too (koffi, for the init).
  fs.symlinkSync(path.join(REPO, 'node_modules'), path.join(outDir, 'node_modules'));
  fs.writeFileSync(path.join(outDir, 'package.json'), '{"type":"module"}\n');
  const bin = path.join(outDir, 'dockling.js');
  fs.writeFileSync(bin, "import { main } from './main.js';\nmain(process.argv.slice(2)).then((c) => { process.exitCode = c; });\n");
  return bin;
}

async function grade(): Promise<number> {
  const student = path.resolve(process.argv[2] ?? path.join(HERE, 'work/layer.ts'));
  if (!fs.existsSync(student)) {
    console.error(`grade: ${student} not found: copy starter.ts there and fill it in (cp ${path.join(HERE, 'starter.ts')} ${student})`);
    return 2;
  }
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'dockling-lab-'));
  try {
    const bin = await buildWith(student, out);
    console.log(`grade: built dockling with ${path.relative(REPO, student)} as chapter 2's layer; running chapter 2's tests`);
    const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(REPO, 'test/run.ts'), '--only', 'chapters', '--chapter', '2', '--no-negative'], {
      cwd: REPO,
      env: { ...process.env, DOCKLING_BIN: bin },
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
      maxBuffer: 64 * 1024 * 1024,
    });
    const fails = r.stdout.split('\n').filter((l) => /^\s*not ok /.test(l)).map((l) => l.trim().replace(/^not ok \d+ - /, ''));
    const last = r.stdout.trim().split('\n').pop() ?? '';
    console.log(fails.length ? `still failing:\n  ${fails.join('\n  ')}` : 'every test passes');
    console.log(`grade: ${last}`);
    return r.status ?? 1;
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  grade().then((c) => (process.exitCode = c));
}
