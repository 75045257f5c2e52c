// The parser of Go's text/template: the lexer's items become a tree of
// nodes (text, actions, if/with/range with their lists), and each action's
// pipeline becomes commands of operands. Go checks at parse time what can
// be checked without data: unknown functions ("function \"foo\" not
// defined"), undeclared variables, {{break}} outside {{range}}, a missing
// {{end}}. Its messages are kept word for word, with the line Go names:
// the line of the last item read.
import { describeItem, goQuote, lex, type Item } from './lexer.js';

export type Arg =
  | { kind: 'field'; pos: number; ident: string[] }
  | { kind: 'variable'; pos: number; ident: string[] }
  | { kind: 'identifier'; pos: number; name: string }
  | { kind: 'dot'; pos: number }
  | { kind: 'nil'; pos: number }
  | { kind: 'bool'; pos: number; value: boolean }
  | { kind: 'number'; pos: number; text: string; value: number; isInt: boolean }
  | { kind: 'string'; pos: number; quoted: string; value: string }
  | { kind: 'chain'; pos: number; node: Arg; field: string[] }
  | Pipe;

export interface Command { pos: number; args: Arg[] }
export interface Pipe { kind: 'pipe'; pos: number; isAssign: boolean; decl: string[]; cmds: Command[] }

export type Node =
  | { kind: 'text'; pos: number; text: string }
  | { kind: 'action'; pos: number; pipe: Pipe }
  | Control
  | { kind: 'break' | 'continue'; pos: number }
  | TemplateCall;

/** {{template "name" pipeline}}: runs a named template with dot set to the pipeline's value. */
export interface TemplateCall { kind: 'template'; pos: number; name: string; pipe?: Pipe }

/** A parsed template: its text's tree, and the templates {{define}} and {{block}} name ("" is the text itself). */
export interface Tree { root: Node[]; defined: Map<string, Node[]> }

export interface Control { kind: 'if' | 'with' | 'range'; pos: number; pipe: Pipe; list: Node[]; elseList?: Node[] }

type Marker = { kind: 'end' | 'else'; pos: number };

/** A parse error in Go's words, without Docker's "template parsing error: ". */
export class ParseError extends Error {}

/** How Go prints a node in "executing \"\" at <…>". */
export function nodeString(a: Arg | Command | TemplateCall): string {
  if ('args' in a) return a.args.map((x) => (x.kind === 'pipe' ? `(${nodeString(x)})` : nodeString(x))).join(' ');
  if (a.kind === 'template') return `{{template ${goQuote(a.name)}${a.pipe ? ' ' + nodeString(a.pipe) : ''}}}`;
  switch (a.kind) {
    case 'field': return a.ident.map((f) => '.' + f).join('');
    case 'variable': return a.ident.join('.');
    case 'identifier': return a.name;
    case 'dot': return '.';
    case 'nil': return 'nil';
    case 'bool': return String(a.value);
    case 'number': return a.text;
    case 'string': return a.quoted;
    case 'chain': return (a.node.kind === 'pipe' ? `(${nodeString(a.node)})` : nodeString(a.node)) + a.field.map((f) => '.' + f).join('');
    case 'pipe':
      return (a.decl.length ? a.decl.join(', ') + (a.isAssign ? ' = ' : ' := ') : '') + a.cmds.map(nodeString).join(' | ');
  }
}

/** Parses a template; `functions` are the names a call may use. */
export function parse(text: string, functions: Set<string>): Tree {
  const items = lex(text);
  let at = 0; // the next item
  let furthest = 0; // the furthest item read: Go names its line in errors
  let actionLine = 0;
  let rangeDepth = 0;
  const vars = ['$'];

  const next = (): Item => {
    furthest = Math.max(furthest, at);
    const item = items[Math.min(at, items.length - 1)];
    at++;
    return item;
  };
  const peek = (): Item => {
    furthest = Math.max(furthest, at);
    return items[Math.min(at, items.length - 1)];
  };
  const backup = (n = 1) => {
    at -= n;
  };
  const nextNonSpace = (): Item => {
    let item = next();
    while (item.type === 'space') item = next();
    return item;
  };
  const peekNonSpace = (): Item => {
    const item = nextNonSpace();
    backup();
    return item;
  };
  const fail = (message: string): never => {
    const line = items[Math.min(furthest, items.length - 1)].line;
    throw new ParseError(`template: :${line}: ${message}`);
  };
  const unexpected = (item: Item, context: string): never => {
    if (item.type === 'error') {
      let extra = '';
      if (actionLine !== 0 && actionLine !== item.line) {
        extra = ` in action started at :${actionLine}`;
        if (item.val.endsWith(' action')) extra = extra.slice(' in action'.length);
      }
      return fail(item.val + extra);
    }
    return fail(`unexpected ${describeItem(item)} in ${context}`);
  };
  const expect = (type: Item['type'], context: string): Item => {
    const item = nextNonSpace();
    if (item.type !== type) unexpected(item, context);
    return item;
  };

  // The top level: text, actions and {{define}}s; a stray {{end}} or {{else}} is an error.
  const defined = new Map<string, Node[]>();
  const root: Node[] = [];
  while (peek().type !== 'eof') {
    if (peek().type === 'leftDelim') {
      const mark = at;
      next();
      const word = nextNonSpace();
      if (word.type === 'keyword' && word.val === 'define') {
        definition();
        continue;
      }
      at = mark;
    }
    const n = textOrAction();
    if (n === null) continue;
    if (n.kind === 'end' || n.kind === 'else') fail(`unexpected {{${n.kind}}}`);
    root.push(n as Node);
  }
  add('', root);
  return { root, defined };

  // A template may be defined twice only if one of the definitions is empty.
  function add(name: string, list: Node[]) {
    const empty = (l: Node[]) => l.every((n) => n.kind === 'text' && n.text.trim() === '');
    const before = defined.get(name);
    if (before === undefined || empty(before)) defined.set(name, list);
    else if (!empty(list)) fail(`template: multiple definition of template ${goQuote(name)}`);
  }

  // {{define "name"}}…{{end}}: its own variables ($ only) and no enclosing range.
  function definition() {
    const context = 'define clause';
    const name = nextNonSpace();
    if (name.type !== 'string' && name.type !== 'rawString') unexpected(name, context);
    expect('rightDelim', context);
    const [list, end] = nested(() => itemList());
    if (end.kind !== 'end') fail(`unexpected {{${end.kind}}} in ${context}`);
    add(unquote(name.val), list);
  }

  function nested<T>(parse: () => T): T {
    const [savedVars, savedDepth] = [vars.splice(1), rangeDepth];
    rangeDepth = 0;
    try {
      return parse();
    } finally {
      vars.splice(1, vars.length, ...savedVars);
      rangeDepth = savedDepth;
    }
  }

  function templateName(item: Item, context: string): string {
    if (item.type !== 'string' && item.type !== 'rawString') unexpected(item, context);
    return unquote(item.val);
  }

  function textOrAction(): Node | Marker | null {
    const item = nextNonSpace();
    switch (item.type) {
      case 'text': return { kind: 'text', pos: item.pos, text: item.val };
      case 'leftDelim':
        actionLine = item.line;
        try {
          return action();
        } finally {
          actionLine = 0;
        }
      case 'comment': return null;
      default: return unexpected(item, 'input');
    }
  }

  function action(): Node | Marker {
    const item = nextNonSpace();
    if (item.type === 'keyword') {
      switch (item.val) {
        case 'if': return control('if', item);
        case 'with': return control('with', item);
        case 'range': return control('range', item);
        case 'end': return { kind: 'end', pos: expect('rightDelim', 'end').pos };
        case 'else': {
          // {{else if …}} and {{else with …}} are {{else}}{{if …}}…{{end}}{{end}}.
          const p = peekNonSpace();
          if (p.type === 'keyword' && (p.val === 'if' || p.val === 'with')) return { kind: 'else', pos: p.pos };
          return { kind: 'else', pos: expect('rightDelim', 'else').pos };
        }
        case 'break':
        case 'continue': {
          const end = nextNonSpace();
          if (end.type !== 'rightDelim') unexpected(end, `{{${item.val}}}`);
          if (rangeDepth === 0) fail(`{{${item.val}}} outside {{range}}`);
          return { kind: item.val, pos: item.pos };
        }
        case 'template': {
          const name = templateName(nextNonSpace(), 'template clause');
          if (nextNonSpace().type === 'rightDelim') return { kind: 'template', pos: item.pos, name };
          backup();
          return { kind: 'template', pos: item.pos, name, pipe: pipeline('template clause', 'rightDelim') };
        }
        case 'block': {
          // {{block "name" pipeline}}…{{end}}: defines the template and runs it here.
          const context = 'block clause';
          const name = templateName(nextNonSpace(), context);
          const pipe = pipeline(context, 'rightDelim');
          const [list, end] = nested(() => itemList());
          if (end.kind !== 'end') fail(`unexpected {{${end.kind}}} in ${context}`);
          add(name, list);
          return { kind: 'template', pos: item.pos, name, pipe };
        }
      }
    }
    backup();
    const start = peek();
    // Variables declared here live until the {{end}} around them.
    return { kind: 'action', pos: start.pos, pipe: pipeline('command', 'rightDelim') };
  }

  function control(kind: 'if' | 'with' | 'range', keyword: Item): Node {
    const saved = vars.length;
    try {
      const pipe = pipeline(kind, 'rightDelim');
      if (kind === 'range') rangeDepth++;
      const [list, marker] = itemList();
      if (kind === 'range') rangeDepth--;
      let elseList: Node[] | undefined;
      if (marker.kind === 'else') {
        const p = peekNonSpace();
        if (kind !== 'range' && p.type === 'keyword' && p.val === kind) {
          nextNonSpace();
          elseList = [control(kind, p)];
        } else {
          const [list2, end] = itemList();
          if (end.kind !== 'end') fail(`expected end; found {{${end.kind}}}`);
          elseList = list2;
        }
      }
      return { kind, pos: pipe.pos ?? keyword.pos, pipe, list, elseList };
    } finally {
      vars.length = saved;
    }
  }

  function itemList(): [Node[], Marker] {
    const list: Node[] = [];
    while (peekNonSpace().type !== 'eof') {
      const n = textOrAction();
      if (n === null) continue;
      if (n.kind === 'end' || n.kind === 'else') return [list, n as Marker];
      list.push(n as Node);
    }
    return fail('unexpected EOF');
  }

  function pipeline(context: string, end: 'rightDelim' | 'rightParen'): Pipe {
    const pipe: Pipe = { kind: 'pipe', pos: peekNonSpace().pos, isAssign: false, decl: [], cmds: [] };
    // Declarations: `$x :=`, `$x =`, and in a range `$i, $e :=`.
    for (;;) {
      const v = peekNonSpace();
      if (v.type !== 'variable') break;
      nextNonSpace();
      const after = peek();
      const n = peekNonSpace();
      if (n.type === 'assign' || n.type === 'declare') {
        pipe.isAssign = n.type === 'assign';
        nextNonSpace();
        pipe.decl.push(v.val);
        vars.push(v.val);
        break;
      }
      if (n.type === 'char' && n.val === ',') {
        nextNonSpace();
        pipe.decl.push(v.val);
        vars.push(v.val);
        if (context === 'range' && pipe.decl.length < 2) {
          const p = peekNonSpace();
          if (p.type === 'variable' || p.type === 'rightDelim' || p.type === 'rightParen') continue;
          fail('range can only initialize variables');
        }
        fail(`too many declarations in ${context}`);
      }
      // `$x foo`: the variable is an operand after all.
      backup(after.type === 'space' ? 2 : 1);
      break;
    }
    for (;;) {
      const item = nextNonSpace();
      if (item.type === end) {
        if (pipe.cmds.length === 0) fail(`missing value for ${context}`);
        pipe.cmds.slice(1).forEach((c, i) => {
          if (['bool', 'dot', 'nil', 'number', 'string'].includes(c.args[0].kind)) fail(`non executable command in pipeline stage ${i + 2}`);
        });
        return pipe;
      }
      if (['bool', 'charConstant', 'dot', 'field', 'identifier', 'number', 'nil', 'rawString', 'string', 'variable', 'leftParen'].includes(item.type)) {
        backup();
        pipe.cmds.push(command());
      } else unexpected(item, context);
    }
  }

  function command(): Command {
    const cmd: Command = { pos: peekNonSpace().pos, args: [] };
    for (;;) {
      peekNonSpace();
      const arg = operand();
      if (arg) cmd.args.push(arg);
      const item = next();
      if (item.type === 'space') continue;
      if (item.type === 'rightDelim' || item.type === 'rightParen') backup();
      else if (item.type !== 'pipe') unexpected(item, 'operand');
      break;
    }
    if (cmd.args.length === 0) fail('empty command');
    return cmd;
  }

  // A term and the fields after it: .A.B, $x.A, (pipeline).A
  function operand(): Arg | null {
    const node = term();
    if (!node) return null;
    if (peek().type !== 'field') return node;
    const field: string[] = [];
    const pos = peek().pos;
    while (peek().type === 'field') field.push(next().val.slice(1));
    switch (node.kind) {
      case 'field': return { kind: 'field', pos, ident: [...node.ident, ...field] };
      case 'variable': return { kind: 'variable', pos, ident: [...node.ident, ...field] };
      case 'bool': case 'string': case 'number': case 'nil': case 'dot':
        return fail(`unexpected . after term ${goQuote(nodeString(node))}`);
      default: return { kind: 'chain', pos, node, field };
    }
  }

  function term(): Arg | null {
    const item = nextNonSpace();
    switch (item.type) {
      case 'identifier':
        if (!functions.has(item.val)) fail(`function ${goQuote(item.val)} not defined`);
        return { kind: 'identifier', pos: item.pos, name: item.val };
      case 'dot': return { kind: 'dot', pos: item.pos };
      case 'nil': return { kind: 'nil', pos: item.pos };
      case 'variable': {
        const [name, ...rest] = item.val.split('.');
        if (!vars.includes(name)) fail(`undefined variable ${goQuote(name)}`);
        return { kind: 'variable', pos: item.pos, ident: [name, ...rest] };
      }
      case 'field': return { kind: 'field', pos: item.pos, ident: [item.val.slice(1)] };
      case 'bool': return { kind: 'bool', pos: item.pos, value: item.val === 'true' };
      case 'number': case 'charConstant': return number(item);
      case 'leftParen': return pipeline('parenthesized pipeline', 'rightParen');
      case 'string': case 'rawString': return { kind: 'string', pos: item.pos, quoted: item.val, value: unquote(item.val) };
    }
    backup();
    return null;
  }

  function number(item: Item): Arg {
    const text = item.val;
    if (item.type === 'charConstant') {
      const [value, tail] = unquoteChar(text.slice(1), "'");
      if (tail !== "'") fail(`malformed character constant: ${text}`);
      return { kind: 'number', pos: item.pos, text, value: value.codePointAt(0)!, isInt: true };
    }
    if (text.endsWith('i')) fail(`complex numbers are not supported by dockling's templates: ${text}`);
    const value = parseGoNumber(text);
    if (value === null) fail(`illegal number syntax: ${goQuote(text)}`);
    return { kind: 'number', pos: item.pos, text, value: value!, isInt: Number.isInteger(value) };
  }

  function unquote(quoted: string): string {
    if (quoted.startsWith('`')) return quoted.slice(1, -1).replace(/\r/g, '');
    let out = '';
    let rest = quoted.slice(1, -1);
    while (rest.length) {
      const [c, tail] = unquoteChar(rest, '"');
      out += c;
      rest = tail;
    }
    return out;
  }

  // One character of a Go string or rune literal, escapes decoded.
  function unquoteChar(s: string, quote: string): [string, string] {
    if (s[0] !== '\\') {
      const c = String.fromCodePoint(s.codePointAt(0)!);
      return [c, s.slice(c.length)];
    }
    const simple: Record<string, string> = { a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v', '\\': '\\' };
    const e = s[1];
    if (e in simple) return [simple[e], s.slice(2)];
    if (e === quote) return [e, s.slice(2)];
    const hex = { x: 2, u: 4, U: 8 }[e as 'x' | 'u' | 'U'];
    if (hex && /^[0-9a-fA-F]+$/.test(s.slice(2, 2 + hex)) && s.length >= 2 + hex) {
      const code = parseInt(s.slice(2, 2 + hex), 16);
      // \x is a byte; \u and \U are runes.
      if (code <= 0x10ffff) return [String.fromCodePoint(code), s.slice(2 + hex)];
    }
    if (/^[0-7]{3}$/.test(s.slice(1, 4)) && parseInt(s.slice(1, 4), 8) < 256) return [String.fromCharCode(parseInt(s.slice(1, 4), 8)), s.slice(4)];
    return fail('invalid syntax');
  }
}

/** A Go number literal's value, or null when Go would not accept it. */
export function parseGoNumber(text: string): number | null {
  const t = text.replace(/_/g, '');
  const sign = t.startsWith('-') ? -1 : 1;
  const body = t.replace(/^[+-]/, '');
  if (/^0[xX][0-9a-fA-F]+$/.test(body)) return sign * parseInt(body.slice(2), 16);
  if (/^0[oO]?[0-7]+$/.test(body)) return sign * parseInt(body.replace(/^0[oO]?/, ''), 8);
  if (/^0[bB][01]+$/.test(body)) return sign * parseInt(body.slice(2), 2);
  if (/^(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(body)) return sign * Number(body);
  return null;
}
