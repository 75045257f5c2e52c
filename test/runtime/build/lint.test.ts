// Chapter 9's `build --check` warnings (runtime/build/lint.ts): Docker's
// rule names and messages, on the line Docker names.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseDockerfile } from '../../../runtime/build/parser.ts';
import { parseInstructions } from '../../../runtime/build/instructions.ts';
import { lint } from '../../../runtime/build/lint.ts';

const check = (text: string) => {
  const d = parseDockerfile(text, 'Dockerfile');
  return lint(d, parseInstructions(d)).map((w) => [w.rule, w.message, w.line]);
};

test('a clean Dockerfile has no warnings', () => {
  assert.deepEqual(check('ARG V=3\nFROM alpine:$V AS build\nWORKDIR /src\nENV A=1\nCMD ["sh"]\nFROM build\nCOPY --from=build /src /src\n'), []);
});

test('MaintainerDeprecated, JSONArgsRecommended (not after SHELL), LegacyKeyValueFormat', () => {
  assert.deepEqual(check('FROM a\nMAINTAINER me\nCMD echo hi\nENV A 1\nLABEL b 2\nFROM b\nSHELL ["/bin/bash", "-c"]\nENTRYPOINT run\n'), [
    ['MaintainerDeprecated', 'Maintainer instruction is deprecated in favor of using label', 2],
    ['JSONArgsRecommended', 'JSON arguments recommended for CMD to prevent unintended behavior related to OS signals', 3],
    ['LegacyKeyValueFormat', '"ENV key=value" should be used instead of legacy "ENV key value" format', 4],
    ['LegacyKeyValueFormat', '"LABEL key=value" should be used instead of legacy "LABEL key value" format', 5],
  ]);
});

test('StageNameCasing, FromAsCasing, DuplicateStageName, ReservedStageName', () => {
  assert.deepEqual(check('FROM a as Build\nFROM b AS build\nFROM c AS scratch\n'), [
    ['StageNameCasing', "Stage name 'Build' should be lowercase", 1],
    ['FromAsCasing', "'as' and 'FROM' keywords' casing do not match", 1],
    ['DuplicateStageName', 'Duplicate stage name "build", stage names should be unique', 2],
    ['ReservedStageName', 'Stage name should not use the same name as reserved stage "scratch"', 3],
  ]);
});

test('ConsistentInstructionCasing: the majority decides, mixed case never counts', () => {
  assert.deepEqual(check('from a\nrun x\nRUN y\nCopy a b\n'), [
    ['ConsistentInstructionCasing', "Command 'RUN' should match the case of the command majority (lowercase)", 3],
    ['ConsistentInstructionCasing', "Command 'Copy' should match the case of the command majority (lowercase)", 4],
  ]);
});

test('UndefinedArgInFrom: an ARG not declared before FROM, with Docker\'s suggestion; platform args are declared', () => {
  assert.deepEqual(check('ARG VERSION=1\nFROM --platform=$BUILDPLATFORM alpine:${VERSIN}\nFROM $IMAGE\n'), [
    ['UndefinedArgInFrom', "FROM argument 'VERSIN' is not declared (did you mean VERSION?)", 2],
    ['UndefinedArgInFrom', "FROM argument 'IMAGE' is not declared", 3],
  ]);
});

test('WorkdirRelativePath (the first WORKDIR of a stage only), MultipleInstructionsDisallowed (at the earlier one)', () => {
  assert.deepEqual(check('FROM a\nWORKDIR app\nWORKDIR sub\nCMD ["a"]\nHEALTHCHECK NONE\nCMD ["b"]\nHEALTHCHECK NONE\n'), [
    ['WorkdirRelativePath', 'Relative workdir "app" can have unexpected results if the base image changes', 2],
    ['MultipleInstructionsDisallowed', 'Multiple CMD instructions should not be used in the same stage because only the last one will be used', 4],
    ['MultipleInstructionsDisallowed', 'Multiple HEALTHCHECK instructions should not be used in the same stage because only the last one will be used', 5],
  ]);
  // one CMD per stage is fine
  assert.deepEqual(check('FROM a\nCMD ["a"]\nFROM b\nCMD ["b"]\n'), []);
});

test('NoEmptyContinuation comes from the parser, on the line the instruction ends', () => {
  assert.deepEqual(check('FROM a\nRUN a \\\n\n  b\n'), [['NoEmptyContinuation', 'Empty continuation line', 4]]);
});
