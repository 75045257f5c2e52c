// The DNS wire codec: what it builds parses back to the same message, real
// packets (with compression) read as dig shows them, and no input, however
// broken, makes the parser throw.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { buildMessage, clientUdpSize, headerOnlyReply, parseMessage, RCODE, replyTo, TYPE, type Message, type ResourceRecord } from '../../../runtime/network/dns/packet.js';

const ok = (b: Buffer): Message => {
  const p = parseMessage(b);
  if ('error' in p) assert.fail(`parse failed: ${p.error}`);
  return p.message;
};

// A query for "db" type A, as busybox nslookup sends it.
const QUERY_DB = Buffer.from('1234010000010000000000000264620000010001', 'hex');

describe('parseMessage', () => {
  test('reads a query: ID, RD, one question', () => {
    const m = ok(QUERY_DB);
    assert.equal(m.header.id, 0x1234);
    assert.equal(m.header.rd, true);
    assert.equal(m.header.qr, false);
    assert.deepEqual(m.questions, [{ name: 'db', type: TYPE.A, class: 1 }]);
  });

  test('follows compression pointers in names and in PTR data', () => {
    // answer: name = pointer to the question's name (offset 12), PTR data "web." + pointer to "labnet" inside the question
    const q = Buffer.from([0, 1, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0, 3, ...Buffer.from('www'), 6, ...Buffer.from('labnet'), 0, 0, 12, 0, 1]);
    const rr = Buffer.from([0xc0, 12, 0, 12, 0, 1, 0, 0, 2, 0x58, 0, 6, 3, ...Buffer.from('web'), 0xc0, 16]);
    const m = ok(Buffer.concat([q, rr]));
    assert.equal(m.answers[0].name, 'www.labnet');
    assert.equal(m.answers[0].ttl, 600);
    assert.equal(m.answers[0].data, 'web.labnet');
  });

  test('rejects pointer loops, forward pointers, cut-off messages, with an error value', () => {
    const loop = Buffer.from([0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 1, 0, 1]);
    assert.match((parseMessage(loop) as { error: string }).error, /points forward/);
    assert.ok('error' in parseMessage(QUERY_DB.subarray(0, 15)));
    assert.ok('error' in parseMessage(Buffer.alloc(5)));
    // QDCOUNT says 2 but there is one
    const two = Buffer.from(QUERY_DB);
    two.writeUInt16BE(2, 4);
    assert.ok('error' in parseMessage(two));
  });

  test('random bytes never throw: a message or an error', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => {
        const p = parseMessage(Buffer.from(bytes));
        assert.ok('message' in p || typeof p.error === 'string');
      }),
      { numRuns: 3000 },
    );
  });

  test('a valid query with random bytes flipped never throws', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(QUERY_DB.length - 1), fc.nat(255)), { maxLength: 6 }), (flips) => {
        const b = Buffer.from(QUERY_DB);
        for (const [i, v] of flips) b[i] = v;
        parseMessage(b);
      }),
    );
  });
});

const label = fc.stringMatching(/^[a-z0-9_-]{1,20}$/);
const name = fc.array(label, { minLength: 1, maxLength: 4 }).map((ls) => ls.join('.'));
const ipv4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((xs) => xs.join('.'));
const record: fc.Arbitrary<ResourceRecord> = fc.oneof(
  fc.record({ name, type: fc.constant(TYPE.A as number), class: fc.constant(1), ttl: fc.nat(), data: ipv4 }),
  fc.record({ name, type: fc.constant(TYPE.PTR as number), class: fc.constant(1), ttl: fc.nat(), data: name }),
  fc.record({ name, type: fc.constant(TYPE.CNAME as number), class: fc.constant(1), ttl: fc.nat(), data: name }),
  fc.record({ name, type: fc.constant(TYPE.AAAA as number), class: fc.constant(1), ttl: fc.nat(), data: fc.ipV6().map((a) => ok(buildMessage(msgWith([{ name: 'x', type: TYPE.AAAA, class: 1, ttl: 0, data: a, rdata: Buffer.alloc(0) }]))).answers[0].data!) }),
).map((r) => ({ ...r, rdata: Buffer.alloc(0) }));

function msgWith(answers: ResourceRecord[]): Message {
  return { header: { id: 1, qr: true, opcode: 0, aa: false, tc: false, rd: true, ra: true, rcode: 0 }, questions: [{ name: 'x', type: 1, class: 1 }], answers, authorities: [], additionals: [] };
}

describe('buildMessage', () => {
  test('build then parse gives back the message (header, questions, A/AAAA/PTR/CNAME records)', () => {
    const header = fc.record({ id: fc.nat(0xffff), qr: fc.boolean(), opcode: fc.nat(15), aa: fc.boolean(), tc: fc.boolean(), rd: fc.boolean(), ra: fc.boolean(), rcode: fc.nat(15) });
    const question = fc.record({ name, type: fc.nat(0xffff), class: fc.nat(0xffff) });
    fc.assert(
      fc.property(header, fc.array(question, { maxLength: 3 }), fc.array(record, { maxLength: 5 }), fc.array(record, { maxLength: 2 }), (h, qs, an, ar) => {
        // (fast-check's records have no prototype: copied into plain objects to compare)
        const m: Message = { header: { ...h }, questions: qs.map((q) => ({ ...q })), answers: an, authorities: [], additionals: ar };
        const back = ok(buildMessage(m));
        assert.deepEqual(back.header, m.header);
        assert.deepEqual(back.questions, m.questions);
        const strip = (rs: ResourceRecord[]) => rs.map(({ rdata: _, ...r }) => ({ ...r }));
        assert.deepEqual(strip(back.answers), strip(an));
        assert.deepEqual(strip(back.additionals), strip(ar));
      }),
      { numRuns: 500 },
    );
  });

  test('IPv6 addresses are written in their shortest form', () => {
    const m = msgWith([{ name: 'x', type: TYPE.AAAA, class: 1, ttl: 1, data: '2001:db8:0:0:0:0:0:1', rdata: Buffer.alloc(0) }]);
    assert.equal(ok(buildMessage(m)).answers[0].data, '2001:db8::1');
  });

  test('an answer too big for UDP loses records from the end and gets TC', () => {
    const many = Array.from({ length: 60 }, (_, i) => ({ name: 'some-long-container-name.labnet', type: TYPE.A, class: 1, ttl: 600, data: `10.0.0.${i}`, rdata: Buffer.alloc(0) }));
    const b = buildMessage(msgWith(many), 512);
    assert.ok(b.length <= 512, `${b.length} bytes`);
    const m = ok(b);
    assert.equal(m.header.tc, true);
    assert.ok(m.answers.length > 0 && m.answers.length < 60);
    assert.equal(ok(buildMessage(msgWith(many.slice(0, 2)), 512)).header.tc, false);
  });
});

describe('replies', () => {
  test('replyTo copies ID, RD and the question, sets QR and RA (as Docker)', () => {
    const r = replyTo(ok(QUERY_DB), RCODE.SERVFAIL);
    assert.deepEqual(r.header, { id: 0x1234, qr: true, opcode: 0, aa: false, tc: false, rd: true, ra: true, rcode: 2 });
    assert.deepEqual(r.questions, [{ name: 'db', type: 1, class: 1 }]);
  });

  test('headerOnlyReply answers what has at least a header', () => {
    assert.equal(headerOnlyReply(Buffer.alloc(4), RCODE.FORMERR), null);
    const r = ok(headerOnlyReply(QUERY_DB, RCODE.FORMERR)!);
    assert.equal(r.header.id, 0x1234);
    assert.equal(r.header.rcode, RCODE.FORMERR);
    assert.equal(r.questions.length, 0);
  });

  test('the client UDP size is its EDNS OPT size, at least 512', () => {
    const q = ok(QUERY_DB);
    assert.equal(clientUdpSize(q), 512);
    q.additionals.push({ name: '', type: TYPE.OPT, class: 1232, ttl: 0, rdata: Buffer.alloc(0) });
    assert.equal(clientUdpSize(q), 1232);
  });
});
