// One instruction, carried out. Each instruction reads its words (expanded
// with the ENV and ARG values the build has at this step, for the
// instructions Docker expands), changes the config, and makes the step's
// image: with no layer for a change of config alone, with a layer for RUN,
// COPY, ADD and WORKDIR. Before it makes anything it asks the cache: the
// same parent and the same step (its "ContainerConfig") give last time's
// image back, and the step is skipped.
import path from 'node:path';
import { RunError } from '../core/pipeline.js';
import type { Layer } from '../core/layer.js';
import type { Stores } from '../image/open-stores.js';
import { parseExpose } from '../network/ports.js';
import { signalNumber } from '../container/signals.js';
import type { Heredoc, Instruction } from './ast.js';
import { expandWord, expandWords, ExpandError } from './words.js';
import { argEnv, expansionEnv, probeCache, type BuildConfig, type StageState } from './state.js';
import { runStep } from './run-step.js';
import { copyStep } from './copy-command.js';
import { layerStep, makeWorkdir } from './copy-step.js';
import { commitStep } from './state.js';
import { goQuote, healthcheckOf, healthcheckComment } from './config-words.js';

/** What every instruction of one build shares. */
export interface BuildRun {
  s: Stores;
  stateRoot: string;
  chapter: number;
  layers: Layer[];
  escape: '\\' | '`';
  /** --build-arg values, by name (null: `--build-arg NAME` with no value and no such env var) */
  buildArgs: Map<string, string | null>;
  /** the build-args an ARG asked for (the rest are reported as not consumed) */
  usedArgs: Set<string>;
  /** the context's scratch directory (context.ts) */
  contextDir: string;
  /** the ARGs before the first FROM, with their values: an `ARG NAME` in a stage takes its value from here */
  metaArgs: Map<string, string>;
  /** a stage's final image, by name and by index ("0", "1"…), for COPY --from and FROM */
  stageImages: Map<string, string>;
  noCache: boolean;
  rm: boolean;
  forceRm: boolean;
  out: NodeJS.WritableStream;
  err: NodeJS.WritableStream;
}

/** Docker's default SHELL. */
export const DEFAULT_SHELL = ['/bin/sh', '-c'];

/** The predefined ARGs: given with --build-arg they count without an ARG line, and stay out of the history. */
export const PROXY_ARGS = ['HTTP_PROXY', 'http_proxy', 'HTTPS_PROXY', 'https_proxy', 'FTP_PROXY', 'ftp_proxy', 'NO_PROXY', 'no_proxy', 'ALL_PROXY', 'all_proxy'];

// #region expand
/** One word expanded, or Docker's error naming the instruction. */
export function expand(ins: Instruction, word: string, env: ReadonlyMap<string, string>, escape: '\\' | '`'): string {
  try {
    return expandWord(word, env, escape);
  } catch (e) {
    if (e instanceof ExpandError) throw new RunError(1, `${e.message} (${ins.keyword} on line ${ins.line})`, { cause: e });
    throw e;
  }
}
// #endregion expand

const shellOf = (c: BuildConfig) => c.Shell ?? DEFAULT_SHELL;

/** A heredoc's text as the command's shell would get it: the lines, then the terminator. */
const heredocText = (h: Heredoc) => `${h.content}${h.name}\n`;

// #region run-command
/**
 * The command a RUN (or CMD, ENTRYPOINT) stands for. The exec form runs as
 * written; the shell form is handed to SHELL (/bin/sh -c) as one string,
 * unexpanded: `$HOME` in a RUN is the shell's to expand, at run time, in
 * the container. A heredoc is only more shell: `RUN <<EOF` alone runs its
 * lines as the script; `RUN cat <<EOF > /f` gives the shell the line and
 * its heredoc, which any POSIX shell reads.
 */
export function commandOf(cmd: { args: string[]; prependShell: boolean; heredocs: Heredoc[] }, config: BuildConfig): string[] {
  if (!cmd.prependShell) return cmd.args;
  const line = cmd.args.join(' ');
  if (!cmd.heredocs.length) return [...shellOf(config), line];
  const only = cmd.heredocs.length === 1 && /^<<-?(["']?)[A-Za-z0-9_]+\1$/.test(line.trim());
  if (only) return [...shellOf(config), cmd.heredocs[0].content];
  return [...shellOf(config), line + '\n' + cmd.heredocs.map(heredocText).join('')];
}
// #endregion run-command

/** A step that only changes the config: its image, from the cache or new. */
function metadataStep(b: BuildRun, st: StageState, config: BuildConfig, comment: string, author?: string): string {
  const containerConfig: BuildConfig = { ...config, Cmd: [...shellOf(config), '#(nop) ', comment] };
  const createdBy = containerConfig.Cmd!.join(' ');
  return cachedOr(b, st, containerConfig, () => b.s.images.locked(() => commitStep(b.s, st, { config, containerConfig, createdBy, diffID: null, author })));
}

/** The cache's image for this step (saying so), or a new one from `make`. */
export function cachedOr<T extends string | Promise<string>>(b: BuildRun, st: StageState, containerConfig: BuildConfig, make: () => T): T | string {
  if (!b.noCache) {
    const hit = probeCache(b.s, st.imageID, containerConfig);
    if (hit) {
      b.out.write(' ---> Using cache\n');
      return hit;
    }
  }
  return make();
}

/** The build ARGs a RUN sees, "NAME=value", sorted: in its environment and, as "|N …", in its history line. */
function runArgs(b: BuildRun, st: StageState): string[] {
  return argEnv(st).filter((kv) => !PROXY_ARGS.includes(kv.slice(0, kv.indexOf('=')))).sort();
}

// #region dispatch
/** Carry out one instruction of a stage; returns the step's image ID. */
export async function dispatch(b: BuildRun, st: StageState, ins: Instruction): Promise<string> {
  const env = expansionEnv(st);
  const x = (w: string) => expand(ins, w, env, b.escape);
  const config: BuildConfig = structuredClone(st.image.config) as BuildConfig;
  switch (ins.keyword) {
    case 'MAINTAINER':
      return metadataStep(b, st, config, `MAINTAINER ${ins.maintainer}`, ins.maintainer);
    case 'RUN': {
      const cmd = commandOf(ins.cmd, config);
      const args = runArgs(b, st);
      // Docker's record of the step: the ARGs it saw in front, "|1 V=x /bin/sh -c …",
      // so that another --build-arg value is another step (and misses the cache).
      const saveCmd = args.length ? [`|${args.length}`, ...args, ...cmd] : cmd;
      const containerConfig: BuildConfig = { ...config, Cmd: saveCmd };
      const proxies = [...b.buildArgs].filter(([k, v]) => PROXY_ARGS.includes(k) && v !== null).map(([k, v]) => `${k}=${v}`);
      return cachedOr(b, st, containerConfig, () =>
        runStep(b.s, st, {
          stateRoot: b.stateRoot, chapter: b.chapter, layers: b.layers, cmd, buildArgs: [...args, ...proxies], network: ins.network,
          out: b.out, err: b.err, rm: b.rm, forceRm: b.forceRm,
        }, { config, containerConfig, createdBy: saveCmd.join(' ') }),
      );
    }
    case 'CMD':
      config.Cmd = commandOf(ins.cmd, config);
      st.cmdSet = true;
      return metadataStep(b, st, config, `CMD ${goQuote(config.Cmd)}`);
    case 'ENTRYPOINT':
      config.Entrypoint = commandOf(ins.cmd, config);
      // An ENTRYPOINT drops the CMD it inherited (Docker's rule), unless this stage set one.
      if (!st.cmdSet) config.Cmd = null;
      return metadataStep(b, st, config, `ENTRYPOINT ${goQuote(config.Entrypoint)}`);
    case 'EXPOSE': {
      let keys: string[];
      let ports: string[];
      try {
        // EXPOSE is the one instruction whose words are split after expansion ($PORTS may be "80 443").
        ports = ins.ports.flatMap((p) => expandWords(p, env, b.escape));
        keys = parseExpose(ports);
      } catch (e) {
        if (e instanceof ExpandError) throw new RunError(1, `${e.message} (EXPOSE on line ${ins.line})`, { cause: e });
        throw new RunError(1, `EXPOSE on line ${ins.line}: ${(e as Error).message}`, { cause: e });
      }
      config.ExposedPorts = { ...(config.ExposedPorts ?? {}), ...Object.fromEntries(keys.map((k) => [k, {}])) };
      // The history records the ports as written (after expansion): `EXPOSE 80`, not 80/tcp.
      return metadataStep(b, st, config, `EXPOSE ${ports.join(' ')}`);
    }
    case 'ENV': {
      const env2 = [...(config.Env ?? [])];
      const pairs = ins.pairs.map((p) => [x(p.key), x(p.value)] as const);
      for (const [k, v] of pairs) {
        const i = env2.findIndex((e) => e.slice(0, e.indexOf('=')) === k);
        if (i >= 0) env2[i] = `${k}=${v}`;
        else env2.push(`${k}=${v}`);
      }
      config.Env = env2;
      return metadataStep(b, st, config, `ENV ${pairs.map(([k, v]) => `${k}=${v}`).join(' ')}`);
    }
    case 'ARG': {
      for (const a of ins.args) {
        const given = b.buildArgs.get(a.key);
        b.usedArgs.add(a.key);
        // A value from --build-arg, else the ARG's default, else (an ARG with
        // no default) the value an ARG before the first FROM gave it.
        const value = given !== undefined && given !== null ? given : a.value !== null ? x(a.value) : (b.metaArgs.get(a.key) ?? null);
        st.args.set(a.key, value);
      }
      return metadataStep(b, st, config, `ARG ${ins.args.map((a) => (a.value === null ? a.key : `${a.key}=${a.value}`)).join(' ')}`);
    }
    case 'LABEL': {
      const pairs = ins.pairs.map((p) => [x(p.key), x(p.value)] as const);
      config.Labels = { ...(config.Labels ?? {}), ...Object.fromEntries(pairs) };
      return metadataStep(b, st, config, `LABEL ${pairs.map(([k, v]) => `${k}=${v}`).join(' ')}`);
    }
    case 'COPY':
    case 'ADD':
      return copyStep(b, st, ins, config, x);
    case 'WORKDIR': {
      const wanted = x(ins.path);
      config.WorkingDir = path.posix.resolve(config.WorkingDir || '/', wanted);
      // (one string, one space after #(nop): Docker's WORKDIR and COPY lines are written so, unlike its config steps')
      const containerConfig: BuildConfig = { ...config, Cmd: [...shellOf(config), `#(nop) WORKDIR ${config.WorkingDir}`] };
      return cachedOr(b, st, containerConfig, () =>
        layerStep(b.s, st, (rootFd) => makeWorkdir(rootFd, config.WorkingDir!), { config, containerConfig, createdBy: containerConfig.Cmd!.join(' ') }),
      );
    }
    case 'USER': {
      const user = x(ins.user);
      if (!user) throw new RunError(1, `USER on line ${ins.line}: the user is empty after expansion (${ins.original})`);
      config.User = user;
      return metadataStep(b, st, config, `USER ${user}`);
    }
    case 'VOLUME': {
      const vols = ins.volumes.map(x);
      if (vols.some((v) => v.trim() === '')) throw new RunError(1, 'VOLUME specified can not be an empty string');
      config.Volumes = { ...(config.Volumes ?? {}), ...Object.fromEntries(vols.map((v) => [v, {}])) };
      return metadataStep(b, st, config, `VOLUME [${vols.join(' ')}]`);
    }
    case 'STOPSIGNAL': {
      const sig = x(ins.signal);
      if (signalNumber(sig) === null) throw new RunError(1, `failed to process "${ins.signal}": Invalid signal: ${sig} (STOPSIGNAL on line ${ins.line})`);
      config.StopSignal = sig;
      return metadataStep(b, st, config, `STOPSIGNAL ${sig}`);
    }
    case 'SHELL':
      config.Shell = ins.shell;
      return metadataStep(b, st, config, `SHELL [${ins.shell.join(' ')}]`);
    case 'HEALTHCHECK':
      config.Healthcheck = healthcheckOf(ins);
      return metadataStep(b, st, config, `HEALTHCHECK ${healthcheckComment(config.Healthcheck)}`);
    case 'ONBUILD':
      config.OnBuild = [...(config.OnBuild ?? []), ins.expression];
      return metadataStep(b, st, config, `ONBUILD ${ins.expression}`);
    case 'FROM':
      throw new Error('FROM is dispatched by the builder');
  }
}
// #endregion dispatch

