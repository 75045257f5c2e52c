// The Ink walkthrough: a chapter's demo steps, one at a time. Each step shows
// what it is about, runs the real command (Enter), streams the command's
// output on the left and the trace of what it did to the host on the right,
// then says whether the output shows the point (the step's own check).
//
// Loaded only by `dockling walkthrough`: Ink and React stay off the run path.
import React, { useEffect, useState } from 'react';
import { Box, Text, render, useApp, useInput } from 'ink';
import { commandLine, loadSteps, runStep, type DemoStep, type StepResult } from '../../chapters/demo.js';
import { formatEvent } from '../trace/format.js';
import type { TraceRecord } from '../trace/events.js';

interface Props {
  chapter: number;
  dir: string;
  steps: DemoStep[];
  stateRoot: string;
}

type Phase = { kind: 'ready' } | { kind: 'running' } | { kind: 'done'; result: StepResult; problem: string | null };

const MAX_LINES = 16;
const tail = (lines: string[]) => lines.slice(-MAX_LINES);

function Walkthrough({ chapter, dir, steps, stateRoot }: Props) {
  const { exit } = useApp();
  const [index, setIndex] = useState(0);
  const [phase, setPhase] = useState<Phase>({ kind: 'ready' });
  const [output, setOutput] = useState<string[]>([]);
  const [events, setEvents] = useState<TraceRecord[]>([]);
  const step = steps[index];

  const go = (i: number) => {
    setIndex(Math.max(0, Math.min(steps.length - 1, i)));
    setPhase({ kind: 'ready' });
    setOutput([]);
    setEvents([]);
  };

  useInput((input, key) => {
    if (phase.kind === 'running') return;
    if (input === 'q' || key.escape) exit();
    else if (key.return && phase.kind === 'ready') setPhase({ kind: 'running' });
    else if (input === 'n' || key.rightArrow || (key.return && phase.kind === 'done')) {
      if (index === steps.length - 1 && phase.kind === 'done') exit();
      else go(index + 1);
    } else if (input === 'p' || key.leftArrow) go(index - 1);
    else if (input === 'r') go(index);
  });

  useEffect(() => {
    if (phase.kind !== 'running') return;
    let cancelled = false;
    runStep(step, {
      stateRoot,
      chapter,
      onOutput: (chunk) => !cancelled && setOutput((o) => tail([...o, ...chunk.replace(/\n$/, '').split('\n')])),
      onTrace: (r) => !cancelled && setEvents((e) => [...e, r].slice(-MAX_LINES)),
    }).then((result) => {
      if (!cancelled) setPhase({ kind: 'done', result, problem: step.check(result) });
    });
    return () => {
      cancelled = true;
    };
  }, [phase.kind, index]);

  return (
    <Box flexDirection="column">
      <Text bold>
        {dir} · step {index + 1}/{steps.length}: {step.title}
      </Text>
      <Text>{step.look}</Text>
      <Box marginY={1}>
        <Text color="cyan">$ {commandLine(step)}</Text>
      </Box>
      <Box>
        <Box flexDirection="column" width="45%" borderStyle="round" paddingX={1}>
          <Text dimColor>output</Text>
          {output.map((l, i) => (
            <Text key={i} wrap="truncate-end">{l}</Text>
          ))}
        </Box>
        <Box flexDirection="column" width="55%" borderStyle="round" paddingX={1}>
          <Text dimColor>trace: what dockling did to the host</Text>
          {events.map((e, i) =>
            e.op === 'stage' ? (
              // where a stage of the run begins: a heading, as --trace prints it
              <Text key={i} wrap="truncate-end" bold color="cyan">
                {formatEvent(e)}
              </Text>
            ) : (
              <Text key={i} wrap="truncate-end" color={e.side === 'init' ? 'yellow' : 'green'}>
                {e.side} {formatEvent(e)}
              </Text>
            ),
          )}
        </Box>
      </Box>
      {phase.kind === 'ready' && <Text>Enter: run this step · n/p: next/previous · q: quit</Text>}
      {phase.kind === 'running' && <Text color="yellow">running…</Text>}
      {phase.kind === 'done' && (
        <Text color={phase.problem ? 'red' : 'green'}>
          {phase.problem ? `✗ ${phase.problem}` : `✓ exit ${phase.result.code}: the output shows it`} · Enter/n: next · r: again · q: quit
        </Text>
      )}
    </Box>
  );
}

export async function walkthrough(chapter: number, stateRoot: string): Promise<number> {
  const { dir, steps } = await loadSteps(chapter);
  if (!process.stdin.isTTY) {
    process.stderr.write('dockling: the walkthrough needs a terminal (run it in one, not through a pipe)\n');
    return 1;
  }
  const app = render(<Walkthrough chapter={chapter} dir={dir} steps={steps} stateRoot={stateRoot} />);
  await app.waitUntilExit();
  return 0;
}
