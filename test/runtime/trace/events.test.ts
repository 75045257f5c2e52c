// The trace event model: records travel as JSON lines (init → CLI, and to
// --trace-file), and are printed by formatEvent/formatRecord. decodeRecord
// must give back exactly what encodeRecord was given, and refuse anything
// else that may share the channel.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decodeRecord, encodeRecord, type TraceEvent, type TraceOp, type TraceRecord } from '../../../runtime/trace/events.js';
import { formatEvent, formatRecord, signalName } from '../../../runtime/trace/format.js';
import { Tracer, jsonLinesSink } from '../../../runtime/trace/trace.js';

const ALL_OPS: TraceOp[] = [
  'stage', 'spawn', 'unshare', 'mount', 'umount', 'pivot_root', 'chdir', 'mknod', 'symlink', 'mkdir',
  'rmdir', 'remove', 'write', 'sethostname', 'ifup', 'pty', 'exec', 'signal', 'exit',
  'extract', 'pack', 'setxattr', 'rename', 'prctl', 'capset', 'setid', 'setrlimit', 'seccomp', 'bpf',
  'chown', 'chmod', 'ip', 'iptables', 'sysctl', 'lease', 'http',
];

// --- arbitraries: one per op, with any text (lone surrogates included) ----------

const str = fc.string({ unit: 'binary', maxLength: 30 });
const strs = fc.array(str, { maxLength: 5 });
const int = fc.integer({ min: -1, max: 1 << 20 });

function eventOf(text: fc.Arbitrary<string>, texts: fc.Arbitrary<string[]>): fc.Arbitrary<TraceEvent> {
  const byOp: { [K in TraceOp]: fc.Arbitrary<Extract<TraceEvent, { op: K }>> } = {
    stage: fc.record({ op: fc.constant('stage'), name: text }),
    spawn: fc.record({ op: fc.constant('spawn'), argv: texts }),
    unshare: fc.record({ op: fc.constant('unshare'), flags: texts, by: text }),
    mount: fc.record({ op: fc.constant('mount'), source: text, target: text, fstype: text, flags: texts, data: text }),
    umount: fc.record({ op: fc.constant('umount'), target: text, flags: texts }),
    mount_setattr: fc.record({ op: fc.constant('mount_setattr'), target: text, set: texts, flags: texts }),
    pivot_root: fc.record({ op: fc.constant('pivot_root'), newRoot: text, putOld: text }),
    chdir: fc.record({ op: fc.constant('chdir'), path: text }),
    mknod: fc.record({ op: fc.constant('mknod'), path: text, kind: fc.constantFrom('c' as const, 'b' as const), major: int, minor: int, mode: fc.integer({ min: 0, max: 0o7777 }) }),
    symlink: fc.record({ op: fc.constant('symlink'), target: text, path: text }),
    mkdir: fc.record({ op: fc.constant('mkdir'), path: text, mode: fc.integer({ min: 0, max: 0o7777 }) }),
    rmdir: fc.record({ op: fc.constant('rmdir'), path: text }),
    remove: fc.record({ op: fc.constant('remove'), path: text }),
    write: fc.record({ op: fc.constant('write'), path: text, value: text }),
    sethostname: fc.record({ op: fc.constant('sethostname'), name: text }),
    ifup: fc.record({ op: fc.constant('ifup'), name: text }),
    pty: fc.record({ op: fc.constant('pty'), master: text, slave: text }),
    exec: fc.record({ op: fc.constant('exec'), path: text, argv: texts, cwd: text }),
    signal: fc.record({ op: fc.constant('signal'), pid: int, signal: text }),
    exit: fc.record({ op: fc.constant('exit'), code: int, signal: fc.option(text) }),
    extract: fc.record({ op: fc.constant('extract'), digest: text, path: text, entries: int }),
    pack: fc.record({ op: fc.constant('pack'), path: text, digest: text, entries: int }),
    setxattr: fc.record({ op: fc.constant('setxattr'), path: text, name: text, value: text }),
    rename: fc.record({ op: fc.constant('rename'), from: text, to: text }),
    prctl: fc.record({ op: fc.constant('prctl'), option: text, arg: text }),
    capset: fc.record({ op: fc.constant('capset'), effective: texts, permitted: texts, inheritable: texts }),
    setid: fc.record({ op: fc.constant('setid'), call: text, arg: text }),
    setrlimit: fc.record({ op: fc.constant('setrlimit'), resource: text, soft: int, hard: int }),
    seccomp: fc.record({ op: fc.constant('seccomp'), instructions: int, flags: texts }),
    bpf: fc.record({ op: fc.constant('bpf'), cmd: text, prog: text, target: text, instructions: int }),
    chown: fc.record({ op: fc.constant('chown'), path: text, uid: int, gid: int }),
    chmod: fc.record({ op: fc.constant('chmod'), path: text, mode: fc.integer({ min: 0, max: 0o7777 }) }),
    ip: fc.record({ op: fc.constant('ip'), argv: texts, netns: text }),
    iptables: fc.record({ op: fc.constant('iptables'), argv: texts, netns: text }),
    sysctl: fc.record({ op: fc.constant('sysctl'), key: text, value: text, netns: text }),
    lease: fc.record({ op: fc.constant('lease'), network: text, address: text, action: text }),
    http: fc.record({ op: fc.constant('http'), method: text, url: text, status: fc.integer(), auth: text }),
    fuse: fc.record({ op: fc.constant('fuse'), request: text, path: text, reply: text }),
    'copy-up': fc.record({ op: fc.constant('copy-up'), path: text, from: text, to: text }),
    whiteout: fc.record({ op: fc.constant('whiteout'), path: text }),
  };
  return fc.oneof(...ALL_OPS.map((op) => byOp[op] as fc.Arbitrary<TraceEvent>));
}

const finite = fc.double({ noNaN: true, noDefaultInfinity: true }).filter((t) => !Object.is(t, -0));
const recordOf = (ev: fc.Arbitrary<TraceEvent>): fc.Arbitrary<TraceRecord> =>
  fc.tuple(ev, finite, fc.constantFrom('host' as const, 'init' as const, 'fuse' as const), fc.integer({ min: 0, max: 10 })).map(
    ([e, t, side, chapter]) => ({ ...e, t, side, chapter }) as TraceRecord,
  );
const anyRecord = recordOf(eventOf(str, strs));

describe('encodeRecord / decodeRecord', () => {
  test('the arbitraries cover every op', () => {
    const seen = new Set(fc.sample(anyRecord, 2000).map((r) => r.op));
    assert.deepEqual([...seen].sort(), [...ALL_OPS].sort());
  });

  test('decodeRecord(encodeRecord(r)) equals r, for random records of every op', () => {
    fc.assert(
      fc.property(anyRecord, (r) => {
        const line = encodeRecord(r);
        assert.ok(!line.includes('\n'), 'one record is one line');
        assert.deepEqual(decodeRecord(line), r);
      }),
      { numRuns: 1000 },
    );
  });

  test('lines that are not JSON are refused', () => {
    for (const junk of ['', ' ', 'hello', '{', '{"op":"mount"', 'mount(', '\u0000', 'undefined', 'NaN']) assert.equal(decodeRecord(junk), null, junk);
  });

  test('JSON that is not an object is refused', () => {
    for (const v of ['1', '"mount"', 'null', 'true', '[]', '[{"op":"mount","t":1,"side":"host","chapter":1}]']) assert.equal(decodeRecord(v), null, v);
  });

  test("the channel's other messages are refused", () => {
    for (const m of [{ msg: 'hello', pid: 42 }, { msg: 'exec' }, { msg: 'error', code: 127, message: 'x' }, { msg: 'start', spec: {}, trace: true, traceOrigin: 1 }]) {
      assert.equal(decodeRecord(JSON.stringify(m)), null, JSON.stringify(m));
    }
  });

  test('records with a bad envelope are refused', () => {
    const good = { op: 'chdir', path: '/', t: 1.5, side: 'host', chapter: 1 };
    assert.notEqual(decodeRecord(JSON.stringify(good)), null);
    const bad: Record<string, unknown>[] = [
      { ...good, op: 'reboot' }, { ...good, op: 'toString' }, { ...good, op: '__proto__' }, { ...good, op: 7 },
      { ...good, t: '1' }, { ...good, t: null }, { ...good, side: 'guest' }, { ...good, side: undefined },
      { ...good, chapter: 1.5 }, { ...good, chapter: '1' },
    ];
    for (const b of bad) assert.equal(decodeRecord(JSON.stringify(b)), null, JSON.stringify(b));
  });

  test('random JSON values are refused unless they are a valid record', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        const o = v as Record<string, unknown>;
        const envelopeOk =
          typeof o === 'object' && o !== null && !Array.isArray(o) && ALL_OPS.includes(o.op as TraceOp) &&
          typeof o.t === 'number' && (o.side === 'host' || o.side === 'init' || o.side === 'fuse') && Number.isInteger(o.chapter);
        if (!envelopeOk) assert.equal(decodeRecord(JSON.stringify(v)), null);
      }),
      { numRuns: 500 },
    );
  });

  // Whatever decodeRecord accepts is shown by --trace and the walkthrough: a
  // record it lets through must be one formatRecord can print. (A stray or
  // older-format line with the right envelope must not crash the printer.)
  test('every record decodeRecord accepts can be formatted', () => {
    const envelope = { t: 1, side: 'init', chapter: 1 };
    fc.assert(
      fc.property(fc.constantFrom(...ALL_OPS), fc.dictionary(fc.constantFrom('argv', 'flags', 'source', 'target', 'path', 'name', 'code', 'signal', 'by'), fc.jsonValue()), (op, fields) => {
        const r = decodeRecord(JSON.stringify({ ...fields, ...envelope, op }));
        if (r !== null) assert.doesNotThrow(() => formatRecord(r), `formatting ${JSON.stringify(r)}`);
      }),
      { numRuns: 300 },
    );
  });
});

describe('formatEvent / formatRecord', () => {
  test('never throws, and formatRecord shows the time, side and chapter', () => {
    fc.assert(
      fc.property(anyRecord, (r) => {
        const line = formatRecord(r);
        assert.ok(line.includes(formatEvent(r)));
        assert.match(line, new RegExp(`\\b${r.side}\\b`));
        assert.ok(line.includes(r.chapter ? `ch${r.chapter}` : 'core'));
        assert.ok(line.includes(`${r.t.toFixed(1)}ms`));
      }),
      { numRuns: 1000 },
    );
  });

  test('mentions the key fields of every op', () => {
    // Plain words, so that each field appears in the output as itself.
    const word = fc.stringMatching(/^[A-Za-z0-9_./-]{1,12}$/);
    const q = (s: string) => JSON.stringify(s);
    fc.assert(
      fc.property(eventOf(word, fc.array(word, { minLength: 1, maxLength: 4 })), (e) => {
        const out = formatEvent(e);
        const has = (s: string) => assert.ok(out.includes(s), `${q(out)} should mention ${q(s)}`);
        switch (e.op) {
          case 'spawn': e.argv.forEach(has); break;
          case 'unshare': e.flags.forEach(has); has(e.by); break;
          case 'mount': [e.source, e.target, e.fstype, e.data].map(q).forEach(has); e.flags.forEach(has); break;
          case 'umount': has(q(e.target)); e.flags.forEach(has); break;
          case 'pivot_root': has(q(e.newRoot)); has(q(e.putOld)); break;
          case 'chdir': case 'rmdir': case 'remove': has(q(e.path)); break;
          case 'mknod': has(q(e.path)); has(`makedev(${e.major}, ${e.minor})`); has(e.mode.toString(8)); has(e.kind === 'c' ? 'S_IFCHR' : 'S_IFBLK'); break;
          case 'symlink': has(q(e.target)); has(q(e.path)); break;
          case 'mkdir': has(q(e.path)); has(e.mode.toString(8)); break;
          case 'write': has(e.path); has(q(e.value)); break;
          case 'sethostname': case 'ifup': has(q(e.name)); break;
          case 'pty': has(e.master); has(e.slave); break;
          case 'exec': has(q(e.path)); e.argv.map(q).forEach(has); has(e.cwd); break;
          case 'stage': has(e.name); break;
          case 'signal': has(String(e.pid)); has(signalName(e.signal)); break;
          case 'exit': has(String(e.code)); if (e.signal) has(signalName(e.signal)); break;
        }
      }),
      { numRuns: 1000 },
    );
  });

  test('reads like the system call it stands for', () => {
    assert.equal(
      formatEvent({ op: 'mount', source: 'proc', target: '/r/proc', fstype: 'proc', flags: ['MS_NOSUID', 'MS_NODEV'], data: '' }),
      'mount("proc", "/r/proc", "proc", MS_NOSUID|MS_NODEV, "")',
    );
    assert.equal(formatEvent({ op: 'umount', target: '.', flags: [] }), 'umount2(".", 0)');
    assert.equal(formatEvent({ op: 'pivot_root', newRoot: '.', putOld: '.' }), 'pivot_root(".", ".")');
    assert.equal(formatEvent({ op: 'mknod', path: '/dev/null', kind: 'c', major: 1, minor: 3, mode: 0o666 }), 'mknod("/dev/null", S_IFCHR|0666, makedev(1, 3))');
    assert.equal(formatEvent({ op: 'sethostname', name: 'box' }), 'sethostname("box")');
    assert.equal(formatEvent({ op: 'exec', path: '/bin/sh', argv: ['sh', '-c', 'echo hi'], cwd: '/' }), 'execve("/bin/sh", ["sh", "-c", "echo hi"])  in /');
    assert.equal(formatEvent({ op: 'spawn', argv: ['nsexec', 'pmuin', "it's"] }), `spawn nsexec pmuin 'it'\\''s'`);
    assert.equal(formatEvent({ op: 'exit', code: 137, signal: 'SIGKILL' }), 'exited: killed by SIGKILL (status 137)');
    assert.equal(formatEvent({ op: 'exit', code: 3, signal: null }), 'exited: status 3');
  });
});

describe('Tracer', () => {
  test('emit does nothing without a sink; attach and detach work', () => {
    const tr = new Tracer('host', performance.timeOrigin);
    assert.equal(tr.enabled, false);
    tr.emit(1, { op: 'chdir', path: '/' }); // no sink: no effect, no error
    const got: TraceRecord[] = [];
    const detach = tr.attach((r) => got.push(r));
    assert.equal(tr.enabled, true);
    tr.emit(2, { op: 'chdir', path: '/a' });
    detach();
    tr.emit(2, { op: 'chdir', path: '/b' });
    assert.equal(tr.enabled, false);
    assert.equal(got.length, 1);
    assert.equal(got[0].op, 'chdir');
    assert.equal(got[0].side, 'host');
    assert.equal(got[0].chapter, 2);
  });

  test('t counts milliseconds from the origin, to a tenth', () => {
    const tr = new Tracer('init', Date.now() - 1000);
    const got: TraceRecord[] = [];
    tr.attach((r) => got.push(r));
    tr.emit(1, { op: 'ifup', name: 'lo' });
    assert.ok(got[0].t >= 1000 && got[0].t < 60_000, `t = ${got[0].t}`);
    assert.equal(Math.round(got[0].t * 10) / 10, got[0].t);
    assert.equal(got[0].side, 'init');
  });

  test('forward passes a record on unchanged; jsonLinesSink writes decodable lines', () => {
    const tr = new Tracer('host');
    const lines: string[] = [];
    tr.attach(jsonLinesSink((l) => lines.push(l)));
    const rec: TraceRecord = { op: 'sethostname', name: 'box', t: 12.3, side: 'init', chapter: 1 };
    tr.forward(rec);
    assert.equal(lines.length, 1);
    assert.ok(lines[0].endsWith('\n'));
    assert.deepEqual(decodeRecord(lines[0].trimEnd()), rec);
  });
});
