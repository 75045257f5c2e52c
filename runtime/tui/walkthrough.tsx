// `dockling walkthrough` (and `npm start`): the guide in the terminal. It
// makes a scratch state root for the steps, opens the screen (guide.tsx),
// and when the screen closes, however it closed (q, Ctrl-C, a signal, an
// error), removes everything the steps made there.
//
// Loaded only by `dockling walkthrough`: Ink and React stay off the run path.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import React from 'react';
import { render } from 'ink';
import { chapterList, chapterReadme, commandLine, docklingArgv, loadSteps, runStep, type DemoStep } from '../../chapters/demo.js';
import { Guide } from './guide.js';
import { cannotRun, cleanUpScratchRoot, loadProgress, makeScratchRoot, resetProgress, saveProgress } from './session.js';

export interface WalkthroughOptions {
  /** the chapter to open (undefined: the chapter list) */
  chapter?: number;
  present?: boolean;
  reset?: boolean;
  /** the layers the steps run with, at most (the global --chapter) */
  layers?: number;
  /** draw the first screen and exit (the bench's start-up row) */
  firstFrame?: boolean;
}

export async function walkthrough(opts: WalkthroughOptions): Promise<number> {
  if (opts.reset) resetProgress();
  if (opts.firstFrame) return firstFrame(opts);
  if (!process.stdin.isTTY) {
    process.stderr.write('dockling: the walkthrough needs a terminal (run it in one, not through a pipe; `--script` prints a chapter unattended)\n');
    return 1;
  }
  const readOnly = cannotRun();
  const root = readOnly ? '(none: read-only)' : makeScratchRoot();
  const chapters = chapterList();
  /** the latest step's run: a step stopped by quitting is waited for before the clean-up */
  let lastRun: Promise<unknown> = Promise.resolve();
  let last = opts.chapter ?? loadProgress().last ?? chapters[0].chapter;
  // A signal from outside (the terminal closed, kill): clean up, then go.
  const onSignal = (sig: NodeJS.Signals) => {
    if (!readOnly) cleanUpScratchRoot(root, last);
    process.exit(128 + (sig === 'SIGHUP' ? 1 : sig === 'SIGINT' ? 2 : 15));
  };
  for (const s of ['SIGHUP', 'SIGTERM', 'SIGINT'] as const) process.on(s, onSignal);
  try {
    const app = render(
      <Guide
        chapters={chapters}
        chapter={opts.chapter}
        load={loadSteps}
        readme={(dir) => fs.readFileSync(chapterReadme(dir), 'utf8')}
        run={runStep}
        handOver={handOver}
        onRun={(ended) => (lastRun = ended)}
        stateRoot={root}
        layers={opts.layers}
        readOnly={readOnly}
        progress={loadProgress()}
        onProgress={(p) => {
          last = p.last ?? last;
          saveProgress(p);
        }}
        present={opts.present}
      />,
    );
    await app.waitUntilExit();
    await Promise.race([lastRun.catch(() => {}), new Promise((r) => setTimeout(r, 10_000))]);
  } finally {
    for (const s of ['SIGHUP', 'SIGTERM', 'SIGINT'] as const) process.off(s, onSignal);
    if (!readOnly) {
      // Every chapter this session opened ran in the same root: rm -f with
      // the latest chapter's layers knows every kind of container.
      const left = cleanUpScratchRoot(root, Math.max(last, ...chapterList().map((c) => c.chapter)));
      // (a new line first: Ink's last frame does not end with one)
      process.stdout.write(left.length ? `\ndockling: the walkthrough could not remove: ${left.join(', ')}\n` : `\ndockling: the walkthrough's scratch state root is removed:\n  ${root}\n`);
    }
  }
  return 0;
}

// #region hand-over
/**
 * An interactive step (`run -it busybox sh`) gets the terminal itself. The
 * screen has stopped reading keys (Ink leaves raw mode when no input
 * handler is active), so the command's shell reads the learner's typing;
 * when it ends, the screen is cleared and drawn again.
 */
export function handOver(step: DemoStep, stateRoot: string, chapter: number): Promise<number> {
  const clear = '\x1b[2J\x1b[H';
  process.stdout.write(`${clear}$ ${commandLine(step)}\n(the terminal is the command's now: exit its shell to come back to the guide)\n\n`);
  const argv = step.host ?? docklingArgv(stateRoot, step.args);
  const env: NodeJS.ProcessEnv = { ...process.env, DOCKLING_CHAPTER: String(chapter) };
  delete env.NODE_EXTRA_CA_CERTS;
  // The guide's own read of the terminal stops (a read left pending would
  // take the learner's keys, or fail with EIO once a shell in the command
  // makes itself the terminal's foreground group).
  const stdin = process.stdin as NodeJS.ReadStream & { _handle?: { readStop(): void; reading: boolean } };
  stdin.pause();
  if (stdin._handle?.reading) {
    stdin._handle.reading = false;
    stdin._handle.readStop();
  }
  const ignore = () => {};
  stdin.on('error', ignore);
  return new Promise((resolve) => {
    const child = spawn(argv[0], argv.slice(1), { stdio: 'inherit', env });
    const done = (code: number) => {
      stdin.off('error', ignore);
      process.stdout.write(clear);
      resolve(code);
    };
    child.on('error', () => done(127));
    child.on('close', (code, sig) => done(code ?? 128 + (os.constants.signals[sig!] ?? 0)));
  });
}
// #endregion hand-over

/** The first screen, drawn once to stdout, then exit: what a learner waits for. */
async function firstFrame(opts: WalkthroughOptions): Promise<number> {
  let shown!: () => void;
  const ready = new Promise<void>((r) => (shown = r));
  const app = render(
    <Guide
      chapters={chapterList()}
      chapter={opts.chapter}
      load={loadSteps}
      readme={(dir) => fs.readFileSync(chapterReadme(dir), 'utf8')}
      run={runStep}
      stateRoot="(first frame)"
      readOnly={cannotRun()}
      progress={{ chapters: {} }}
      onProgress={() => {}}
      keys={false}
      onShown={() => shown()}
    />,
    { patchConsole: false },
  );
  // Once the steps are loaded, the screen shows them: that frame is the one.
  await ready;
  app.unmount();
  await app.waitUntilExit();
  return 0;
}
