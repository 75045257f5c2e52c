// Chapter 3's demo steps, in order: they build on each other (the container
// `u1` made in step 2 is looked at from the host, diffed and committed by
// the next ones), so run them from the first. The walkthrough (`dockling
// walkthrough 3`) runs them interactively; test/chapters/03-aufs/demo.test.ts
// runs them unattended. With `--chapter 2` (no image layer) every step
// fails: there are no images, and no aufs.
import { lines, ran, type DemoStep } from '../demo.js';

export const steps: DemoStep[] = [
  {
    title: 'The storage driver is aufs',
    section: '#6-two-drivers-one-store',
    code: 'runtime/storage/choose.ts#choose-driver',
    hostView: ['storage'],
    look:
      "With chapters 1..3, aufs is the only storage driver dockling has, so it is the one in use. `info` shows it " +
      "as Docker did: where its layers live (Root Dir), the filesystem under them, how many layer directories " +
      'there are (Dirs), and Dirperm1.',
    args: ['info'],
    check(r) {
      const bad = ran(r);
      if (bad) return bad;
      if (!/ Storage Driver: aufs\n {2}Root Dir: .*\/aufs\n {2}Backing Filesystem: \w+\n {2}Dirs: \d+\n {2}Dirperm1 Supported: true\n/.test(r.stdout)) return 'no aufs block in info';
      return null;
    },
  },
  {
    title: 'A container writes on its own branch',
    section: '#mounting-and-the-one-server',
    code: 'runtime/storage/aufs-client.ts#mount-union',
    hostView: ['storage'],
    look:
      "The container's root is a FUSE mount of type fuse.aufs: three branches, the container's own (writable), " +
      "its init layer, busybox's layer. Writing /etc/motd copies nothing (it is new); deleting /bin/vi cannot touch " +
      "busybox's layer, so aufs hides it with a whiteout. Watch the trace: the mount(2), then the server's answers.",
    args: ['--trace', 'run', '--name', 'u1', 'busybox', 'sh', '-c', "echo hi > /etc/motd; rm /bin/vi; grep ' / ' /proc/mounts"],
    check(r) {
      const bad = ran(r);
      if (bad) return bad;
      if (!/^aufs \/ fuse\.aufs /m.test(r.stdout)) return `the root is not a fuse.aufs mount: ${r.stdout.trim()}`;
      if (!r.trace.some((e) => e.op === 'mount' && e.fstype === 'fuse.aufs')) return 'the trace shows no mount of the union';
      if (!r.trace.some((e) => e.op === 'whiteout' && e.path === '/bin/vi')) return 'the trace shows no whiteout of /bin/vi';
      return null;
    },
  },
  {
    title: 'The whiteout is a file',
    section: '#deleting',
    code: 'runtime/storage/aufs-union.ts#whiteout',
    hostView: ['storage'],
    look:
      "On the host, the container's branch is a plain directory under aufs/diff. /bin/vi's deletion is an empty " +
      'file named .wh.vi next to where vi was: the OCI layer format took exactly this convention from aufs.',
    args: [],
    host: ['find', '{root}/aufs/diff', '-name', '.wh.*'],
    check(r) {
      if (r.code !== 0) return `find failed: ${r.stderr.trim()}`;
      if (!lines(r.stdout).some((l) => /\/aufs\/diff\/[0-9a-f]{64}\/bin\/\.wh\.vi$/.test(l))) return 'no bin/.wh.vi in a branch';
      return null;
    },
  },
  {
    title: 'Each layer lists the layers under it',
    section: '#5-dockers-layout',
    code: 'runtime/storage/aufs.ts#create',
    hostView: ['storage'],
    look:
      "aufs/layers/<id> names a layer's parents, one a line, topmost first. The container's layer sits on its " +
      "init layer (<id>-init), which sits on busybox's. These are the branches of the union, in order.",
    args: [],
    host: ['grep', '-r', '.', '{root}/aufs/layers'],
    check(r) {
      if (r.code !== 0) return `grep failed: ${r.stderr.trim()}`;
      if (!lines(r.stdout).some((l) => /\/layers\/([0-9a-f]{64}):\1-init$/.test(l))) return "no layer whose first parent is its -init layer";
      return null;
    },
  },
  {
    title: 'diff reads the branch',
    section: '#5-dockers-layout',
    code: 'runtime/storage/aufs.ts#changes',
    hostView: ['storage'],
    look: 'A for added, C for changed (a directory something changed in), D for deleted: the whiteout, read back as a deletion.',
    args: ['diff', 'u1'],
    check(r) {
      const bad = ran(r);
      if (bad) return bad;
      const got = lines(r.stdout);
      for (const want of ['C /bin', 'D /bin/vi', 'C /etc', 'A /etc/motd']) if (!got.includes(want)) return `diff lacks "${want}"`;
      return null;
    },
  },
  {
    title: 'commit makes the branch a layer',
    section: '#5-dockers-layout',
    code: 'runtime/image/container-commands.ts#commit',
    hostView: ['storage'],
    look: "The branch is packed as it is, .wh.vi and all, into a layer tar; the new image is busybox's layer plus this one.",
    args: ['commit', 'u1', 'mine:aufs'],
    check(r) {
      const bad = ran(r);
      if (bad) return bad;
      if (!/^sha256:[0-9a-f]{64}$/.test(r.stdout.trim())) return `no image ID: ${r.stdout.trim()}`;
      return null;
    },
  },
  {
    title: 'Every lookup goes through the branches',
    section: '#2-aufss-rules',
    code: 'runtime/storage/aufs-union.ts#lookup',
    hostView: ['storage'],
    look:
      'The trace of a new container of the committed image: FUSE_LOOKUP of /etc/motd answered by branch 2 (the ' +
      "committed layer), /bin/vi not found (the whiteout hides busybox's copy in branch 3).",
    args: ['--trace', 'run', '--rm', 'mine:aufs', 'sh', '-c', 'cat /etc/motd; ls /bin/vi'],
    check(r) {
      if (r.code === 0) return 'ls /bin/vi should have failed';
      if (r.stdout !== 'hi\n') return `not the committed file: ${JSON.stringify(r.stdout)}`;
      if (!r.trace.some((e) => e.op === 'fuse' && e.request === 'LOOKUP' && e.path === '/etc/motd (branch 2)')) return 'no LOOKUP of /etc/motd answered by branch 2';
      if (!r.trace.some((e) => e.op === 'fuse' && e.request === 'LOOKUP' && e.path === '/bin/vi' && e.reply === 'ENOENT')) return 'no LOOKUP of /bin/vi answered ENOENT';
      return null;
    },
  },
  {
    title: 'An opaque directory',
    section: '#deleting',
    code: 'runtime/storage/aufs-union.ts#opaque-mkdir',
    hostView: ['storage'],
    look:
      'rm -rf /usr and mkdir /usr again: the new /usr must not show what busybox had in it. aufs marks the new ' +
      'directory opaque (a file .wh..wh..opq in it), so lookups stop there instead of going on to the lower branches.',
    args: ['--trace', 'run', '--rm', 'busybox', 'sh', '-c', 'ls /usr; rm -rf /usr; mkdir /usr; ls -a /usr'],
    check(r) {
      const bad = ran(r);
      if (bad) return bad;
      if (!/^bin\nsbin\n\.\n\.\.\n$/.test(r.stdout)) return `expected bin, sbin, then an empty /usr: ${JSON.stringify(r.stdout)}`;
      if (!r.trace.some((e) => e.op === 'whiteout' && e.path === '/usr')) return 'the trace shows no whiteout of /usr (the directory the new one replaces)';
      return null;
    },
  },
  {
    title: 'rm takes the branch away',
    section: '#unmounting-and-a-dead-server',
    code: 'runtime/storage/layer-dirs.ts#unmount',
    hostView: ['storage'],
    look: "Removing the container removes its branch, its init branch and their layers/ files; the committed image keeps its own copy.",
    args: ['rm', 'u1'],
    check(r) {
      const bad = ran(r);
      if (bad) return bad;
      if (r.stdout.trim() !== 'u1') return `rm said ${r.stdout.trim()}`;
      return null;
    },
  },
];
