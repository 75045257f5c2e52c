// STUB until the words helper lands (replaced at merge).
export class ExpandError extends Error {}
export type Env = ReadonlyMap<string, string>;
export function expandWord(word: string, env: Env, escape: '\\' | '`'): string { return word.replace(/\$\{?([A-Za-z_]\w*)\}?/g, (_m, k) => env.get(k) ?? ''); }
export function expandWords(text: string, env: Env, escape: '\\' | '`'): string[] { return []; }
export function expandHeredoc(content: string, env: Env, escape: '\\' | '`'): string { return expandWord(content, env, escape); }
