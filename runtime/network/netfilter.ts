// Netfilter rules as Docker sets them up, in chains named after dockling so
// that `iptables -t nat -S` shows them and they are easy to tell apart.
//
//   nat PREROUTING  -m addrtype --dst-type LOCAL -j DOCKLING     packets for the host's addresses
//   nat OUTPUT      -m addrtype --dst-type LOCAL -j DOCKLING     the host's own, 127.0.0.1 included
//   nat DOCKLING    ! -i BR -p tcp --dport 8080 -j DNAT --to-destination 172.17.0.2:80
//   nat POSTROUTING -s SUBNET ! -o BR -j MASQUERADE              containers going out
//   nat POSTROUTING -o BR -m addrtype --src-type LOCAL -j MASQUERADE   the host's 127.0.0.1, hairpinned
//   filter FORWARD  -j DOCKLING-USER, -j DOCKLING-ISOLATION-STAGE-1, and per bridge accept rules
//   raw PREROUTING  -i BR -d 127.0.0.0/8 -j DROP                 nothing reaches the host's loopback from a bridge
//
// Every rule is added only if `iptables -C` does not find it, so setting a
// network up twice adds nothing; removal deletes only what exists.
import { chainExists, iptables, iptablesCheck, sysctl } from './host-commands.js';
import type { PublishedPort } from './ports.js';

export interface BridgeNet { id: string; name: string; bridge: string; subnet: string; gateway: string; internal?: boolean }

/** A rule: table, chain, and the match/target words after the chain. */
type Rule = [table: string, chain: string, spec: string[]];

function ensure([table, chain, spec]: Rule, position: 'append' | 'insert' = 'append'): void {
  if (iptablesCheck(table, chain, spec)) return;
  iptables(['-t', table, position === 'append' ? '-A' : '-I', chain, ...spec]);
}

function remove([table, chain, spec]: Rule): void {
  while (iptablesCheck(table, chain, spec)) iptables(['-t', table, '-D', chain, ...spec]);
}

/** A chain of dockling's own; one made already is fine. */
function ensureChain(table: string, chain: string): void {
  if (!chainExists(table, chain)) iptables(['-t', table, '-N', chain]);
}

/**
 * The kernel's router switch: without it the host drops every packet not
 * addressed to itself, so nothing would go from a container out, or from a
 * published port in. It is one switch for the whole network namespace (the
 * host's, in real use): Docker turns it on too, and leaves it on.
 */
export function enableForwarding(): void {
  sysctl('net.ipv4.ip_forward', '1');
}

// #region base-rules
/**
 * dockling's chains and the jumps into them, made once. PREROUTING and
 * OUTPUT send packets for any of the host's own addresses to DOCKLING,
 * where each published port has its DNAT rule; FORWARD goes through
 * DOCKLING-USER (yours, as DOCKER-USER is) and the isolation chains first.
 */
export function ensureBaseRules(): void {
  ensureChain('nat', 'DOCKLING');
  ensureChain('filter', 'DOCKLING');
  ensureChain('filter', 'DOCKLING-USER');
  ensureChain('filter', 'DOCKLING-ISOLATION-STAGE-1');
  ensureChain('filter', 'DOCKLING-ISOLATION-STAGE-2');
  ensure(['nat', 'PREROUTING', ['-m', 'addrtype', '--dst-type', 'LOCAL', '-j', 'DOCKLING']]);
  ensure(['nat', 'OUTPUT', ['-m', 'addrtype', '--dst-type', 'LOCAL', '-j', 'DOCKLING']]);
  ensure(['filter', 'DOCKLING-USER', ['-j', 'RETURN']]);
  ensure(['filter', 'DOCKLING-ISOLATION-STAGE-1', ['-j', 'RETURN']]);
  ensure(['filter', 'DOCKLING-ISOLATION-STAGE-2', ['-j', 'RETURN']]);
  // First in FORWARD, in this order: the user's chain, then isolation.
  ensure(['filter', 'FORWARD', ['-j', 'DOCKLING-ISOLATION-STAGE-1']], 'insert');
  ensure(['filter', 'FORWARD', ['-j', 'DOCKLING-USER']], 'insert');
}
// #endregion base-rules

/** One bridge's rules (ensureNetworkRules adds them, removeNetworkRules takes them away). */
function networkRules(net: BridgeNet): Rule[] {
  const br = net.bridge;
  const rules: Rule[] = [
    // Containers' own traffic out: the source becomes the host's address.
    ...(net.internal ? [] : [['nat', 'POSTROUTING', ['-s', net.subnet, '!', '-o', br, '-j', 'MASQUERADE']] as Rule]),
    // Hairpin: the host's own 127.0.0.1 (or any local address) to a
    // published port goes out the bridge with a source the container can
    // answer.
    ['nat', 'POSTROUTING', ['-o', br, '-m', 'addrtype', '--src-type', 'LOCAL', '-j', 'MASQUERADE']],
    // Packets from the bridge itself skip the DNAT chain: a container
    // reaching a published port through the host's address would be sent
    // back to itself.
    ['nat', 'DOCKLING', ['-i', br, '-j', 'RETURN']],
    ['filter', 'FORWARD', ['-o', br, '-m', 'conntrack', '--ctstate', 'RELATED,ESTABLISHED', '-j', 'ACCEPT']],
    ['filter', 'FORWARD', ['-o', br, '-j', 'DOCKLING']],
    ...(net.internal
      ? [['filter', 'FORWARD', ['-i', br, '!', '-o', br, '-j', 'DROP']] as Rule]
      : [['filter', 'FORWARD', ['-i', br, '!', '-o', br, '-j', 'ACCEPT']] as Rule]),
    ['filter', 'FORWARD', ['-i', br, '-o', br, '-j', 'ACCEPT']],
    // Isolation: leaving this bridge for another of dockling's is dropped.
    ['filter', 'DOCKLING-ISOLATION-STAGE-1', ['-i', br, '!', '-o', br, '-j', 'DOCKLING-ISOLATION-STAGE-2']],
    ['filter', 'DOCKLING-ISOLATION-STAGE-2', ['-o', br, '-j', 'DROP']],
    // #region loopback-guard
    // route_localnet (below) lets the bridge accept packets for 127.0.0.0/8,
    // which hairpin NAT needs; a container must not use it to reach what the
    // host serves on loopback alone: those are dropped before routing.
    ['raw', 'PREROUTING', ['-i', br, '-d', '127.0.0.0/8', '-j', 'DROP']],
    // #endregion loopback-guard
  ];
  return rules;
}

// #region network-rules
/**
 * A bridge's rules, added once: masquerade for its subnet, the hairpin,
 * forwarding to and from it, isolation from dockling's other bridges,
 * and route_localnet, without which the kernel drops a packet from
 * 127.0.0.1 that leaves through the bridge (a "martian").
 */
export function ensureNetworkRules(net: BridgeNet, _others: BridgeNet[] = []): void {
  for (const r of networkRules(net)) {
    // Isolation rules go before the chain's final RETURN.
    const [table, chain] = r;
    ensure(r, chain.startsWith('DOCKLING-ISOLATION') || (table === 'raw') ? 'insert' : 'append');
  }
  sysctl(`net.ipv4.conf.${net.bridge}.route_localnet`, '1');
}
// #endregion network-rules

export function removeNetworkRules(net: BridgeNet): void {
  for (const r of networkRules(net)) remove(r);
}

// #region port-rules
/**
 * A published port, two rules: the DNAT that sends HOSTIP:HOSTPORT to the
 * container, and the filter rule that lets it through FORWARD. 0.0.0.0
 * means every local address, so the DNAT names none.
 */
function portRules(net: BridgeNet, containerIp: string, p: PublishedPort): Rule[] {
  const dst = p.hostIp && p.hostIp !== '0.0.0.0' ? ['-d', `${p.hostIp}/32`] : [];
  return [
    ['nat', 'DOCKLING', [...dst, '!', '-i', net.bridge, '-p', p.proto, '-m', p.proto, '--dport', String(p.hostPort), '-j', 'DNAT', '--to-destination', `${containerIp}:${p.containerPort}`]],
    ['filter', 'DOCKLING', ['-d', `${containerIp}/32`, '!', '-i', net.bridge, '-o', net.bridge, '-p', p.proto, '-m', p.proto, '--dport', String(p.containerPort), '-j', 'ACCEPT']],
  ];
}
// #endregion port-rules

export function addPortRules(net: BridgeNet, containerIp: string, ports: PublishedPort[]): void {
  for (const p of ports.filter((x) => !x.hostIp.includes(':'))) for (const r of portRules(net, containerIp, p)) ensure(r);
}

/** Called with what was recorded, also after a crash: rules already gone are fine. */
export function removePortRules(net: BridgeNet, containerIp: string, ports: PublishedPort[]): void {
  for (const p of ports.filter((x) => !x.hostIp.includes(':'))) for (const r of portRules(net, containerIp, p)) remove(r);
}
