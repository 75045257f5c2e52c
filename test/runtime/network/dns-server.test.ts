// The embedded DNS server, for real: started by ensureDnsServer on a temporary
// state root whose containers are fake config.v2.json files (their PIDs are
// `sleep`s this test starts), listening on loopback addresses (127.0.0.2 and
// 127.0.0.4 stand for two networks' gateways: all of 127/8 is local, so no
// namespace is needed), forwarding to a fake upstream on 127.0.0.3:53, and
// stopped when idle with nothing left behind.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import net from 'node:net';
import fs from 'node:fs';
import path from 'node:path';
import { buildMessage, parseMessage, RCODE, TYPE, type Message } from '../../../runtime/network/dns/packet.js';
import { dnsServerPid, ensureDnsServer, stopDnsServerIfIdle, dnsNeeded, upstreamFile } from '../../../runtime/network/dns/control.js';

/**
 * Has the process ended? Gone, or a zombie: the server is this test's own
 * child, and Node reaps it a moment after it exits.
 */
function ended(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat[stat.lastIndexOf(')') + 2] === 'Z';
  } catch {
    return true;
  }
}
import { useTempDir } from '../../helpers/temp.js';

if (process.getuid?.() !== 0) {
  test('the DNS server test needs root (port 53)', { skip: 'not root' }, () => {});
} else {
  // (registered before the temporary directory's removal, so that it runs first)
  after(async () => {
    // Whatever happened: no server, no sleeps, no upstream left.
    await stopDnsServerIfIdle(root(), () => false).catch(() => {});
    for (const p of sleeps) p.kill('SIGKILL');
    upstream?.close();
    upstreamTcp?.close();
  });
  const tmp = useTempDir('dns-server-test-');
  const root = () => path.join(tmp(), 'root');

  // For the test: a quick idle check and grace, a short upstream wait.
  process.env.DOCKLING_DNS_IDLE_CHECK_MS = '200';
  process.env.DOCKLING_DNS_GRACE_MS = '600';
  process.env.DOCKLING_DNS_UPSTREAM_TIMEOUT_MS = '500';

  const LABNET = '127.0.0.2';
  const OTHERNET = '127.0.0.4';
  const UPSTREAM = '127.0.0.3';

  const sleeps: ChildProcess[] = [];
  const startSleep = () => {
    const p = spawn('sleep', ['600'], { stdio: 'ignore' });
    sleeps.push(p);
    return p;
  };

  // distinct in the first 12 digits too: the short IDs are names
  const hex = (n: number) => n.toString(16).padStart(12, '0') + 'c'.repeat(52);

  function writeNetwork(name: string, gateway: string): void {
    const dir = path.join(root(), 'network', 'networks');
    fs.mkdirSync(dir, { recursive: true });
    const id = Buffer.from(name).toString('hex').padEnd(64, '0');
    fs.writeFileSync(
      path.join(dir, `${id}.json`),
      JSON.stringify({ Name: name, Id: id, Driver: 'bridge', IPAM: { Driver: 'default', Options: null, Config: [{ Subnet: `${gateway}/32`, Gateway: gateway }] } }),
    );
  }

  /** A container in the shape of core/containers.ts ContainerConfig, with NetworkSettings.Networks. */
  function writeContainer(n: number, name: string, pid: number, networks: Record<string, { ip: string; gateway: string; aliases?: string[]; dnsNames?: string[] }>): string {
    const id = hex(n);
    const dir = path.join(root(), 'containers', id);
    fs.mkdirSync(dir, { recursive: true });
    const Networks = Object.fromEntries(
      Object.entries(networks).map(([net, e]) => [
        net,
        { IPAMConfig: null, Links: null, Aliases: e.aliases ?? null, MacAddress: '', DriverOpts: null, NetworkID: '', EndpointID: '', Gateway: e.gateway, IPAddress: e.ip, IPPrefixLen: 8, IPv6Gateway: '', GlobalIPv6Address: '', GlobalIPv6PrefixLen: 0, DNSNames: e.dnsNames ?? null },
      ]),
    );
    const config = {
      ID: id, Name: '/' + name, Created: '', Path: 'sleep', Args: [],
      State: { Status: 'running', Running: true, Pid: pid, ExitCode: 0, StartedAt: '', FinishedAt: '' },
      Config: { Hostname: id.slice(0, 12), Env: [], Cmd: [], Image: 'busybox', WorkingDir: '/', Tty: false, OpenStdin: false },
      Rootfs: '', Chapter: 6, MonitorPid: 0, NetworkSettings: { Networks },
    };
    fs.writeFileSync(path.join(dir, 'config.v2.json'), JSON.stringify(config));
    return id;
  }

  // The fake upstream: example.com is 93.184.216.34, everything else NXDOMAIN; it records what it was asked.
  let upstream: dgram.Socket;
  let upstreamTcp: net.Server;
  const asked: Message[] = [];
  before(async () => {
    upstream = dgram.createSocket('udp4');
    upstream.on('message', (msg, rinfo) => {
      const reply = fakeAnswer(msg);
      if (reply) upstream.send(reply, rinfo.port, rinfo.address);
    });
    upstreamTcp = net.createServer((conn) => {
      conn.once('data', (d) => {
        const reply = fakeAnswer(d.subarray(2));
        if (!reply) return conn.destroy();
        const len = Buffer.alloc(2);
        len.writeUInt16BE(reply.length);
        conn.end(Buffer.concat([len, reply]));
      });
    });
    await new Promise<void>((r) => upstreamTcp.listen(53, UPSTREAM, () => r()));
    const fakeAnswer = (msg: Buffer): Buffer | null => {
      const p = parseMessage(msg);
      if ('error' in p) return null;
      const q = p.message;
      asked.push(q);
      const known = q.questions[0]?.name === 'example.com';
      const reply: Message = {
        header: { ...q.header, qr: true, ra: true, rcode: known ? RCODE.NOERROR : RCODE.NXDOMAIN },
        questions: q.questions,
        answers: known ? [{ name: 'example.com', type: TYPE.A, class: 1, ttl: 42, data: '93.184.216.34', rdata: Buffer.alloc(0) }] : [],
        authorities: [],
        additionals: q.additionals.filter((r) => r.type === TYPE.OPT),
      };
      return buildMessage(reply);
    };
    await new Promise<void>((r) => upstream.bind(53, UPSTREAM, () => r()));
    fs.mkdirSync(path.join(root(), 'network', 'dns'), { recursive: true });
    fs.writeFileSync(upstreamFile(root()), `# from the host's resolv.conf\n${UPSTREAM}\n`);
  });


  /** Ask a question; from: the source address to send from. */
  function ask(server: string, name: string, type: number, opts: { from?: string; raw?: Buffer; edns?: number } = {}): Promise<Message> {
    return new Promise((resolve, reject) => {
      const s = dgram.createSocket('udp4');
      const id = Math.floor(Math.random() * 0x10000);
      const q: Message = {
        header: { id, qr: false, opcode: 0, aa: false, tc: false, rd: true, ra: false, rcode: 0 },
        questions: [{ name, type, class: 1 }],
        answers: [], authorities: [],
        additionals: opts.edns ? [{ name: '', type: TYPE.OPT, class: opts.edns, ttl: 0, rdata: Buffer.alloc(0) }] : [],
      };
      const timer = setTimeout(() => {
        s.close();
        reject(new Error(`no answer from ${server} for ${name}`));
      }, 3000);
      s.on('message', (msg) => {
        clearTimeout(timer);
        s.close();
        const p = parseMessage(msg);
        if ('error' in p) return reject(new Error(p.error));
        if (!opts.raw) assert.equal(p.message.header.id, id, 'the answer carries the query ID');
        resolve(p.message);
      });
      s.bind(0, opts.from ?? '127.0.0.1', () => s.send(opts.raw ?? buildMessage(q), 53, server));
    });
  }
  /** The same over TCP (two bytes of length, then the message). */
  function askTcp(server: string, name: string, type: number): Promise<Message> {
    return new Promise((resolve, reject) => {
      const q = buildMessage({ header: { id: 7, qr: false, opcode: 0, aa: false, tc: false, rd: true, ra: false, rcode: 0 }, questions: [{ name, type, class: 1 }], answers: [], authorities: [], additionals: [] });
      const len = Buffer.alloc(2);
      len.writeUInt16BE(q.length);
      const conn = net.createConnection({ host: server, port: 53 }, () => conn.write(Buffer.concat([len, q])));
      let buf = Buffer.alloc(0);
      const timer = setTimeout(() => (conn.destroy(), reject(new Error('no TCP answer'))), 3000);
      conn.on('error', (e) => (clearTimeout(timer), reject(e)));
      conn.on('data', (d) => {
        buf = Buffer.concat([buf, d]);
        if (buf.length < 2 || buf.length < 2 + buf.readUInt16BE(0)) return;
        clearTimeout(timer);
        conn.destroy();
        const p = parseMessage(buf.subarray(2, 2 + buf.readUInt16BE(0)));
        if ('error' in p) return reject(new Error(p.error));
        assert.equal(p.message.header.id, 7);
        resolve(p.message);
      });
    });
  }
  const addresses = (m: Message) => m.answers.filter((a) => a.type === TYPE.A).map((a) => a.data).sort();

  let web: ChildProcess;
  let webId: string;

  describe('answers', () => {
    test('ensureDnsServer starts the server: pid file, control socket, listening on the gateway', async () => {
      writeNetwork('labnet', LABNET);
      writeNetwork('othernet', OTHERNET);
      web = startSleep();
      webId = writeContainer(1, 'web', web.pid!, { labnet: { ip: '10.0.0.20', gateway: LABNET, aliases: ['www'] } });
      writeContainer(2, 'db', startSleep().pid!, {
        // loopback addresses, so that the test can ask from db's address
        labnet: { ip: '127.0.0.21', gateway: LABNET, dnsNames: ['db', 'database', hex(2).slice(0, 12)] },
        othernet: { ip: '127.0.1.21', gateway: OTHERNET },
      });
      writeContainer(3, 'other', startSleep().pid!, { othernet: { ip: '10.1.0.30', gateway: OTHERNET } });
      // two aliases shared: both answer
      writeContainer(4, 'www2', startSleep().pid!, { labnet: { ip: '10.0.0.22', gateway: LABNET, aliases: ['pool'] } });
      writeContainer(5, 'www3', startSleep().pid!, { labnet: { ip: '10.0.0.23', gateway: LABNET, aliases: ['pool'] } });
      // one on the default bridge only: never in the embedded DNS
      writeContainer(6, 'plain', startSleep().pid!, { bridge: { ip: '172.17.0.2', gateway: '172.17.0.1' } });
      assert.equal(dnsServerPid(root()), null);
      assert.equal(dnsNeeded(root()), true);

      await ensureDnsServer(root(), [LABNET]);
      const pid = dnsServerPid(root());
      assert.ok(pid !== null && pid > 0);
      assert.ok(fs.existsSync(path.join(root(), 'network', 'dns', 'control.sock')));
      // detached: its own session, not this test's
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      assert.equal(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[3], String(pid), 'session leader');
    });

    test('A for a container name, alias, short ID, case-insensitive, trailing dot, NAME.NETWORK: TTL 600, RA', async () => {
      for (const name of ['web', 'WEB', 'web.', 'www', webId.slice(0, 12), 'web.labnet', 'Web.LabNet.']) {
        const m = await ask(LABNET, name, TYPE.A);
        assert.equal(m.header.rcode, RCODE.NOERROR, name);
        assert.deepEqual(addresses(m), ['10.0.0.20'], name);
        assert.equal(m.answers[0].ttl, 600);
        assert.equal(m.answers[0].name, name.replace(/\.$/, ''), 'the answer repeats the name as asked');
        assert.equal(m.header.qr && m.header.ra && !m.header.aa, true);
      }
      assert.deepEqual(addresses(await ask(LABNET, 'database', TYPE.A)), ['127.0.0.21'], 'DNSNames win over Name/Aliases');
      assert.deepEqual(addresses(await ask(LABNET, 'pool', TYPE.A)), ['10.0.0.22', '10.0.0.23'], 'a shared alias answers with every address');
    });

    test('AAAA and MX of a known name: NOERROR, no records (no IPv6), not forwarded', async () => {
      const before = asked.length;
      for (const t of [TYPE.AAAA, TYPE.MX]) {
        const m = await ask(LABNET, 'web', t);
        assert.equal(m.header.rcode, RCODE.NOERROR);
        assert.equal(m.answers.length, 0);
      }
      assert.equal(asked.length, before);
    });

    test('PTR of a container address: NAME.NETWORK', async () => {
      const m = await ask(LABNET, '20.0.0.10.in-addr.arpa', TYPE.PTR);
      assert.equal(m.answers[0].type, TYPE.PTR);
      assert.equal(m.answers[0].data, 'web.labnet');
      assert.equal(m.answers[0].ttl, 600);
    });

    test('names on another network: not from a stranger, yes from a container on both networks, and NAME.NETWORK is only its own', async () => {
      // from 127.0.0.1 (no container): only labnet's names; "other" goes upstream (NXDOMAIN there)
      assert.equal((await ask(LABNET, 'other', TYPE.A)).header.rcode, RCODE.NXDOMAIN);
      assert.equal((await ask(LABNET, 'other.othernet', TYPE.A)).header.rcode, RCODE.NXDOMAIN);
      // from db's address on labnet: db is on othernet too, so othernet's names are its to find
      assert.deepEqual(addresses(await ask(LABNET, 'other', TYPE.A, { from: '127.0.0.21' })), ['10.1.0.30']);
      assert.deepEqual(addresses(await ask(LABNET, 'other.othernet', TYPE.A, { from: '127.0.0.21' })), ['10.1.0.30']);
      // its own name: labnet first (the network asked on)
      assert.deepEqual(addresses(await ask(LABNET, 'db', TYPE.A, { from: '127.0.0.21' })), ['127.0.0.21']);
    });

    test('other names are forwarded upstream with a new ID, EDNS kept, and the answer comes back with ours', async () => {
      const n = asked.length;
      const m = await ask(LABNET, 'example.com', TYPE.A, { edns: 1232 });
      assert.deepEqual(addresses(m), ['93.184.216.34']);
      assert.equal(m.answers[0].ttl, 42, 'passed through as the upstream said');
      assert.equal(asked.length, n + 1);
      assert.ok(asked[n].additionals.some((r) => r.type === TYPE.OPT && r.class === 1232), 'the OPT record went upstream');
      const nx = await ask(LABNET, 'no-such-name', TYPE.A);
      assert.equal(nx.header.rcode, RCODE.NXDOMAIN);
      // over TCP: answered locally, and forwarded over TCP
      assert.deepEqual(addresses(await askTcp(LABNET, 'web', TYPE.A)), ['10.0.0.20']);
      assert.deepEqual(addresses(await askTcp(LABNET, 'example.com', TYPE.A)), ['93.184.216.34']);
    });

    test('busybox nslookup finds a container by name', { skip: !fs.existsSync('/usr/bin/busybox') && !fs.existsSync('/bin/busybox') }, () => {
      const r = spawnSync('busybox', ['nslookup', 'web', LABNET], { encoding: 'utf8', timeout: 10_000 });
      assert.match(r.stdout, /Address:?\s+10\.0\.0\.20/, r.stdout + r.stderr);
    });

    test('junk gets FORMERR or nothing, and the server goes on answering', async () => {
      const s = dgram.createSocket('udp4');
      await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
      const replies: Buffer[] = [];
      s.on('message', (m) => replies.push(m));
      const junk = [Buffer.alloc(0), Buffer.from([1, 2, 3]), Buffer.from('1234010000010000000000000264', 'hex'), Buffer.alloc(600, 0xc0), Buffer.from('123481800001000000000000026462000001000100', 'hex')];
      for (let i = 0; i < 50; i++) junk.push(Buffer.from(Array.from({ length: 12 + Math.floor(Math.random() * 100) }, () => Math.floor(Math.random() * 256))));
      for (const j of junk) s.send(j, 53, LABNET);
      await new Promise((r) => setTimeout(r, 700));
      s.close();
      for (const r of replies) {
        const p = parseMessage(r);
        assert.ok('message' in p);
      }
      // the cut-off query (ID 0x1234) got FORMERR
      assert.ok(replies.some((r) => r.readUInt16BE(0) === 0x1234 && (r[3] & 0xf) === RCODE.FORMERR));
      assert.deepEqual(addresses(await ask(LABNET, 'web', TYPE.A)), ['10.0.0.20']);
    });

    test('a big answer over UDP is truncated to 512 bytes with TC (more with EDNS)', async () => {
      for (let i = 0; i < 40; i++) writeContainer(100 + i, `many${i}`, web.pid!, { labnet: { ip: `10.0.1.${i}`, gateway: LABNET, aliases: ['crowd-with-a-long-alias-name-for-size'] } });
      await new Promise((r) => setTimeout(r, 250)); // the server's 200 ms cache
      const m = await ask(LABNET, 'crowd-with-a-long-alias-name-for-size', TYPE.A);
      assert.equal(m.header.tc, true);
      assert.ok(m.answers.length < 40);
      const big = await ask(LABNET, 'crowd-with-a-long-alias-name-for-size', TYPE.A, { edns: 4096 });
      assert.equal(big.header.tc, false);
      assert.equal(big.answers.length, 40);
      // the client's retry over TCP gets them all
      const tcp = await askTcp(LABNET, 'crowd-with-a-long-alias-name-for-size', TYPE.A);
      assert.equal(tcp.header.tc, false);
      assert.equal(tcp.answers.length, 40);
      for (let i = 0; i < 40; i++) fs.rmSync(path.join(root(), 'containers', hex(100 + i)), { recursive: true });
    });

    test('a container that stops is no longer answered for', async () => {
      const gone = startSleep();
      writeContainer(7, 'brief', gone.pid!, { labnet: { ip: '10.0.0.77', gateway: LABNET } });
      await new Promise((r) => setTimeout(r, 250));
      assert.deepEqual(addresses(await ask(LABNET, 'brief', TYPE.A)), ['10.0.0.77']);
      gone.kill('SIGKILL');
      await new Promise((r) => gone.once('exit', r));
      await new Promise((r) => setTimeout(r, 250));
      assert.equal((await ask(LABNET, 'brief', TYPE.A)).header.rcode, RCODE.NXDOMAIN, 'forwarded: upstream does not know it');
    });
  });

  describe('upstreams', () => {
    test('no upstream, or one that does not answer: SERVFAIL', async () => {
      fs.writeFileSync(upstreamFile(root()), '');
      assert.equal((await ask(LABNET, 'example.com', TYPE.A)).header.rcode, RCODE.SERVFAIL);
      fs.writeFileSync(upstreamFile(root()), '127.0.0.5\n');
      assert.equal((await ask(LABNET, 'example.com', TYPE.A)).header.rcode, RCODE.SERVFAIL);
      // a dead one first, then the working one: the second answers
      fs.writeFileSync(upstreamFile(root()), `127.0.0.5\n${UPSTREAM}\n`);
      assert.deepEqual(addresses(await ask(LABNET, 'example.com', TYPE.A)), ['93.184.216.34']);
    });
  });

  describe('lifetime', () => {
    test('a second network is bound on the running server; concurrent ensures leave one server', async () => {
      const pid = dnsServerPid(root());
      await Promise.all([ensureDnsServer(root(), [OTHERNET]), ensureDnsServer(root(), [LABNET, OTHERNET])]);
      assert.equal(dnsServerPid(root()), pid);
      assert.deepEqual(addresses(await ask(OTHERNET, 'other', TYPE.A)), ['10.1.0.30']);
      // on othernet, db has its othernet address
      assert.deepEqual(addresses(await ask(OTHERNET, 'db', TYPE.A)), ['127.0.1.21']);
    });

    test('a gateway no network has any more is let go', async () => {
      const dir = path.join(root(), 'network', 'networks');
      const f = fs.readdirSync(dir).find((x) => x.startsWith(Buffer.from('othernet').toString('hex')))!;
      fs.renameSync(path.join(dir, f), path.join(tmp(), f));
      await new Promise((r) => setTimeout(r, 1200)); // grace 600 ms + a check
      await assert.rejects(ask(OTHERNET, 'other', TYPE.A), /no answer/);
      fs.renameSync(path.join(tmp(), f), path.join(dir, f));
    });

    test('a gateway that is no local address: a clear error, and a fresh server is not left behind', async () => {
      await assert.rejects(ensureDnsServer(root(), ['10.255.255.1']), (e: Error & { code?: number }) => {
        assert.equal(e.code, 125);
        assert.match(e.message, /cannot listen on 10\.255\.255\.1:53: no interface has that address/);
        return true;
      });
      assert.ok(dnsServerPid(root()) !== null, 'the running server stays for the others');
    });

    test('stopDnsServerIfIdle: kept while needed, then stopped with nothing left', async () => {
      const pid = dnsServerPid(root())!;
      await stopDnsServerIfIdle(root(), () => true);
      assert.equal(dnsServerPid(root()), pid);
      await stopDnsServerIfIdle(root(), () => false);
      assert.equal(dnsServerPid(root()), null);
      assert.ok(ended(pid), `the server (PID ${pid}) has ended`);
      assert.deepEqual(fs.readdirSync(path.join(root(), 'network', 'dns')).sort(), ['upstream']);
    });

    test('a fresh server that cannot bind leaves nothing', async () => {
      await assert.rejects(ensureDnsServer(root(), ['10.255.255.1']), /no interface has that address/);
      assert.equal(dnsServerPid(root()), null);
      assert.deepEqual(fs.readdirSync(path.join(root(), 'network', 'dns')).sort(), ['upstream']);
    });

    test('the backstop: when the last container ends, the server exits by itself and removes its files', async () => {
      await ensureDnsServer(root(), [LABNET]);
      const pid = dnsServerPid(root())!;
      assert.ok(pid);
      for (const p of sleeps) p.kill('SIGKILL');
      await Promise.all(sleeps.map((p) => (p.exitCode !== null || p.signalCode !== null ? null : new Promise((r) => p.once('exit', r)))));
      assert.equal(dnsNeeded(root()), false);
      const deadline = Date.now() + 5000;
      while (dnsServerPid(root()) !== null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      assert.equal(dnsServerPid(root()), null, 'exited');
      // It removes its pid file first, then exits: how long after depends on
      // the machine's load (under coverage it writes its profile as it ends).
      const gone = Date.now() + 5000;
      while (!ended(pid) && Date.now() < gone) await new Promise((r) => setTimeout(r, 20));
      assert.ok(ended(pid), `the server (PID ${pid}) has ended`);
      assert.deepEqual(fs.readdirSync(path.join(root(), 'network', 'dns')).sort(), ['upstream']);
    });

    test('a stale pid file naming another process is not taken for the server', () => {
      fs.writeFileSync(path.join(root(), 'network', 'dns', 'pid'), `${process.pid}\n`);
      assert.equal(dnsServerPid(root()), null);
      fs.rmSync(path.join(root(), 'network', 'dns', 'pid'));
    });
  });
}
