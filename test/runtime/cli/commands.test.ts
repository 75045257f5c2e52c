// One name, one command: a later chapter replaces an earlier chapter's
// command only by saying so (`replaces`), and the CLI refuses a name
// defined twice without it (cli/main.ts, commandsOf).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CommandClashError, commandsOf } from '../../../runtime/cli/main.js';
import { ALL_LAYERS, LATEST_CHAPTER, layersUpTo } from '../../../runtime/cli/layers.js';
import type { Command, Layer } from '../../../runtime/core/layer.js';

const command = (name: string, more: Partial<Command> = {}): Command => ({ name, summary: name, usage: name, flags: [], run: async () => 0, ...more });
const layer = (chapter: number, commands: Command[]): Layer => ({ chapter, name: `chapter${chapter}`, runFlags: [], commands, stages: {} });

test("every chapter's layers define each command name once, or say which chapter's they replace", () => {
  // Fails on a silent duplicate anywhere in dockling's own layers.
  commandsOf(ALL_LAYERS);
  for (let n = 0; n <= LATEST_CHAPTER; n++) commandsOf(layersUpTo(n));
});

test("chapter 5's rm and inspect replace chapter 3's, by saying so", () => {
  const at4 = commandsOf(layersUpTo(4));
  const at5 = commandsOf(layersUpTo(5));
  for (const name of ['rm', 'container rm', 'inspect']) {
    assert.equal(at4.get(name)?.layer.chapter, 3, name);
    assert.equal(at5.get(name)?.layer.chapter, 5, name);
    assert.equal(at5.get(name)?.cmd.replaces, 3, name);
  }
});

test('a name defined again without `replaces` is refused, naming both chapters', () => {
  const layers = [layer(4, [command('rm')]), layer(5, [command('rm')])];
  assert.throws(() => commandsOf(layers), (e: Error) => {
    assert.ok(e instanceof CommandClashError);
    assert.match(e.message, /^chapter 5 defines the command "rm" again \(chapter 4 defines it as "rm"\)/);
    return true;
  });
  // An alias counts as a name.
  assert.throws(() => commandsOf([layer(4, [command('ps')]), layer(5, [command('list', { aliases: ['ps'] })])]), /chapter 5 defines the command "ps" again \(chapter 4/);
  // Two in one layer too.
  assert.throws(() => commandsOf([layer(4, [command('rm'), command('rm')])]), /chapter 4 defines the command "rm" twice/);
});

test('a declared replacement wins, and none of the replaced command\'s names still runs it', () => {
  const old = command('inspect', { aliases: ['inspect-old'] });
  const replacement = command('inspect', { aliases: ['container inspect'], replaces: 4 });
  const m = commandsOf([layer(4, [command('diff'), old, command('tag')]), layer(5, [replacement])]);
  assert.equal(m.get('inspect')?.cmd, replacement);
  assert.equal(m.get('container inspect')?.cmd, replacement);
  assert.equal(m.has('inspect-old'), false);
  // The help lists it where the replaced one stood.
  assert.deepEqual([...m.keys()].filter((k) => ['diff', 'inspect', 'tag'].includes(k)), ['diff', 'inspect', 'tag']);
});

test('`replaces` naming the wrong chapter, or nothing to replace, is refused', () => {
  assert.throws(() => commandsOf([layer(4, [command('rm')]), layer(5, [command('rm', { replaces: 2 })])]), /chapter 5's "rm" says it replaces chapter 2's, but "rm" is chapter 4's/);
  assert.throws(() => commandsOf([layer(5, [command('rm', { replaces: 4 })])]), /chapter 5's "rm" says it replaces chapter 4's, but no earlier chapter defines "rm"/);
  // A replacement may not take another command's name with it.
  assert.throws(() => commandsOf([layer(4, [command('rm'), command('ps')]), layer(5, [command('rm', { aliases: ['ps'], replaces: 4 })])]), /chapter 5 defines the command "ps" again/);
});
