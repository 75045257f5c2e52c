// STUB until the words helper lands (replaced at merge).
import { matchPattern } from './glob.js';
export type Pattern = { p: string; neg: boolean };
export function parseDockerignore(text: string): Pattern[] { return text.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#')).map((l) => ({ p: l.replace(/^!/, ''), neg: l.startsWith('!') })); }
export function isIgnored(patterns: Pattern[], rel: string): boolean { let r = false; for (const p of patterns) if (matchPattern(p.p, rel)) r = !p.neg; return r; }
export function dirMayHaveExceptions(patterns: Pattern[], rel: string): boolean { return patterns.some((p) => p.neg); }
