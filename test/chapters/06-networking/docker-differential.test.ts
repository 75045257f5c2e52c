// Differential, chapter 6: the same networking commands against dockling and
// a real dockerd, so that a Docker user comparing line by line finds the same
// outputs, messages and exit codes.
//
// The daemon (test/helpers/docker-differential.ts, shared with chapter 5's
// differential): docker.io's 20.10, started once for this file in a network
// namespace of its own (`unshare --net`, inside the suite's private one), this
// time WITH its default bridge docker0 and its iptables rules (--iptables=true,
// --ip-masq=true): they live and die in that namespace. dockling runs in the
// suite's namespace, so both sides publish the same host ports without
// meeting. Both get the same busybox (dockling's, loaded into dockerd).
//
// What must differ is normalised: IDs, addresses (172.x, 192.168.x, MACs),
// subnets, ephemeral host ports (each side's kernel picks its own), times.
// Every other difference is in ALLOWED, with its reason; a listed difference
// that has gone fails too ("remove it").
//
// A machine without dockerd skips this file; CI never does. test/run.ts runs
// it with layers 1..6 (every test must pass) and with layers 1..5 (every test
// must fail: chapter6()'s `before` finds no `run -p`).
import { test } from 'node:test';
import { check, differential, newReport, privateDockerd, whyNoDockerd, type Step, type Table } from '../../helpers/docker-differential.js';
import { chapter6, netState } from './helpers.js';

const skip = whyNoDockerd();
const c = chapter6('ch6-differential');
const daemon = privateDockerd({
  skip,
  label: 'differential6',
  // Docker's defaults, said out loud: docker0 and its iptables rules.
  networkArgs: ['--iptables=true', '--ip-masq=true'],
  root: () => c.root(),
});

/**
 * Differences Docker's versions allow, or that dockling keeps on purpose.
 * Key: step id, then the field; value: the reason.
 */
const IPV6_TWIN =
  'dockerd binds a port published on every address twice, 0.0.0.0 and :: (its docker-proxy listens on [::] too when the host has IPv6), so port, ps and inspect show a ":::PORT" twin of each; dockling publishes on IPv4 only (iptables DNAT, no ip6tables rules, no proxy), so it has one binding per port';
const RUN_PERIOD = 'and docker\'s CLI (reportError) ends every run error with a period; dockling prints the message as it is, for every run error (core/failure.ts, not this chapter\'s)';
const LOWER_P = `go-connections v0.5.0 (Docker 28, whose words ports.ts follows) words -p errors in lower case ("invalid containerPort: abc"); 20.10's capitalises them ("Invalid containerPort: abc"), ${RUN_PERIOD}`;
const PORT_AS_TYPED =
  'the 20.10 CLI names the port with its protocol added ("No public port \'90/tcp\' published"); docker 23+ (runPort with strings.Cut) names it as it was typed ("\'90\'"), as dockling does (core/port-map.ts)';
const ALLOWED: Table = {
  ...Object.fromEntries(
    ['dp1', 'dp2', 'dp4', 'dp5'].flatMap((n) => ['port', 'port-80', 'ps-ports', 'inspect-ports'].map((s) => [`${n}-${s}`, { stdout: IPV6_TWIN }])),
  ),
  'dp4-port-81': { stdout: IPV6_TWIN },
  'ps-ports-all': { stdout: IPV6_TWIN },
  'ps-table-ports': { stdout: IPV6_TWIN },
  'dp6-port': { stdout: IPV6_TWIN },
  'dp6-port-90': { stderr: PORT_AS_TYPED },
  'dp7-port-80': { stderr: PORT_AS_TYPED },
  'dp6-ps-ports': { stdout: IPV6_TWIN },
  'dp6-inspect-ports': { stdout: IPV6_TWIN },
  'run-p-abc': { stderr: LOWER_P },
  'run-p-8080:abc': { stderr: LOWER_P },
  'run-p-80/xyz': { stderr: LOWER_P },
  'run-p-70000:80': { stderr: LOWER_P },
  'run-p-80-79:80': { stderr: LOWER_P },
  'run-p-8000-8002:80-81': { stderr: LOWER_P },
  'run-p-1.2.3:80:80': { stderr: `Docker 28 says "invalid IP address: 1.2.3"; 20.10 "Invalid ip address: 1.2.3", ${RUN_PERIOD}` },
  'run-p-0': {
    code: 'dockerd 20.10 accepts a container port 0 (and publishes nothing useful: there is nothing to forward to); newer daemons refuse it with "invalid port specification: \"0/tcp\"", as dockling does (ports.ts)',
    stderr: 'as its code: 20.10 runs the container and prints nothing',
  },
  'run-ip-default-bridge': {
    code: 'dockerd 20.10 silently ignores --ip without --network (the address is filed under the mode "default", which no endpoint reads) and runs the container; newer daemons refuse it with "user specified IP address is supported on user defined networks only", as dockling does (layer.ts)',
    stderr: 'as its code: 20.10 runs the container and prints nothing',
  },
  'network-inspect-bridge-ipam': {
    stdout: 'on its first start (no docker0 yet, as here) dockerd files the default bridge\'s IPAM config without its Gateway; once docker0 exists (every later start) it shows "Gateway": "172.17.0.1", as dockling always does',
  },
  'network-rm-nosuch': {
    stderr: 'the 20.10 client turns the 404 of DELETE /networks/nosuch into "No such network: nosuch" (its wrapResponseError); later clients return the daemon\'s error as it is, "network nosuch not found", as dockling does',
  },
  'run-network-nosuch': {
    stderr: `dockerd 20.10 finds the network missing only at start, after creating the container, and the CLI reports a start's error without the help line; dockling refuses it before anything is made (the validate stage), so it is a create's error with "See 'docker run --help'.", ${RUN_PERIOD}`,
  },
};

const { compare, both } = differential(daemon, () => c.root(), [ALLOWED]);

// --- normalisers of the steps' own -------------------------------------------

/** Ephemeral host ports (the kernel's ip_local_port_range: 32768-60999 by default; Docker's own 49153-65535 in older versions). */
const ephemeral = (s: string) => s.replace(/\b(\d{5})\b/g, (m) => (Number(m) >= 32768 ? '<EPH>' : m));
/** IPv4 addresses and subnets (each side's bridge has its own), MAC addresses. */
const addresses = (s: string) =>
  s
    .replace(/\b\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}(\/\d+)?\b/g, (m) => (m.startsWith('0.0.0.0') || m.startsWith('127.') ? m : '<IP>'))
    .replace(/\b([0-9a-f]{2}:){5}[0-9a-f]{2}\b/gi, '<MAC>');
/** `ip -o link`: the interfaces' names only. */
const linkNames = (s: string) =>
  s
    .split('\n')
    .map((l) => /^\d+: ([^:@]+)/.exec(l)?.[1])
    .filter(Boolean)
    .join('\n');
/** Lines in order of their text (where the order is each side's walk's). */
const sorted = (s: string) => s.split('\n').filter(Boolean).sort().join('\n');

// A container that stops promptly on SIGTERM (as PID 1 a shell ignores it
// unless it traps it).
const IDLE = ['sh', '-c', 'trap "exit 0" TERM; while :; do sleep 0.2; done'];

/** The steps that show one container's published ports, every way Docker shows them. */
function showPorts(name: string, extra: Step[] = []): Step[] {
  return [
    { id: `${name}-port`, args: ['port', name], norm: (s) => sorted(ephemeral(s)) },
    { id: `${name}-port-80`, args: ['port', name, '80'], norm: (s) => sorted(ephemeral(s)) },
    { id: `${name}-port-81-udp`, args: ['port', name, '81/udp'] },
    { id: `${name}-ps-ports`, args: ['ps', '--filter', `name=^${name}$`, '--format', '{{.Ports}}'], norm: ephemeral },
    { id: `${name}-inspect-ports`, args: ['inspect', '-f', '{{json .NetworkSettings.Ports}}', name], norm: ephemeral },
    { id: `${name}-network-mode`, args: ['inspect', '-f', '{{.HostConfig.NetworkMode}}', name] },
    { id: `${name}-port-bindings`, args: ['inspect', '-f', '{{json .HostConfig.PortBindings}}', name] },
    ...extra,
  ];
}

test('-p in its forms: port, ps PORTS, inspect\'s Ports, NetworkMode and PortBindings', { skip }, async () => {
  const report = newReport();
  const before = netState(c.root());
  const names = ['dp1', 'dp2', 'dp3', 'dp4', 'dp5', 'dp6', 'dp7'];
  try {
    await compare(
      [
        { id: 'run-p-8080-80', args: ['run', '-d', '--name', 'dp1', '-p', '8080:80', 'busybox', ...IDLE] },
        ...showPorts('dp1'),
        { id: 'run-p-80', args: ['run', '-d', '--name', 'dp2', '-p', '80', 'busybox', ...IDLE] },
        ...showPorts('dp2'),
        { id: 'run-p-ip--80', args: ['run', '-d', '--name', 'dp3', '-p', '127.0.0.1::80', 'busybox', ...IDLE] },
        ...showPorts('dp3'),
        { id: 'run-p-range', args: ['run', '-d', '--name', 'dp4', '-p', '8000-8001:80-81', 'busybox', ...IDLE] },
        ...showPorts('dp4', [{ id: 'dp4-port-81', args: ['port', 'dp4', '81'], norm: sorted }]),
        { id: 'run-P-expose', args: ['run', '-d', '--name', 'dp5', '-P', '--expose', '80', 'busybox', ...IDLE] },
        ...showPorts('dp5'),
        { id: 'run-p-udp-ip', args: ['run', '-d', '--name', 'dp6', '-p', '127.0.0.1:9000:90/udp', '-p', '9001:91/tcp', 'busybox', ...IDLE] },
        { id: 'dp6-port', args: ['port', 'dp6'], norm: sorted },
        { id: 'dp6-port-90-udp', args: ['port', 'dp6', '90/udp'] },
        { id: 'dp6-port-90', args: ['port', 'dp6', '90'] },
        { id: 'dp6-ps-ports', args: ['ps', '--filter', 'name=^dp6$', '--format', '{{.Ports}}'] },
        { id: 'dp6-inspect-ports', args: ['inspect', '-f', '{{json .NetworkSettings.Ports}}', 'dp6'] },
        { id: 'dp6-port-bindings', args: ['inspect', '-f', '{{json .HostConfig.PortBindings}}', 'dp6'] },
        { id: 'run-no-ports', args: ['run', '-d', '--name', 'dp7', 'busybox', ...IDLE] },
        { id: 'dp7-port', args: ['port', 'dp7'] },
        { id: 'dp7-port-80', args: ['port', 'dp7', '80'] },
        { id: 'dp7-inspect-ports', args: ['inspect', '-f', '{{json .NetworkSettings.Ports}} {{json .HostConfig.PortBindings}} {{.HostConfig.NetworkMode}}', 'dp7'] },
        // All of them at once: the column as ps prints it, in its order.
        { id: 'ps-table-ports', args: ['ps', '--format', 'table {{.Names}}\t{{.Ports}}'], norm: (s) => { const [h, ...rows] = ephemeral(s).split('\n'); return [h, sorted(rows.join('\n'))].join('\n'); } },
        { id: 'ps-ports-all', args: ['ps', '--format', '{{.Names}} {{.Ports}}'], norm: (s) => sorted(ephemeral(s)) },
        { id: 'port-nosuch', args: ['port', 'nosuch'] },
        { id: 'port-bad-proto', args: ['port', 'dp1', '80/xyz'] },
      ],
      report,
    );
  } finally {
    both(['rm', '-f', ...names]);
    await c.cleanupNet(before);
  }
  check(report);
});

test('-p errors: the messages and exit codes of bad specs', { skip }, async () => {
  const report = newReport();
  const before = netState(c.root());
  const specs = ['abc', '8080:abc', '1.2.3:80:80', '80/xyz', '8000-8002:80-81', '0', '70000:80', '80-79:80', ':80', '8080:80/tcp/udp'];
  try {
    await compare(
      specs.map((spec) => ({ id: `run-p-${spec}`, args: ['run', '--rm', '-p', spec, 'busybox', 'true'] })),
      report,
    );
  } finally {
    await c.cleanupNet(before);
  }
  check(report);
});

test('networks: ls, create, inspect, rm, connect, disconnect, --network, --ip, /etc/hosts, none', { skip }, async () => {
  const report = newReport();
  const before = netState(c.root());
  try {
    await compare(
      [
        { id: 'network-ls', args: ['network', 'ls'] },
        { id: 'network-create', args: ['network', 'create', 'labnet'] },
        { id: 'network-create-again', args: ['network', 'create', 'labnet'] },
        { id: 'network-ls-labnet', args: ['network', 'ls'] },
        { id: 'network-ls-format', args: ['network', 'ls', '--format', '{{.Name}} {{.Driver}} {{.Scope}}'] },
        { id: 'network-inspect-f', args: ['network', 'inspect', 'labnet', '-f', '{{.Driver}} {{.Scope}} {{.Internal}}'] },
        { id: 'network-inspect-bridge-f', args: ['network', 'inspect', 'bridge', '-f', '{{.Name}} {{.Driver}} {{.Scope}} {{.Internal}} {{.Attachable}} {{.EnableIPv6}}'] },
        { id: 'network-inspect-bridge-ipam', args: ['network', 'inspect', 'bridge', '-f', '{{json .IPAM}} {{json .Options}}'],
          // The default bridge's device is dockling0 on purpose (issue 14 names it so; `network ls` calls it bridge, as Docker does).
          norm: (s) => addresses(s).replace(/"dockling0"/g, '"docker0"') },
        { id: 'network-inspect-labnet-ipam', args: ['network', 'inspect', 'labnet', '-f', '{{json .IPAM}} {{.EnableIPv6}} {{.Attachable}} {{.Ingress}}'], norm: addresses },
        { id: 'network-inspect-nosuch', args: ['network', 'inspect', 'nosuch'] },
        { id: 'network-rm-nosuch', args: ['network', 'rm', 'nosuch'] },
        { id: 'network-rm-bridge', args: ['network', 'rm', 'bridge'] },
        { id: 'network-rm-none', args: ['network', 'rm', 'none'] },
        { id: 'run-d-n1', args: ['run', '-d', '--name', 'dn1', 'busybox', ...IDLE] },
        { id: 'disconnect-not-connected', args: ['network', 'disconnect', 'labnet', 'dn1'] },
        { id: 'connect', args: ['network', 'connect', 'labnet', 'dn1'] },
        { id: 'connect-again', args: ['network', 'connect', 'labnet', 'dn1'] },
        { id: 'inspect-networks', args: ['inspect', '-f', '{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}', 'dn1'] },
        { id: 'network-rm-in-use', args: ['network', 'rm', 'labnet'] },
        { id: 'disconnect', args: ['network', 'disconnect', 'labnet', 'dn1'] },
        { id: 'disconnect-nosuch-container', args: ['network', 'disconnect', 'labnet', 'nosuch'] },
        { id: 'connect-nosuch-network', args: ['network', 'connect', 'nosuch', 'dn1'] },
        { id: 'run-network-nosuch', args: ['run', '--rm', '--network', 'nosuch', 'busybox', 'true'] },
        { id: 'run-ip-default-bridge', args: ['run', '--rm', '--ip', '172.17.0.50', 'busybox', 'true'] },
        { id: 'run-etc-hosts', args: ['run', '--rm', 'busybox', 'cat', '/etc/hosts'], norm: addresses },
        { id: 'run-none-links', args: ['run', '--rm', '--network', 'none', 'busybox', 'ip', '-o', 'link'], norm: linkNames },
        { id: 'run-none-mode', args: ['run', '--name', 'dn2', '--network', 'none', 'busybox', 'true'] },
        { id: 'inspect-none-mode', args: ['inspect', '-f', '{{.HostConfig.NetworkMode}} {{json .NetworkSettings.Ports}}', 'dn2'] },
        { id: 'rm-dn2', args: ['rm', 'dn2'] },
        { id: 'rm-dn1', args: ['rm', '-f', 'dn1'] },
        { id: 'network-rm', args: ['network', 'rm', 'labnet'] },
        { id: 'network-ls-after', args: ['network', 'ls'] },
      ],
      report,
    );
  } finally {
    both(['rm', '-f', 'dn1', 'dn2']);
    both(['network', 'rm', 'labnet']);
    await c.cleanupNet(before);
  }
  check(report);
});
