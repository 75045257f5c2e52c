// STUB until the words helper lands (replaced at merge).
export function matchPattern(pattern: string, name: string): boolean { return new RegExp('^' + pattern.replace(/\./g, '\\.').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]') + '$').test(name); }
