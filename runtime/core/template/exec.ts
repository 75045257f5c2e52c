// The executor of Go's text/template: walks the parsed tree with "dot" (the
// value `.` names: the data at first, the element inside {{range}}, the
// value inside {{with}}) and a stack of variables ($ is the data).
//
// The data is JSON's kinds of value. Field access (.Config.Env) reads an
// object as Go reads a map: a missing key is "no value" (printed
// `<no value>`), or, with missingkey=error (what docker's inspect falls
// back to when a name is no field of its structs), the error Go gives:
// `map has no entry for key "Bogus"`. A JSON null is Go's nil interface.
// Errors carry Go's position and context:
// template: :1:2: executing "" at <.Bogus>: map has no entry for key "Bogus"
import { formatValue, goType } from './fmt.js';
import { FUNCTIONS, isTrue, type ParamType, type TemplateFunction } from './funcs.js';
import { nodeString, type Arg, type Command, type Control, type Node, type Pipe, type TemplateCall, type Tree } from './parse.js';
import { GoStruct } from './struct.js';

/** An execution error in Go's words, without Docker's prefix. */
export class ExecError extends Error {}

export type MissingKey = 'default' | 'error';

// No value from the pipeline so far (Go's missingVal): not the same as an
// undefined value, which is a missing map entry.
const NO_FINAL = Symbol('no final value');
type Final = unknown;

// {{break}} and {{continue}} unwind to their {{range}}.
const BREAK = Symbol('break');
const CONTINUE = Symbol('continue');

const isMap = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

// {{template}} may call itself: Go stops at a depth of 100000, dockling
// sooner, before JavaScript's stack runs out.
const MAX_TEMPLATE_DEPTH = 1000;

export function execute(text: string, tree: Tree, data: unknown, missingKey: MissingKey = 'default', functions: Record<string, TemplateFunction> = FUNCTIONS): string {
  let out = '';
  let vars: { name: string; value: unknown }[] = [{ name: '$', value: data }];
  let depth = 0;
  let running = ''; // the template being run: "" is the text itself, as Docker names it
  let current: Arg | Command | Pipe | TemplateCall | undefined; // the node errors name

  const at = (n: Arg | Command | Pipe | TemplateCall) => {
    current = n;
  };
  const fail = (message: string): never => {
    if (!current) throw new ExecError(`template: : ${message}`);
    const pos = 'pos' in current ? current.pos : 0;
    const before = text.slice(0, pos);
    const line = before.split('\n').length;
    const column = pos - (before.lastIndexOf('\n') + 1);
    let context = nodeString(current);
    if (context.length > 20) context = context.slice(0, 20) + '...';
    throw new ExecError(`template: :${line}:${column}: executing ${JSON.stringify(running)} at <${context}>: ${message}`);
  };

  const varValue = (name: string) => {
    for (let i = vars.length - 1; i >= 0; i--) if (vars[i].name === name) return vars[i].value;
    return fail(`undefined variable: ${name}`);
  };
  const setVar = (name: string, value: unknown) => {
    for (let i = vars.length - 1; i >= 0; i--) {
      if (vars[i].name === name) {
        vars[i].value = value;
        return;
      }
    }
    fail(`undefined variable: ${name}`);
  };

  walkList(data, tree.root);
  return out;

  function walkList(dot: unknown, list: Node[]) {
    for (const n of list) walk(dot, n);
  }

  function walk(dot: unknown, node: Node) {
    switch (node.kind) {
      case 'text':
        out += node.text;
        return;
      case 'action': {
        const value = evalPipeline(dot, node.pipe);
        if (node.pipe.decl.length === 0) out += printable(value);
        return;
      }
      case 'if':
      case 'with': {
        const mark = vars.length;
        const value = evalPipeline(dot, node.pipe);
        if (typeof value === 'function') fail(`if/with can't use ${formatValue(value)}`);
        if (isTrue(value)) walkList(node.kind === 'with' ? value : dot, node.list);
        else if (node.elseList) walkList(dot, node.elseList);
        vars.length = mark;
        return;
      }
      case 'range':
        walkRange(dot, node);
        return;
      case 'template': {
        // A named template runs with its own variables: $ is the pipeline's value.
        at(node);
        const list = tree.defined.get(node.name);
        if (!list) return fail(`template "${node.name}" not defined`);
        if (depth >= MAX_TEMPLATE_DEPTH) fail(`exceeded maximum template depth (${MAX_TEMPLATE_DEPTH})`);
        const value = node.pipe ? evalPipeline(dot, node.pipe) : undefined;
        const [savedVars, savedName] = [vars, running];
        vars = [{ name: '$', value }];
        running = node.name;
        depth++;
        try {
          walkList(value, list);
        } finally {
          [vars, running] = [savedVars, savedName];
          depth--;
        }
        return;
      }
      case 'break':
        throw BREAK;
      case 'continue':
        throw CONTINUE;
    }
  }

  function walkRange(dot: unknown, node: Control) {
    const mark = vars.length;
    const value = evalPipeline(dot, node.pipe);
    const decl = node.pipe.decl;
    const oneIteration = (index: unknown, elem: unknown): boolean => {
      // With two variables, $i, $e := range: the index, then the element.
      if (decl.length > 0) {
        if (node.pipe.isAssign) setVar(decl[decl.length > 1 ? 1 : 0], elem);
        else vars[vars.length - 1].value = elem;
      }
      if (decl.length > 1) {
        if (node.pipe.isAssign) setVar(decl[0], index);
        else vars[vars.length - 2].value = index;
      }
      const inner = vars.length;
      try {
        walkList(elem, node.list);
      } catch (e) {
        if (e === BREAK) return false;
        if (e !== CONTINUE) throw e;
      } finally {
        vars.length = inner;
      }
      return true;
    };
    let ran = false;
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) {
        ran = true;
        if (!oneIteration(i, value[i])) break;
      }
    } else if (isMap(value)) {
      // Go ranges over a map in sorted key order.
      for (const k of Object.keys(value).sort(compareKeys)) {
        ran = true;
        if (!oneIteration(k, value[k])) break;
      }
    } else if (typeof value === 'number' && Number.isInteger(value)) {
      // Go 1.22: {{range 3}} counts 0, 1, 2.
      if (decl.length > 1) fail(`can't use ${value} to iterate over more than one variable`);
      for (let i = 0; i < value; i++) {
        ran = true;
        if (!oneIteration(i, i)) break;
      }
    } else if (value !== undefined && value !== null) {
      fail(`range can't iterate over ${formatValue(value)}`);
    }
    // A missing value (likely a missing map key) ranges over nothing.
    vars.length = mark;
    if (!ran && node.elseList) walkList(dot, node.elseList);
  }

  function evalPipeline(dot: unknown, pipe: Pipe): unknown {
    at(pipe);
    let value: Final = NO_FINAL;
    for (const cmd of pipe.cmds) value = evalCommand(dot, cmd, value);
    for (const name of pipe.decl) {
      if (pipe.isAssign) setVar(name, value);
      else vars.push({ name, value });
    }
    return value;
  }

  function evalCommand(dot: unknown, cmd: Command, final: Final): unknown {
    const first = cmd.args[0];
    switch (first.kind) {
      case 'field': return evalFieldChain(dot, dot, first, first.ident, cmd.args, final);
      case 'chain': {
        at(first);
        if (first.node.kind === 'nil') fail(`indirection through explicit nil in ${nodeString(first)}`);
        const receiver = evalArg(dot, 'any', first.node);
        return evalFieldChain(dot, receiver, first, first.field, cmd.args, final);
      }
      case 'identifier': return evalFunction(dot, first, cmd.args, final);
      case 'pipe':
        notAFunction(cmd.args, final);
        return evalPipeline(dot, first);
      case 'variable': return evalVariable(dot, first, cmd.args, final);
    }
    at(first);
    notAFunction(cmd.args, final);
    switch (first.kind) {
      case 'bool': return first.value;
      case 'dot': return dot;
      case 'nil': return fail('nil is not a command');
      case 'number': return first.value;
      case 'string': return first.value;
    }
    return fail(`can't evaluate command ${nodeString(first)}`);
  }

  function notAFunction(args: Arg[], final: Final) {
    if (args.length > 1 || final !== NO_FINAL) fail(`can't give argument to non-function ${nodeString(args[0])}`);
  }

  function evalVariable(dot: unknown, v: Extract<Arg, { kind: 'variable' }>, args: Arg[], final: Final): unknown {
    at(v);
    const value = varValue(v.ident[0]);
    if (v.ident.length === 1) {
      notAFunction(args, final);
      return value;
    }
    return evalFieldChain(dot, value, v, v.ident.slice(1), args, final);
  }

  function evalFieldChain(dot: unknown, receiver: unknown, node: Arg, ident: string[], args: Arg[], final: Final): unknown {
    at(node);
    let value = receiver;
    ident.forEach((name, i) => {
      const last = i === ident.length - 1;
      value = evalField(name, last ? args : [], last ? final : NO_FINAL, value, dot);
    });
    return value;
  }

  function evalField(name: string, args: Arg[], final: Final, receiver: unknown, dot: unknown): unknown {
    if (receiver === undefined) {
      if (missingKey === 'error') fail(`nil data; no entry for key "${name}"`);
      return undefined;
    }
    if (receiver === null) fail(`nil pointer evaluating interface {}.${name}`);
    if (receiver instanceof GoStruct) return callMethod(dot, receiver, name, args, final);
    if (isMap(receiver)) {
      if (args.length > 1 || final !== NO_FINAL) fail(`${name} is not a method but has arguments`);
      if (Object.hasOwn(receiver, name) && receiver[name] !== undefined) return receiver[name];
      if (missingKey === 'error') fail(`map has no entry for key "${name}"`);
      return undefined;
    }
    return fail(`can't evaluate field ${name} in type ${goType(receiver)}`);
  }

  // A method of a Go value (struct.ts): its arguments are strings, counted as Go counts them.
  function callMethod(dot: unknown, receiver: GoStruct, name: string, args: Arg[], final: Final): unknown {
    const method = Object.hasOwn(receiver.methods, name) ? receiver.methods[name] : undefined;
    if (!method) return fail(`can't evaluate field ${name} in type ${receiver.type}`);
    const given = args.slice(1);
    const numIn = given.length + (final !== NO_FINAL ? 1 : 0);
    if (numIn !== method.length) fail(`wrong number of args for ${name}: want ${method.length} got ${numIn}`);
    const argv = given.map((a) => evalArg(dot, 'string', a) as string);
    if (final !== NO_FINAL) argv.push(validate(final, 'string') as string);
    return method(...argv);
  }

  function evalFunction(dot: unknown, node: Extract<Arg, { kind: 'identifier' }>, args: Arg[], final: Final): unknown {
    at(node);
    const fn = functions[node.name];
    if (!fn) return fail(`"${node.name}" is not a defined function`);
    return evalCall(dot, fn, node, args.slice(1), final);
  }

  function evalCall(dot: unknown, fn: TemplateFunction, node: Extract<Arg, { kind: 'identifier' }>, args: Arg[], final: Final): unknown {
    const name = node.name;
    const numIn = args.length + (final !== NO_FINAL ? 1 : 0);
    const fixed = fn.params.length;
    if (fn.variadic) {
      if (numIn < fixed) fail(`wrong number of args for ${name}: want at least ${fixed} got ${args.length}`);
    } else if (numIn !== fixed) fail(`wrong number of args for ${name}: want ${fixed} got ${numIn}`);
    if (name === 'and' || name === 'or') {
      // Short-circuit: stop at the first false (and) or true (or) operand
      // and return that operand itself, as Go does.
      let v: unknown;
      for (const arg of args) {
        v = evalArg(dot, 'any', arg);
        if (isTrue(v) === (name === 'or')) return v;
      }
      return final !== NO_FINAL ? final : v;
    }
    const typeOf = (i: number): ParamType => (i < fixed ? fn.params[i] : fn.variadic!);
    const argv = args.map((a, i) => evalArg(dot, typeOf(i), a));
    if (final !== NO_FINAL) argv.push(validate(final, typeOf(args.length)));
    try {
      return fn.fn(...argv);
    } catch (e) {
      at(node);
      return fail(`error calling ${name}: ${(e as Error).message}`);
    }
  }

  function evalArg(dot: unknown, type: ParamType, n: Arg): unknown {
    at(n);
    switch (n.kind) {
      case 'dot': return validate(dot, type);
      case 'nil':
        if (type === 'any' || type === '[]string') return null;
        return fail(`cannot assign nil to ${type}`);
      case 'field': return validate(evalFieldChain(dot, dot, n, n.ident, [n], NO_FINAL), type);
      case 'variable': return validate(evalVariable(dot, n, [n], NO_FINAL), type);
      case 'pipe': return validate(evalPipeline(dot, n), type);
      case 'identifier': return validate(evalFunction(dot, n, [n], NO_FINAL), type);
      case 'chain': return validate(evalCommand(dot, { pos: n.pos, args: [n] }, NO_FINAL), type);
    }
    switch (type) {
      case 'bool':
        if (n.kind === 'bool') return n.value;
        return fail(`expected bool; found ${nodeString(n)}`);
      case 'int':
        if (n.kind === 'number' && n.isInt) return n.value;
        return fail(`expected integer; found ${nodeString(n)}`);
      case 'string':
        if (n.kind === 'string') return n.value;
        return fail(`expected string; found ${nodeString(n)}`);
      case 'any':
        return n.value;
    }
    return fail(`can't handle ${nodeString(n)} for arg of type ${type}`);
  }

  function validate(value: unknown, type: ParamType): unknown {
    if (value === undefined) {
      if (type === 'any') return undefined;
      if (type === '[]string') return null;
      return fail(`invalid value; expected ${type}`);
    }
    const ok =
      type === 'any' ||
      (type === 'string' && typeof value === 'string') ||
      (type === 'int' && typeof value === 'number' && Number.isInteger(value)) ||
      (type === 'bool' && typeof value === 'boolean') ||
      (type === '[]string' && (value === null || (Array.isArray(value) && value.every((x) => typeof x === 'string'))));
    if (!ok) fail(`wrong type for value; expected ${type}; got ${value === null ? 'interface {}' : goType(value)}`);
    return value;
  }
}

/** What an action prints: Go's %v, and `<no value>` for a missing value (or a nil one). */
export function printable(v: unknown): string {
  if (v === undefined || v === null) return '<no value>';
  return formatValue(v);
}

// Go sorts string keys byte-wise, which for UTF-8 is code point order.
const compareKeys = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));
