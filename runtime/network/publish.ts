// From `run`'s -p, -P and --expose flags to host ports and DNAT rules: the
// parsing and picking are ports.ts's; this is when and under which lock.
import fs from 'node:fs';
import path from 'node:path';
import type { FlagValue } from '../core/flags.js';
import { withLockAsync } from '../core/files.js';
import { RunError } from '../core/pipeline.js';
import { listContainers } from '../core/containers.js';
import { networkRoot, type PortMap } from './model.js';
import { allocateHostPorts, allocationKey, parseExpose, parsePublish, publishAll, readEphemeralRange, toPortBindings, type PublishedPort, type PublishRequest } from './ports.js';
import { readMade } from './endpoint.js';

/** What `run` asked for: ports to publish, ports only exposed, and HostConfig.PortBindings. */
export interface PortPlan {
  published: PublishRequest[];
  exposed: string[]; //   "80/tcp", from --expose (the image's are added in prepare)
  bindings: PortMap; //   HostConfig.PortBindings, as Docker records -p
}

const strings = (flags: Map<string, FlagValue>, name: string) => (flags.get(name) as string[] | undefined) ?? [];

/** Parse -p and --expose (Docker's messages, exit 125, before anything is made). */
export function parsePorts(flags: Map<string, FlagValue>): PortPlan {
  const published = parsePublish(strings(flags, 'publish'));
  const exposed = parseExpose(strings(flags, 'expose'));
  return { published, exposed, bindings: toPortBindings(published) };
}

/** The requests to satisfy: -p's, and with -P every exposed port no -p publishes. */
export function requestsOf(plan: PortPlan, exposedForAll: string[] | null): PublishRequest[] {
  return exposedForAll ? [...plan.published, ...publishAll(exposedForAll, plan.published)] : plan.published;
}

/** What every other container holds: "ip/proto/port" keys, from their network.json files. */
function allocatedByOthers(stateRoot: string, except: string): Set<string> {
  const out = new Set<string>();
  for (const c of listContainers(stateRoot)) {
    if (c.ID === except) continue;
    for (const ep of readMade(path.join(stateRoot, 'containers', c.ID))) for (const p of ep.ports) out.add(allocationKey(p.hostIp, p.proto, p.hostPort));
  }
  return out;
}

// #region publish-ports
/**
 * Pick the host ports and hand them to `join` (which writes them down and
 * adds their DNAT rules), all under one lock: two `run -p 80` at once must
 * not both take 49153 between one's pick and its record. With nothing to
 * publish, no lock.
 */
export async function withHostPorts<T>(stateRoot: string, id: string, name: string, requests: PublishRequest[], join: (pick: (address: string) => Promise<PublishedPort[]>) => Promise<T>): Promise<T> {
  if (requests.length === 0) return join(async () => []);
  fs.mkdirSync(networkRoot(stateRoot), { recursive: true });
  return withLockAsync(path.join(networkRoot(stateRoot), 'ports.lock'), () =>
    join(async (address) => {
      try {
        return await allocateHostPorts(requests, allocatedByOthers(stateRoot, id), readEphemeralRange(), { containerIp: address });
      } catch (e) {
        // Docker's wrapping of a port it could not bind.
        const msg = (e as Error).message;
        if (/already allocated/.test(msg)) throw new RunError(125, msg, { cause: e });
        throw new RunError(125, `failed to set up container networking: driver failed programming external connectivity on endpoint ${name} (${id.slice(0, 12)}): ${msg}`, { cause: e });
      }
    }),
  30_000);
}
// #endregion publish-ports
