// Chapter 9's parser (runtime/build/parser.ts): lines → instructions, by
// Docker's rules. Pure functions: nothing on disk.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseDockerfile, parseInstructionLine } from '../../../runtime/build/parser.ts';

const parse = (text: string) => parseDockerfile(text, 'Dockerfile');
const only = (text: string) => {
  const p = parse(text);
  assert.equal(p.instructions.length, 1);
  return p.instructions[0];
};

test('directives: syntax, escape and check at the top, names in any case', () => {
  const p = parse('# syntax=docker/dockerfile:1\n# ESCAPE = `\n#check=skip=all\nFROM busybox\n');
  assert.deepEqual(p.directives, { escape: '`', syntax: 'docker/dockerfile:1', check: 'skip=all' });
  assert.equal(p.instructions[0].line, 4);
});

test('directives: after a blank line, a comment or an instruction, # escape= is only a comment', () => {
  for (const text of ['\n# escape=`\nFROM a\n', '# hello\n# escape=`\nFROM a\n', 'FROM a\n# escape=`\nRUN x\n', '# foo=bar\n# escape=`\nFROM a\n']) {
    assert.equal(parse(text).directives.escape, '\\', text);
  }
});

test('the backtick escape: continuation with `, and a backslash is an ordinary character', () => {
  const p = parse('# escape=`\nFROM a\nRUN dir c:\\ `\n  && echo done\n');
  assert.equal(p.instructions[1].rest, 'dir c:\\   && echo done');
  assert.equal(p.instructions[1].endLine, 4);
});

test('continuations: joined as written, comments and blank lines inside dropped, a warning for the blank', () => {
  const p = parse('FROM a\nRUN echo a \\\n  # a comment\n    b \\\n\n  c\nRUN next\n');
  const run = p.instructions[1];
  assert.equal(run.rest, 'echo a     b   c');
  assert.deepEqual([run.line, run.endLine], [2, 6]);
  assert.equal(p.instructions[2].line, 7);
  assert.deepEqual(p.warnings.map((w) => [w.rule, w.message, w.line]), [['NoEmptyContinuation', 'Empty continuation line', 6]]);
});

test('continuations: trailing spaces after the escape, an escaped escape does not continue, a lone escape line does', () => {
  assert.equal(parse('FROM a\nRUN a \\   \n b\n').instructions[1].rest, 'a  b');
  const p = parse('FROM a\nRUN a \\\\\nRUN b\n');
  assert.equal(p.instructions.length, 3);
  assert.equal(p.instructions[1].rest, 'a \\\\');
  assert.equal(parse('FROM a\nRUN a \\\n\\\n b\n').instructions[1].rest, 'a  b');
});

test('comments and blank lines between instructions are dropped; indented comments too; CRLF and a BOM are read', () => {
  const p = parse('\uFEFF# top\r\n\r\nFROM a\r\n   # indented\r\n\tRUN x\r\n');
  assert.deepEqual(p.instructions.map((i) => [i.keyword, i.rest, i.line]), [['FROM', 'a', 3], ['RUN', 'x', 5]]);
});

test('keywords in any case become upper case; the original keeps what was written', () => {
  const i = only('from Busybox AS b\n');
  assert.equal(i.keyword, 'FROM');
  assert.equal(i.original, 'from Busybox AS b');
  assert.equal(only('CoPy a b\n').keyword, 'COPY');
});

test('flags: before the arguments, until the first word that is not one; quotes in a flag value', () => {
  const i = only('COPY --from=build --link --chown="app user" src dst --not-a-flag\n');
  assert.deepEqual(i.flags, [{ name: 'from', value: 'build' }, { name: 'link', value: null }, { name: 'chown', value: 'app user' }]);
  assert.equal(i.rest, 'src dst --not-a-flag');
  const dd = only('RUN --network=none -- --version\n');
  assert.deepEqual(dd.flags, [{ name: 'network', value: 'none' }]);
  assert.equal(dd.rest, '--version');
  assert.deepEqual(only('RUN --x= a\n').flags, [{ name: 'x', value: '' }]);
});

test('exec form: a JSON array of strings; anything else is the shell form', () => {
  assert.deepEqual(only('CMD ["sh", "-c", "echo hi"]\n').json, ['sh', '-c', 'echo hi']);
  assert.equal(only('CMD [not json]\n').json, null);
  assert.equal(only('CMD echo ["a"]\n').json, null);
  assert.deepEqual(only('RUN []\n').json, []);
  // only the instructions with an exec form read JSON
  assert.equal(only('ENV ["a"]\n').json, null);
  assert.deepEqual(only('VOLUME ["/data", "/logs"]\n').json, ['/data', '/logs']);
});

test('heredocs: <<EOF, <<-EOF, quoted names, several on one line, lines up to the terminator', () => {
  const p = parse('FROM a\nRUN <<EOF\necho $HOME\n  EOF\nEOF\nCOPY <<-"one" <<two /dst/\n\tx\n\tone\ny\ntwo\nRUN after\n');
  const [, run, copy, after] = p.instructions;
  assert.deepEqual(run.heredocs, [{ name: 'EOF', content: 'echo $HOME\n  EOF\n', expand: true, chomp: false }]);
  assert.deepEqual([run.line, run.endLine], [2, 5]);
  assert.deepEqual(copy.heredocs, [
    { name: 'one', content: '\tx\n', expand: false, chomp: true },
    { name: 'two', content: 'y\n', expand: true, chomp: false },
  ]);
  assert.deepEqual([copy.line, copy.endLine], [6, 10]);
  assert.equal(after.line, 11);
});

test('heredocs only in RUN, COPY and ADD (and an ONBUILD of one), never in the exec form', () => {
  const p = parse('FROM a\nENV x=<<EOF\nRUN ["cat", "<<EOF"]\nONBUILD RUN <<EOF\nhi\nEOF\n');
  assert.deepEqual(p.instructions.map((i) => i.heredocs.length), [0, 0, 0, 1]);
  assert.equal(p.instructions[3].endLine, 6);
  // a quoted <<EOF is text
  assert.deepEqual(parse('FROM a\nRUN echo "<<EOF"\n').instructions[1].heredocs, []);
});

test('parseInstructionLine: an ONBUILD trigger, its heredoc and the ONBUILD\'s line', () => {
  const i = parseInstructionLine('RUN <<EOF\necho hi\nEOF', 'Dockerfile', 7, '\\');
  assert.equal(i.keyword, 'RUN');
  assert.equal(i.line, 7);
  assert.deepEqual(i.heredocs.map((h) => h.content), ['echo hi\n']);
  assert.equal(parseInstructionLine('COPY a `\n b', 'Dockerfile', 3, '`').rest, 'a  b');
});
