// The guide's screens other than a step's: the keys (?), the chapter list
// with progress (c), the chapter's README (b). guide.tsx holds their state.
import React from 'react';
import { Box, Text } from 'ink';
import { renderProse, type ProseLine } from './prose.js';

export const KEYS: [string, string][] = [
  ['(typing)', 'your guess at the question; Enter keeps it, Esc or Tab skips'],
  ['Enter', 'run the step; after it, go to the next one'],
  ['n / →', 'next step'],
  ['p / ←', 'previous step'],
  ['r', 'run this step again'],
  ['↑ ↓ PgUp PgDn', 'scroll the pane in focus'],
  ['Tab', 'focus the output or the trace pane'],
  ['f', 'filter the trace: all, mounts, cgroups, links, rules'],
  ['h', 'the host pane: what the step is about first, of cgroup files, /proc/PID/ns against the host, links, storage (h again: the trace)'],
  ['c', 'the chapters, with your progress'],
  ['b', "the chapter's text (its README)"],
  ['s', "the chapter's text at the step's section (the § line under its title)"],
  ['?', 'these keys'],
  ['q / Ctrl-C', 'quit (the scratch state root is cleaned up)'],
];

export function KeysScreen({ colour }: { colour: boolean }) {
  return (
    <Box flexDirection="column" paddingX={1}>
      <Text bold>Keys (any key closes this)</Text>
      {KEYS.map(([k, what]) => (
        <Text key={k}>
          <Text color={colour ? 'cyan' : undefined}>{k.padEnd(16)}</Text>
          {what}
        </Text>
      ))}
      <Text dimColor>No mouse needed. NO_COLOR turns colour off.</Text>
    </Box>
  );
}

export interface ChapterRow {
  chapter: number;
  dir: string;
  /** steps whose check held */
  done: number;
  state: 'done' | 'current' | 'not yet';
}

export function ChapterList({ chapters, at, readOnly, colour }: { chapters: ChapterRow[]; at: number; readOnly: string | null; colour: boolean }) {
  return (
    <Box flexDirection="column" paddingX={1}>
      <Text bold>dockling: the chapters (↑↓ choose · Enter open · q quit · ? keys)</Text>
      {readOnly && <Text color={colour ? 'yellow' : undefined}>{readOnly}</Text>}
      <Text> </Text>
      {chapters.map((ch, i) => (
        <Text key={ch.chapter} inverse={i === at}>
          {ch.state === 'done' ? '✓' : ch.state === 'current' ? '▸' : ' '} {String(ch.chapter).padStart(2)}  {ch.dir.padEnd(18)} {ch.state}
          {ch.done ? ` (${ch.done} step${ch.done === 1 ? '' : 's'} done)` : ''}
        </Text>
      ))}
    </Box>
  );
}

/** The chapter's README, `scroll` lines down, as many lines as the terminal has. */
export function BookScreen({ dir, text, width, rows, scroll, colour }: { dir: string; text: () => string; width: number; rows: number; scroll: number; colour: boolean }) {
  let prose: ProseLine[];
  try {
    prose = renderProse(text(), width);
  } catch (e) {
    prose = [{ kind: 'text', text: `cannot read the chapter's README: ${(e as Error).message}` }];
  }
  const height = rows - 3;
  const top = Math.min(scroll, Math.max(0, prose.length - height));
  return (
    <Box flexDirection="column" paddingX={1}>
      <Text bold>
        {dir}/README.md · lines {top + 1}–{Math.min(prose.length, top + height)} of {prose.length} (↑↓ PgUp PgDn · b back)
      </Text>
      {prose.slice(top, top + height).map((l, i) => (
        <Text key={i} wrap="truncate-end" bold={l.kind === 'h1' || l.kind === 'h2'} underline={l.kind === 'h1'} color={l.kind === 'code' && colour ? 'cyan' : undefined}>
          {l.text || ' '}
        </Text>
      ))}
    </Box>
  );
}
