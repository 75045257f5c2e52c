// Chapter 6's demo steps, in order: a web server published on the host,
// an ephemeral port, the container's side (eth0) and the host's (the
// bridge, the veth, the NAT rules), a network of your own with names, and
// the other network modes. Steps that look at the host (`host:`) run the
// host's own tools; they change nothing. test/chapters/06-networking/
// demo.test.ts runs them unattended (in a network namespace of its own);
// with `--chapter 5` every step fails: -p, --network and `network` do not
// exist there, and the host has no bridge.
import { spawnSync } from 'node:child_process';
import { lines, ran, type DemoStep, type StepResult } from '../demo.js';

const seen: { port?: string; ip?: string } = {};

/** `sh -c` that fetches URL with busybox wget, retrying while the server starts. */
const fetch = (url: string) => `for i in 1 2 3 4 5 6 7 8 9 10; do wget -qO- ${url} && exit 0; sleep 0.3; done; exit 1`;

/** The step's trace must show a DNAT rule added (for host port `port`, or any). */
function dnatIn(r: StepResult, port: string): string | null {
  const found = r.trace.some((e) => e.op === 'iptables' && e.argv.includes('DNAT') && (port === '' || e.argv.includes(port)));
  return found ? null : `the trace should show the DNAT rule for the published port${port ? ' ' + port : ''}`;
}

export const steps: DemoStep[] = [
  {
    title: 'run -d -p 8080:80: a web server, published on the host',
    section: '#4-publishing-a-port--p--p-and---expose',
    code: 'runtime/network/netfilter.ts#port-rules',
    hostView: ['links', 'ns'],
    look:
      'busybox httpd serves the container\'s /etc. -p 8080:80 asks for the host\'s port 8080 to lead to the container\'s port 80: ' +
      'the network stage gave the container an address on the bridge, then wrote a DNAT rule for it.',
    args: ['run', '-d', '--name', 'web', '-p', '8080:80', 'busybox', 'httpd', '-f', '-p', '80', '-h', '/etc'],
    check: (r) => ran(r) ?? (/^[0-9a-f]{64}$/.test(r.stdout.trim()) ? null : `run -d should print an ID: ${r.stdout}`) ?? dnatIn(r, '8080'),
  },
  {
    title: 'host: fetch a page through 127.0.0.1:8080',
    section: '#the-hosts-own-127001-hairpin-nat-not-a-proxy',
    code: 'runtime/network/netfilter.ts#network-rules',
    hostView: ['links'],
    look:
      'From the host, 127.0.0.1:8080 answers with the container\'s /etc/hostname: its short ID. The packet went out through ' +
      'the host\'s OUTPUT chain, was rewritten (DNAT) to the container\'s address, crossed the bridge and the veth pair, and the ' +
      'answer came back the same way.',
    args: [],
    host: ['sh', '-c', `for i in 1 2 3 4 5 6 7 8 9 10; do busybox wget -qO- http://127.0.0.1:8080/hostname && exit 0; sleep 0.3; done; exit 1`],
    check: (r) => ran(r) ?? (/^[0-9a-f]{12}$/.test(r.stdout.trim()) ? null : `the page should be the container's host name (12 hex): ${r.stdout}`),
  },
  {
    title: 'run -d -p 80: an ephemeral port',
    section: '#which-host-port',
    code: 'runtime/network/ports.ts#candidates',
    hostView: ['links', 'ns'],
    look: 'With only the container\'s port, the host port is picked from the kernel\'s ip_local_port_range, as Docker picks it.',
    args: ['run', '-d', '-p', '80', '--name', 'static_web', 'busybox', 'httpd', '-f', '-p', '80', '-h', '/etc'],
    check: (r) => ran(r) ?? dnatIn(r, ''),
  },
  {
    title: 'ps -l: the PORTS column',
    section: '#what-the-container-records-and-how-it-is-shown',
    code: 'runtime/core/port-map.ts#displayable-ports',
    look: 'The last container made, with its mapping as Docker prints it: 0.0.0.0:HOSTPORT->80/tcp.',
    args: ['ps', '-l'],
    check(r) {
      const bad = ran(r);
      if (bad) return bad;
      const m = /0\.0\.0\.0:(\d+)->80\/tcp/.exec(r.stdout);
      if (!m) return `ps -l should show 0.0.0.0:PORT->80/tcp: ${r.stdout}`;
      seen.port = m[1];
      return null;
    },
  },
  {
    title: 'port static_web',
    section: '#what-the-container-records-and-how-it-is-shown',
    code: 'runtime/network/port-command.ts#port-command-run',
    look: 'The same mapping, from the container\'s side: 80/tcp -> 0.0.0.0:HOSTPORT.',
    args: ['port', 'static_web'],
    check: (r) => ran(r) ?? (r.stdout.trim() === `80/tcp -> 0.0.0.0:${seen.port}` ? null : `port should print "80/tcp -> 0.0.0.0:${seen.port}": ${r.stdout}`),
  },
  {
    title: 'run --rm busybox ip addr show eth0',
    section: '#1-the-containers-end-of-the-cable-a-veth-pair',
    code: 'runtime/network/endpoint.ts#plug-veth',
    hostView: ['links'],
    look: 'Inside, eth0: an address of the bridge\'s subnet (172.17.0.x/16 unless the host already uses that range) and a MAC made of it, 02:42 and the four bytes.',
    args: ['run', '--rm', 'busybox', 'ip', 'addr', 'show', 'eth0'],
    check(r) {
      const bad = ran(r);
      if (bad) return bad;
      const m = /inet (\d+\.\d+\.\d+\.\d+)\/(\d+)/.exec(r.stdout);
      if (!m) return `eth0 should have an IPv4 address: ${r.stdout}`;
      seen.ip = m[1];
      const mac = ['02', '42', ...m[1].split('.').map((b) => Number(b).toString(16).padStart(2, '0'))].join(':');
      return r.stdout.includes(mac) ? null : `eth0's MAC should be ${mac}: ${r.stdout}`;
    },
  },
  {
    title: 'host: ip addr show dockling0',
    section: '#the-bridge-a-switch-in-software',
    code: 'runtime/network/bridge.ts#set-up-bridge',
    hostView: ['links'],
    look: 'The host\'s side: the bridge, a switch in the kernel, holding the gateway address (.1) of the same subnet.',
    args: [],
    host: ['ip', 'addr', 'show', 'dockling0'],
    check: (r) => ran(r) ?? (/inet \d+\.\d+\.0\.1\/16/.test(r.stdout) ? null : `dockling0 should hold the gateway x.y.0.1/16: ${r.stdout}`),
  },
  {
    title: 'host: bridge link',
    section: '#the-bridge-a-switch-in-software',
    code: 'runtime/network/endpoint.ts#plug-veth',
    hostView: ['links'],
    look: 'One veth end per running container, each a port of dockling0 (master dockling0). Their other ends are the containers\' eth0s.',
    args: [],
    host: ['bridge', 'link'],
    check: (r) => ran(r) ?? (lines(r.stdout).filter((l) => /veth\w+.*master dockling0/.test(l)).length >= 2 ? null : `two veths should be on dockling0: ${r.stdout}`),
  },
  {
    title: 'host: iptables -t nat -S',
    section: '#3-out-and-in-forwarding-and-nat',
    code: 'runtime/network/netfilter.ts#port-rules',
    hostView: ['links'],
    look:
      'dockling\'s NAT: the DOCKLING chain, entered from PREROUTING and OUTPUT for local addresses, with one DNAT rule per ' +
      'published port; and MASQUERADE for the bridge\'s subnet on its way out.',
    args: [],
    host: ['iptables', '-w', '-t', 'nat', '-S'],
    check(r) {
      const bad = ran(r);
      if (bad) return bad;
      if (!/-A DOCKLING .*--dport 8080 -j DNAT --to-destination \d+\.\d+\.\d+\.\d+:80/.test(r.stdout)) return `a DNAT rule for 8080 should be there: ${r.stdout}`;
      return /-j MASQUERADE/.test(r.stdout) ? null : `a MASQUERADE rule should be there: ${r.stdout}`;
    },
  },
  {
    title: 'network ls',
    section: '#6-networks-of-your-own-and-the-other-modes',
    code: 'runtime/network/store.ts#predefined',
    look: 'The networks: bridge (dockling0), host and none, as Docker lists them.',
    args: ['network', 'ls'],
    check: (r) => ran(r) ?? (['bridge', 'host', 'none'].every((n) => new RegExp(`\\s${n}\\s`).test(r.stdout)) ? null : `bridge, host and none should be listed: ${r.stdout}`),
  },
  {
    title: 'network create labnet',
    section: '#6-networks-of-your-own-and-the-other-modes',
    code: 'runtime/network/store.ts#create-network',
    hostView: ['links'],
    look: 'A network of your own: a new bridge (br- and 12 hex of its ID) with the next free subnet.',
    args: ['network', 'create', 'labnet'],
    check: (r) => ran(r) ?? (/^[0-9a-f]{64}$/.test(r.stdout.trim()) ? null : `network create should print the network's ID: ${r.stdout}`),
  },
  {
    title: 'run -d --network labnet --name db',
    section: '#6-networks-of-your-own-and-the-other-modes',
    code: 'runtime/network/join.ts#join-network',
    hostView: ['links', 'ns'],
    look: 'A server on labnet. Its /etc/resolv.conf names 127.0.0.11: the embedded DNS server, which knows labnet\'s containers by name.',
    args: ['run', '-d', '--network', 'labnet', '--name', 'db', 'busybox', 'httpd', '-f', '-p', '80', '-h', '/etc'],
    check(r) {
      const bad = ran(r);
      if (bad) return bad;
      const veth = r.trace.find((e) => e.op === 'ip' && e.argv.includes('master') && e.argv.some((a) => a.startsWith('br-')));
      return veth ? null : 'the trace should show the veth pair plugged into labnet\'s bridge (br-…)';
    },
  },
  {
    title: 'run --rm --network labnet busybox wget http://db/hostname',
    section: '#what-dockers-resolver-answers',
    code: 'runtime/network/dns/records.ts#dns-resolve',
    hostView: ['links'],
    look: 'Another container on labnet finds db by its name. On the default bridge the same name would not resolve: it has /etc/hosts only.',
    args: ['run', '--rm', '--network', 'labnet', 'busybox', 'sh', '-c', fetch('http://db/hostname')],
    check: (r) => ran(r) ?? (/^[0-9a-f]{12}$/.test(r.stdout.trim()) ? null : `db's page should be its host name: ${r.stdout}`),
  },
  {
    title: 'network connect labnet web',
    section: '#6-networks-of-your-own-and-the-other-modes',
    code: 'runtime/network/join.ts#join-network',
    hostView: ['links', 'ns'],
    look: 'web, running on the default bridge, gets a second interface, eth1, on labnet: live.',
    args: ['network', 'connect', 'labnet', 'web'],
    check: (r) => ran(r),
  },
  {
    title: 'exec web ip -o -4 addr',
    section: '#6-networks-of-your-own-and-the-other-modes',
    code: 'runtime/network/join.ts#join-network',
    hostView: ['links', 'ns'],
    look: 'eth0 on the bridge, eth1 on labnet.',
    args: ['exec', 'web', 'ip', '-o', '-4', 'addr'],
    check: (r) => ran(r) ?? (/eth0\s+inet/.test(r.stdout) && /eth1\s+inet/.test(r.stdout) ? null : `web should have eth0 and eth1: ${r.stdout}`),
  },
  {
    title: 'network disconnect labnet web',
    section: '#7-nothing-leaks',
    code: 'runtime/network/join.ts#leave-networks',
    hostView: ['links', 'ns'],
    look: 'And eth1 is gone again, with its address given back.',
    args: ['network', 'disconnect', 'labnet', 'web'],
    check: (r) => ran(r),
  },
  {
    title: 'run --rm --network none busybox ip addr',
    section: '#6-networks-of-your-own-and-the-other-modes',
    code: 'runtime/network/layer.ts#network-mode',
    look: 'none: chapter 1\'s container, a namespace with loopback only.',
    args: ['run', '--rm', '--network', 'none', 'busybox', 'ip', 'addr'],
    check: (r) =>
      ran(r) ??
      (/chapter 6/.test(r.stderr) ? `--network should be understood, not put off to chapter 6: ${r.stderr}` : null) ??
      (/\blo\b/.test(r.stdout) && !/eth0/.test(r.stdout) ? null : `only lo should be there: ${r.stdout}`),
  },
  {
    title: 'run --rm --network container:web busybox ip addr show eth0',
    section: '#6-networks-of-your-own-and-the-other-modes',
    code: 'runtime/network/layer.ts#network-mode',
    hostView: ['ns'],
    look: 'container:web: no namespace of its own, web\'s instead: the same eth0, the same address.',
    args: ['run', '--rm', '--network', 'container:web', 'busybox', 'ip', 'addr', 'show', 'eth0'],
    check: (r) => ran(r) ?? (/inet \d+\.\d+\.\d+\.\d+/.test(r.stdout) ? null : `web's eth0 should be seen: ${r.stdout}`),
  },
  {
    title: 'rm -f web static_web db',
    section: '#7-nothing-leaks',
    code: 'runtime/network/settings.ts#release-container',
    hostView: ['links'],
    look: 'Removed: their veths, leases and DNAT rules go with them; `iptables -t nat -S` has no rule for 8080 any more.',
    args: ['rm', '-f', 'web', 'static_web', 'db'],
    check(r) {
      const bad = ran(r);
      if (bad) return bad;
      // The host now: the bridge stays (as docker0 does), with no veth on it.
      const links = spawnSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' }).stdout;
      if (!/: dockling0[:@]/.test(links)) return 'the default bridge dockling0 should still be there';
      const veths = lines(links).filter((l) => /: veth/.test(l));
      return veths.length ? `no veth should be left: ${veths.join(' | ')}` : null;
    },
  },
  {
    title: 'network rm labnet',
    section: '#7-nothing-leaks',
    code: 'runtime/network/network-commands.ts#network-rm',
    hostView: ['links'],
    look: 'The network and its bridge go too. The default bridge stays, as docker0 does.',
    args: ['network', 'rm', 'labnet'],
    check: (r) => ran(r),
  },
];
