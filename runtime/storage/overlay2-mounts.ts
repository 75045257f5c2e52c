// What overlay2 reads from /proc/self/mountinfo: whether a layer's merged
// dir is mounted, and which filesystem holds the driver's home (`docker info`
// shows it as "Backing Filesystem": overlayfs needs one with d_type and
// trusted.* xattrs for its upper dirs, and cannot use overlayfs itself).
import fs from 'node:fs';
import path from 'node:path';

/** The filesystem under `dir`, named as `docker info` names it (ext4 is "extfs"). */
export function backingFs(dir: string): string {
  let real = dir;
  while (!fs.existsSync(real)) real = path.dirname(real);
  real = fs.realpathSync(real);
  let best = { target: '', fstype: 'unknown' };
  for (const m of mountPoints()) {
    const under = real === m.target || real.startsWith(m.target === '/' ? '/' : m.target + '/');
    if (under && m.target.length >= best.target.length) best = m;
  }
  const names: Record<string, string> = { ext2: 'extfs', ext3: 'extfs', ext4: 'extfs', overlay: 'overlayfs' };
  return names[best.fstype] ?? best.fstype;
}

/**
 * The mounts of this process's mount namespace: /proc/self/mountinfo's mount
 * point (field 5) and filesystem type (after " - "), with the kernel's octal
 * escapes (\040 for a space) undone.
 */
export function mountPoints(): { target: string; fstype: string }[] {
  const unescape = (s: string) => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
  return fs
    .readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const fields = line.split(' ');
      const dash = fields.indexOf('-');
      return { target: unescape(fields[4] ?? ''), fstype: fields[dash + 1] ?? '' };
    });
}
