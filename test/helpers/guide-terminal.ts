// The guide in a real terminal, for the tests that drive it as a learner
// would: `dockling walkthrough N` in a tmux session of the test's own (its
// own server socket, so no other tmux is touched), keys sent, the screen
// read back with capture-pane.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { BIN, waitLimit } from './dockling.js';

/**
 * The environment of a walkthrough of the test's own: its scratch root and
 * its progress file in `dir`. No coverage: the guide's screen is what is
 * tested, and a profile written at every step's exit slows it.
 */
export function guideEnv(dir: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, TMPDIR: dir, DOCKLING_PROGRESS: path.join(dir, 'progress.json'), TERM: 'xterm-256color' };
  delete env.NODE_EXTRA_CA_CERTS;
  delete env.NODE_V8_COVERAGE;
  return env;
}

/** The walkthrough's scratch state roots in `dir` (one while it runs, none after). */
export const scratchRoots = (dir: string) => fs.readdirSync(dir).filter((f) => f.startsWith('dockling-walkthrough-'));

export interface GuideTerminal {
  /** tmux's own command line, on the test's server */
  tmux(...args: string[]): string;
  /** what the terminal shows now */
  screen(): string;
  /** wait until the screen matches; fail with the screen if it never does */
  waitFor(re: RegExp, seconds?: number): Promise<string>;
  /** end the tmux server (and with its terminal, what still runs in it) */
  kill(): void;
}

/**
 * `dockling walkthrough ARGS…` in a 100×30 terminal. When it ends the pane
 * shows `EXIT=<status>` and stays a minute, for the test to read.
 */
export function guideInTmux(dir: string, name: string, args: string[]): GuideTerminal {
  const socket = `${name}-${process.pid}`;
  const tmux = (...a: string[]) => execFileSync('tmux', ['-L', socket, ...a], { encoding: 'utf8' });
  const command = `${process.execPath} -- ${BIN} walkthrough ${args.join(' ')}; echo "EXIT=$?"; sleep 60`;
  execFileSync('tmux', ['-L', socket, '-f', '/dev/null', 'new-session', '-d', '-x', '100', '-y', '30', 'sh', '-c', command], { env: guideEnv(dir) });
  const screen = () => tmux('capture-pane', '-p');
  return {
    tmux,
    screen,
    async waitFor(re, seconds = 30) {
      const end = Date.now() + waitLimit(seconds * 1000);
      while (!re.test(screen()) && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
      const s = screen();
      assert.match(s, re, `the screen never showed ${re}:\n${s}`);
      return s;
    },
    kill: () => void spawnSync('tmux', ['-L', socket, 'kill-server']),
  };
}
