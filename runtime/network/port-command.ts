// `dockling port CONTAINER [PRIVATE_PORT[/PROTO]]`: the docker CLI's
// `port`, which reads a container's NetworkSettings.Ports (what the network
// stage recorded when it published the ports) and prints its bindings.
// The formatting is core/port-map.ts's, shared with `ps`'s PORTS column.
import type { Command } from '../core/layer.js';
import { RunError } from '../core/pipeline.js';
import { NoSuchContainerError, resolveContainer, type ContainerConfig } from '../core/containers.js';
import { formatPortCommand, type PortMapLike } from '../core/port-map.js';

const USAGE = 'port CONTAINER [PRIVATE_PORT[/PROTO]]';
const SUMMARY = 'List port mappings or a specific mapping for the container';

/** The PortMap a container recorded, or none (made before chapter 6, or on --network none/host). */
export function portsOf(c: ContainerConfig): PortMapLike | null {
  const settings = (c as unknown as { NetworkSettings?: { Ports?: PortMapLike | null } }).NetworkSettings;
  return settings?.Ports ?? null;
}

// #region port-command-run
export const portCommand: Command = {
  name: 'port',
  aliases: ['container port'],
  summary: SUMMARY,
  usage: USAGE,
  flags: [],
  async run(inv) {
    // cobra's RequiresRangeArgs(1, 2), in its own words
    if (inv.args.length < 1 || inv.args.length > 2) {
      throw new RunError(1, `"dockling port" requires at least 1 and at most 2 arguments.\nSee 'dockling port --help'.\n\nUsage:  dockling ${USAGE}\n\n${SUMMARY}`);
    }
    const [ref, filter] = inv.args;
    let c: ContainerConfig;
    try {
      c = resolveContainer(inv.stateRoot, ref);
    } catch (e) {
      if (e instanceof NoSuchContainerError) throw new RunError(1, `Error response from daemon: ${e.message}`, { cause: e });
      throw e;
    }
    let lines: string[];
    try {
      lines = formatPortCommand(portsOf(c), filter, ref);
    } catch (e) {
      // The docker CLI prints its own "Error: …" lines as they are.
      if (!(e instanceof RunError)) throw e;
      process.stderr.write(`${e.message}\n`);
      return e.code;
    }
    if (lines.length > 0) process.stdout.write(lines.join('\n') + '\n');
    return 0;
  },
};
// #endregion port-command-run
