// `dockling version`: docker version's two blocks. "Client" is the CLI (its
// version, the API version it speaks, what it runs on); "Server" is what
// answers it, dockerd for docker. dockling has no daemon: the CLI does the
// daemon's work itself, so its Server block says what that work is made
// of, the chapters' layers switched on, as docker lists containerd and runc.
import fs from 'node:fs';
import os from 'node:os';
import type { Command, Layer } from '../core/layer.js';
import { RunError } from '../core/pipeline.js';
import { formatTemplate, templateError } from '../core/format.js';
import { tabwrite } from '../core/template/index.js';

/** The Engine API version whose routes dockling's API chapter serves, and the oldest Docker's 20.10 accepts. */
export const API_VERSION = '1.41';
const MIN_API_VERSION = '1.12';

/** package.json's version: the one place the version is written. */
export function docklingVersion(): string {
  // From dist/ (the bundle) or runtime/process/ (tsx): the package is above, at some depth.
  for (let dir = new URL('.', import.meta.url); ; dir = new URL('..', dir)) {
    try {
      const pkg = JSON.parse(fs.readFileSync(new URL('package.json', dir), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'dockling' && pkg.version) return pkg.version;
    } catch {
      /* no package.json here (or not ours): look one folder up */
    }
    if (dir.pathname === '/') return 'unknown';
  }
}

/** Go's names for the architectures (GOARCH), which docker prints. */
const GOARCH: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' };
const arch = () => GOARCH[process.arch] ?? process.arch;

/** When this CLI was built: its code's modification time, as Go's time.ANSIC ("Mon Jan  2 15:04:05 2006"), as docker prints it. */
function builtAt(): string {
  try {
    const d = fs.statSync(new URL(import.meta.url)).mtime;
    const day = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'][d.getDay()];
    const month = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'][d.getMonth()];
    const two = (n: number) => String(n).padStart(2, '0');
    return `${day} ${month} ${String(d.getDate()).padStart(2)} ${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())} ${d.getFullYear()}`;
  } catch {
    return ''; // the code is running but its file is gone (replaced by a rebuild): no date to give
  }
}

/**
 * A Go struct as a template sees it: the template names a field by its Go
 * name (`.Client.APIVersion`) while `{{json .}}` prints its JSON key
 * (`"ApiVersion"`). The Go names that differ are added, hidden from JSON.
 */
function withGoNames<T extends object>(o: T, names: Record<string, string>): T {
  for (const [go, key] of Object.entries(names)) Object.defineProperty(o, go, { value: (o as Record<string, unknown>)[key], enumerable: false });
  return o;
}

// #region version-document
/**
 * docker version's document (docker/cli's versionInfo): what --format
 * templates run on, with docker's field names. dockling is written in
 * TypeScript: where docker gives the Go version, this gives Node.js's
 * (NodeVersion), rather than a Go version nothing here was built with.
 */
export function versionDocument(chapter: number, layers: Layer[]) {
  const version = docklingVersion();
  const built = builtAt();
  const kernel = os.release();
  const client = withGoNames(
    {
      Platform: { Name: 'dockling' },
      Version: version,
      ApiVersion: API_VERSION,
      DefaultAPIVersion: API_VERSION,
      NodeVersion: process.version,
      Os: 'linux',
      Arch: arch(),
      BuildTime: built,
      Context: 'default',
    },
    { APIVersion: 'ApiVersion' },
  );
  const engine = {
    Name: 'Engine',
    Version: version,
    Details: {
      ApiVersion: API_VERSION,
      Arch: arch(),
      BuildTime: built,
      // the chapters whose layers this run has (3 and 6 to 10 are not written yet)
      Chapters: layers.map((l) => l.chapter).join(', ') || 'none',
      Experimental: 'false',
      KernelVersion: kernel,
      MinAPIVersion: MIN_API_VERSION,
      NodeVersion: process.version,
      Os: 'linux',
    },
  };
  // One component per layer switched on: the chapter that brings it, and
  // what it uses on this host (its version() details).
  const components = layers.map((l) => ({ Name: l.name, Version: `chapter ${l.chapter}`, Details: l.version?.() ?? {} }));
  const server = withGoNames(
    {
      Platform: { Name: 'dockling' },
      Components: [engine, ...components],
      Version: version,
      ApiVersion: API_VERSION,
      MinAPIVersion: MIN_API_VERSION,
      Os: 'linux',
      Arch: arch(),
      KernelVersion: kernel,
      BuildTime: built,
    },
    { APIVersion: 'ApiVersion' },
  );
  return { Client: client, Server: server };
}
// #endregion version-document

type VersionDocument = ReturnType<typeof versionDocument>;

/**
 * docker version's default output: its template's lines, aligned by Go's
 * tabwriter as docker/cli sets it up for version (each label padded to 20
 * columns at least, one space after the longest).
 */
function versionText(v: VersionDocument): string {
  const c = v.Client;
  const s = v.Server;
  const [engine, ...others] = s.Components;
  const lines = [
    `Client: ${c.Platform.Name}`,
    ` Version:\t${c.Version}`,
    ` API version:\t${c.ApiVersion}`,
    ` Node.js version:\t${c.NodeVersion}`,
    ` Built:\t${c.BuildTime}`,
    ` OS/Arch:\t${c.Os}/${c.Arch}`,
    ` Context:\t${c.Context}`,
    '',
    `Server: ${s.Platform.Name}`,
    ` ${engine.Name}:`,
    `  Version:\t${engine.Version}`,
    `  API version:\t${engine.Details.ApiVersion} (minimum version ${engine.Details.MinAPIVersion})`,
    `  Node.js version:\t${engine.Details.NodeVersion}`,
    `  Built:\t${engine.Details.BuildTime}`,
    `  OS/Arch:\t${engine.Details.Os}/${engine.Details.Arch}`,
    `  Kernel version:\t${engine.Details.KernelVersion}`,
    `  Chapters:\t${engine.Details.Chapters}`,
    `  Experimental:\t${engine.Details.Experimental}`,
    // The other components as docker prints containerd's: Version, then
    // each detail by its name, in sorted order.
    ...others.flatMap((o) => [
      ` ${o.Name}:`,
      `  Version:\t${o.Version}`,
      ...Object.keys(o.Details).sort().map((k) => `  ${k}:\t${(o.Details as Record<string, string>)[k]}`),
    ]),
  ];
  return tabwrite(lines.join('\n'), { minWidth: 20, padding: 1 }) + '\n';
}

export const versionCommand: Command = {
  name: 'version',
  summary: 'Show the dockling version information',
  usage: 'version [OPTIONS]',
  flags: [{ name: 'format', short: 'f', kind: 'string', usage: "Format output using a custom template: 'json' prints in JSON format, 'TEMPLATE' prints output using the given Go template" }],
  maxArgs: 0,
  async run(inv) {
    const given = inv.flags.get('format') as string | undefined;
    const doc = versionDocument(inv.chapter, inv.layers);
    if (!given) {
      process.stdout.write(versionText(doc));
      return 0;
    }
    // docker/cli: `json` is {{json .}}; a template that does not parse is
    // exit 64 before anything is printed, one that fails on the document
    // exit 1; the output ends with a newline either way.
    const format = given === 'json' ? '{{json .}}' : given;
    const bad = templateError(format);
    if (bad) throw new RunError(64, bad);
    process.stdout.write(formatTemplate(format, doc) + '\n');
    return 0;
  },
};
