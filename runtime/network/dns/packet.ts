// The DNS wire format (RFC 1035 section 4), just what the embedded server
// needs: read a query (and an upstream's answer, to check its ID), and write
// answers of type A, AAAA, PTR and CNAME.
//
// A message is a 12-byte header and four sections of records:
//
//   ID | flags (QR opcode AA TC RD RA Z rcode) | QDCOUNT | ANCOUNT | NSCOUNT | ARCOUNT
//   question:  name, type, class
//   record:    name, type, class, TTL, RDLENGTH, RDATA
//
// A name is a run of labels (a length byte, then that many bytes) ending in a
// zero byte, or in a two-byte pointer (top bits 11) to a name earlier in the
// message: "compression". Whatever arrives on port 53 may be junk, so the
// parser never throws: it returns { error } for anything it cannot read.

export const TYPE = { A: 1, NS: 2, CNAME: 5, SOA: 6, PTR: 12, MX: 15, TXT: 16, AAAA: 28, SRV: 33, OPT: 41, ANY: 255 } as const;
export const CLASS_IN = 1;
export const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;

/** A plain DNS message over UDP is at most 512 bytes unless EDNS (an OPT record) says more. */
export const UDP_MIN_SIZE = 512;
export const MAX_SIZE = 65535;

export interface Header {
  id: number;
  qr: boolean; // a response
  opcode: number; // 0: a standard query
  aa: boolean; // authoritative answer
  tc: boolean; // truncated: retry over TCP
  rd: boolean; // recursion desired
  ra: boolean; // recursion available
  rcode: number;
}

export interface Question {
  name: string; // "web.labnet", no trailing dot, case as sent
  type: number;
  class: number;
}

export interface ResourceRecord {
  name: string;
  type: number;
  class: number; // for OPT: the sender's UDP payload size
  ttl: number; //   for OPT: extended rcode, version and flags
  /** A/AAAA: the address; PTR/CNAME/NS: the name; other types: undefined (see rdata) */
  data?: string;
  /** the raw RDATA bytes (for types this codec does not interpret, and for OPT) */
  rdata: Buffer;
}

export interface Message {
  header: Header;
  questions: Question[];
  answers: ResourceRecord[];
  authorities: ResourceRecord[];
  additionals: ResourceRecord[];
}

export type Parsed = { message: Message } | { error: string };

// #region dns-parse
/** Read a whole message; never throws. */
export function parseMessage(buf: Buffer): Parsed {
  try {
    if (buf.length < 12) return { error: `message of ${buf.length} bytes is shorter than a header (12)` };
    const flags = buf.readUInt16BE(2);
    const header: Header = {
      id: buf.readUInt16BE(0),
      qr: (flags & 0x8000) !== 0,
      opcode: (flags >> 11) & 0xf,
      aa: (flags & 0x0400) !== 0,
      tc: (flags & 0x0200) !== 0,
      rd: (flags & 0x0100) !== 0,
      ra: (flags & 0x0080) !== 0,
      rcode: flags & 0xf,
    };
    const counts = [4, 6, 8, 10].map((o) => buf.readUInt16BE(o));
    const r = new Reader(buf, 12);
    const questions: Question[] = [];
    for (let i = 0; i < counts[0]; i++) {
      const name = r.name();
      questions.push({ name, type: r.u16(), class: r.u16() });
    }
    const sections = counts.slice(1).map((n) => {
      const rrs: ResourceRecord[] = [];
      for (let i = 0; i < n; i++) rrs.push(r.record());
      return rrs;
    });
    return { message: { header, questions, answers: sections[0], authorities: sections[1], additionals: sections[2] } };
  } catch (e) {
    return { error: e instanceof ParseError ? e.message : `unreadable message: ${String(e)}` };
  }
}

class ParseError extends Error {}

/** A cursor over the message; every read checks the bounds first. */
class Reader {
  constructor(
    private buf: Buffer,
    public pos: number,
  ) {}

  private need(n: number): void {
    if (this.pos + n > this.buf.length) throw new ParseError(`message ends at byte ${this.buf.length}, inside a field at ${this.pos}`);
  }
  u16(): number {
    this.need(2);
    const v = this.buf.readUInt16BE(this.pos);
    this.pos += 2;
    return v;
  }
  u32(): number {
    this.need(4);
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }
  bytes(n: number): Buffer {
    this.need(n);
    const b = Buffer.from(this.buf.subarray(this.pos, this.pos + n));
    this.pos += n;
    return b;
  }

  /**
   * A name at the cursor, following compression pointers. A pointer must
   * point backwards (RFC 1035 4.1.4 says "a prior occurrence"), which also
   * rules out loops; the whole name is at most 255 bytes.
   */
  name(): string {
    const labels: string[] = [];
    let at = this.pos;
    let jumped = false;
    let length = 0;
    for (;;) {
      if (at >= this.buf.length) throw new ParseError(`name runs past the end of the message (byte ${at})`);
      const len = this.buf[at];
      if ((len & 0xc0) === 0xc0) {
        if (at + 1 >= this.buf.length) throw new ParseError('compression pointer cut off at the end of the message');
        const target = ((len & 0x3f) << 8) | this.buf[at + 1];
        if (target >= at) throw new ParseError(`compression pointer at byte ${at} points forward (to ${target})`);
        if (!jumped) this.pos = at + 2;
        jumped = true;
        at = target;
        continue;
      }
      if ((len & 0xc0) !== 0) throw new ParseError(`label type 0x${(len & 0xc0).toString(16)} at byte ${at} is not supported`);
      if (len === 0) {
        if (!jumped) this.pos = at + 1;
        return labels.join('.');
      }
      if (at + 1 + len > this.buf.length) throw new ParseError(`label at byte ${at} runs past the end of the message`);
      length += len + 1;
      if (length > 255) throw new ParseError('name longer than 255 bytes');
      labels.push(escapeLabel(this.buf.subarray(at + 1, at + 1 + len)));
      at += 1 + len;
    }
  }

  record(): ResourceRecord {
    const name = this.name();
    const type = this.u16();
    const klass = this.u16();
    const ttl = this.u32();
    const rdlength = this.u16();
    this.need(rdlength);
    const start = this.pos;
    const rdata = this.bytes(rdlength);
    let data: string | undefined;
    if (type === TYPE.A && rdlength === 4) data = [...rdata].join('.');
    else if (type === TYPE.AAAA && rdlength === 16) data = ipv6ToString(rdata);
    else if (type === TYPE.PTR || type === TYPE.CNAME || type === TYPE.NS) {
      // The name inside RDATA may point anywhere earlier in the message.
      const inner = new Reader(this.buf, start);
      data = inner.name();
      if (inner.pos > start + rdlength) throw new ParseError(`${type === TYPE.PTR ? 'PTR' : 'name'} record's name runs past its RDATA`);
    }
    return { name, type, class: klass, ttl, data, rdata };
  }
}
// #endregion dns-parse

/** A label as text: letters, digits and - _ as they are, others as \DDD (as dig shows them). */
function escapeLabel(b: Buffer): string {
  let s = '';
  for (const c of b) {
    if ((c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x2d || c === 0x5f) s += String.fromCharCode(c);
    else s += '\\' + String(c).padStart(3, '0');
  }
  return s;
}

/** The bytes of a label written by escapeLabel (so a parsed name builds back to the same bytes). */
function unescapeLabel(s: string): Buffer {
  const out: number[] = [];
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '\\' && /^\d{3}$/.test(s.slice(i + 1, i + 4))) {
      out.push(Number(s.slice(i + 1, i + 4)) & 0xff);
      i += 3;
    } else out.push(s.charCodeAt(i) & 0xff);
  }
  return Buffer.from(out);
}

function ipv6ToString(b: Buffer): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(b.readUInt16BE(i).toString(16));
  // the longest run of zero groups becomes "::" (RFC 5952)
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLen) [best, bestLen] = [i, j - i];
    i = j;
  }
  if (best < 0) return groups.join(':');
  return `${groups.slice(0, best).join(':')}::${groups.slice(best + bestLen).join(':')}`;
}

function ipv6ToBytes(s: string): Buffer {
  const [head, tail] = s.includes('::') ? s.split('::') : [s, undefined];
  const h = head ? head.split(':') : [];
  const t = tail !== undefined && tail !== '' ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  const b = Buffer.alloc(16);
  groups.forEach((g, i) => b.writeUInt16BE(parseInt(g, 16) & 0xffff, i * 2));
  return b;
}

// #region dns-build
/** Write a name as labels ending in a zero byte (names are written whole: no compression). */
function encodeName(name: string): Buffer {
  const trimmed = name.replace(/\.$/, '');
  const parts: Buffer[] = [];
  if (trimmed !== '') {
    for (const label of trimmed.split('.')) {
      const b = unescapeLabel(label).subarray(0, 63);
      parts.push(Buffer.from([b.length]), b);
    }
  }
  parts.push(Buffer.from([0]));
  return Buffer.concat(parts);
}

function encodeRecord(rr: ResourceRecord): Buffer {
  let rdata = rr.rdata;
  if (rr.data !== undefined) {
    if (rr.type === TYPE.A) rdata = Buffer.from(rr.data.split('.').map((x) => Number(x) & 0xff));
    else if (rr.type === TYPE.AAAA) rdata = ipv6ToBytes(rr.data);
    else if (rr.type === TYPE.PTR || rr.type === TYPE.CNAME || rr.type === TYPE.NS) rdata = encodeName(rr.data);
  }
  const fixed = Buffer.alloc(10);
  fixed.writeUInt16BE(rr.type, 0);
  fixed.writeUInt16BE(rr.class, 2);
  fixed.writeUInt32BE(rr.ttl >>> 0, 4);
  fixed.writeUInt16BE(rdata.length, 8);
  return Buffer.concat([encodeName(rr.name), fixed, rdata]);
}

function encodeHeader(h: Header, counts: number[]): Buffer {
  const b = Buffer.alloc(12);
  b.writeUInt16BE(h.id & 0xffff, 0);
  const flags =
    (h.qr ? 0x8000 : 0) | ((h.opcode & 0xf) << 11) | (h.aa ? 0x0400 : 0) | (h.tc ? 0x0200 : 0) | (h.rd ? 0x0100 : 0) | (h.ra ? 0x0080 : 0) | (h.rcode & 0xf);
  b.writeUInt16BE(flags, 2);
  counts.forEach((n, i) => b.writeUInt16BE(n, 4 + 2 * i));
  return b;
}

/**
 * Write a message. With maxSize, records are left off from the end until it
 * fits and TC is set, as a server must when an answer is too long for UDP
 * (RFC 2181 9): the client then asks again over TCP.
 */
export function buildMessage(m: Message, maxSize = MAX_SIZE): Buffer {
  const questions = m.questions.map((q) => {
    const t = Buffer.alloc(4);
    t.writeUInt16BE(q.type, 0);
    t.writeUInt16BE(q.class, 2);
    return Buffer.concat([encodeName(q.name), t]);
  });
  const sections = [m.answers, m.authorities, m.additionals].map((s) => s.map(encodeRecord));
  let header = { ...m.header };
  const size = () => 12 + [...questions, ...sections.flat()].reduce((n, b) => n + b.length, 0);
  while (size() > maxSize) {
    const s = [...sections].reverse().find((x) => x.length > 0);
    if (!s) break;
    s.pop();
    header = { ...header, tc: true };
  }
  return Buffer.concat([encodeHeader(header, [questions.length, ...sections.map((s) => s.length)]), ...questions, ...sections.flat()]);
}
// #endregion dns-build

/** The answer's skeleton: a copy of the query's ID, opcode, RD and question, as a reply (miekg/dns SetReply). */
export function replyTo(query: Message, rcode: number = RCODE.NOERROR): Message {
  return {
    // RA: Docker's resolver says recursion is available (it forwards what it does not know).
    header: { id: query.header.id, qr: true, opcode: query.header.opcode, aa: false, tc: false, rd: query.header.rd, ra: true, rcode },
    questions: query.questions.slice(0, 1),
    answers: [],
    authorities: [],
    additionals: [],
  };
}

/** The UDP size the client said it can take (its OPT record's CLASS), at least 512. */
export function clientUdpSize(query: Message): number {
  const opt = query.additionals.find((r) => r.type === TYPE.OPT);
  return opt ? Math.max(UDP_MIN_SIZE, opt.class) : UDP_MIN_SIZE;
}

/**
 * The reply header alone, for a query whose body could not be read
 * (FORMERR, NOTIMP): its ID and opcode, QR set, no sections.
 */
export function headerOnlyReply(raw: Buffer, rcode: number): Buffer | null {
  if (raw.length < 12) return null; // not even an ID to answer to
  const flags = raw.readUInt16BE(2);
  const h: Header = { id: raw.readUInt16BE(0), qr: true, opcode: (flags >> 11) & 0xf, aa: false, tc: false, rd: (flags & 0x0100) !== 0, ra: true, rcode };
  return encodeHeader(h, [0, 0, 0, 0]);
}
