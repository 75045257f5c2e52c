// `search`: Docker Hub's v1 search API, and a plain fallback for the rest.
//
// `docker search ruby` sends GET https://index.docker.io/v1/search?q=ruby&n=25
// and prints the answer's results as a table. The v1 search API is Docker
// Hub's (the "index"); a registry of the Distribution project has none. For
// such a registry dockling falls back on GET /v2/_catalog, the list of its
// repositories, filtered by the term, and says that it did: a catalog has
// no descriptions and no stars.
import type { Command } from '../core/layer.js';
import { RunError } from '../core/pipeline.js';
import { boolFilter, daemonError, parseFilters, validateFilters, valuesOf } from '../core/filters.js';
import { formatList, headerOf } from '../core/list-format.js';
import { GoStruct } from '../core/template/index.js';
import { DEFAULT_DOMAIN } from '../image/reference.js';
import { RegistryClient, type Endpoint } from './client.js';
import { credentialsFor } from './credentials.js';
import { isInsecure, registryCAs, registrySettings } from './daemon-config.js';
import { discard, readBody } from './http.js';

/** Docker Hub's search host: the old "index". */
export const HUB_INDEX_HOST = 'index.docker.io';

export interface SearchResult {
  name: string;
  description: string;
  star_count: number;
  is_official: boolean;
  is_automated: boolean;
}

/** "ruby" → Hub, "ruby"; "localhost:5000/lab" → localhost:5000, "lab" (the docker CLI's split). */
export function splitSearchTerm(term: string): { index: string; query: string } {
  const slash = term.indexOf('/');
  const first = slash < 0 ? '' : term.slice(0, slash);
  if (first && (first === 'localhost' || /[.:]/.test(first))) return { index: first, query: term.slice(slash + 1) };
  return { index: DEFAULT_DOMAIN, query: term };
}

// #region search
/** The results for a term: the index's v1 search, or the catalog filtered. */
export async function searchRegistry(term: string, limit: number): Promise<{ results: SearchResult[]; fromCatalog: string | null }> {
  const { index, query } = splitSearchTerm(term);
  const settings = registrySettings();
  const host = index === DEFAULT_DOMAIN ? HUB_INDEX_HOST : index;
  const ep: Endpoint = { host, mirror: false, insecure: isInsecure(host, settings), ca: registryCAs(host, settings) };
  const client = new RegistryClient(ep, credentialsFor(index));
  await client.ping().catch((e) => {
    // The index answers /v1/ only, perhaps: carry on to the search request.
    if (index !== DEFAULT_DOMAIN) throw e;
  });
  const res = await client.request(`/v1/search?q=${encodeURIComponent(query)}&n=${limit}`, { scopes: [] });
  if (res.status === 200) {
    const body = JSON.parse((await readBody(res)).toString('utf8')) as { results?: SearchResult[] };
    return { results: (body.results ?? []).filter((r) => typeof r?.name === 'string'), fromCatalog: null };
  }
  discard(res);
  if (res.status !== 404 || index === DEFAULT_DOMAIN) return client.fail(res, `search ${term}`);
  // No v1 search here: the catalog, filtered by the term.
  const cat = await client.request('/v2/_catalog?n=1000', { scopes: ['registry:catalog:*'] });
  if (cat.status !== 200) return client.fail(cat, `${index} has no search API, and its catalog (/v2/_catalog) is not open to this login`);
  const { repositories } = JSON.parse((await readBody(cat)).toString('utf8')) as { repositories?: string[] };
  const matching = (repositories ?? []).filter((r) => r.includes(query)).slice(0, limit);
  return { results: matching.map((r) => ({ name: `${index}/${r}`, description: '', star_count: 0, is_official: false, is_automated: false })), fromCatalog: index };
}
// #endregion search

const SEARCH_HEADER = headerOf('*formatter.searchContext', { Name: 'NAME', Description: 'DESCRIPTION', StarCount: 'STARS', IsOfficial: 'OFFICIAL', IsAutomated: 'AUTOMATED' });
const DEFAULT_TABLE = 'table {{.Name}}\t{{.Description}}\t{{.StarCount}}\t{{.IsOfficial}}\t{{.IsAutomated}}';

/** One row: docker/cli's searchContext ("[OK]" for official, descriptions cut at 45 characters). */
function searchContext(r: SearchResult, trunc: boolean): GoStruct {
  const oneLine = r.description.replace(/\n/g, ' ');
  const description = trunc && [...oneLine].length > 45 ? [...oneLine].slice(0, 44).join('') + '…' : oneLine;
  return new GoStruct('*formatter.searchContext', {
    Name: () => r.name,
    Description: () => description,
    StarCount: () => String(r.star_count),
    IsOfficial: () => (r.is_official ? '[OK]' : ''),
    IsAutomated: () => (r.is_automated ? '[OK]' : ''),
  });
}

export const searchCommand: Command = {
  name: 'search',
  summary: 'Search Docker Hub for images',
  usage: 'search [OPTIONS] TERM',
  minArgs: 1,
  maxArgs: 1,
  flags: [
    { name: 'filter', short: 'f', kind: 'stringArray', valueName: 'filter', usage: 'Filter output based on conditions provided' },
    { name: 'format', kind: 'string', usage: 'Pretty-print search using a Go template' },
    { name: 'limit', kind: 'int', usage: 'Max number of search results (default 25)' },
    { name: 'no-trunc', kind: 'bool', usage: "Don't truncate output" },
  ],
  async run(inv) {
    const limit = (inv.flags.get('limit') as number | undefined) ?? 25;
    if (limit < 1 || limit > 100) throw daemonError(`limit ${limit} is outside the range of [1, 100]`);
    const f = parseFilters((inv.flags.get('filter') as string[] | undefined) ?? [], 'search');
    validateFilters(f, ['stars', 'is-official', 'is-automated']);
    let minStars = 0;
    for (const v of valuesOf(f, 'stars')) {
      if (!/^\d+$/.test(v)) throw new RunError(1, `Error response from daemon: invalid filter 'stars=${v}'`);
      minStars = Math.max(minStars, Number(v));
    }
    const official = boolFilter(f, 'is-official');
    const automated = boolFilter(f, 'is-automated');
    const { results, fromCatalog } = await searchRegistry(inv.args[0], limit);
    const kept = results.filter((r) => r.star_count >= minStars && (official === undefined || r.is_official === official) && (automated === undefined || r.is_automated === automated));
    if (fromCatalog) process.stderr.write(`${fromCatalog} has no search API (Docker Hub's /v1/search): these are the repositories of its /v2/_catalog whose names contain the term\n`);
    const format = (inv.flags.get('format') as string | undefined) || DEFAULT_TABLE;
    process.stdout.write(formatList(format, kept.map((r) => searchContext(r, !inv.flags.get('no-trunc'))), SEARCH_HEADER));
    return 0;
  },
};
