// The image store: Docker's imagedb and repositories.json.
//
//   image/overlay2/imagedb/content/sha256/<id>     the config bytes (sha256 = id)
//   image/overlay2/imagedb/metadata/sha256/<id>/   parent, lastUpdated
//   image/overlay2/repositories.json               names → image IDs
//
// An image ID names content; a name (busybox:latest) is a movable pointer to
// one. `tag` adds a pointer, `rmi NAME` removes one, and only when no
// pointer and no container is left does the content go.
import fs from 'node:fs';
import path from 'node:path';
import { writeFileAtomic, withLock, withLockAsync } from '../core/files.js';
import { trace } from '../trace/trace.js';
import { decodeConfig, encodeConfig, type ImageConfig } from './config.js';
import { sha256 } from '../core/digest.js';
import { familiarName, familiarString, parseReference, isImageIdLike, type Reference } from './reference.js';
import { nowRFC3339Nano } from '../core/time.js';

const CH = 3;
const hex = (id: string) => id.replace(/^sha256:/, '');

/** repositories.json: { "Repositories": { "busybox": { "busybox:latest": "sha256:…" } } } */
interface Repositories {
  Repositories: Record<string, Record<string, string>>;
}

export class NoSuchImageError extends Error {}

export class ImageStore {
  readonly home: string;

  constructor(stateRoot: string, driverName: string) {
    this.home = path.join(stateRoot, 'image', driverName);
  }

  private contentFile = (id: string) => path.join(this.home, 'imagedb/content/sha256', hex(id));
  private metadataDir = (id: string) => path.join(this.home, 'imagedb/metadata/sha256', hex(id));
  private reposFile = () => path.join(this.home, 'repositories.json');

  /**
   * Everything that changes the image or layer store runs under this lock,
   * so that a layer registered by one dockling is never freed by another's
   * rmi before its image is written.
   */
  locked<T>(fn: () => T): T {
    fs.mkdirSync(this.home, { recursive: true });
    return withLock(path.join(this.home, '.lock'), fn, 120_000);
  }

  lockedAsync<T>(fn: () => Promise<T>): Promise<T> {
    fs.mkdirSync(this.home, { recursive: true });
    return withLockAsync(path.join(this.home, '.lock'), fn, 120_000);
  }

  // --- image configs ---

  /** Store a config; its sha256 is the ID. Storing the same bytes twice is a no-op. */
  put(config: ImageConfig | Buffer, parent?: string): string {
    const bytes = Buffer.isBuffer(config) ? config : encodeConfig(config);
    const id = sha256(bytes);
    const file = this.contentFile(id);
    if (!fs.existsSync(file)) {
      fs.mkdirSync(path.dirname(file), { recursive: true });
      trace.emit(CH, { op: 'write', path: file, value: `image config (${bytes.length} bytes)` });
      writeFileAtomic(file, bytes);
    }
    if (parent) {
      fs.mkdirSync(this.metadataDir(id), { recursive: true });
      writeFileAtomic(path.join(this.metadataDir(id), 'parent'), parent);
    }
    return id;
  }

  exists = (id: string) => fs.existsSync(this.contentFile(id));

  bytes(id: string): Buffer {
    try {
      return fs.readFileSync(this.contentFile(id));
    } catch (e) {
      throw new NoSuchImageError(`No such image: ${id}`, { cause: e });
    }
  }

  get(id: string): ImageConfig {
    return decodeConfig(this.bytes(id), `image ${hex(id).slice(0, 12)}`);
  }

  parent(id: string): string {
    try {
      return fs.readFileSync(path.join(this.metadataDir(id), 'parent'), 'utf8').trim();
    } catch {
      return ''; // no parent file: an image not committed on top of another
    }
  }

  lastTagTime(id: string): string {
    try {
      return fs.readFileSync(path.join(this.metadataDir(id), 'lastUpdated'), 'utf8').trim();
    } catch {
      return '0001-01-01T00:00:00Z'; // never tagged: Go's zero time, as Docker shows it
    }
  }

  list(): string[] {
    try {
      return fs.readdirSync(path.join(this.home, 'imagedb/content/sha256')).filter((h) => /^[0-9a-f]{64}$/.test(h)).map((h) => 'sha256:' + h);
    } catch {
      return []; // no imagedb yet: no image stored
    }
  }

  /** Delete the config (the caller has checked no name or container uses it). */
  delete(id: string): void {
    trace.emit(CH, { op: 'remove', path: this.contentFile(id) });
    fs.rmSync(this.contentFile(id), { force: true });
    fs.rmSync(this.metadataDir(id), { recursive: true, force: true });
  }

  // --- names ---

  private repos(): Repositories {
    try {
      const r = JSON.parse(fs.readFileSync(this.reposFile(), 'utf8')) as Repositories;
      return r && typeof r.Repositories === 'object' ? r : { Repositories: {} };
    } catch {
      return { Repositories: {} }; // none written yet (writes are atomic: a file is whole or absent)
    }
  }

  private saveRepos(r: Repositories): void {
    fs.mkdirSync(this.home, { recursive: true });
    writeFileAtomic(this.reposFile(), JSON.stringify(r));
  }

  /** Point a name at an image (moving it if it pointed elsewhere). */
  tag(id: string, ref: Reference): void {
    const r = this.repos();
    const repo = familiarName(ref);
    const key = familiarString(ref);
    trace.emit(CH, { op: 'write', path: this.reposFile(), value: `${key} → ${hex(id).slice(0, 12)}` });
    (r.Repositories[repo] ??= {})[key] = id;
    this.saveRepos(r);
    fs.mkdirSync(this.metadataDir(id), { recursive: true });
    writeFileAtomic(path.join(this.metadataDir(id), 'lastUpdated'), nowRFC3339Nano());
  }

  /** Remove a name; returns the image it pointed at, or null. */
  untag(ref: Reference): string | null {
    const r = this.repos();
    const repo = familiarName(ref);
    const key = familiarString(ref);
    const id = r.Repositories[repo]?.[key];
    if (!id) return null;
    delete r.Repositories[repo][key];
    if (Object.keys(r.Repositories[repo]).length === 0) delete r.Repositories[repo];
    trace.emit(CH, { op: 'write', path: this.reposFile(), value: `untag ${key}` });
    this.saveRepos(r);
    return id;
  }

  /**
   * The names pointing at an image, as Docker prints them: its tags
   * ("busybox:latest") and, once a registry gave it one (chapter 8), its
   * digest references ("busybox@sha256:…"), both kept in repositories.json.
   */
  namesOf(id: string): string[] {
    const out: string[] = [];
    for (const refs of Object.values(this.repos().Repositories)) for (const [k, v] of Object.entries(refs)) if (v === id) out.push(k);
    return out.sort();
  }

  /** An image's tags alone (RepoTags): "busybox:latest". */
  tagsOf = (id: string) => this.namesOf(id).filter((n) => !n.includes('@'));

  /** An image's digest references alone (RepoDigests): "busybox@sha256:…". */
  digestsOf = (id: string) => this.namesOf(id).filter((n) => n.includes('@'));

  lookupName(ref: Reference): string | null {
    return this.repos().Repositories[familiarName(ref)]?.[familiarString(ref)] ?? null;
  }

  // #region resolve
  /**
   * Find an image as Docker does: a full ID ("sha256:…" or 64 hex); a name,
   * with ":latest" added when there is no tag; or a unique prefix of an ID.
   */
  resolve(refOrId: string): string {
    const full = /^(sha256:)?([0-9a-f]{64})$/.exec(refOrId);
    if (full && this.exists('sha256:' + full[2])) return 'sha256:' + full[2];
    let ref: Reference | null = null;
    try {
      ref = parseReference(refOrId);
    } catch {
      /* not a name: maybe an ID prefix */
    }
    const byName = ref && this.lookupName(ref);
    if (byName && this.exists(byName)) return byName;
    if (isImageIdLike(refOrId)) {
      const prefix = hex(refOrId);
      const matches = this.list().filter((id) => hex(id).startsWith(prefix));
      if (matches.length === 1) return matches[0];
      if (matches.length > 1) throw new NoSuchImageError(`ambiguous image ID prefix "${refOrId}": ${matches.length} images match; give more digits`);
    }
    throw new NoSuchImageError(`No such image: ${ref ? familiarString(ref) : refOrId}`);
  }
  // #endregion resolve
}
