// `dockling build`: the classic builder's flags, output and exit codes.
import { Writable } from 'node:stream';
import type { Command, Invocation } from '../core/layer.js';
import { RunError } from '../core/pipeline.js';
import { writeFileAtomic } from '../core/files.js';
import { openStores } from '../image/open-stores.js';
import { reapLeftovers } from '../image/leftovers.js';
import { familiarString, parseReference, type Reference } from '../image/reference.js';
import { DockerfileError, type Dockerfile, type Instruction, type ParsedDockerfile } from './ast.js';
import { parseDockerfile } from './parser.js';
import { parseInstructions } from './instructions.js';
import { lint } from './lint.js';
import { openContext } from './context.js';
import { build } from './builder.js';
import { PROXY_ARGS, type BuildRun } from './dispatch.js';
import { checkReport, parseErrorReport } from './report.js';

/** -t NAME: checked before anything is read or built, with the docker CLI's words (exit 125). */
function tagsOf(inv: Invocation): Reference[] {
  return ((inv.flags.get('tag') as string[] | undefined) ?? []).map((t) => {
    try {
      return parseReference(t);
    } catch (e) {
      throw new RunError(125, `invalid argument "${t}" for "-t, --tag" flag: ${(e as Error).message}`, { cause: e });
    }
  });
}

/** --build-arg NAME=VALUE, or NAME alone: the value of $NAME in the CLI's environment, if set (the docker CLI's rule). */
function buildArgsOf(inv: Invocation): Map<string, string | null> {
  const m = new Map<string, string | null>();
  for (const a of (inv.flags.get('build-arg') as string[] | undefined) ?? []) {
    const i = a.indexOf('=');
    if (i === 0) throw new RunError(125, `invalid argument "${a}" for "--build-arg" flag: the name is empty: write NAME=VALUE`);
    if (i > 0) m.set(a.slice(0, i), a.slice(i + 1));
    else m.set(a, process.env[a] ?? null);
  }
  return m;
}

/** --label k=v: added as one more LABEL step at the end, as the classic builder adds it. */
function labelStep(inv: Invocation, line: number): Instruction | null {
  const labels = (inv.flags.get('label') as string[] | undefined) ?? [];
  if (!labels.length) return null;
  const pairs = labels.map((l) => ({ key: JSON.stringify(l.split('=')[0]), value: `'${l.includes('=') ? l.slice(l.indexOf('=') + 1) : ''}'` }));
  const original = `LABEL ${pairs.map((p) => `${p.key}=${p.value}`).join(' ')}`;
  return { keyword: 'LABEL', pairs, original, file: 'Dockerfile', line, endLine: line };
}

/** The Dockerfile's text, parsed whole; a mistake is Docker's parse error naming the file and the line. */
function parse(text: string, file: string): { parsed: ParsedDockerfile; d: Dockerfile } {
  try {
    const parsed = parseDockerfile(text, file);
    return { parsed, d: parseInstructions(parsed) };
  } catch (e) {
    if (e instanceof DockerfileError) throw new RunError(1, parseErrorReport(e, text), { cause: e });
    throw e;
  }
}

const nowhere = () => new Writable({ write: (_c, _e, done) => done() });

// #region build-command
export const buildCommand: Command = {
  name: 'build',
  aliases: ['image build', 'builder build'],
  summary: 'Build an image from a Dockerfile',
  usage: 'build [OPTIONS] PATH | -',
  flags: [
    { name: 'tag', short: 't', kind: 'stringArray', usage: 'Name and optionally a tag in the "name:tag" format' },
    { name: 'file', short: 'f', kind: 'string', usage: "Name of the Dockerfile (Default is 'PATH/Dockerfile')" },
    { name: 'build-arg', kind: 'stringArray', usage: 'Set build-time variables' },
    { name: 'no-cache', kind: 'bool', usage: 'Do not use cache when building the image' },
    { name: 'pull', kind: 'bool', usage: 'Always attempt to pull a newer version of the image (accepted; pulling comes with chapter 8)' },
    { name: 'target', kind: 'string', usage: 'Set the target build stage to build' },
    { name: 'quiet', short: 'q', kind: 'bool', usage: 'Suppress the build output and print image ID on success' },
    { name: 'rm', kind: 'bool', usage: 'Remove intermediate containers after a successful build (default true)' },
    { name: 'force-rm', kind: 'bool', usage: 'Always remove intermediate containers' },
    { name: 'label', kind: 'stringArray', usage: 'Set metadata for an image' },
    { name: 'iidfile', kind: 'string', usage: 'Write the image ID to the file' },
    { name: 'network', kind: 'string', usage: 'Set the networking mode for the RUN instructions during build (default "default")' },
    { name: 'platform', kind: 'string', usage: "Set platform if server is multi-platform capable (this host's only)" },
    { name: 'check', kind: 'bool', usage: 'Check the Dockerfile for errors and lint warnings without building' },
  ],
  minArgs: 1,
  maxArgs: 1,
  async run(inv) {
    const tags = tagsOf(inv);
    const buildArgs = buildArgsOf(inv);
    const quiet = Boolean(inv.flags.get('quiet'));
    const network = (inv.flags.get('network') as string | undefined) ?? 'default';
    if (!['default', 'bridge', 'none', 'host'].includes(network)) throw new RunError(125, `--network=${network}: a build's RUN steps take default (the bridge), none or host`);
    const s = openStores(inv.stateRoot);
    reapLeftovers(s);
    const ctx = await openContext({ stateRoot: inv.stateRoot, arg: inv.args[0], file: inv.flags.get('file') as string | undefined, stdin: process.stdin });
    try {
      const { parsed, d } = parse(ctx.dockerfile.text, ctx.dockerfile.name);
      if (inv.flags.get('check')) {
        const warnings = lint(parsed, d);
        process.stdout.write(checkReport(warnings, ctx.dockerfile.text));
        return warnings.some((w) => w.rule === 'DuplicateStageName') ? 1 : 0;
      }
      const out = quiet ? nowhere() : process.stdout;
      const b: BuildRun = {
        s, stateRoot: inv.stateRoot, chapter: inv.chapter, layers: inv.layers, escape: d.directives.escape,
        buildArgs, usedArgs: new Set(), contextDir: ctx.dir, stageImages: new Map(), metaArgs: new Map(),
        noCache: Boolean(inv.flags.get('no-cache')), rm: inv.flags.get('rm') !== false, forceRm: Boolean(inv.flags.get('force-rm')),
        out, err: quiet ? nowhere() : process.stderr,
      };
      // --network sets every RUN's default; a RUN --network=… still says its own.
      if (network !== 'default') for (const st of d.stages) for (const ins of st.instructions) if (ins.keyword === 'RUN' && ins.network === null) ins.network = network === 'bridge' ? 'default' : (network as 'none' | 'host');
      const lastLine = d.stages.at(-1)?.instructions.at(-1)?.endLine ?? 1;
      const id = await build(b, d, (inv.flags.get('target') as string | undefined) ?? null, labelStep(inv, lastLine));
      const unused = [...buildArgs.keys()].filter((k) => !b.usedArgs.has(k) && !PROXY_ARGS.includes(k));
      if (unused.length) out.write(`[Warning] One or more build-args [${unused.join(' ')}] were not consumed\n`);
      if (tags.length) await s.images.lockedAsync(async () => tags.forEach((t) => s.images.tag(id, t)));
      const iidfile = inv.flags.get('iidfile') as string | undefined;
      if (iidfile) writeFileAtomic(iidfile, id);
      if (quiet) process.stdout.write(id + '\n');
      else {
        out.write(`Successfully built ${id.replace(/^sha256:/, '').slice(0, 12)}\n`);
        for (const t of tags) out.write(`Successfully tagged ${familiarString(t)}\n`);
      }
      return 0;
    } finally {
      ctx.close();
    }
  },
};
// #endregion build-command
