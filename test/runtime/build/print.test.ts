// Chapter 9's printer (runtime/build/print.ts) against the parser: for
// random Dockerfiles (any instruction, in any case, with flags, quotes,
// JSON, continuations with comments and blank lines inside, heredocs, the
// backtick escape) printing what was parsed and parsing it again gives the
// same instructions.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { ParsedDockerfile } from '../../../runtime/build/ast.ts';
import { INSTRUCTIONS, parseDockerfile } from '../../../runtime/build/parser.ts';
import { printDockerfile } from '../../../runtime/build/print.ts';

const same = (p: ParsedDockerfile) => ({
  directives: p.directives,
  instructions: p.instructions.map(({ keyword, flags, rest, json, heredocs }) => ({ keyword, flags, rest, json, heredocs })),
});

const anyCase = (word: string) =>
  fc.array(fc.boolean(), { minLength: word.length, maxLength: word.length }).map((up) => [...word].map((c, i) => (up[i] ? c : c.toLowerCase())).join(''));

const flagValue = fc.stringMatching(/^[a-z0-9 ="'\\`:,/.-]{0,8}$/);
const flag = (escape: string) => fc.oneof(
  fc.stringMatching(/^[a-z][a-z-]{0,5}$/).map((n) => `--${n}`),
  fc.tuple(fc.stringMatching(/^[a-z][a-z-]{0,5}$/), fc.stringMatching(/^[a-z0-9:/.,]{1,8}$/)).map(([n, v]) => `--${n}=${v}`),
  fc.tuple(fc.stringMatching(/^[a-z][a-z-]{0,5}$/), flagValue).map(([n, v]) => `--${n}="${[...v].map((c) => (c === '"' || c === escape ? escape + c : c)).join('')}"`),
);
const word = fc.constantFrom('a', 'b/c', '$X', '${Y:-z}', '"q w"', "'s $t'", 'k=v', 'k="v w"', '&&', '#x', '--', '--x', '\\$', 'a\\ b', '<<notdoc');
const json = fc.array(fc.stringMatching(/^[a-z "\\]{0,5}$/), { maxLength: 3 }).map((a) => JSON.stringify(a));
const heredocName = fc.constantFrom('EOF', 'END', 'X1');
const content = fc.array(fc.stringMatching(/^[a-z $\t'"]{0,6}$/), { maxLength: 3 });

/** One instruction as text, over one or more lines. */
const instruction = (escape: string) =>
  fc
    .record({
      keyword: fc.constantFrom(...INSTRUCTIONS).chain(anyCase),
      flags: fc.array(flag(escape), { maxLength: 3 }),
      args: fc.oneof(fc.array(word, { maxLength: 5 }).map((w) => w.join(' ')), json),
      docs: fc.array(fc.record({ name: heredocName, dash: fc.boolean(), quote: fc.constantFrom('', "'", '"'), lines: content }), { maxLength: 2 }),
      breaks: fc.array(fc.constantFrom('plain', 'comment', 'blank'), { maxLength: 3 }),
    })
    .map(({ keyword, flags, args, docs, breaks }) => {
      const canDoc = /^(run|copy|add)$/i.test(keyword) && !args.startsWith('[');
      const used = canDoc ? docs.filter((d, i) => docs.findIndex((o) => o.name === d.name) === i) : [];
      const parts = [keyword, ...flags, args, ...used.map((d) => `<<${d.dash ? '-' : ''}${d.quote}${d.name}${d.quote}`)];
      // continuation: break between parts, sometimes with a comment or a blank line inside
      let text = parts.shift()!;
      for (const [i, p] of parts.entries()) {
        const b = breaks[i];
        if (b === undefined) text += ` ${p}`;
        else text += ` ${escape}\n${b === 'comment' ? '  # inside\n' : b === 'blank' ? '\n' : ''}  ${p}`;
      }
      text += '\n';
      for (const d of used) text += d.lines.map((l) => `${l}\n`).join('') + (d.dash ? '\t' : '') + d.name + '\n';
      return text;
    });

const dockerfile = fc.boolean().chain((backtick) =>
  fc.record({
    backtick: fc.constant(backtick),
    syntax: fc.option(fc.constantFrom('docker/dockerfile:1', 'x/y')),
    body: fc.array(fc.oneof(instruction(backtick ? '`' : '\\'), fc.constantFrom('# comment\n', '\n')), { minLength: 1, maxLength: 8 }),
  }),
);

test('print → parse gives back the same instructions', () => {
  fc.assert(
    fc.property(dockerfile, ({ backtick, syntax, body }) => {
      const text = (syntax ? `# syntax=${syntax}\n` : '') + (backtick ? '# escape=`\n' : '') + body.join('');
      let first: ParsedDockerfile;
      try {
        first = parseDockerfile(text, 'Dockerfile');
      } catch {
        return fc.pre(false); // only comments, or a JSON array of non-strings: nothing to print
      }
      const again = parseDockerfile(printDockerfile(first), 'Dockerfile');
      assert.deepEqual(same(again), same(first));
    }),
    { numRuns: 400 },
  );
});

test('the printer quotes what needs quoting and keeps `--` when the rest starts with it', () => {
  const p = parseDockerfile('FROM a\nCOPY --chown="a \\"b\\"" --x= -- --weird dst\nRUN <<-EOF cat\n\thi\n\tEOF\n', 'Dockerfile');
  const text = printDockerfile(p);
  assert.equal(text, 'FROM a\nCOPY --chown="a \\"b\\"" --x="" -- --weird dst\nRUN <<-EOF cat\n\thi\nEOF\n');
  assert.deepEqual(same(parseDockerfile(text, 'Dockerfile')), same(p));
});
