// Chapter 8's commands: pull, push (here), login, logout (login.ts), search (search.ts).
import type { Command } from '../core/layer.js';
import { RunError } from '../core/pipeline.js';
import { openStores } from '../image/open-stores.js';
import { reapLeftovers } from '../image/leftovers.js';
import { storesWithBusybox } from '../image/busybox.js';
import { familiarName } from '../image/reference.js';
import { parsePlatform } from './manifest.js';
import { Progress } from './progress.js';
import { parsePullName, pullImage } from './pull.js';
import { pushImage, pushTarget } from './push.js';
import { loginCommand, logoutCommand } from './login.js';
import { searchCommand } from './search.js';

/**
 * In Docker the pull and push happen in the daemon, so their failures are
 * printed as "Error response from daemon: …"; dockling says the same.
 */
export function fromDaemon(e: unknown): unknown {
  if (!(e instanceof RunError) || e.message.startsWith('Error response from daemon: ')) return e;
  return new RunError(e.code, `Error response from daemon: ${e.message}`, { cause: e.cause ?? e });
}

const pullCommand: Command = {
  name: 'pull',
  summary: 'Pull an image or a repository from a registry',
  usage: 'pull [OPTIONS] NAME[:TAG|@DIGEST]',
  minArgs: 1,
  maxArgs: 1,
  flags: [
    { name: 'all-tags', short: 'a', kind: 'bool', usage: 'Download all tagged images in the repository (not in dockling: pull each tag)' },
    { name: 'disable-content-trust', kind: 'bool', usage: 'Skip image verification (default true)' },
    { name: 'platform', kind: 'string', usage: 'Set platform if server is multi-platform capable' },
    { name: 'quiet', short: 'q', kind: 'bool', usage: 'Suppress verbose output' },
  ],
  async run(inv) {
    if (inv.flags.get('all-tags')) throw new RunError(1, '--all-tags is not written in dockling: pull each tag by name');
    const platform = inv.flags.get('platform') as string | undefined;
    const s = openStores(inv.stateRoot);
    reapLeftovers(s);
    await pullImage(s, inv.args[0], process.stdout, {
      quiet: Boolean(inv.flags.get('quiet')),
      tty: Boolean(process.stdout.isTTY),
      ...(platform ? { platform: parsePlatform(platform) } : {}),
    }).catch((e) => {
      throw fromDaemon(e);
    });
    return 0;
  },
};

const pushCommand: Command = {
  name: 'push',
  summary: 'Push an image or a repository to a registry',
  usage: 'push [OPTIONS] NAME[:TAG]',
  minArgs: 1,
  maxArgs: 1,
  flags: [
    { name: 'all-tags', short: 'a', kind: 'bool', usage: 'Push all tagged images in the repository' },
    { name: 'disable-content-trust', kind: 'bool', usage: 'Skip image signing (default true)' },
    { name: 'quiet', short: 'q', kind: 'bool', usage: 'Suppress verbose output' },
  ],
  async run(inv) {
    const ref = parsePullName(inv.args[0]);
    if (ref.digest) throw new RunError(1, `cannot push a digest reference: tag the image and push the tag`);
    const s = await storesWithBusybox(inv.stateRoot);
    reapLeftovers(s);
    const quiet = Boolean(inv.flags.get('quiet'));
    // No tag: `latest`, or every tag of the repository with --all-tags (Docker 20.10's rule).
    const tags = ref.tag ? [ref.tag] : inv.flags.get('all-tags') ? tagsOfRepo(s, familiarName(ref)) : ['latest'];
    if (ref.tag && inv.flags.get('all-tags')) throw new RunError(1, 'tag can\'t be used with --all-tags/-a');
    if (tags.length === 0) throw new RunError(1, `An image does not exist locally with the tag: ${familiarName(ref)}`);
    const progress = new Progress(process.stdout, Boolean(process.stdout.isTTY), quiet);
    progress.line(`The push refers to repository [${ref.domain}/${ref.path}]`);
    for (const tag of tags) {
      const tagged = { ...ref, tag };
      await pushImage(s, tagged, pushTarget(s, tagged), progress).catch((e) => {
        throw fromDaemon(e);
      });
    }
    if (quiet) process.stdout.write(`${ref.domain === 'docker.io' ? 'docker.io/' : ''}${familiarName(ref)}${ref.tag ? ':' + ref.tag : ''}\n`);
    return 0;
  },
};

/** The tags a repository has here: "busybox" → ["1", "latest"]. */
function tagsOfRepo(s: ReturnType<typeof openStores>, repo: string): string[] {
  return s.images
    .list()
    .flatMap((id) => s.images.tagsOf(id))
    .filter((n) => n.slice(0, n.lastIndexOf(':')) === repo)
    .map((n) => n.slice(n.lastIndexOf(':') + 1))
    .sort();
}

export const registryCommands: Command[] = [pullCommand, pushCommand, loginCommand, logoutCommand, searchCommand];
