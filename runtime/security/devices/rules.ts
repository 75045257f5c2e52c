// Device rules: which device numbers a container may mknod, read or write.
// One list, given to the kernel twice on a hybrid host: as lines written to
// the v1 devices cgroup (devices.deny, devices.allow), and compiled into the
// BPF program that the cgroup2 tree runs on every device access (program.ts).

/** One rule, in the words of the v1 files: "c 1:3 rwm", "b *:* m", "a". */
export interface DeviceRule {
  /** an allow rule, or a deny rule */
  allow: boolean;
  /** 'c' character, 'b' block, 'a' any type */
  type: 'a' | 'c' | 'b';
  /** null stands for "*", any number */
  major: number | null;
  minor: number | null;
  /** which accesses: some of r (read), w (write), m (mknod) */
  access: string;
}

/** "c 1:3 rwm" → an allow rule (or a deny rule with allow = false). */
export function rule(text: string, allow = true): DeviceRule {
  if (text === 'a') return { allow, type: 'a', major: null, minor: null, access: 'rwm' };
  const m = /^([acb]) (\*|\d+):(\*|\d+) ([rwm]{1,3})$/.exec(text);
  if (!m) throw new Error(`bad device rule "${text}"`);
  const num = (s: string) => (s === '*' ? null : Number(s));
  return { allow, type: m[1] as DeviceRule['type'], major: num(m[2]), minor: num(m[3]), access: m[4] };
}

/** The line the v1 devices.allow / devices.deny file takes for a rule. */
export function ruleText(r: DeviceRule): string {
  if (r.type === 'a') return 'a'; // the kernel reads "a" as every device, every access
  const n = (x: number | null) => (x === null ? '*' : String(x));
  return `${r.type} ${n(r.major)}:${n(r.minor)} ${r.access}`;
}

// #region default-device-rules
/**
 * Docker's default device rules (runc's AllowedDevices, which moby gives
 * every container that is not --privileged). First deny everything; then
 * allow mknod of any device (a node is harmless until opened, and images
 * carry device nodes), and read, write and mknod of the harmless ones. A
 * later rule wins over an earlier one, as later writes do in v1.
 */
export const DEFAULT_DEVICE_RULES: DeviceRule[] = [
  rule('a', false), //   deny: every device, every access
  rule('c *:* m'), //    mknod of any char device
  rule('b *:* m'), //    and of any block device
  rule('c 1:3 rwm'), //  /dev/null
  rule('c 1:5 rwm'), //  /dev/zero
  rule('c 1:7 rwm'), //  /dev/full
  rule('c 1:8 rwm'), //  /dev/random
  rule('c 1:9 rwm'), //  /dev/urandom
  rule('c 5:0 rwm'), //  /dev/tty
  rule('c 5:1 rwm'), //  /dev/console
  rule('c 5:2 rwm'), //  /dev/ptmx
  rule('c 136:* rwm'), // /dev/pts/* (the terminals of the container's devpts)
  rule('c 10:200 rwm'), // /dev/net/tun (there since Docker's early days; runc 1.2.0 dropped it, 1.2.4 put it back)
];
// #endregion default-device-rules

/** --privileged: every device, every access (Docker's "a *:* rwm"). */
export const ALLOW_ALL: DeviceRule[] = [rule('a')];
