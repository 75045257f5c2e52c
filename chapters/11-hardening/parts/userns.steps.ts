// Chapter 11, user namespaces: demo steps (assembled by the lead into
// chapters/11-hardening/demo.ts). Every step uses `--userns-remap default`,
// which, like dockerd's, makes the user and group "dockremap" and gives them
// a range in /etc/subuid and /etc/subgid when they have none: a change to
// the host. `saveRemapHost()` (below) is for whoever runs the steps
// unattended: call it before the first step and its result after the last.
// With --chapter 10 every step fails: the flag is ignored there.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { lines, ran, type DemoStep } from '../../demo.js';

const REMAP = ['--userns-remap', 'default'];
const seen: { hostID?: string } = {};

export const steps: DemoStep[] = [
  {
    title: 'userns-remap: root inside, uid 100000 outside',
    section: '#--userns-remap-whose-ids',
    code: 'runtime/security/userns/remap.ts#default-user',
    look:
      'id says root, but /proc/self/uid_map says what root is: "0 100000 65536" reads "uid 0 here is uid 100000 on the ' +
      'host, and so on for 65536 ids". The range is dockremap\'s, from /etc/subuid. With --chapter 10 the map is ' +
      '"0 0 4294967295": every id is the host\'s own.',
    args: [...REMAP, 'run', '--rm', 'busybox', 'sh', '-c', 'id; cat /proc/self/uid_map'],
    check(r) {
      const bad = ran(r);
      if (bad) return bad;
      const [id, map] = lines(r.stdout);
      if (!/^uid=0\(root\)/.test(id ?? '')) return `id should say uid=0(root): ${id}`;
      const m = /^\s*0\s+(\d+)\s+65536\s*$/.exec(map ?? '');
      if (!m || m[1] === '0') return `uid_map should map 0 to a subordinate uid, 65536 of them: ${map}`;
      seen.hostID = m[1];
      return null;
    },
  },
  {
    title: "root's capabilities stop at the namespace's edge",
    section: '#the-door-closed-1',
    code: 'runtime/security/userns.ts#userns-prepare',
    look:
      "/etc/hostname is the host's file (bind-mounted from the container's state directory), owned by host root, which " +
      'this namespace does not map: it shows as nobody (65534), and root inside, all capabilities and all, may not ' +
      'write it: CAP_DAC_OVERRIDE counts only for files whose owner the namespace maps.',
    args: [...REMAP, 'run', '--rm', 'busybox', 'sh', '-c', 'ls -ln /etc/hostname; ( : >> /etc/hostname ) 2>&1 && echo written || echo refused'],
    check(r) {
      const bad = ran(r);
      if (bad) return bad;
      const out = lines(r.stdout);
      if (!/\s65534\s+65534\s/.test(out[0] ?? '')) return `/etc/hostname should show as 65534:65534 inside: ${out[0]}`;
      if (out.at(-1) !== 'refused' || !/Permission denied/.test(r.stdout)) return `writing /etc/hostname should be refused (Permission denied): ${r.stdout}`;
      return null;
    },
  },
  {
    title: '--userns host: one container opts out',
    section: '#--userns-remap-whose-ids',
    code: 'runtime/security/userns.ts#userns-prepare',
    look:
      'The same remapped dockling, but this container has no user namespace: the map is the identity again, root is ' +
      "the host's (inspect shows UsernsMode \"host\"), and the files of the remapped store show their real owners: " +
      'busybox belongs to 100000, because the layer was unpacked for the remapped root.',
    args: [...REMAP, 'run', '--rm', '--userns', 'host', 'busybox', 'sh', '-c', 'cat /proc/self/uid_map; ls -ln /bin/busybox'],
    check(r) {
      const bad = ran(r);
      if (bad) return bad;
      const [map, ls] = lines(r.stdout).map((l) => l.trim().split(/\s+/));
      if (map?.join(' ') !== '0 0 4294967295') return `without a user namespace the map is the identity, "0 0 4294967295": ${map?.join(' ')}`;
      if (ls?.[2] !== seen.hostID) return `busybox should be owned by the remapped root (${seen.hostID}): ${ls?.join(' ')}`;
      return null;
    },
  },
];

/**
 * What the steps change on the host, saved; the function it returns puts it
 * back: removes dockremap if the steps made it, and restores /etc/subuid,
 * /etc/subgid and the account files' backups byte for byte.
 */
export function saveRemapHost(): () => void {
  const files = ['/etc/subuid', '/etc/subgid', '/etc/passwd-', '/etc/group-', '/etc/shadow-', '/etc/gshadow-'];
  const saved = files.map((f) => ({ f, text: fs.existsSync(f) ? fs.readFileSync(f) : null, mode: fs.existsSync(f) ? fs.statSync(f).mode & 0o7777 : 0 }));
  const has = (db: string) => spawnSync('getent', [db, 'dockremap']).status === 0;
  const [hadUser, hadGroup] = [has('passwd'), has('group')];
  return () => {
    if (!hadUser && has('passwd')) spawnSync('userdel', ['dockremap']);
    if (!hadGroup && has('group')) spawnSync('groupdel', ['dockremap']);
    for (const s of saved) {
      if (s.text === null) fs.rmSync(s.f, { force: true });
      else fs.writeFileSync(s.f, s.text), fs.chmodSync(s.f, s.mode);
    }
  };
}
