// Chapter 4's demo steps, in order: they build on each other (the container
// `web` made in step 2 is diffed, committed and exported by the next ones),
// so run them from the first. The walkthrough (`dockling walkthrough 4`)
// runs them interactively; test/chapters/04-overlay2/demo.test.ts runs them
// unattended. With `--chapter 3` (no image layer) every step fails: there
// are no image commands, and `run` makes no overlay mount.
import { lines, ran, type DemoStep, type StepResult } from '../demo.js';

/** what earlier steps learned, for the checks of later ones */
const seen: { commitId?: string } = {};

const hex12 = /^[0-9a-f]{12}$/;

/** The overlay mount(2) of the step's run, from the trace. */
function overlayMount(r: StepResult) {
  return r.trace.find((e) => e.op === 'mount' && e.fstype === 'overlay') as Extract<StepResult['trace'][number], { op: 'mount' }> | undefined;
}

export const steps: DemoStep[] = [
  {
    title: 'An image is there from the start',
    section: '#1-an-image-is-a-config-and-a-list-of-layers',
    code: 'runtime/core/digest.ts#chain-id',
    hostView: ['storage'],
    look:
      'busybox is a real image: one layer packed from the host\'s busybox-static, a config, a name. Its IMAGE ID ' +
      'is the first 12 hex digits of the sha256 of its config, so the same busybox gives the same ID on every machine.',
    args: ['images'],
    check(r) {
      const bad = ran(r);
      if (bad) return bad;
      const [head, ...rows] = lines(r.stdout);
      if (!/^REPOSITORY\s+TAG\s+IMAGE ID\s+CREATED\s+SIZE$/.test(head ?? '')) return `not the images table: ${JSON.stringify(head)}`;
      const bb = rows.map((l) => l.split(/\s{2,}/)).find((c) => c[0] === 'busybox');
      if (!bb) return 'busybox is not listed';
      if (bb[1] !== 'latest' || !hex12.test(bb[2])) return `busybox's row looks wrong: ${bb.join(' | ')}`;
      return null;
    },
  },
  {
    title: 'A container writes on its own layer',
    section: '#5-a-containers-layers',
    code: 'runtime/image/layer.ts#mount-rootfs',
    hostView: ['storage'],
    look:
      'The root inside is an overlay mount: the image\'s layers as lowerdir (read-only), the container\'s own ' +
      'diff directory as upperdir. Writing /www and deleting /bin/vi change only the upper layer: the image is ' +
      'untouched. Without --rm the container is kept after it exits, and its layer with it.',
    args: ['run', '--name', 'web', 'busybox', 'sh', '-c', "echo hi > /www; rm /bin/vi; grep ' / ' /proc/mounts | cut -d, -f1"],
    check(r) {
      const bad = ran(r);
      if (bad) return bad;
      if (!/^overlay \/ overlay/m.test(r.stdout)) return `the container's root is not an overlay mount: ${r.stdout.trim()}`;
      const m = overlayMount(r);
      if (!m || !/lowerdir=.*upperdir=.*workdir=/.test(m.data)) return 'the trace shows no overlay mount with lowerdir, upperdir and workdir';
      return null;
    },
  },
  {
    title: 'diff: what the container changed',
    section: '#6-diff-and-commit',
    code: 'runtime/image/container-commands.ts#diff',
    hostView: ['storage'],
    look:
      'dockling reads the upper directory alone: /www is new (A), /bin/vi is a whiteout, a 0/0 character device that ' +
      'hides the lower file (D), and /bin had to be copied up to hold that whiteout (C).',
    args: ['diff', 'web'],
    check(r) {
      const bad = ran(r);
      if (bad) return bad;
      const got = lines(r.stdout);
      for (const want of ['A /www', 'C /bin', 'D /bin/vi']) if (!got.includes(want)) return `"${want}" is missing from diff: ${got.join(', ')}`;
      if (got.length !== 3) return `diff should list exactly 3 changes, it lists ${got.length}: ${got.join(', ')}`;
      return null;
    },
  },
  {
    title: 'commit: the changes become a layer',
    section: '#6-diff-and-commit',
    code: 'runtime/image/container-commands.ts#commit',
    hostView: ['storage'],
    look:
      'The upper directory is packed into a tar (the whiteout becomes a .wh.vi entry, the OCI way), the tar is ' +
      'registered as a new layer on top of busybox\'s, and a new config lists both diffIDs. Its sha256 is the new image\'s ID.',
    args: ['commit', 'web', 'mysite:v1'],
    check(r) {
      const bad = ran(r);
      if (bad) return bad;
      const id = r.stdout.trim();
      if (!/^sha256:[0-9a-f]{64}$/.test(id)) return `commit should print the new image ID, it printed ${JSON.stringify(id)}`;
      seen.commitId = id;
      const packed = r.trace.find((e) => e.op === 'pack');
      if (!packed) return 'the trace shows no layer packed';
      return null;
    },
  },
  {
    title: 'The new image has the changes',
    section: '#5-a-containers-layers',
    code: 'runtime/image/layer.ts#find-image',
    hostView: ['storage'],
    look: 'A container of mysite:v1 sees /www and no /bin/vi: the two layers, stacked by overlayfs.',
    args: ['run', '--rm', 'mysite:v1', 'sh', '-c', 'cat /www; ls /bin/vi 2>/dev/null || echo "vi is gone"'],
    check(r) {
      const bad = ran(r);
      if (bad) return bad;
      if (lines(r.stdout).join('|') !== 'hi|vi is gone') return `expected "hi" and "vi is gone", got ${JSON.stringify(r.stdout)}`;
      const m = overlayMount(r);
      const lower = /lowerdir=([^,]*)/.exec(m?.data ?? '')?.[1].split(':') ?? [];
      // init layer + two image layers
      if (lower.length !== 3) return `the overlay should stack 3 lower directories (init layer, 2 image layers), it has ${lower.length}`;
      return null;
    },
  },
  {
    title: 'history: one line per layer (and per config step)',
    section: '#history-and-info-as-a-script-reads-them',
    code: 'runtime/image/commands.ts#history',
    look: 'Newest first. The commit\'s step is the command the container ran; the next row is busybox\'s own top (a local image, so its ID shows); below it <missing>, a step that is no image here, as in Docker.',
    args: ['history', 'mysite:v1'],
    check(r) {
      const bad = ran(r);
      if (bad) return bad;
      const rows = lines(r.stdout).slice(1);
      if (rows.length !== 3) return `expected 3 history rows, got ${rows.length}`;
      if (!rows[0].startsWith(seen.commitId?.slice(7, 19) ?? '?')) return `the top row should show the image ID ${seen.commitId?.slice(7, 19)}`;
      if (!/sh -c echo hi/.test(rows[0])) return `the top row should show the container's command: ${rows[0]}`;
      if (!/^[0-9a-f]{12}\s/.test(rows[1]) || rows[1].startsWith(rows[0].slice(0, 12))) return `the second row should show the parent's (busybox's) image ID: ${rows[1]}`;
      if (!rows[2].startsWith('<missing>')) return 'the oldest row should show <missing>';
      return null;
    },
  },
  {
    title: 'image inspect: the config, as JSON',
    section: '#what-image-inspect-shows',
    code: 'runtime/image/commands.ts#image-inspect',
    look: 'RootFS.Layers lists the diffIDs (sha256 of each layer tar); GraphDriver shows where overlay2 keeps them.',
    args: ['image', 'inspect', 'mysite:v1'],
    check(r) {
      const bad = ran(r);
      if (bad) return bad;
      const [img] = JSON.parse(r.stdout) as { Id: string; RepoTags: string[]; RootFS: { Layers: string[] }; GraphDriver: { Name: string } }[];
      if (img.Id !== seen.commitId) return `Id ${img.Id} is not the committed ${seen.commitId}`;
      if (img.RepoTags.join() !== 'mysite:v1') return `RepoTags: ${img.RepoTags.join()}`;
      if (img.RootFS.Layers.length !== 2) return `RootFS.Layers should have 2 diffIDs, it has ${img.RootFS.Layers.length}`;
      if (img.GraphDriver.Name !== 'overlay2') return `GraphDriver.Name is ${img.GraphDriver.Name}`;
      return null;
    },
  },
  {
    title: 'export: the merged view, flattened',
    section: '#7-export-import-save-load',
    code: 'runtime/storage/pack.ts#pack-walk',
    look: 'export packs what the container sees (all layers merged), with no whiteouts: one plain filesystem tar.',
    args: ['export', '-o', '{root}/web.tar', 'web'],
    check(r) {
      const bad = ran(r);
      if (bad) return bad;
      if (!r.trace.some((e) => e.op === 'pack')) return 'the trace shows no tar packed';
      return null;
    },
  },
  {
    title: 'import: a flat tar becomes a one-layer image',
    section: '#7-export-import-save-load',
    code: 'runtime/storage/extract.ts#rules',
    hostView: ['storage'],
    look: 'The exported tar is registered as a single layer: flat:v1 has /www and no /bin/vi, in one layer.',
    args: ['import', '{root}/web.tar', 'flat:v1'],
    check(r) {
      const bad = ran(r);
      if (bad) return bad;
      if (!/^sha256:[0-9a-f]{64}$/.test(r.stdout.trim())) return `import should print the image ID: ${r.stdout}`;
      if (!r.trace.some((e) => e.op === 'extract')) return 'the trace shows no layer extracted';
      return null;
    },
  },
  {
    title: 'save, rmi, load: the same image comes back',
    section: '#7-export-import-save-load',
    code: 'runtime/image/archive.ts#save',
    look:
      'save writes an OCI image layout (with Docker\'s manifest.json): the config and each layer by digest. rmi ' +
      'removes the name, the config and the layer no other image uses. load checks every digest and brings back ' +
      'the very same ID: content addressing.',
    args: ['save', '-o', '{root}/s.tar', 'mysite:v1'],
    check(r) {
      return ran(r);
    },
  },
  {
    title: 'rmi: the name, the config, the unused layer',
    section: '#8-names-and-what-rmi-frees',
    code: 'runtime/image/commands.ts#rmi',
    hostView: ['storage'],
    look: 'Untagged is the name; Deleted the image ID, then the layer only mysite:v1 used (busybox\'s stays: busybox uses it).',
    args: ['rmi', 'mysite:v1'],
    check(r) {
      const bad = ran(r);
      if (bad) return bad;
      const got = lines(r.stdout);
      if (got[0] !== 'Untagged: mysite:v1') return `first line should be "Untagged: mysite:v1": ${got[0]}`;
      if (got[1] !== `Deleted: ${seen.commitId}`) return `second line should delete ${seen.commitId}: ${got[1]}`;
      if (got.length !== 3) return `exactly one layer should be deleted, lines: ${got.join(' | ')}`;
      return null;
    },
  },
  {
    title: 'load: back, with the same ID',
    section: '#7-export-import-save-load',
    code: 'runtime/image/archive.ts#load',
    hostView: ['storage'],
    look: 'The loaded image has the ID it had before it was removed.',
    args: ['load', '-i', '{root}/s.tar'],
    check(r) {
      const bad = ran(r);
      if (bad) return bad;
      if (r.stdout.trim() !== 'Loaded image: mysite:v1') return `load printed ${JSON.stringify(r.stdout)}`;
      return null;
    },
  },
  {
    title: 'The same content, the same ID',
    section: '#1-an-image-is-a-config-and-a-list-of-layers',
    code: 'runtime/core/digest.ts#chain-id',
    look: 'The image that came back from the archive has exactly the ID it had before rmi: the ID is the sha256 of its config, and the config names its layers by digest.',
    args: ['image', 'inspect', '-f', '{{.Id}} {{json .RepoTags}}', 'mysite:v1'],
    check(r) {
      const bad = ran(r);
      if (bad) return bad;
      if (r.stdout.trim() !== `${seen.commitId} ["mysite:v1"]`) return `expected ${seen.commitId} ["mysite:v1"], got ${r.stdout.trim()}`;
      return null;
    },
  },
  {
    title: 'info: the storage driver and the root',
    section: '#history-and-info-as-a-script-reads-them',
    code: 'runtime/image/info.ts#info-document',
    look: 'Storage Driver: overlay2, with the backing filesystem; Docker Root Dir is the state root.',
    args: ['info'],
    check(r) {
      const bad = ran(r);
      if (bad) return bad;
      if (!/^ Storage Driver: overlay2$/m.test(r.stdout)) return 'info does not say "Storage Driver: overlay2"';
      if (!/^ Docker Root Dir: /m.test(r.stdout)) return 'info does not show the Docker Root Dir';
      return null;
    },
  },
  {
    title: 'rm: the container and its layers go',
    section: '#5-a-containers-layers',
    code: 'runtime/image/container-commands.ts#rm',
    hostView: ['storage'],
    look: 'rm deletes the container\'s writable and init layers and its state directory. The images stay.',
    args: ['--trace', 'rm', 'web'],
    check(r) {
      const bad = ran(r);
      if (bad) return bad;
      if (r.stdout.trim() !== 'web') return `rm prints the name it was given: ${r.stdout}`;
      if (!r.trace.some((e) => e.op === 'remove' && /layerdb\/mounts\//.test(e.path))) return "the trace shows no removal of the container's layers";
      return null;
    },
  },
];
