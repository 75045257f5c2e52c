// `build --check`: Docker's build checks (docs.docker.com/reference/build-checks/)
// that can be decided from the text alone, with Docker's rule names and
// messages. None of them stops a build; they are the habits that make a
// Dockerfile surprising later (a CMD that ignores signals, a relative
// WORKDIR that moves with the base image, a second CMD that silently wins).
import type { Dockerfile, Instruction, ParsedDockerfile, Position, RawInstruction, Warning } from './ast.ts';
import { distance, words } from './words-split.ts';

/** The args every build defines without an ARG (buildkit's platform args). */
const BUILTIN_ARGS = [
  'BUILDPLATFORM', 'BUILDOS', 'BUILDARCH', 'BUILDVARIANT',
  'TARGETPLATFORM', 'TARGETOS', 'TARGETARCH', 'TARGETVARIANT', 'TARGETSTAGE',
];

const at = (p: Position): Position => ({ file: p.file, line: p.line, endLine: p.endLine });
/** The keyword as the user wrote it (the raw keyword is upper-cased) */
const written = (original: string) => original.trim().split(/\s+/)[0];

/** The $NAME / ${NAME...} references in a word, before expansion. */
function variables(text: string): string[] {
  return [...text.matchAll(/\$(?:\{([A-Za-z_][A-Za-z0-9_]*)|([A-Za-z_][A-Za-z0-9_]*))/g)].map((m) => m[1] ?? m[2]);
}

// #region casing
/**
 * ConsistentInstructionCasing: instructions may be written `run` or `RUN`,
 * but the file should pick one. The majority (over every stage's FROM and
 * instructions, mixed-case ones not counted) decides which one is right.
 */
function casing(d: Dockerfile): Warning[] {
  const all: { name: string; where: Position }[] = [];
  for (const s of d.stages) {
    all.push({ name: written(s.from.original), where: s.from });
    for (const i of s.instructions) all.push({ name: written(i.original), where: i });
  }
  let lower = 0;
  let upper = 0;
  for (const { name } of all) {
    if (name === name.toLowerCase()) lower++;
    else if (name === name.toUpperCase()) upper++;
  }
  const majorityLower = lower > upper;
  const out: Warning[] = [];
  for (const { name, where } of all) {
    const wrong = majorityLower ? name !== name.toLowerCase() : name !== name.toUpperCase();
    if (!wrong) continue;
    const correct = majorityLower ? 'lowercase' : 'uppercase';
    out.push({ ...at(where), rule: 'ConsistentInstructionCasing', message: `Command '${name}' should match the case of the command majority (${correct})` });
  }
  return out;
}
// #endregion casing

/** FROM's own checks: the stage name's casing, AS against FROM's, args it uses. */
function fromChecks(d: Dockerfile): Warning[] {
  const out: Warning[] = [];
  const seen = new Set<string>();
  const declared = [...d.metaArgs.map((a) => a.key), ...BUILTIN_ARGS];
  for (const s of d.stages) {
    const f = s.from;
    const args = f.original.trim().split(/\s+/).filter((w) => !w.startsWith('--'));
    // args: [FROM, image, AS, Name] when there is a name
    if (args.length === 4) {
      const [from, , as, name] = args;
      if (name !== name.toLowerCase()) out.push({ ...at(f), rule: 'StageNameCasing', message: `Stage name '${name}' should be lowercase` });
      const fromLower = from === from.toLowerCase();
      const fromUpper = from === from.toUpperCase();
      if ((fromLower && as !== as.toLowerCase()) || (fromUpper && !fromLower && as !== as.toUpperCase())) {
        out.push({ ...at(f), rule: 'FromAsCasing', message: `'${as}' and '${from}' keywords' casing do not match` });
      }
    }
    if (s.name !== null) {
      if (s.name === 'context' || s.name === 'scratch') {
        out.push({ ...at(f), rule: 'ReservedStageName', message: `Stage name should not use the same name as reserved stage ${JSON.stringify(s.name)}` });
      }
      if (seen.has(s.name)) out.push({ ...at(f), rule: 'DuplicateStageName', message: `Duplicate stage name ${JSON.stringify(s.name)}, stage names should be unique` });
      seen.add(s.name);
    }
    // #region undefined-arg
    // FROM may only use ARGs declared before the first FROM (and the
    // platform args); anything else expands to "" and names a wrong image.
    for (const v of new Set([...variables(f.image), ...variables(f.platform ?? '')])) {
      if (declared.includes(v)) continue;
      let hint = '';
      let min = 3;
      for (const k of declared) {
        const dist = distance(v, k);
        if (dist < min) [hint, min] = [k, dist];
      }
      out.push({ ...at(f), rule: 'UndefinedArgInFrom', message: `FROM argument '${v}' is not declared${hint ? ` (did you mean ${hint}?)` : ''}` });
    }
    // #endregion undefined-arg
  }
  return out;
}

// #region stage-checks
/** The checks that follow a stage from top to bottom. */
function stageChecks(d: Dockerfile, raws: Map<number, RawInstruction>): Warning[] {
  const out: Warning[] = [];
  for (const s of d.stages) {
    let shell = false;
    let workdirSet = false;
    // CMD, ENTRYPOINT and HEALTHCHECK: only the last one counts, so Docker
    // points at the earlier one, the one that will be ignored.
    const last = new Map<string, Instruction>();
    for (const i of s.instructions) {
      const name = written(i.original);
      if (i.keyword === 'SHELL') shell = true;
      if (i.keyword === 'MAINTAINER') out.push({ ...at(i), rule: 'MaintainerDeprecated', message: 'Maintainer instruction is deprecated in favor of using label' });
      if (i.keyword === 'CMD' || i.keyword === 'ENTRYPOINT' || i.keyword === 'HEALTHCHECK') {
        const prev = last.get(i.keyword);
        if (prev) out.push({ ...at(prev), rule: 'MultipleInstructionsDisallowed', message: `Multiple ${name} instructions should not be used in the same stage because only the last one will be used` });
        last.set(i.keyword, i);
      }
      // A shell-form CMD runs as `/bin/sh -c "…"`: the shell is PID 1 and
      // SIGTERM from `docker stop` never reaches the program.
      if ((i.keyword === 'CMD' || i.keyword === 'ENTRYPOINT') && i.cmd.prependShell && !shell) {
        out.push({ ...at(i), rule: 'JSONArgsRecommended', message: `JSON arguments recommended for ${name} to prevent unintended behavior related to OS signals` });
      }
      if (i.keyword === 'WORKDIR') {
        // only the first WORKDIR of a stage: fixing it fixes the ones after
        if (!workdirSet && !i.path.startsWith('/') && !i.path.startsWith('$')) {
          out.push({ ...at(i), rule: 'WorkdirRelativePath', message: `Relative workdir ${JSON.stringify(i.path)} can have unexpected results if the base image changes` });
        }
        workdirSet = true;
      }
      if (i.keyword === 'ENV' || i.keyword === 'LABEL') {
        const raw = raws.get(i.line);
        if (raw && !(words(raw.rest, d.directives.escape)[0] ?? '=').includes('=')) {
          out.push({ ...at(i), rule: 'LegacyKeyValueFormat', message: `"${name} key=value" should be used instead of legacy "${name} key value" format` });
        }
      }
    }
  }
  return out;
}
// #endregion stage-checks

/** Every warning, the parser's (empty continuation lines) included, in line order. */
export function lint(d: ParsedDockerfile, parsed: Dockerfile): Warning[] {
  const raws = new Map(d.instructions.map((r) => [r.line, r]));
  const all = [...d.warnings, ...casing(parsed), ...fromChecks(parsed), ...stageChecks(parsed, raws)];
  return all.sort((a, b) => a.line - b.line);
}
