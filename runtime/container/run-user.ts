// Chapter 5, on the host: which user `run` asks for. `--user` wins over
// the image's USER; either is recorded as the container's Config.User as
// given (a name stays a name, as in Docker's inspect) and handed to the
// init unresolved: the names are the container's to define, so the init
// looks them up from inside its root (user.ts).
import type { FlagSpec } from '../core/flags.js';
import type { RunContext } from '../core/layer.js';
import { readConfig, updateConfig } from '../core/containers.js';
import { imageOf } from '../image/layer.js';
import { openStores } from '../image/open-stores.js';
import { existingContainer } from './lifecycle.js';
import { origin } from '../process/slots.js';

export const USER_FLAGS: FlagSpec[] = [
  { name: 'user', short: 'u', kind: 'string', usage: 'Username or UID (format: <name|uid>[:<group|gid>])' },
  { name: 'group-add', kind: 'stringArray', valueName: 'list', usage: 'Add additional groups to join' },
];

/** The image's USER ('' when it has none, or was removed since). */
function imageUser(ctx: RunContext): string {
  const img = imageOf.get(ctx);
  if (!img) return '';
  try {
    return openStores(ctx.stateRoot).images.get(img.id).config.User ?? '';
  } catch {
    return ''; // the image was removed since: root, as for an image without USER
  }
}

// #region run-user
export function prepareUser(ctx: RunContext): void {
  const flag = ctx.flags.get('user') as string | undefined;
  // `start` of a kept container: the user it was made with.
  const kept = existingContainer.get(ctx) ? (readConfig(ctx.container.dir)?.Config as { User?: string } | undefined)?.User : undefined;
  const user = flag ?? kept ?? imageUser(ctx);
  const groupAdd = (ctx.flags.get('group-add') as string[] | undefined) ?? [];
  updateConfig(ctx.container, (x) => {
    (x.Config as { User?: string }).User = user;
    // for `exec`, which joins the same groups (Docker's HostConfig.GroupAdd)
    x.HostConfig = { ...(x.HostConfig ?? {}), GroupAdd: groupAdd.length ? groupAdd : null };
  });
  // Did the image or -e set HOME? If not, the init sets the user's own.
  const given = [...(origin.get(ctx)?.env ?? []), ...((ctx.flags.get('env') as string[] | undefined) ?? [])];
  const home = !given.some((e) => /^HOME(=|$)/.test(e));
  if (user !== '' || groupAdd.length) ctx.spec.process.user = { spec: user, groupAdd, home };
}
// #endregion run-user
