// Splitting a Dockerfile line into words, the two ways Docker does before
// any $variable is expanded: the --flags in front of the arguments, and the
// words of ENV/LABEL/ARG (which keep their quotes and escapes, because
// expansion, later, is what removes them).

const isSpace = (ch: string) => /\s/.test(ch);

// #region flags
/**
 * The `--name=value` words before the arguments. The first word that does
 * not start with `--` ends them, and so does a bare `--` (which is dropped).
 * Quotes and the escape character work inside a flag word and are removed:
 * `--chown="a b"` is the flag `--chown=a b`.
 */
export function splitFlags(line: string, escape: string): { flags: string[]; rest: string } {
  const flags: string[] = [];
  let pos = 0;
  for (;;) {
    while (pos < line.length && isSpace(line[pos])) pos++;
    if (pos >= line.length) return { flags, rest: '' };
    if (!line.startsWith('--', pos)) return { flags, rest: line.slice(pos).trim() };
    let word = '';
    let quote = '';
    let blankOk = false;
    for (; pos < line.length; pos++) {
      const ch = line[pos];
      if (quote) {
        if (ch === quote) quote = '';
        else if (ch === escape && pos + 1 < line.length) word += line[++pos];
        else if (ch !== escape) word += ch;
        continue;
      }
      if (isSpace(ch)) break;
      if (ch === '"' || ch === "'") {
        quote = ch;
        blankOk = true;
      } else if (ch === escape) {
        if (pos + 1 < line.length) word += line[++pos];
      } else word += ch;
    }
    if (word === '--') return { flags, rest: line.slice(pos).trim() };
    if (blankOk || word !== '') flags.push(word);
  }
}
// #endregion flags

// #region words
/**
 * Docker's parseWords: split on whitespace outside quotes, keeping the
 * quotes and escapes in the words (`a="b c"` stays `a="b c"`). An escape
 * keeps the next character in the word, even a space or a quote; inside
 * single quotes the escape is an ordinary character, as in sh.
 */
export function words(rest: string, escape: string): string[] {
  const out: string[] = [];
  let word = '';
  let inWord = false;
  let quote = '';
  for (let pos = 0; pos < rest.length; pos++) {
    const ch = rest[pos];
    if (!inWord) {
      if (isSpace(ch)) continue;
      inWord = true;
    }
    if (quote) {
      if (ch === quote) quote = '';
      else if (ch === escape && quote !== "'") {
        if (pos + 1 === rest.length) continue;
        word += ch;
        pos++;
        word += rest[pos];
        continue;
      }
      word += ch;
      continue;
    }
    if (isSpace(ch)) {
      if (word !== '') out.push(word);
      word = '';
      inWord = false;
      continue;
    }
    if (ch === '"' || ch === "'") quote = ch;
    if (ch === escape) {
      if (pos + 1 === rest.length) continue; // an escape at the very end is dropped
      word += ch;
      pos++;
      word += rest[pos];
      continue;
    }
    word += ch;
  }
  if (inWord && word !== '') out.push(word);
  return out;
}
// #endregion words

/** Levenshtein distance, for Docker's "(did you mean FROM?)": it suggests names fewer than 3 edits away. */
export function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length];
}
