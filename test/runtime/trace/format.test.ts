// --trace's short form (runtime/trace/format.ts): a heading per stage, the
// state root as $ROOT, 12-character IDs, signals by one name, colour only
// for a terminal; and the pipeline's stage events, in the order of the run.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TraceEvent, TraceRecord } from '../../../runtime/trace/events.js';
import { STAGE_ABOUT, formatEvent, formatRecord, formatShort, shortEvent, shortText, signalName, wantColour } from '../../../runtime/trace/format.js';
import { trace } from '../../../runtime/trace/trace.js';
import { STAGES, newRunContext, type Layer, type RunContext } from '../../../runtime/core/layer.js';
import { RunError, runPipeline } from '../../../runtime/core/pipeline.js';
import { parseFlags, flagHelp, type FlagSpec } from '../../../runtime/core/flags.js';

const ID = '5aec427b6373d053e034a5bfd6f559dd3cd7e249ebca37f1af6888959325239c';
const LAYER = '003b72a098647d03c57a2ccd89e8d8c4dcd843b9b288235a11a3eff938590f21';
const rec = (e: TraceEvent, side: 'host' | 'init' = 'host', chapter = 1): TraceRecord => ({ ...e, t: 12.3, side, chapter }) as TraceRecord;
const ESC = '\x1b';

describe('shortening', () => {
  test('the state root is $ROOT, only where a path component ends', () => {
    assert.equal(shortText('/tmp/r/containers/x', '/tmp/r'), '$ROOT/containers/x');
    assert.equal(shortText('/tmp/r', '/tmp/r'), '$ROOT');
    assert.equal(shortText('/tmp/r/', '/tmp/r/'), '$ROOT/');
    assert.equal(shortText('/tmp/rx/containers', '/tmp/r'), '/tmp/rx/containers', 'a longer name is another directory');
    assert.equal(shortText('lowerdir=/tmp/r/a:/tmp/r/b,upperdir=/tmp/r/c', '/tmp/r'), 'lowerdir=$ROOT/a:$ROOT/b,upperdir=$ROOT/c');
    // A root with characters special to a regular expression is matched as text.
    assert.equal(shortText('/tmp/a.b+c/x', '/tmp/a.b+c'), '$ROOT/x');
    assert.equal(shortText('/tmp/aXb+c/x', '/tmp/a.b+c'), '/tmp/aXb+c/x');
    assert.equal(shortText('/var/lib/dockling/x'), '/var/lib/dockling/x', 'no root given: left alone');
  });

  test('every 64-hex ID is cut to 12 characters; shorter hex is left alone', () => {
    assert.equal(shortText(`/r/overlay2/${LAYER}/merged`, '/r'), `$ROOT/overlay2/${LAYER.slice(0, 12)}/merged`);
    assert.equal(shortText(`/sys/fs/cgroup/cpu/dockling-${ID}/cgroup.procs`), `/sys/fs/cgroup/cpu/dockling-${ID.slice(0, 12)}/cgroup.procs`);
    assert.equal(shortText(`${LAYER}-init ${ID}`), `${LAYER.slice(0, 12)}-init ${ID.slice(0, 12)}`);
    const md5 = '03baafd6ed0514aa608dd4e8fc2ac6bb';
    assert.equal(shortText(`/sys/fs/cgroup/memory/${md5}`), `/sys/fs/cgroup/memory/${md5}`);
  });

  test('the issue\'s example: $ROOT/overlay2/<id:12>/merged in a mount', () => {
    const e: TraceEvent = { op: 'mount', source: 'overlay', target: `/var/lib/dockling/overlay2/${LAYER}/merged`, fstype: 'overlay', flags: [], data: `lowerdir=/var/lib/dockling/overlay2/${LAYER}-init/diff` };
    const line = formatShort(rec(e, 'host', 4), { stateRoot: '/var/lib/dockling' });
    assert.match(line, /^\s+12\.3ms host ch4 {2}mount\("overlay", "\$ROOT\/overlay2\/003b72a09864\/merged", "overlay", 0, "lowerdir=\$ROOT\/overlay2\/003b72a09864-init\/diff"\)$/);
    // The verbose form is the record whole, as before.
    assert.equal(formatRecord(rec(e, 'host', 4)), `   12.3ms host ch4  ${formatEvent(e)}`);
    assert.ok(formatRecord(rec(e, 'host', 4)).includes(LAYER));
  });

  test("a spawn names dockling's programs, not where they are installed", () => {
    const e: TraceEvent = { op: 'spawn', argv: ['/opt/d/dist/monitor', '--tty', `/r/containers/${ID}`, '--', '/opt/d/dist/nsexec', 'pmuin', process.execPath, '/opt/d/dist/init.js', "it's"] };
    const short = shortEvent(e, { stateRoot: '/r', programDir: '/opt/d/dist' });
    assert.deepEqual(short, { op: 'spawn', argv: ['monitor', '--tty', `$ROOT/containers/${ID.slice(0, 12)}`, '--', 'nsexec', 'pmuin', 'node', 'init.js', "it's"] });
    // $ROOT is not quoted: it stands for the variable. Other words are as a shell needs them.
    assert.match(formatShort(rec(e), { stateRoot: '/r', programDir: '/opt/d/dist' }), /spawn monitor --tty \$ROOT\/containers\/5aec427b6373 -- nsexec pmuin node init\.js 'it'\\''s'$/);
    // A program elsewhere keeps its path.
    assert.deepEqual(shortEvent({ op: 'spawn', argv: ['/usr/sbin/iptables', '-L'] }, { programDir: '/opt/d/dist' }), { op: 'spawn', argv: ['/usr/sbin/iptables', '-L'] });
  });

  test('shortening leaves the numbers, the op and the original event alone', () => {
    const e: TraceEvent = { op: 'mknod', path: `/r/overlay2/${LAYER}/merged/dev/null`, kind: 'c', major: 1, minor: 3, mode: 0o666 };
    const copy = structuredClone(e);
    assert.deepEqual(shortEvent(e, { stateRoot: '/r' }), { ...e, path: '$ROOT/overlay2/003b72a09864/merged/dev/null' });
    assert.deepEqual(e, copy);
  });
});

describe('signals, one way', () => {
  test('9, "9", "KILL", "kill", "SIGKILL" are all SIGKILL', () => {
    for (const s of [9, '9', 'KILL', 'kill', 'SIGKILL', 'sigkill', ' 9 ']) assert.equal(signalName(s), 'SIGKILL', String(s));
    assert.equal(signalName(15), 'SIGTERM');
    assert.equal(signalName('term'), 'SIGTERM');
    assert.equal(signalName(6), 'SIGABRT', "a number's first name, not its alias SIGIOT");
    assert.equal(signalName(35), 'SIGRTMIN+1');
    assert.equal(signalName('RTMIN+3'), 'SIGRTMIN+3');
    for (const s of ['bogus', '0', '99', '']) assert.equal(signalName(s), s, 'what names no signal is printed as given');
  });

  test('kill and exit lines print the name', () => {
    assert.equal(formatEvent({ op: 'signal', pid: 42, signal: '9' }), 'kill(42, SIGKILL)');
    assert.equal(formatEvent({ op: 'signal', pid: 42, signal: 'KILL' }), 'kill(42, SIGKILL)');
    assert.equal(formatEvent({ op: 'signal', pid: 42, signal: '15' }), 'kill(42, SIGTERM)');
    assert.equal(formatEvent({ op: 'exit', code: 137, signal: 'KILL' }), 'exited: killed by SIGKILL (status 137)');
  });
});

describe('headings', () => {
  test('a stage record is a heading with what the stage does; every stage has its words', () => {
    for (const stage of STAGES) {
      assert.ok(STAGE_ABOUT[stage], `no words for the stage ${stage}`);
      assert.equal(formatShort(rec({ op: 'stage', name: stage }, 'host', 0)), `── ${stage} ── ${STAGE_ABOUT[stage]}`);
    }
    assert.equal(Object.keys(STAGE_ABOUT).length, STAGES.length, 'words for a stage that does not exist');
    // Verbose: a record line like any other.
    assert.equal(formatRecord(rec({ op: 'stage', name: 'create' }, 'host', 0)), '   12.3ms host core ── create ──');
    // A stage the formatter does not know is still printed.
    assert.equal(formatShort(rec({ op: 'stage', name: 'later' })), '── later ──');
  });
});

describe('colour', () => {
  test('only on a terminal, and not when NO_COLOR is set', () => {
    assert.equal(wantColour({ isTTY: true }, {}), true);
    assert.equal(wantColour({ isTTY: false }, {}), false);
    assert.equal(wantColour({}, {}), false, 'a pipe or a file has no isTTY');
    assert.equal(wantColour({ isTTY: true }, { NO_COLOR: '1' }), false);
    assert.equal(wantColour({ isTTY: true }, { NO_COLOR: '' }), true, 'no-color.org: an empty NO_COLOR does not count');
  });

  test('without colour there is no escape sequence; with it, the same text inside them', () => {
    const records = [rec({ op: 'stage', name: 'start' }, 'host', 0), rec({ op: 'chdir', path: '/' }, 'init'), rec({ op: 'signal', pid: 1, signal: '9' })];
    for (const r of records) {
      const plain = formatShort(r, { colour: false });
      const coloured = formatShort(r, { colour: true });
      assert.ok(!plain.includes(ESC), plain);
      assert.ok(coloured.includes(ESC), coloured);
      // eslint-disable-next-line no-control-regex
      assert.equal(coloured.replace(/\x1b\[[0-9;]*m/g, ''), plain);
    }
  });
});

describe('the pipeline tells the trace where each stage begins', () => {
  function layer(chapter: number, stages: string[], fail?: string): Layer {
    const fn = (name: string) => () => {
      trace.emit(chapter, { op: 'chdir', path: `/${name}` });
      if (name === fail) throw new RunError(125, `refused at ${name}`);
    };
    return { chapter, name: `l${chapter}`, runFlags: [], commands: [], stages: Object.fromEntries(stages.map((n) => [n, fn(n)])) };
  }

  async function traced(layers: Layer[]): Promise<string[]> {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'trace-stages-'));
    const seen: string[] = [];
    const detach = trace.attach((r) => seen.push(r.op === 'stage' ? `== ${r.name}` : r.op === 'chdir' ? `${r.chapter}${r.path}` : r.op));
    try {
      const ctx: RunContext = newRunContext({ chapter: 2, stateRoot: root, flags: new Map(), image: 'x', command: [] });
      await runPipeline(ctx, layers);
    } finally {
      detach();
      fs.rmSync(root, { recursive: true, force: true });
    }
    return seen;
  }

  test('in stage order, each before its steps; only the stages a layer fills; cleanup last', async () => {
    const seen = await traced([layer(2, ['limit', 'cleanup']), layer(1, ['validate', 'prepare', 'create', 'start', 'wait', 'cleanup'])]);
    assert.deepEqual(seen, [
      '== validate', '1/validate',
      '== prepare', '1/prepare',
      '== create', '1/create',
      '== limit', '2/limit',
      '== start', '1/start',
      '== wait', '1/wait',
      '== cleanup', '2/cleanup', '1/cleanup',
    ]);
  });

  test('a failed stage: the next heading is cleanup', async () => {
    const seen = await traced([layer(1, ['validate', 'prepare', 'create', 'start', 'wait', 'cleanup'], 'create')]);
    assert.deepEqual(seen, ['== validate', '1/validate', '== prepare', '1/prepare', '== create', '1/create', '== cleanup', '1/cleanup']);
  });
});

describe('--trace takes a value only with "="', () => {
  const specs: FlagSpec[] = [{ name: 'trace', kind: 'string', valueName: 'verbose', noOptDefault: 'true', usage: 'x' }, { name: 'root', kind: 'string', usage: 'y' }];
  test('alone it is true; --trace=verbose is verbose; the next argument is never its value', () => {
    assert.equal(parseFlags(['--trace', 'run'], specs, false).flags.get('trace'), 'true');
    assert.deepEqual(parseFlags(['--trace', 'run'], specs, false).args, ['run']);
    assert.equal(parseFlags(['--trace=verbose', 'run'], specs, false).flags.get('trace'), 'verbose');
    const p = parseFlags(['--trace', 'verbose'], specs, false);
    assert.equal(p.flags.get('trace'), 'true');
    assert.deepEqual(p.args, ['verbose']);
    assert.equal(parseFlags(['--root', 'r'], specs, false).flags.get('trace'), undefined);
  });
  test('help shows the optional value', () => {
    assert.match(flagHelp(specs), /--trace\[=verbose\]/);
  });
});
