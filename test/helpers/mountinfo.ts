// Reading a container's /proc/self/mountinfo, as tests print it from inside.

/** The mountinfo line for a mount point: its per-mount options and its super options. */
export function mountOf(mountinfo: string, target: string): { options: string[]; super: string[] } | undefined {
  for (const line of mountinfo.split('\n')) {
    const [pre, post] = line.split(' - ');
    const f = pre?.split(' ');
    if (f && f[4] === target && post) return { options: f[5].split(','), super: post.split(' ')[2].split(',') };
  }
  return undefined;
}
