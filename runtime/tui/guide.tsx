// The walkthrough's screen (Ink). For each demo step: what it is about, a
// question first (what do you expect?), then the exact command; Enter runs
// it, the output streams into a pane with the trace beside it, the check
// says ✓ or ✗ and why, and only then comes the explanation. A chapter list
// with progress (c), the chapter's prose (b, or s: at the step's section),
// the keys (?). Under its title each step says where it points: its
// section of the README and the code region it exercises (links.ts).
//
// Everything it does to the machine goes through `run` (chapters/demo.ts's
// runStep in a scratch state root): the tests give it a step list of their own.
import fs from 'node:fs';
import React, { useEffect, useMemo, useRef, useState } from 'react';
import { Box, Text, useApp, useInput, useStdout, type Key } from 'ink';
import { commandLine, repoPath, type DemoStep, type HostPart, type RunOptions, type StepResult } from '../../chapters/demo.js';
import { formatEvent } from '../trace/format.js';
import type { TraceRecord } from '../trace/events.js';
import { renderProse, wrap } from './prose.js';
import { describeLinks } from './links.js';
import { BookScreen, ChapterList, KeysScreen } from './screens.js';
import { chapterState, type Progress } from './session.js';
import { hostView } from './host.js';

export interface GuideProps {
  chapters: { chapter: number; dir: string }[];
  /** the chapter to open; undefined opens the chapter list */
  chapter?: number;
  load: (chapter: number) => Promise<{ dir: string; steps: DemoStep[] }>;
  /** a chapter's README text */
  readme: (dir: string) => string;
  run: (step: DemoStep, opts: RunOptions) => Promise<StepResult>;
  stateRoot: string;
  /** the layers the steps run with, at most (`dockling --chapter 0 walkthrough 1`: chapter 1's steps without its layer) */
  layers?: number;
  /** why the steps cannot run here (null: they can) */
  readOnly: string | null;
  progress: Progress;
  onProgress: (p: Progress) => void;
  /** instructor mode: more space, Enter never moves on by itself */
  present?: boolean;
  /** no keyboard (the bench's first-frame run has no terminal) */
  keys?: boolean;
  colour?: boolean;
  /**
   * Give the terminal to an interactive step's command and take it back
   * (walkthrough.tsx); resolves with its exit status.
   */
  handOver?: (step: DemoStep, stateRoot: string, chapter: number) => Promise<number>;
  /** the host pane's lines (h): runtime/tui/host.ts, unless a test gives its own */
  host?: (stateRoot: string, trace: TraceRecord[], about?: HostPart[]) => string[];
  /** a repository file's text, for a step's code region (null: not there) */
  source?: (file: string) => string | null;
  /** told of each step's run as it starts (the clean-up waits for the last one to end) */
  onRun?: (ended: Promise<unknown>) => void;
  /** called once the first step of the chapter is on screen */
  onShown?: () => void;
}

type Phase = { kind: 'predict' } | { kind: 'ready' } | { kind: 'running' } | { kind: 'done'; result: StepResult; problem: string | null };
type View = 'steps' | 'chapters' | 'book';
type Pane = 'output' | 'trace';

// #region trace-kinds
/** What the trace filter (f) keeps: the host changes the chapters are about. */
const KINDS: Record<string, (e: TraceRecord) => boolean> = {
  all: () => true,
  mounts: (e) => ['mount', 'umount', 'mount_setattr', 'pivot_root'].includes(e.op),
  cgroups: (e) => (e.op === 'mkdir' || e.op === 'rmdir' || e.op === 'write') && e.path.includes('/sys/fs/cgroup'),
  links: (e) => ['ip', 'ifup', 'sysctl', 'lease'].includes(e.op),
  rules: (e) => e.op === 'iptables',
};
const KIND_NAMES = Object.keys(KINDS);
// #endregion trace-kinds

/** The terminal's size, followed as it changes. */
function useSize(): { cols: number; rows: number } {
  const { stdout } = useStdout();
  const read = () => ({ cols: Math.max(40, stdout.columns || 80), rows: Math.max(16, stdout.rows || 24) });
  const [size, setSize] = useState(read);
  useEffect(() => {
    const on = () => setSize(read());
    stdout.on('resize', on);
    return () => {
      stdout.off('resize', on);
    };
  }, [stdout]);
  return size;
}


/** The lines of a pane that fit in `height`, `back` lines up from the end (0: follow the end). */
function window<T>(all: T[], height: number, back: number): { shown: T[]; from: number } {
  const end = Math.max(0, all.length - back);
  const from = Math.max(0, end - height);
  return { shown: all.slice(from, end), from };
}

export function Guide(props: GuideProps) {
  const { exit } = useApp();
  const { cols, rows } = useSize();
  const colour = props.colour ?? !('NO_COLOR' in process.env && process.env.NO_COLOR !== '');
  const c = (name: string) => (colour ? name : undefined);
  const [view, setView] = useState<View>(props.chapter === undefined ? 'chapters' : 'steps');
  const [chapter, setChapter] = useState(props.chapter ?? props.progress.last ?? props.chapters[0]?.chapter ?? 1);
  const [loaded, setLoaded] = useState<{ chapter: number; dir: string; steps: DemoStep[] } | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [index, setIndex] = useState(0);
  const [phase, setPhase] = useState<Phase>({ kind: 'predict' });
  const [answer, setAnswer] = useState('');
  const [guess, setGuess] = useState<string | null>(null);
  const [output, setOutput] = useState<string[]>([]);
  const [events, setEvents] = useState<TraceRecord[]>([]);
  const [scroll, setScroll] = useState<Record<Pane | 'book', number>>({ output: 0, trace: 0, book: 0 });
  const [focus, setFocus] = useState<Pane>('output');
  const [filter, setFilter] = useState(0);
  const [help, setHelp] = useState(false);
  /** the terminal is an interactive step's: no keys read, nothing drawn */
  const [handed, setHanded] = useState(false);
  const handing = useRef<{ step: DemoStep; layers: number; finish: (r: StepResult) => void } | null>(null);
  /** the host pane's lines, read when h was pressed (null: the trace is shown) */
  const [hostLines, setHostLines] = useState<string[] | null>(null);
  const [listAt, setListAt] = useState(Math.max(0, props.chapters.findIndex((x) => x.chapter === chapter)));
  const progress = useRef(props.progress);
  const running = useRef<AbortController | null>(null);
  const steps = loaded?.steps ?? [];
  const step = steps[index];
  const readme = (dir: string) => {
    try {
      return props.readme(dir);
    } catch {
      return '';
    }
  };
  const source = props.source ?? readSource;
  /** where the step points: "§ heading" and "code: file:lines (region name)" */
  const links = useMemo(() => (step && loaded ? describeLinks(step, readme(loaded.dir), source) : []), [step, loaded]);

  // A chapter's steps, loaded when it is opened; the learner resumes where they were.
  useEffect(() => {
    let gone = false;
    props.load(chapter).then(
      (l) => {
        if (gone) return;
        setLoaded({ chapter, ...l });
        setLoadError(null);
        const at = progress.current.chapters[String(chapter)]?.current ?? 0;
        reset(Math.min(Math.max(0, at), Math.max(0, l.steps.length - 1)));
      },
      (e) => !gone && setLoadError((e as Error).message),
    );
    return () => {
      gone = true;
    };
  }, [chapter]);

  useEffect(() => {
    if (loaded) props.onShown?.();
  }, [loaded]);

  // How many steps each chapter has: a chapter is done when all its checks held.
  const [counts, setCounts] = useState<Record<number, number>>({});
  useEffect(() => {
    if (view !== 'chapters') return;
    for (const ch of props.chapters) {
      if (counts[ch.chapter] !== undefined) continue;
      props.load(ch.chapter).then(
        (l) => setCounts((m) => ({ ...m, [ch.chapter]: l.steps.length })),
        () => {},
      );
    }
  }, [view]);

  // Quitting while a step runs stops it (the clean-up then removes what it made).
  useEffect(() => () => running.current?.abort(), []);

  const save = (mut: (p: Progress) => void) => {
    const p: Progress = JSON.parse(JSON.stringify(progress.current));
    mut(p);
    progress.current = p;
    props.onProgress(p);
  };

  const reset = (i: number) => {
    setIndex(i);
    setPhase({ kind: 'predict' });
    setAnswer('');
    setGuess(null);
    setOutput([]);
    setEvents([]);
    setScroll({ output: 0, trace: 0, book: 0 });
    setHostLines(null);
  };

  const go = (i: number) => {
    const to = Math.max(0, Math.min(steps.length - 1, i));
    reset(to);
    save((p) => {
      p.last = chapter;
      const cp = (p.chapters[String(chapter)] ??= { done: [], current: 0 });
      cp.current = to;
    });
  };

  const start = () => {
    if (props.readOnly || !step) return;
    const ac = new AbortController();
    running.current = ac;
    setOutput([]);
    setEvents([]);
    setScroll((s) => ({ ...s, output: 0, trace: 0 }));
    setPhase({ kind: 'running' });
    const at = index;
    const layers = Math.min(chapter, props.layers ?? chapter);
    const finish = (result: StepResult) => {
      if (ac.signal.aborted) return;
      let problem: string | null;
      try {
        problem = step.check(result);
      } catch (e) {
        problem = `the check itself failed: ${(e as Error).message}`;
      }
      setEvents(result.trace);
      setPhase({ kind: 'done', result, problem });
      save((p) => {
        p.last = chapter;
        const cp = (p.chapters[String(chapter)] ??= { done: [], current: at });
        cp.current = at;
        if (!problem && !cp.done.includes(at)) cp.done.push(at);
        if (problem) cp.done = cp.done.filter((d) => d !== at);
      });
    };
    if (step.interactive && props.handOver) {
      // The command starts once the screen has let go of the terminal (below).
      handing.current = { step, layers, finish };
      setHanded(true);
      return;
    }
    const ran = props
      .run(step, {
        stateRoot: props.stateRoot,
        chapter: layers,
        signal: ac.signal,
        onOutput: (chunk) => setOutput((o) => appendChunk(o, chunk)),
        onTrace: (r) => setEvents((e) => [...e, r]),
      })
      .then(finish);
    props.onRun?.(ran);
  };

  const quit = () => {
    running.current?.abort();
    exit();
  };

  // ---- layout: how many lines each part gets, at this size ----
  const narrow = cols < 100;
  const pad = props.present ? 2 : 0;
  const textWidth = cols - 2 - pad * 2;
  // Read-only, the explanation is all a step can give: it is shown at once.
  const lookLines = (phase.kind === 'done' || props.readOnly) && step ? wrap(step.look, textWidth) : [];
  const readOnlyLines = props.readOnly ? wrap(props.readOnly, textWidth) : [];
  const questionLines = phase.kind === 'predict' ? 3 : guess !== null ? 1 : 0;
  const fixed = 1 /* header */ + 1 /* title */ + links.length + 1 /* command */ + questionLines + 1 /* verdict */ + 1 /* keys */ + 3 /* pane borders, label */ + (props.present ? 4 : 0);
  const lookShown = lookLines.slice(0, Math.max(2, Math.floor((rows - fixed) / 2)));
  const paneHeight = Math.max(3, rows - fixed - lookShown.length - readOnlyLines.length);

  // The handler of the latest render, read through a ref: a key that comes
  // right after another must see the state that key made (useInput
  // re-subscribes only after React's passive effects have run).
  const onKey = useRef<(input: string, key: Key) => void>(() => {});
  onKey.current = (input: string, key: Key) => {
    if (help) {
      setHelp(false);
      return;
    }
    if (view === 'chapters') {
      if (key.upArrow) setListAt((a) => Math.max(0, a - 1));
      else if (key.downArrow) setListAt((a) => Math.min(props.chapters.length - 1, a + 1));
      else if (key.return) {
        const to = props.chapters[listAt].chapter;
        setView('steps');
        if (to !== chapter) {
          setLoaded(null);
          setChapter(to);
        }
      } else if (input === 'q') quit();
      else if (input === '?') setHelp(true);
      else if ((key.escape || input === 'c') && loaded) setView('steps');
      return;
    }
    if (view === 'book') {
      const page = rows - 4;
      if (key.upArrow) setScroll((s) => ({ ...s, book: Math.max(0, s.book - 1) }));
      else if (key.downArrow) setScroll((s) => ({ ...s, book: s.book + 1 }));
      else if (key.pageUp) setScroll((s) => ({ ...s, book: Math.max(0, s.book - page) }));
      else if (key.pageDown || input === ' ') setScroll((s) => ({ ...s, book: s.book + page }));
      else if (key.escape || input === 'b') setView('steps');
      else if (input === 'q') quit();
      else if (input === '?') setHelp(true);
      return;
    }
    if (phase.kind === 'predict' && !props.readOnly) {
      if (key.return) {
        setGuess(answer.trim() || null);
        setPhase({ kind: 'ready' });
      } else if (key.escape || key.tab) {
        setGuess(null);
        setPhase({ kind: 'ready' });
      } else if (key.backspace || key.delete) setAnswer((a) => a.slice(0, -1));
      else if (input && !key.ctrl && !key.meta && !key.upArrow && !key.downArrow && !key.leftArrow && !key.rightArrow) setAnswer((a) => a + input);
      return;
    }
    if (phase.kind === 'running') {
      if (input === 'q') quit();
      else scrollKeys(input, key);
      return;
    }
    if (input === 'q' || key.escape) quit();
    else if (input === '?') setHelp(true);
    else if (input === 'c') {
      setListAt(Math.max(0, props.chapters.findIndex((x) => x.chapter === chapter)));
      setView('chapters');
    } else if (input === 'b') setView('book');
    else if (input === 's' && step?.section && loaded) {
      // The README opened at the step's heading (the line BookScreen draws first).
      const at = renderProse(readme(loaded.dir), textWidth).findIndex((l) => l.anchor === step.section);
      setScroll((x) => ({ ...x, book: Math.max(0, at) }));
      setView('book');
    }
    else if (key.return && phase.kind === 'ready') start();
    else if (input === 'r' && phase.kind !== 'predict') start();
    else if (input === 'n' || key.rightArrow || (key.return && phase.kind === 'done' && !props.present)) {
      if (index < steps.length - 1) go(index + 1);
    } else if (input === 'p' || key.leftArrow) go(index - 1);
    else if (input === 'f') setFilter((f) => (f + 1) % KIND_NAMES.length);
    else if (input === 'h' && !props.readOnly) {
      const lines = hostLines ? null : (props.host ?? hostView)(props.stateRoot, events, step?.hostView);
      setHostLines(lines);
      setScroll((x) => ({ ...x, trace: lines ? lines.length : 0 }));
    }
    else scrollKeys(input, key);
  };
  useInput((input, key) => onKey.current(input, key), { isActive: (props.keys ?? true) && !handed });

  // After useInput's own effect (effects run in order), which has taken the
  // terminal out of raw mode and stopped reading it: an interactive shell
  // makes itself the terminal's foreground process group, and a raw-mode
  // change from the guide after that would fail (EIO).
  useEffect(() => {
    const h = handing.current;
    if (!handed || !h || !props.handOver) return;
    handing.current = null;
    const timer = setTimeout(() => {
      props.handOver!(h.step, props.stateRoot, h.layers).then((code) => {
        setHanded(false);
        h.finish({ code, stdout: '', stderr: '', trace: [] });
      });
    }, 50);
    return () => clearTimeout(timer);
  }, [handed]);

  function scrollKeys(_input: string, key: { upArrow: boolean; downArrow: boolean; pageUp: boolean; pageDown: boolean; tab: boolean }) {
    if (key.tab) setFocus((f) => (f === 'output' ? 'trace' : 'output'));
    const by = key.upArrow ? 1 : key.downArrow ? -1 : key.pageUp ? paneHeight : key.pageDown ? -paneHeight : 0;
    if (by) setScroll((s) => ({ ...s, [focus]: Math.max(0, s[focus] + by) }));
  }

  // ---- the screens ----
  if (handed) return <Text> </Text>;
  if (help) return <KeysScreen colour={colour} />;

  if (view === 'chapters') {
    const rowsOf = props.chapters.map((ch) => ({
      ...ch,
      done: progress.current.chapters[String(ch.chapter)]?.done.length ?? 0,
      state: chapterState(progress.current, ch.chapter, counts[ch.chapter] ?? Infinity),
    }));
    return <ChapterList chapters={rowsOf} at={listAt} readOnly={props.readOnly} colour={colour} />;
  }

  if (loadError) return <Text color={c('red')}>dockling: {loadError}</Text>;
  if (!loaded || !step) return <Text>loading chapter {chapter}…</Text>;

  if (view === 'book') return <BookScreen dir={loaded.dir} text={() => props.readme(loaded.dir)} width={textWidth} rows={rows} scroll={scroll.book} colour={colour} />;

  const kind = KIND_NAMES[filter];
  const traced = events.filter(KINDS[kind]);
  const outWin = window(output, paneHeight, Math.min(scroll.output, Math.max(0, output.length - paneHeight)));
  const traceWin = window(traced, paneHeight, Math.min(scroll.trace, Math.max(0, traced.length - paneHeight)));
  // the host pane opens at its top (h sets the scroll back as far as it goes)
  const hostAll = hostLines ?? [];
  const hostWin = window(hostAll, paneHeight, Math.min(scroll.trace, Math.max(0, hostAll.length - paneHeight)));
  const done = progress.current.chapters[String(chapter)]?.done ?? [];
  const border = (p: Pane) => (focus === p ? c('cyan') : undefined);

  return (
    <Box flexDirection="column" paddingX={pad}>
      <Text bold wrap="truncate-end">
        {header(`${loaded.dir} · step ${index + 1}/${steps.length} · ${done.length} done`, props.readOnly ? null : props.stateRoot, cols - 2 - pad * 2)}
      </Text>
      {readOnlyLines.map((l, i) => (
        <Text key={`ro${i}`} color={c('yellow')}>
          {l}
        </Text>
      ))}
      <Text bold color={c('magenta')} wrap="truncate-end">
        {step.title}
      </Text>
      {links.map((l, i) => (
        <Text key={`link${i}`} dimColor wrap="truncate-end">
          {l}
        </Text>
      ))}
      {props.present && <Text> </Text>}
      {phase.kind === 'predict' && !props.readOnly && (
        <Box flexDirection="column">
          <Text wrap="truncate-end">What do you expect this to print, or do to the host?</Text>
          <Text wrap="truncate-end">
            <Text color={c('cyan')}>your guess › </Text>
            {answer}
            <Text inverse> </Text>
          </Text>
          <Text dimColor>Enter: keep it · Esc or Tab: skip the question</Text>
        </Box>
      )}
      {phase.kind !== 'predict' && guess !== null && (
        <Text wrap="truncate-end" dimColor>
          you expected: {guess}
        </Text>
      )}
      <Text color={c('cyan')} wrap="truncate-end">
        $ {commandLine(step)}
      </Text>
      {props.present && <Text> </Text>}
      <Box>
        <Box flexDirection="column" width={narrow ? '50%' : '45%'} borderStyle="round" borderColor={border('output')} paddingX={1}>
          <Text dimColor wrap="truncate-end">
            output{output.length > paneHeight ? ` ${outWin.from + 1}–${outWin.from + outWin.shown.length}/${output.length}` : ''}
          </Text>
          {fill(outWin.shown, paneHeight).map((l, i) => (
            <Text key={i} wrap="truncate-end">
              {l ?? ' '}
            </Text>
          ))}
        </Box>
        <Box flexDirection="column" width={narrow ? '50%' : '55%'} borderStyle="round" borderColor={border('trace')} paddingX={1}>
          {hostLines ? (
            <>
              <Text dimColor wrap="truncate-end">
                host{step.hostView?.length ? ` [${step.hostView.join(', ')}]` : ''} (h: back to the trace){hostLines.length > paneHeight ? ` ${hostWin.from + 1}–${hostWin.from + hostWin.shown.length}/${hostLines.length}` : ''}
              </Text>
              {fill(hostWin.shown, paneHeight).map((l, i) => (
                <Text key={i} wrap="truncate-end">
                  {l ?? ' '}
                </Text>
              ))}
            </>
          ) : (
            <>
              <Text dimColor wrap="truncate-end">
                trace [{kind}]{traced.length > paneHeight ? ` ${traceWin.from + 1}–${traceWin.from + traceWin.shown.length}/${traced.length}` : ''}
              </Text>
              {fill(traceWin.shown, paneHeight).map((e, i) =>
                e === undefined ? (
                  <Text key={i}> </Text>
                ) : e.op === 'stage' ? (
                  <Text key={i} wrap="truncate-end" bold color={c('cyan')}>
                    {formatEvent(e)}
                  </Text>
                ) : (
                  // the events of this chapter's own layer are what the step is about
                  <Text key={i} wrap="truncate-end" bold={e.chapter === chapter} color={e.chapter === chapter ? c('green') : undefined} dimColor={e.chapter !== chapter}>
                    {e.chapter === chapter ? '▸' : ' '} {e.side} {formatEvent(e)}
                  </Text>
                ),
              )}
            </>
          )}
        </Box>
      </Box>
      {phase.kind === 'done' ? (
        <Text color={c(phase.problem ? 'red' : 'green')} wrap="truncate-end">
          {phase.problem ? `✗ ${phase.problem}` : `✓ exit ${phase.result.code}: the output shows it`}
        </Text>
      ) : (
        <Text color={c('yellow')}>{phase.kind === 'running' ? 'running…' : ' '}</Text>
      )}
      {lookShown.map((l, i) => (
        <Text key={i}>{l}</Text>
      ))}
      {props.present && <Text> </Text>}
      <Text dimColor wrap="truncate-end">
        {footer(phase.kind, !!props.readOnly, index === steps.length - 1)}
      </Text>
    </Box>
  );
}

/** The heading line; a long state root loses its start, never its own name (dockling-walkthrough-XXXXXX). */
function header(left: string, root: string | null, width: number): string {
  if (root === null) return `${left} · read-only`;
  const room = width - left.length - ' · root '.length;
  const shown = root.length <= room ? root : '…' + root.slice(root.length - Math.max(room - 1, 24));
  return `${left} · root ${shown}`;
}

function footer(phase: Phase['kind'], readOnly: boolean, last: boolean): string {
  if (readOnly) return 'n/p: next/previous · s: its section · b: chapter text · c: chapters · ?: keys · q: quit';
  if (phase === 'predict') return 'type your guess · Enter: keep it · Esc/Tab: skip · Ctrl-C: quit';
  if (phase === 'ready') return 'Enter: run this step · n/p: next/previous · s: its section · ?: keys · q: quit';
  if (phase === 'running') return '↑↓: scroll · Tab: switch pane · q: stop and quit';
  return `${last ? '' : 'Enter/n: next · '}r: again · f: filter · h: host · s: section · ↑↓ Tab: scroll · c: chapters · q: quit`;
}

/** A file of the repository (a step's code), or null when it is not there. */
function readSource(file: string): string | null {
  try {
    return fs.readFileSync(repoPath(file), 'utf8');
  } catch {
    return null;
  }
}

/** Exactly `n` rows: the panes keep their height while output is short. */
function fill<T>(xs: T[], n: number): (T | undefined)[] {
  return [...xs, ...Array<undefined>(Math.max(0, n - xs.length)).fill(undefined)];
}

/** Streamed output into lines (a chunk may end mid-line; control characters other than tab go). */
function appendChunk(lines: string[], chunk: string): string[] {
  const clean = chunk.replace(/\r\n/g, '\n').replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '').replace(/[\x00-\x08\x0b-\x1f\x7f]/g, '').replace(/\t/g, '  ');
  const parts = clean.split('\n');
  const out = lines.length ? [...lines.slice(0, -1), lines.at(-1)! + parts[0]] : [parts[0]];
  out.push(...parts.slice(1));
  return out;
}
