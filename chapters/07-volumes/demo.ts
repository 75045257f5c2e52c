// Chapter 7's demo steps, in order: a named volume made and looked at, data
// that outlives the container that wrote it (seen from the host in _data),
// a read-only mount, a bind mount of a host directory, an anonymous volume
// shared with --volumes-from, a tmpfs of a given size, and the clean-up:
// rm -v, prune, volume rm. test/chapters/07-volumes/demo.test.ts runs them
// unattended; with `--chapter 6` every step fails: -v, --mount, --tmpfs,
// --volumes-from and `volume` do not exist there.
import { lines, ran, type DemoStep, type StepResult } from '../demo.js';

const seen: { anonymous?: string } = {};

/** The step's trace must show a mount of `what` onto a path ending in `at`, made in the container's init. */
function mountIn(r: StepResult, what: RegExp, at: string): string | null {
  const found = r.trace.some((e) => e.op === 'mount' && what.test(e.source) && e.target.endsWith(at));
  return found ? null : `the trace should show the mount of ${what} onto ${at}`;
}

export const steps: DemoStep[] = [
  {
    title: 'volume create notes: a place for files that is not a container’s',
    section: '#making-a-volume-one-record-written-last',
    code: 'runtime/volume/store.ts#create-volume',
    look: 'A volume is a directory dockling keeps under its state root, volumes/notes/_data. Nothing is mounted yet: it is made, empty, and named.',
    args: ['volume', 'create', 'notes'],
    check: (r) => ran(r) ?? (r.stdout.trim() === 'notes' ? null : `volume create prints the name: ${r.stdout}`),
  },
  {
    title: 'volume inspect notes',
    section: '#11-the-commands-inspects-mounts-and-pss-mounts',
    code: 'runtime/volume/volume-commands.ts#volume-inspect',
    look: 'Docker’s fields: the local driver, its Mountpoint on the host (the _data directory), CreatedAt, no labels, no options, a local scope.',
    args: ['volume', 'inspect', 'notes'],
    check(r) {
      const bad = ran(r);
      if (bad) return bad;
      const [v] = JSON.parse(r.stdout) as { Driver: string; Mountpoint: string; Name: string; Scope: string }[];
      if (v.Driver !== 'local' || v.Name !== 'notes' || v.Scope !== 'local') return `Driver local, Name notes, Scope local: ${r.stdout}`;
      return v.Mountpoint.endsWith('/volumes/notes/_data') ? null : `the Mountpoint is volumes/notes/_data: ${v.Mountpoint}`;
    },
  },
  {
    title: 'run --rm -v notes:/data: write through the volume',
    section: '#how--v-is-read',
    code: 'runtime/volume/parse.ts#bind-or-volume',
    look: 'The init bind-mounted volumes/notes/_data onto the container’s /data (see the mount in the trace). The container is removed when it ends; the file is not.',
    args: ['run', '--rm', '-v', 'notes:/data', 'busybox', 'sh', '-c', 'echo kept > /data/f'],
    check: (r) => ran(r) ?? mountIn(r, /volumes\/notes\/_data$/, '/data'),
  },
  {
    title: 'host: cat volumes/notes/_data/f',
    section: '#where-a-volume-lives',
    code: 'runtime/volume/store.ts#volume-name',
    look: 'From the host, the file the removed container wrote: a volume outlives its containers.',
    args: [],
    host: ['cat', '{root}/volumes/notes/_data/f'],
    check: (r) => ran(r) ?? (r.stdout === 'kept\n' ? null : `the file should say "kept": ${r.stdout}`),
  },
  {
    title: 'run -v notes:/data:ro: read, and a write refused',
    section: '#ro-is-a-second-mount-call',
    code: 'runtime/process/init.ts#mount-entry',
    look: 'The mount is read-only (a second mount call, MS_REMOUNT|MS_RDONLY, in the trace): the kernel refuses the write with EROFS.',
    args: ['run', '--rm', '-v', 'notes:/data:ro', 'busybox', 'sh', '-c', 'cat /data/f; touch /data/g'],
    check: (r) => ran(r, 1) ?? (/^kept\n/.test(r.stdout) && /Read-only file system/.test(r.stderr) ? null : `cat works, touch fails with EROFS: ${r.stdout} ${r.stderr}`),
  },
  {
    title: 'run -v {root}/labdir:/src -w /src: a bind mount of a host directory',
    section: '#4-bind-mounts-ro-and-propagation',
    code: 'runtime/volume/layer.ts#mount-spec',
    look: '-v with a host path mounts that directory itself; a missing one is made first (the -v rule; --mount would refuse). What the container writes is on the host at once.',
    args: ['run', '--rm', '-v', '{root}/labdir:/src', '-w', '/src', 'busybox', 'sh', '-c', 'echo from-the-container > note; ls'],
    check: (r) => ran(r) ?? mountIn(r, /\/labdir$/, '/src') ?? (lines(r.stdout).includes('note') ? null : `ls shows the new file: ${r.stdout}`),
  },
  {
    title: 'host: cat labdir/note',
    section: '#4-bind-mounts-ro-and-propagation',
    code: 'runtime/volume/layer.ts#mount-spec',
    look: 'The container is gone; what it wrote through the bind mount is in the host directory.',
    args: [],
    host: ['cat', '{root}/labdir/note'],
    check: (r) => ran(r) ?? (r.stdout === 'from-the-container\n' ? null : `the note the container wrote: ${r.stdout}`),
  },
  {
    title: 'run --name c1 -v /data: an anonymous volume',
    section: '#9-anonymous-volumes-image-volumes---volumes-from',
    code: 'runtime/volume/layer.ts#mount-points',
    look: 'No name before the colon: a new volume named by 64 hex digits, made for this container (and removed with it by rm -v or --rm).',
    args: ['run', '--name', 'c1', '-v', '/data', 'busybox', 'sh', '-c', 'echo shared > /data/s'],
    check: (r) => ran(r),
  },
  {
    title: 'volume ls',
    section: '#11-the-commands-inspects-mounts-and-pss-mounts',
    code: 'runtime/volume/volume-commands.ts#volume-filters',
    look: 'Both volumes, local: notes, and c1’s anonymous one.',
    args: ['volume', 'ls'],
    check(r) {
      const bad = ran(r);
      if (bad) return bad;
      const anon = lines(r.stdout).map((l) => /^local\s+([0-9a-f]{64})$/.exec(l)?.[1]).find(Boolean);
      if (!anon) return `an anonymous volume (64 hex) is listed: ${r.stdout}`;
      seen.anonymous = anon;
      return /^local\s+notes$/m.test(r.stdout) ? null : `notes is listed: ${r.stdout}`;
    },
  },
  {
    title: 'run --rm --volumes-from c1: the same volume, in another container',
    section: '#--volumes-from',
    code: 'runtime/volume/layer.ts#mount-points',
    look: 'c1 has exited; its volume is still there, and --volumes-from mounts each of its mounts at the same place.',
    args: ['run', '--rm', '--volumes-from', 'c1', 'busybox', 'cat', '/data/s'],
    check: (r) => ran(r) ?? (r.stdout === 'shared\n' ? null : `the file c1 wrote: ${r.stdout}`),
  },
  {
    title: 'run --rm --mount type=tmpfs,dst=/scratch,tmpfs-size=16m: memory, sized',
    section: '#7-tmpfs-and-the-local-drivers-options',
    code: 'runtime/volume/parse.ts#mount-keys',
    look: 'A tmpfs holds its files in memory and ends with the container; df shows the size asked: 16384 KiB.',
    args: ['run', '--rm', '--mount', 'type=tmpfs,dst=/scratch,tmpfs-size=16m', 'busybox', 'df', '/scratch'],
    check: (r) => ran(r) ?? (/tmpfs\s+16384\s/.test(r.stdout) ? null : `df shows a 16384 KiB tmpfs: ${r.stdout}`),
  },
  {
    title: 'rm -v c1: the container, and its anonymous volume',
    section: '#anonymous-volumes-go-with-their-container-when-asked',
    code: 'runtime/volume/release.ts#remove-anonymous',
    look: 'Without -v the anonymous volume would stay behind, dangling; with it, it goes. notes stays: a named volume is never removed by a container’s end.',
    args: ['rm', '-v', 'c1'],
    check: (r) => ran(r) ?? (r.trace.some((e) => e.op === 'rename' && /\/volumes\/[0-9a-f]{64}$/.test(e.from)) ? null : 'the trace should show the anonymous volume taken out of volumes/'),
  },
  {
    title: 'volume ls -q: only notes is left',
    section: '#10-a-volumes-life---rm-rm--v-volume-rm-prune',
    code: 'runtime/volume/store.ts#volume-users',
    look: 'The anonymous volume went with c1.',
    args: ['volume', 'ls', '-q'],
    check: (r) => ran(r) ?? (r.stdout === 'notes\n' ? null : `only notes: ${r.stdout}${seen.anonymous ? ` (not ${seen.anonymous})` : ''}`),
  },
  {
    title: 'volume prune -f: nothing to prune',
    section: '#why-prune-leaves-named-volumes',
    code: 'runtime/volume/store.ts#prune-volumes',
    look: 'prune removes unused anonymous volumes (and unused named ones with --all): notes is named, so it stays.',
    args: ['volume', 'prune', '-f'],
    check: (r) => ran(r) ?? (/Total reclaimed space/.test(r.stdout) ? null : `prune reports what it reclaimed: ${r.stdout}`),
  },
  {
    title: 'volume rm notes',
    section: '#10-a-volumes-life---rm-rm--v-volume-rm-prune',
    code: 'runtime/volume/store.ts#remove-volume',
    look: 'Removed by name, _data and all: nothing uses it.',
    args: ['volume', 'rm', 'notes'],
    check: (r) => ran(r) ?? (r.stdout === 'notes\n' ? null : `volume rm prints the name: ${r.stdout}`),
  },
];
