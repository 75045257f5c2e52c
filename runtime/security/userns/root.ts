// The state root of a remapped dockling: `<root>/<uid>.<gid>`, as dockerd
// lays out /var/lib/docker/100000.100000 under --userns-remap. Its images,
// layers and containers are its own, because its layers are unpacked with
// shifted owners (storage/idmap.ts) and cannot be shared with unmapped
// containers.
//
// Root in a remapped container is an ordinary uid on the host; the init,
// running as it, must still reach its root filesystem and the files
// bind-mounted into it (/etc/hostname, /etc/hosts, /etc/resolv.conf). So,
// as Docker: the state root gets o+x (0711: others may pass through, not
// list), the remapped root is 0710 owned by root and the remapped gid, and
// so are the containers directory and each container's.
import fs from 'node:fs';
import path from 'node:path';
import { trace } from '../../trace/trace.js';
import { RunError } from '../../core/pipeline.js';
import { rootPair, type Remap } from './remap.js';
import { shareWithRemappedRoot } from '../../storage/idmap.js';

const CH = 11;

function chmod(p: string, mode: number): void {
  trace.emit(CH, { op: 'chmod', path: p, mode });
  fs.chmodSync(p, mode);
}

// #region remapped-root
export function remappedRoot(stateRoot: string, remap: Remap): string {
  const { uid, gid } = rootPair(remap);
  const top = path.resolve(stateRoot);
  if (!fs.existsSync(top)) {
    trace.emit(CH, { op: 'mkdir', path: top, mode: 0o711 });
    fs.mkdirSync(top, { recursive: true, mode: 0o711 });
  }
  // Others (the remapped root among them) may traverse the state root.
  const mode = fs.statSync(top).mode & 0o7777;
  if ((mode & 0o001) === 0) chmod(top, mode | 0o011);
  // Every directory above must let it through too; Docker refuses to
  // start otherwise, with this message.
  for (let d = top; d !== '/'; d = path.dirname(d)) {
    if ((fs.statSync(d).mode & 0o001) === 0) {
      throw new RunError(125, `a subdirectory in your graphroot path (${top}) restricts access to the remapped root uid/gid; please fix by allowing 'o+x' permissions on existing directories (${d})`);
    }
  }
  const dir = path.join(top, `${uid}.${gid}`);
  if (!fs.existsSync(dir)) {
    trace.emit(CH, { op: 'mkdir', path: dir, mode: 0o710 });
    fs.mkdirSync(dir, { mode: 0o710 });
  }
  shareWithRemappedRoot(dir, gid);
  return dir;
}
// #endregion remapped-root
