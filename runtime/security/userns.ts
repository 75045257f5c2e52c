// Chapter 11, part 1: user namespaces. Every other defence of this chapter
// takes privileges away from root in the container; this one changes who
// that root is. With --userns-remap, the container gets a user namespace
// whose uid 0 is, on the host, the first id of a subordinate range
// (/etc/subuid: 100000, say): root inside owns nothing outside, and its
// capabilities hold only over what its namespaces own.
//
// Where each step is done:
//   userns/remap.ts   --userns-remap's user, its ranges (dockremap for "default")
//   userns/root.ts    the remapped state root, <root>/<uid>.<gid>
//   storage/idmap.ts  layers unpacked with owners shifted into the range
//   process/nsexec.c  unshare(CLONE_NEWUSER) with the rest; the maps written
//                     from the host side; then setresuid(0) inside
//   process/init.ts   device nodes bind-mounted (mknod is not allowed in a
//                     user namespace)
// and here: the spec's maps, the launch options, --userns host.
import path from 'node:path';
import type { RunContext } from '../core/layer.js';
import { RunError } from '../core/pipeline.js';
import { containersDir } from '../core/containers.js';
import { setIdShift, shareWithRemappedRoot } from '../storage/idmap.js';
import type { HardeningPart } from './part.js';
import { recordHostConfig } from './part.js';
import { activeRemap, resolveRemap, rootPair, setActiveRemap } from './userns/remap.js';
import { remappedRoot } from './userns/root.js';
import { launcher } from '../process/slots.js';

/** Called by the CLI for --userns-remap: resolve it, and return the state root to use. */
export function useRemap(given: string, stateRoot: string): string {
  const remap = resolveRemap(given);
  setActiveRemap(remap);
  setIdShift({ uidMappings: remap.uidMappings, gidMappings: remap.gidMappings });
  return remappedRoot(stateRoot, remap);
}

/** --userns: "" (the daemon's choice) or "host" (no user namespace). */
function usernsMode(ctx: RunContext): '' | 'host' {
  const mode = (ctx.flags.get('userns') as string | undefined) ?? '';
  if (mode !== '' && mode !== 'host') {
    throw new RunError(125, `invalid --userns "${mode}": the only value is host (run without the user namespace of --userns-remap)`);
  }
  return mode;
}

function validate(ctx: RunContext): void {
  const mode = usernsMode(ctx);
  // A --rootfs directory's files belong to host ids (0 mostly), which the
  // container's namespace does not map: inside they would all be nobody's.
  if (activeRemap() && mode !== 'host' && ctx.flags.has('rootfs')) {
    throw new RunError(125, '--userns-remap with --rootfs is not supported yet: its files belong to host ids the user namespace does not map (run an image, whose layers are unpacked for the remapped root, or add --userns host)');
  }
  // Docker's rule: all capabilities and devices mean nothing inside a user
  // namespace, so a privileged container must say it runs without one.
  if (activeRemap() && mode !== 'host' && ctx.flags.get('privileged')) {
    throw new RunError(125, 'privileged mode is incompatible with user namespaces.  You must run the container in the host namespace when running privileged mode (add --userns host)');
  }
}

// #region userns-prepare
function prepare(ctx: RunContext): void {
  const mode = usernsMode(ctx);
  recordHostConfig(ctx, { UsernsMode: mode });
  const remap = activeRemap();
  if (!remap || mode === 'host') return;
  ctx.spec.uidMappings = remap.uidMappings;
  ctx.spec.gidMappings = remap.gidMappings;
  // nsexec makes the user namespace, with the other namespaces, and so
  // whoever launches the init (chapter 1, or chapter 5's monitor) is given
  // the maps.
  const launch = launcher.get(ctx);
  launcher.set(ctx, async (opts) => {
    const { launchInit } = await import('../process/launch.js');
    return (launch ?? launchInit)({ ...opts, idMappings: { uid: remap.uidMappings, gid: remap.gidMappings } });
  });
  // The init, as the remapped root, bind-mounts /etc/hostname, hosts and
  // resolv.conf from the container's directory: it must get through it.
  const { gid } = rootPair(remap);
  shareWithRemappedRoot(containersDir(ctx.stateRoot), gid);
  shareWithRemappedRoot(path.resolve(ctx.container.dir), gid);
}
// #endregion userns-prepare

export const userns: HardeningPart = {
  name: 'userns',
  flags: [{ name: 'userns', kind: 'string', usage: "User namespace to use: 'host' runs without the one of --userns-remap" }],
  validate,
  prepare,
  info: () => (activeRemap() ? ['userns'] : []),
};
