// `node scripts/empty-dir.mjs DIR`: the build's first step. DIR is made if
// missing and emptied, but never removed: in the Vagrant VM, dist is a mount
// of the VM's own disk over the shared checkout (vagrant/vm-dirs.sh), and a
// mount point cannot be removed (EBUSY).
import fs from 'node:fs';
import path from 'node:path';

const dir = process.argv[2];
if (!dir) {
  console.error('usage: node scripts/empty-dir.mjs DIR');
  process.exit(2);
}
fs.mkdirSync(dir, { recursive: true });
for (const entry of fs.readdirSync(dir)) fs.rmSync(path.join(dir, entry), { recursive: true, force: true });
