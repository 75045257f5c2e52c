// Chapter 1, section 10: "The trace".
//
// Chapter 1: --trace narrates every step that changes the host, as it
// happens, under a heading per stage and with short IDs; --trace=verbose
// prints every step whole; --trace-file writes the same events as JSON
// lines, which runtime/trace/events.ts decodes.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { dockling, rootOrSkip, type Result } from '../../helpers/dockling.js';
import { expectCode, useStateRoot } from '../../helpers/chapter.js';
import { decodeRecord, type TraceRecord } from '../../../runtime/trace/events.js';

const skip = rootOrSkip();
const root = useStateRoot('trace');

const NAMESPACE_FLAGS = ['CLONE_NEWPID', 'CLONE_NEWNS', 'CLONE_NEWUTS', 'CLONE_NEWIPC', 'CLONE_NEWNET', 'CLONE_NEWCGROUP'];

describe('chapter 1: --trace=verbose', { skip }, () => {
  // One traced run, shared by the tests below (made by whichever runs first).
  let shared: Result | undefined;
  const traced = () => (shared ??= dockling(root(), ['--trace=verbose', 'run', '--rm', '--hostname', 'box', 'busybox', 'echo', 'hello']));
  const traceLines = () => expectCode(traced(), 0).stderr.trimEnd().split('\n');
  const line = (re: RegExp) => {
    const lines = traceLines();
    const l = lines.find((x) => re.test(x));
    assert.ok(l, `no trace line matches ${re}:\n${lines.join('\n')}`);
    return l;
  };

  test('the container\'s output is unchanged; every trace line is "time side chapter step" on stderr', () => {
    const r = expectCode(traced(), 0);
    assert.equal(r.stdout, 'hello\n');
    const lines = traceLines();
    assert.ok(lines.length > 20, r.stderr);
    for (const l of lines) assert.match(l, /^\s*\d+\.\dms (host|init) (ch\d+|core) +\S/, l);
  });

  test('it names each namespace flag', () => {
    const unshares = traceLines().filter((l) => /\bunshare\(/.test(l)).join('\n');
    for (const f of NAMESPACE_FLAGS) assert.ok(unshares.includes(f), `${f} is not in the trace:\n${unshares}`);
  });

  test('it shows each mount with its flags and data', () => {
    line(/mount\("", "\/", "", [A-Z_|]*MS_PRIVATE[A-Z_|]*, ""\)/);
    const proc = line(/mount\("proc", "[^"]+\/proc", "proc", /);
    for (const f of ['MS_NOSUID', 'MS_NODEV', 'MS_NOEXEC']) assert.ok(proc.includes(f), proc);
    assert.match(line(/mount\("tmpfs", "[^"]+\/dev", "tmpfs", /), /mode=755/);
    assert.match(line(/mount\("devpts", "[^"]+\/dev\/pts", "devpts", /), /newinstance/);
    assert.match(line(/mount\("[^"]*", "[^"]+\/dev\/shm", "tmpfs", /), /MS_NOEXEC/);
    assert.match(line(/mount\("mqueue", "[^"]+\/dev\/mqueue", "mqueue", /), /MS_NOSUID/);
    assert.match(line(/mount\("sysfs", "[^"]+\/sys", "sysfs", /), /MS_RDONLY/);
    for (const f of ['hostname', 'hosts', 'resolv.conf']) {
      assert.match(line(new RegExp(`mount\\("[^"]+/containers/[0-9a-f]{64}/${f.replace('.', '\\.')}", "[^"]+/etc/${f.replace('.', '\\.')}", "", `)), /MS_BIND/);
    }
  });

  test('it shows the devices, pivot_root, the old root going, the hostname and the exec', () => {
    line(/mknod\("[^"]+\/dev\/null", S_IFCHR\|0666, makedev\(1, 3\)\)/);
    line(/symlink\("pts\/ptmx", "[^"]+\/dev\/ptmx"\)/);
    line(/^.* init ch1 +pivot_root\(/);
    line(/umount2\("[^"]*", MNT_DETACH\)/);
    line(/sethostname\("box"\)/);
    line(/ioctl\(SIOCSIFFLAGS, "lo", IFF_UP\)/);
    line(/execve\("\/bin\/echo", \["echo", "hello"\]\)\s+in \//);
    line(/host ch1 +exited: status 0/);
  });

  test('--trace also narrates a failed run (and the exit code is unchanged)', () => {
    const f = expectCode(dockling(root(), ['--trace', 'run', '--rm', 'busybox', 'sh', '-c', 'exit 3']), 3);
    assert.match(f.stderr, /exited: status 3/);
    assert.match(f.stderr, /rm -rf "\$ROOT\/containers\/[0-9a-f]{12}"/);
  });
});

describe('chapter 1: --trace, for reading', { skip }, () => {
  test('a heading per stage, in the order of the run, each above its steps; $ROOT and 12-character IDs; no colour into a pipe', () => {
    const r = expectCode(dockling(root(), ['--trace', 'run', '--rm', '--hostname', 'box', 'busybox', 'echo', 'hello']), 0);
    assert.equal(r.stdout, 'hello\n');
    assert.ok(!r.stderr.includes('\x1b'), 'colour on stderr, which is a pipe here');
    const lines = r.stderr.trimEnd().split('\n');
    // The headings: chapter 1 fills these stages (limit and network are
    // later chapters'), and each comes once, in STAGES' order.
    const headings = lines.filter((l) => l.startsWith('── ')).map((l) => l.split(' ')[1]);
    assert.deepEqual(headings, ['validate', 'prepare', 'create', 'start', 'wait', 'cleanup'], r.stderr);
    // Every other line is a step: "time side chapter step".
    for (const l of lines.filter((x) => !x.startsWith('── '))) assert.match(l, /^\s*\d+\.\dms (host|init) (ch\d+|core) +\S/, l);
    // Each step under the stage that took it.
    const stageOf = (re: RegExp) => {
      const i = lines.findIndex((l) => re.test(l));
      assert.ok(i >= 0, `no line matches ${re}:\n${r.stderr}`);
      return { at: i, stage: lines.slice(0, i).filter((l) => l.startsWith('── ')).at(-1)?.split(' ')[1] };
    };
    assert.equal(stageOf(/host ch1 +mkdir\("\$ROOT\/containers\/[0-9a-f]{12}", 0710\)$/).stage, 'prepare');
    const spawn = stageOf(/host ch1 +spawn nsexec pmuin node init\.js$/);
    const unshare = stageOf(/host ch1 +unshare\(CLONE_NEWPID\|[A-Z_|]+\) +by nsexec$/);
    assert.equal(spawn.stage, 'create');
    assert.equal(unshare.stage, 'create');
    assert.ok(spawn.at < unshare.at, "nsexec's unshare is printed before the spawn that causes it");
    assert.equal(stageOf(/init ch1 +mount\("proc", "\$ROOT\/rootfs\/busybox\/proc", "proc", /).stage, 'start');
    assert.equal(stageOf(/init ch1 +execve\("\/bin\/echo", \["echo", "hello"\]\)/).stage, 'start');
    assert.equal(stageOf(/host ch1 +exited: status 0$/).stage, 'wait');
    assert.equal(stageOf(/host ch1 +rm -rf "\$ROOT\/containers\/[0-9a-f]{12}"$/).stage, 'cleanup');
    // Short: no 64-hex ID, no state root written out.
    assert.doesNotMatch(r.stderr, /[0-9a-f]{64}/);
    assert.ok(!r.stderr.includes(root()), r.stderr);
    // A clean exit ends with the removal, not with a kill of a PID that is gone.
    assert.doesNotMatch(r.stderr, /kill\(/);
  });

  test('--trace=false traces nothing; a --trace value other than verbose is a usage error (125)', () => {
    const off = expectCode(dockling(root(), ['--trace=false', 'run', '--rm', 'busybox', 'true']), 0);
    assert.equal(off.stderr, '');
    const bad = expectCode(dockling(root(), ['--trace=loud', 'run', '--rm', 'busybox', 'true']), 125);
    assert.match(bad.stderr, /invalid argument "loud" for "--trace" flag/);
  });
});

describe('chapter 1: --trace-file', { skip }, () => {
  test('writes JSON lines that decodeRecord reads, in the order the steps happen', () => {
    const file = path.join(root(), 'trace.jsonl');
    try {
      const r = expectCode(dockling(root(), ['--trace-file', file, 'run', '--rm', '--hostname', 'traced', 'busybox', 'true']), 0);
      assert.equal(r.stderr, '', '--trace-file alone prints nothing');
      const text = fs.readFileSync(file, 'utf8');
      assert.ok(text.endsWith('\n'));
      const records = text.trimEnd().split('\n').map((l, i) => {
        const rec = decodeRecord(l);
        assert.ok(rec, `line ${i + 1} is not a trace record: ${l}`);
        return rec;
      });
      const first = (op: string, pred: (x: TraceRecord) => boolean = () => true) => {
        const i = records.findIndex((x) => x.op === op && pred(x));
        assert.ok(i >= 0, `no ${op} in the trace`);
        return i;
      };
      // The order of a container's making.
      const order = [
        first('stage', (x) => x.op === 'stage' && x.name === 'prepare'),
        first('mkdir', (x) => x.op === 'mkdir' && /\/containers\/[0-9a-f]{64}$/.test(x.path)),
        first('stage', (x) => x.op === 'stage' && x.name === 'create'),
        first('spawn'),
        first('unshare'),
        first('mount'),
        first('mknod'),
        first('sethostname'),
        first('pivot_root'),
        first('exec'),
        first('exit'),
        first('stage', (x) => x.op === 'stage' && x.name === 'cleanup'),
        first('remove'),
      ];
      assert.deepEqual([...order].sort((a, b) => a - b), order, `steps out of order: ${order.map((i) => records[i].op).join(', ')}`);
      // Every mount of the rootfs is made before pivot_root, from the init.
      const pivot = first('pivot_root');
      for (const dest of ['/proc', '/dev', '/dev/pts', '/dev/shm', '/dev/mqueue', '/sys']) {
        const i = records.findIndex((x) => x.op === 'mount' && x.target.endsWith(dest) && x.target !== dest);
        assert.ok(i >= 0 && i < pivot, `the mount of ${dest} is not before pivot_root`);
      }
      // Who did what: the namespaces and the exit on the host side, the
      // container's making inside it; chapter 1's steps say chapter 1.
      const byOp = (op: string) => records.filter((x) => x.op === op);
      for (const x of [...byOp('mount'), ...byOp('pivot_root'), ...byOp('sethostname'), ...byOp('exec'), ...byOp('mknod')]) {
        assert.equal(x.side, 'init', JSON.stringify(x));
        assert.equal(x.chapter, 1, JSON.stringify(x));
      }
      for (const x of [...byOp('exit'), ...byOp('remove'), ...byOp('spawn')]) assert.equal(x.side, 'host', JSON.stringify(x));
      const sethost = byOp('sethostname')[0];
      assert.ok(sethost.op === 'sethostname' && sethost.name === 'traced');
      const exec = byOp('exec')[0];
      assert.ok(exec.op === 'exec' && exec.path === '/bin/true' && exec.argv[0] === 'true' && exec.cwd === '/', JSON.stringify(exec));
      const exit = byOp('exit')[0];
      assert.ok(exit.op === 'exit' && exit.code === 0 && exit.signal === null);
      const flags = byOp('unshare').flatMap((x) => (x.op === 'unshare' ? x.flags : []));
      for (const f of NAMESPACE_FLAGS) assert.ok(flags.includes(f), `${f} missing`);
      // One clock for both sides: times do not go backwards (allowing for
      // the rounding to a tenth of a millisecond and clock granularity).
      for (let i = 1; i < records.length; i++) {
        assert.ok(records[i].t >= records[i - 1].t - 2, `time goes back at record ${i}: ${records[i - 1].t} → ${records[i].t}`);
      }
      assert.ok(records[0].t >= 0 && records.at(-1)!.t < 60_000);
    } finally {
      fs.rmSync(file, { force: true });
    }
  });

  test('appends: two runs leave two complete traces', () => {
    const file = path.join(root(), 'twice.jsonl');
    try {
      expectCode(dockling(root(), ['--trace-file', file, 'run', '--rm', 'busybox', 'true']), 0);
      expectCode(dockling(root(), ['--trace-file', file, 'run', '--rm', 'busybox', 'true']), 0);
      const records = fs.readFileSync(file, 'utf8').trimEnd().split('\n').map((l) => decodeRecord(l));
      assert.ok(records.every((x) => x !== null));
      assert.equal(records.filter((x) => x!.op === 'exec').length, 2);
      assert.equal(records.filter((x) => x!.op === 'exit').length, 2);
    } finally {
      fs.rmSync(file, { force: true });
    }
  });
});
