// The Dockerfile as the builder sees it: what the parser (parser.ts) makes
// of the text, then what instructions.ts makes of each instruction. Two
// steps, as in any small language's front end: first the lines become
// instructions (keyword, flags, the rest of the line, heredocs), then each
// instruction's arguments are read by that instruction's own rules (ENV's
// key=value pairs, COPY's sources and destination, CMD's two forms).
//
// Nothing here is expanded yet: `$HOME` is still `$HOME`. Expansion needs
// the values the build has at that step (ENV and ARG before it), so the
// builder does it as it goes (words.ts), and only for the instructions
// Docker expands.

/** Where a Dockerfile error is: its file, its lines, its instruction. */
export interface Position {
  file: string;
  /** 1-based, the instruction's first line */
  line: number;
  /** its last line (after continuations and heredocs) */
  endLine: number;
}

/** `RUN <<EOF` … `EOF`: a file written inline, or the script of a RUN. */
export interface Heredoc {
  /** the word after << (EOF) */
  name: string;
  /** the lines between, as written (newline-terminated), before any expansion */
  content: string;
  /** <<EOF expands $vars in the content; <<'EOF' and <<"EOF" do not */
  expand: boolean;
  /** <<-EOF strips leading tabs from each line */
  chomp: boolean;
}

/** One instruction as the parser reads it, before its arguments are interpreted. */
export interface RawInstruction extends Position {
  /** upper case, as Docker prints it in `Step 1/7 : FROM busybox` */
  keyword: string;
  /** the instruction as written, continuations joined into one line (the Step line shows this) */
  original: string;
  /** --name=value flags before the arguments, in order (`--from=build` → {name:'from', value:'build'}); a bare `--link` has value null */
  flags: { name: string; value: string | null }[];
  /** the arguments: the rest of the line after the flags, continuations joined */
  rest: string;
  /** the exec form: `rest` read as a JSON array of strings, or null when it is not one */
  json: string[] | null;
  heredocs: Heredoc[];
}

/** The directives (`# syntax=`, `# escape=`), read only at the top of the file. */
export interface Directives {
  /** '\\' (the default) or '`' (Windows-style) */
  escape: '\\' | '`';
  syntax?: string;
  check?: string;
}

/** A problem `build --check` reports without failing the build (Docker's lint rules). */
export interface Warning extends Position {
  /** Docker's rule name, e.g. "MaintainerDeprecated", "JSONArgsRecommended" */
  rule: string;
  message: string;
}

export interface ParsedDockerfile {
  directives: Directives;
  instructions: RawInstruction[];
  warnings: Warning[];
}

/**
 * A Dockerfile that cannot be built: Docker's message, and where. The CLI
 * prints `Dockerfile:3` and the instruction with the message, as Docker's
 * classic builder names the line.
 */
export class DockerfileError extends Error {
  constructor(message: string, readonly where: Position | null, readonly instruction?: string) {
    super(message);
  }
}

// #region instructions
/** key=value as written (quotes and $vars still in), ENV's, LABEL's and ARG's */
export interface KeyValue {
  key: string;
  value: string;
}

/** CMD, ENTRYPOINT and RUN: the exec form runs as it is, the shell form under SHELL (default /bin/sh -c). */
export interface CommandLine {
  /** exec form: the JSON array; shell form: one string, the rest of the line */
  args: string[];
  /** true for the shell form: the builder puts the SHELL in front */
  prependShell: boolean;
  /** RUN <<EOF: the heredocs that are the command or files it reads */
  heredocs: Heredoc[];
}

export type Instruction = Position & { original: string } & (
  | { keyword: 'FROM'; image: string; stage: string | null; platform: string | null }
  | { keyword: 'MAINTAINER'; maintainer: string }
  | { keyword: 'RUN'; cmd: CommandLine; network: 'default' | 'none' | 'host' | null }
  | { keyword: 'CMD'; cmd: CommandLine }
  | { keyword: 'ENTRYPOINT'; cmd: CommandLine }
  | { keyword: 'EXPOSE'; ports: string[] }
  | { keyword: 'ENV'; pairs: KeyValue[] }
  | { keyword: 'ARG'; args: { key: string; value: string | null }[] }
  | { keyword: 'LABEL'; pairs: KeyValue[] }
  | {
      keyword: 'COPY' | 'ADD';
      /** sources then destination, as written (exec form already unquoted by JSON) */
      sources: string[];
      dest: string;
      /** COPY <<EOF /file: inline files, each a source named by its heredoc name */
      heredocs: Heredoc[];
      from: string | null; // COPY only
      chown: string | null;
      chmod: string | null;
    }
  | { keyword: 'WORKDIR'; path: string }
  | { keyword: 'USER'; user: string }
  | { keyword: 'VOLUME'; volumes: string[] }
  | { keyword: 'STOPSIGNAL'; signal: string }
  | { keyword: 'SHELL'; shell: string[] }
  | {
      keyword: 'HEALTHCHECK';
      /** null for HEALTHCHECK NONE; otherwise Docker's HealthConfig Test: ["CMD", …], ["CMD-SHELL", "…"] */
      test: string[] | null;
      /** Go durations as written, e.g. "30s" (null: not given) */
      interval: string | null;
      timeout: string | null;
      startPeriod: string | null;
      startInterval: string | null;
      retries: number | null;
    }
  | { keyword: 'ONBUILD'; expression: string }
);

/** One FROM and the instructions under it. */
export interface Stage {
  /** 0-based, as `COPY --from=0` names it */
  index: number;
  /** `AS name`, lower-cased as Docker compares it, or null */
  name: string | null;
  from: Instruction & { keyword: 'FROM' };
  instructions: Instruction[];
}

export interface Dockerfile {
  directives: Directives;
  /** ARGs declared before the first FROM: they may be used in FROM lines only */
  metaArgs: { key: string; value: string | null }[];
  stages: Stage[];
  warnings: Warning[];
}
// #endregion instructions
