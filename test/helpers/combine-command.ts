// What `run` runs for an image, composed from the runtime's three rules as
// `run` composes them: chapter 4's imageOrigin (the image's config), chapter
// 5's withEntrypointFlag (--entrypoint), chapter 1's commandParts (the
// arguments after IMAGE, or else CMD). Shared by the unit test of the rules
// (test/runtime/container/entrypoint.test.ts) and the test of chapter 5's
// table (test/book/entrypoint-table.test.ts).
import { withEntrypointFlag } from '../../runtime/container/entrypoint.js';
import { imageOrigin } from '../../runtime/image/layer.js';
import { commandParts } from '../../runtime/process/layer.js';
import type { RunConfig } from '../../runtime/image/config.js';

export interface CommandParts {
  imageEntrypoint: string[] | null | undefined;
  imageCmd: string[] | null | undefined;
  /** --entrypoint: undefined when not given, "" to remove the image's */
  entrypointFlag: string | undefined;
  /** the arguments after IMAGE */
  args: string[];
}

/**
 * Chapter 4's validate turns the image's config into chapter 1's origin,
 * chapter 5's validate applies --entrypoint to it, chapter 1's prepare
 * splits it into Config.Entrypoint and Config.Cmd. An empty ENTRYPOINT + CMD
 * is `run`'s error "No command specified" (exit 125, commandToRun).
 */
export function combineCommand(p: CommandParts): { entrypoint: string[]; cmd: string[] } {
  let from = imageOrigin('img', { Entrypoint: p.imageEntrypoint, Cmd: p.imageCmd } as RunConfig);
  if (p.entrypointFlag !== undefined) from = withEntrypointFlag(from, p.entrypointFlag);
  const { entrypoint, cmd } = commandParts(from, p.args);
  return { entrypoint: entrypoint ?? [], cmd };
}
