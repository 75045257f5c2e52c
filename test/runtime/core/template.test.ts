// Docker's --format language: Go's text/template (runtime/core/template/),
// checked against what Go's documentation says it does, docker/cli's extra
// functions, Go's error messages, and properties over random inputs.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { formatDirective, parseTemplate, tabwrite, TemplateError } from '../../../runtime/core/template/index.js';
import { formatTemplate, inspectTemplate, templateError } from '../../../runtime/core/format.js';

const run = (text: string, data: unknown = null) => parseTemplate(text).execute(data);
const error = (text: string, data: unknown = null, missingKey: 'default' | 'error' = 'default'): string => {
  try {
    parseTemplate(text).execute(data, { missingKey });
  } catch (e) {
    assert.ok(e instanceof TemplateError, String(e));
    return e.message;
  }
  assert.fail(`${text} did not fail`);
};

describe("Go's documented examples", () => {
  test('every way the package doc prints "output" quoted', () => {
    for (const t of [
      '{{"\\"output\\""}}',
      '{{`"output"`}}',
      '{{printf "%q" "output"}}',
      '{{"output" | printf "%q"}}',
      '{{printf "%q" (print "out" "put")}}',
      '{{"put" | printf "%s%s" "out" | printf "%q"}}',
      '{{"output" | printf "%s" | printf "%q"}}',
      '{{with "output"}}{{printf "%q" .}}{{end}}',
      '{{with $x := "output" | printf "%q"}}{{$x}}{{end}}',
      '{{with $x := "output"}}{{printf "%q" $x}}{{end}}',
      '{{with $x := "output"}}{{$x | printf "%q"}}{{end}}',
    ]) assert.equal(run(t), '"output"', t);
  });

  test('trim markers: "{{23 -}} < {{- 45}}" is "23<45"; {{-3}} is the number -3', () => {
    assert.equal(run('{{23 -}} < {{- 45}}'), '23<45');
    assert.equal(run('{{-3}}'), '-3');
    assert.equal(run('a  \n {{- /* gone */ -}} \n b'), 'ab');
    assert.equal(run('x {{/* a comment */}} y'), 'x  y');
  });

  test('fields, $ and dot; a missing key prints <no value>; nil prints <no value> too', () => {
    const d = { Name: 'web', State: { Status: 'running', Pid: 42 }, Null: null };
    assert.equal(run('{{.Name}} {{.State.Status}} {{.State.Pid}} {{$.Name}}', d), 'web running 42 web');
    assert.equal(run('{{with .State}}{{.Status}} {{$.Name}}{{end}}', d), 'running web');
    assert.equal(run('{{.Bogus}} {{.State.Bogus}} {{.Bogus.Deeper}} {{.Null}}', d), '<no value> <no value> <no value> <no value>');
    assert.equal(run('{{print .Null}}', d), '<nil>');
  });

  test('range over an array, over a map in sorted key order, with else, break and continue', () => {
    const d = { Args: ['a', 'b', 'c'], Labels: { zeta: 1, alpha: 2, mid: 3 }, None: [] };
    assert.equal(run('{{range .Args}}[{{.}}]{{end}}', d), '[a][b][c]');
    assert.equal(run('{{range $i, $e := .Args}}{{$i}}={{$e}} {{end}}', d), '0=a 1=b 2=c ');
    assert.equal(run('{{range $k, $v := .Labels}}{{$k}}:{{$v}} {{end}}', d), 'alpha:2 mid:3 zeta:1 ');
    assert.equal(run('{{range .None}}x{{else}}empty{{end}}', d), 'empty');
    assert.equal(run('{{range .Missing}}x{{else}}missing{{end}}', d), 'missing');
    assert.equal(run('{{range .Args}}{{if eq . "b"}}{{continue}}{{end}}{{.}}{{end}}', d), 'ac');
    assert.equal(run('{{range .Args}}{{if eq . "b"}}{{break}}{{end}}{{.}}{{end}}', d), 'a');
    assert.equal(run('{{range 3}}{{.}}{{end}}'), '012');
  });

  test('if / else if / else, with / else', () => {
    for (const [v, want] of [[0, 'zero'], [1, 'one'], [2, 'many']] as const) {
      assert.equal(run('{{if eq . 0}}zero{{else if eq . 1}}one{{else}}many{{end}}', v), want);
    }
    assert.equal(run('{{with .X}}has {{.}}{{else}}none{{end}}', { X: '' }), 'none');
    assert.equal(run('{{with .X}}has {{.}}{{else with .Y}}y {{.}}{{end}}', { X: '', Y: 5 }), 'y 5');
    // Go's truth: empty string, 0, false, nil, empty array and map are false.
    for (const v of ['', 0, false, null, [], {}]) assert.equal(run('{{if .}}t{{else}}f{{end}}', v), 'f', JSON.stringify(v));
    for (const v of ['x', 1, true, [0], { a: 0 }]) assert.equal(run('{{if .}}t{{else}}f{{end}}', v), 't', JSON.stringify(v));
  });

  test("a variable's scope ends at the {{end}} of the structure that declares it; = assigns the outer one", () => {
    assert.equal(run('{{$x := 1}}{{if true}}{{$x := 2}}{{$x}}{{end}}{{$x}}'), '21');
    assert.equal(run('{{$x := 1}}{{if true}}{{$x = 2}}{{end}}{{$x}}'), '2');
    assert.equal(run('{{$n := 0}}{{range .}}{{$n = .}}{{end}}{{$n}}', [1, 2, 3]), '3');
    assert.match(error('{{if true}}{{$x := 2}}{{end}}{{$x}}'), /undefined variable "\$x"$/);
  });

  test('and / or return the deciding operand and stop there; not, eq with several arguments, ne lt le gt ge', () => {
    assert.equal(run('{{and 1 0 "x"}}|{{and 1 "x"}}|{{or 0 "" "x"}}|{{or 0 ""}}'), '0|x|x|');
    // Short-circuit: the failing call after the deciding operand is never made.
    assert.equal(run('{{and false (index . 9)}}|{{or true (index . 9)}}', []), 'false|true');
    assert.equal(run('{{not 0}} {{not "a"}}'), 'true false');
    assert.equal(run('{{eq 3 1 2 3}} {{eq "a" "b" "c"}} {{ne 1 2}}'), 'true false true');
    assert.equal(run('{{lt 1 2}} {{le 2 2}} {{gt "b" "a"}} {{ge 1 2}}'), 'true true true false');
    assert.equal(run('{{eq .Missing "x"}}', {}), 'false');
    assert.match(error('{{lt 1 "a"}}'), /error calling lt: incompatible types for comparison$/);
  });

  test('index, len, slice, print, println, html, js, urlquery', () => {
    const d = { Args: ['a', 'b'], Ports: { '80/tcp': [{ HostPort: '8080' }] } };
    assert.equal(run('{{index .Args 1}} {{(index (index .Ports "80/tcp") 0).HostPort}} {{len .Args}} {{len "héllo"}}', d), 'b 8080 2 6');
    assert.equal(run('{{slice "hello" 1 3}} {{slice .Args 1}} {{index "abc" 0}}', d), 'el [b] 97');
    assert.equal(run('{{print 1 2 "a" 3 "b" "c"}}|{{println 1 "a"}}'), '1 2a3bc|1 a\n');
    assert.equal(run(`{{html "<a href='x'>&"}} {{js "it's <b>"}} {{urlquery "a b&c"}}`), "&lt;a href=&#39;x&#39;&gt;&amp; it\\'s \\u003Cb\\u003E a+b%26c");
  });

  test('define, template and block: named templates with their own $', () => {
    const t = '{{define "T1"}}ONE{{end}}{{define "T2"}}TWO {{template "T1"}}{{end}}{{define "T3"}}{{template "T1"}} {{template "T2"}}{{end}}{{template "T3"}}';
    assert.equal(run(t), 'ONE TWO ONE');
    assert.equal(run('{{block "list" .A}}{{range .}}[{{.}}]{{end}}{{end}}', { A: [1, 2] }), '[1][2]');
    assert.equal(run('{{define "x"}}{{$}}{{end}}{{template "x" 5}}'), '5');
    assert.match(error('{{define "x"}}{{.A.B}}{{end}}{{template "x" .}}', { A: 1 }), /template: :1:18: executing "x" at <\.A\.B>: can't evaluate field B in type int$/);
    assert.match(error('{{template "nope"}}'), /:1:2: executing "" at <\{\{template "nope"\}\}>: template "nope" not defined$/);
    assert.match(error('{{define "r"}}{{template "r"}}{{end}}{{template "r"}}'), /exceeded maximum template depth/);
    assert.equal(templateError('{{define "x"}}a{{end}}{{define "x"}}b{{end}}'), 'template parsing error: template: :1: template: multiple definition of template "x"');
  });

  test('literals: strings with escapes, raw strings, characters, numbers in Go syntax, booleans', () => {
    assert.equal(run('{{"a\\tb"}}|{{`a\\tb`}}|{{\'a\'}}|{{0x1F}}|{{0o17}}|{{1_000}}|{{1.5}}|{{true}}'), 'a\tb|a\\tb|97|31|15|1000|1.5|true');
  });
});

describe('values print as Go prints them', () => {
  test('arrays [a b], maps map[k:v] sorted, floats as %g', () => {
    assert.equal(run('{{.}}', ['a', 1, true, null]), '[a 1 true <nil>]');
    assert.equal(run('{{.}}', { b: 1, a: { c: [1, 2] } }), 'map[a:map[c:[1 2]] b:1]');
    assert.equal(run('{{.A}} {{.B}} {{.C}}', { A: 0.5, B: 1.5e-7, C: 1234567.5 }), '0.5 1.5e-07 1.2345675e+06');
  });

  test("printf: Go's verbs, flags, widths and complaints", () => {
    const cases: [string, unknown[], string][] = [
      ['%s|%v|%d', ['a', [1, 2], 42], 'a|[1 2]|42'],
      ['%5.2f|%-6s|%6s|%05d', [3.14159, 'ab', 'ab', 42], ' 3.14|ab    |    ab|00042'],
      ['%q|%x|%X|%#x|%t', ['hi\n', 255, 'hi', 255, true], '"hi\\n"|ff|6869|0xff|true'],
      ['%e|%g|%.3g|%8.3f', [1234.5678, 0.0001, 1234.5678, -2.5], '1.234568e+03|0.0001|1.23e+03|  -2.500'],
      ['%c|%U|%+d|%x', [65, 65, 5, -255], 'A|U+0041|+5|-ff'],
      ['%d', ['x'], '%!d(string=x)'],
      ['%s %s', ['a'], 'a %!s(MISSING)'],
      ['%s', ['a', 'b'], 'a%!(EXTRA string=b)'],
      ['100%%', [], '100%'],
    ];
    for (const [f, args, want] of cases) assert.equal(run(`{{printf .F ${args.map((_, i) => `(index .A ${i})`).join(' ')}}}`, { F: f, A: args }), want, f);
  });
});

describe("docker/cli's functions", () => {
  test('json, join, split, title, upper, lower, pad, truncate', () => {
    const d = { Config: { Env: ['A=1', 'B=2'], Labels: { x: '<&>' } }, Name: 'my web' };
    assert.equal(run('{{json .Config}}', d), '{"Env":["A=1","B=2"],"Labels":{"x":"<&>"}}');
    assert.equal(run('{{json .Missing}}', d), 'null');
    assert.equal(run('{{join .Config.Env ","}}', d), 'A=1,B=2');
    assert.equal(run('{{split "a:b:c" ":"}} {{len (split "abc" "")}}'), '[a b c] 3');
    assert.equal(run('{{title .Name}} {{upper .Name}} {{lower "ABC"}}', d), 'My Web MY WEB abc');
    assert.equal(run('[{{pad "x" 1 2}}][{{pad "" 3 3}}]'), '[ x  ][]');
    assert.equal(run('{{truncate "abcdef" 3}} {{truncate "ab" 3}}'), 'abc ab');
  });
});

describe("Go's errors, as Docker prints them", () => {
  test('parse errors: template parsing error: template: :LINE: …', () => {
    const cases: [string, string][] = [
      ['{{', 'unclosed action'],
      ['{{.Os}}\n{{.Id', 'unclosed action'],
      ['{{ .Foo }', 'unexpected "}" in operand'],
      ['{{foo}}', 'function "foo" not defined'],
      ['{{end}}', 'unexpected {{end}}'],
      ['{{if .X}}', 'unexpected EOF'],
      ['{{break}}', '{{break}} outside {{range}}'],
      ['{{.X | 3}}', 'non executable command in pipeline stage 2'],
      ['{{/* x }}', 'unclosed comment'],
      ['{{1x}}', 'bad number syntax: "1x"'],
      ['{{"abc}}', 'unterminated quoted string'],
      ['{{(.X}}', 'unclosed left paren'],
      ['{{else}}', 'unexpected {{else}}'],
      ['{{→}}', "unrecognized character in action: U+2192 '→'"],
      ['{{}}', 'missing value for command'],
      ['{{range $i, $e, $f := .}}{{end}}', 'too many declarations in range'],
      [`{{${'('.repeat(20000)}1${')'.repeat(20000)}}}`, 'max expression depth exceeded'],
    ];
    for (const [t, want] of cases) {
      const line = t.startsWith('{{.Os}}\n') ? 2 : 1;
      assert.equal(templateError(t), `template parsing error: template: :${line}: ${want}`, t);
      assert.throws(() => parseTemplate(t), (e: unknown) => e instanceof TemplateError && e.exitCode === 64);
    }
    assert.equal(templateError('{{.Os}} {{json .Config}}'), null);
  });

  test('execution errors name the line, column and node', () => {
    assert.equal(error('{{.Bogus}}', {}, 'error'), 'template parsing error: template: :1:2: executing "" at <.Bogus>: map has no entry for key "Bogus"');
    assert.equal(error('x\n {{ .A.Bogus }}', { A: {} }, 'error'), 'template parsing error: template: :2:6: executing "" at <.A.Bogus>: map has no entry for key "Bogus"');
    assert.match(error('{{.Name.X}}', { Name: 's' }), /at <\.Name\.X>: can't evaluate field X in type string$/);
    assert.match(error('{{index .A 5}}', { A: [] }), /:1:2: executing "" at <index>: error calling index: index out of range: 5$/);
    assert.match(error('{{upper 3}}'), /at <3>: expected string; found 3$/);
    assert.match(error('{{truncate "abc" "2"}}'), /expected integer; found "2"$/);
    assert.match(error('{{len 1 2}}'), /wrong number of args for len: want 1 got 2$/);
    assert.match(error('{{nil}}'), /nil is not a command$/);
    assert.match(error('{{.N.X}}', { N: null }), /nil pointer evaluating interface \{\}\.X$/);
    assert.match(error('{{range .}}{{end}}', 'abc'), /range can't iterate over abc$/);
  });

  test('formatTemplate (inspect -f) fails on a missing key with exit 1, as docker inspect', () => {
    assert.equal(formatTemplate('{{.State.Status}} {{json .Id}}', { State: { Status: 'exited' }, Id: 'abc' }), 'exited "abc"');
    assert.throws(() => formatTemplate('{{.Bogus}}', {}), (e: any) => e.code === 1 && /map has no entry for key "Bogus"/.test(e.message));
    assert.throws(() => formatTemplate('{{', {}), (e: any) => e.code === 64);
  });

  test("inspectTemplate: docker/cli's inspect -f over several documents", () => {
    assert.deepEqual(inspectTemplate('{{.Name}}', [{ Name: 'a' }, {}, { Name: 'c' }]), {
      stdout: 'a\nc\n',
      errors: ['template parsing error: template: :1:2: executing "" at <.Name>: map has no entry for key "Name"'],
    });
    assert.deepEqual(inspectTemplate('{{.X}}', [{}]).stdout, '\n');
    assert.deepEqual(inspectTemplate('json', [{ a: 1 }]), { stdout: '[{"a":1}]\n', errors: [] });
    assert.throws(() => inspectTemplate('{{', [{}]), (e: any) => e.code === 64);
  });
});

describe('the table directive and the tabwriter', () => {
  test('formatDirective strips "table", trims spaces and turns \\t and \\n into tab and newline', () => {
    assert.deepEqual(formatDirective('table {{.ID}}\\t{{.Names}}'), { table: true, template: '{{.ID}}\t{{.Names}}' });
    assert.deepEqual(formatDirective('{{.ID}}\\n'), { table: false, template: '{{.ID}}\n' });
  });

  test('columns at least 10 wide, 3 spaces past the widest cell; the last cell unpadded', () => {
    assert.equal(tabwrite('CONTAINER ID\tNAMES\nabc\tweb\n'), 'CONTAINER ID   NAMES\nabc            web\n');
    assert.equal(tabwrite('a\tb\tc\nlonger-than-ten\tx\ty'), 'a                 b         c\nlonger-than-ten   x         y');
    // A line without the column ends its block: the widths start again below it.
    assert.equal(tabwrite('a\tb\n-\nlong-cell-here\tc'), 'a         b\n-\nlong-cell-here   c');
  });
});

describe('properties', () => {
  test('a template with no actions prints itself', () => {
    fc.assert(fc.property(fc.string().filter((s) => !s.includes('{{')), (s) => run(s, {}) === s));
  });

  test('{{printf "%s" .}} and {{.}} of any string is the string', () => {
    fc.assert(fc.property(fc.string(), (s) => run('{{printf "%s" .}}', s) === s && run('{{.}}', s) === s));
  });

  test('json round-trips JSON values', () => {
    fc.assert(fc.property(fc.jsonValue(), (v) => {
      assert.deepEqual(JSON.parse(run('{{json .}}', v)), JSON.parse(JSON.stringify(v)));
    }));
  });

  test('a string literal of any text, quoted as Go quotes it (%q), prints the text', () => {
    fc.assert(fc.property(fc.string(), (s) => run(`{{${run('{{printf "%q" .}}', s)}}}`) === s));
  });

  test('range over an array visits its elements in order; len counts them', () => {
    fc.assert(fc.property(fc.array(fc.integer()), (a) => run('{{range .}}{{.}},{{end}}', a) === a.map((x) => `${x},`).join('') && run('{{len .}}', a) === String(a.length)));
  });

  test('no input makes the engine throw anything but a TemplateError', () => {
    const pieces = fc.constantFrom('{{', '}}', '{{-', ' -}}', '.', '.A', '$', '$x', ':=', '=', '|', '(', ')', 'if', 'else', 'end', 'range', 'with', 'break', '"s"', '`r`', "'c'", '1', '-2.5', 'nil', 'true', 'len', 'index', 'printf', 'eq', 'and', ' ', '\n', '/*', '*/', ',', 'json', 'x');
    fc.assert(fc.property(fc.array(pieces, { maxLength: 14 }), fc.jsonValue(), (parts, data) => {
      try {
        run(parts.join(''), { A: data });
      } catch (e) {
        if (!(e instanceof TemplateError)) throw e;
      }
    }), { numRuns: 3000 });
  });
});
