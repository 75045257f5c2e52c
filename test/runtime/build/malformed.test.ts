// Chapter 9: a Dockerfile mistake fails with Docker's message and the line
// it is on (parser.ts and instructions.ts). Each row: the file, the message,
// the 1-based line the error names.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DockerfileError } from '../../../runtime/build/ast.ts';
import { parseDockerfile } from '../../../runtime/build/parser.ts';
import { parseInstructions } from '../../../runtime/build/instructions.ts';

const NEED_TWO = 'requires at least two arguments, but only one was provided. Destination could not be determined';

const cases: [text: string, message: string, line: number][] = [
  // directives and lines (parser.ts)
  ['# escape=x\nFROM a\n', "invalid escape token 'x' does not match ` or \\", 1],
  ['# escape=\\\n# escape=`\nFROM a\n', 'only one escape parser directive can be used', 2],
  ['# syntax=a\n# SYNTAX=b\nFROM a\n', 'only one syntax parser directive can be used', 2],
  ['FROM a\nCOMPILE bar\n', 'unknown instruction: COMPILE', 2],
  ['FROM a\n\nRUNN make\n', 'unknown instruction: RUNN (did you mean RUN?)', 3],
  ['form alpine\n', 'unknown instruction: form (did you mean from?)', 1],
  ['# only a comment\n\n', 'file with no instructions', 2],
  ['FROM a\nRUN <<EOF\necho hi\n', 'unterminated heredoc', 2],
  ['FROM a\nCMD ["echo", 1]\n', 'when using JSON array syntax, arrays must be comprised of strings only', 2],
  // stages
  ['RUN make\n', 'no build stage in current context', 1],
  ['ARG V\nENV A=1\nFROM a\n', 'no build stage in current context', 2],
  ['FROM\n', 'FROM requires either one or three arguments', 1],
  ['FROM a AS\n', 'FROM requires either one or three arguments', 1],
  ['FROM a AS b c\n', 'FROM requires either one or three arguments', 1],
  ['FROM a AS 1st\n', 'invalid name for build stage: "1st", name can\'t start with a number or contain symbols', 1],
  ['FROM --platorm=linux/amd64 a\n', 'unknown flag: --platorm (did you mean platform?)', 1],
  // key=value instructions
  ['FROM a\nENV\n', 'ENV requires at least one argument', 2],
  ['FROM a\nENV A\n', 'ENV must have two arguments', 2],
  ['FROM a\nENV A=1 B\n', 'Syntax error - can\'t find = in "B". Must be of the form: name=value', 2],
  ['FROM a\nENV =1\n', 'ENV names can not be blank', 2],
  ['FROM a\nLABEL version\n', 'LABEL must have two arguments', 2],
  ['FROM a\nARG\n', 'ARG requires at least one argument', 2],
  ['FROM a\nARG =x\n', 'ARG names can not be blank', 2],
  ['FROM a\nARG --global V\n', 'unknown flag: --global', 2],
  // COPY / ADD and flags
  ['FROM a\nCOPY only-one\n', `COPY ${NEED_TWO}`, 2],
  ['FROM a\nADD only-one\n', `ADD ${NEED_TWO}`, 2],
  ['FROM a\nADD --from=build x /y\n', 'unknown flag: --from', 2],
  ['FROM a\nCOPY --chown x /y\n', 'missing a value on flag: --chown', 2],
  ['FROM a\nCOPY --from=a --from=b x /y\n', 'duplicate flag specified: --from', 2],
  ['FROM a\nCOPY --link=maybe x /y\n', 'expecting boolean value for flag --link, not: maybe', 2],
  ['FROM a\nCOPY x <<EOF\nhi\nEOF\n', 'COPY cannot accept a heredoc as a destination', 2],
  ['FROM a\nCMD --verbose app\n', 'unknown flag: --verbose', 2],
  // RUN
  ['FROM a\nRUN --network=bridge make\n', 'invalid network mode "bridge"', 2],
  ['FROM a\nRUN --mount=type=cache,target=/c make\n', 'RUN --mount is not supported by dockling (only --network is): remove the flag', 2],
  // one-argument instructions
  ['FROM a\nWORKDIR\n', 'WORKDIR requires exactly one argument', 2],
  ['FROM a\nUSER\n', 'USER requires exactly one argument', 2],
  ['FROM a\nSTOPSIGNAL\n', 'STOPSIGNAL requires exactly one argument', 2],
  ['FROM a\nMAINTAINER\n', 'MAINTAINER requires exactly one argument', 2],
  ['FROM a\nEXPOSE\n', 'EXPOSE requires at least one argument', 2],
  ['FROM a\nVOLUME\n', 'VOLUME requires at least one argument', 2],
  ['FROM a\nVOLUME ["/a", " "]\n', 'VOLUME specified can not be an empty string', 2],
  ['FROM a\nSHELL /bin/bash -c\n', 'SHELL requires the arguments to be in JSON form', 2],
  ['FROM a\nSHELL []\n', 'SHELL requires at least one argument', 2],
  // HEALTHCHECK
  ['FROM a\nHEALTHCHECK\n', 'HEALTHCHECK requires at least one argument', 2],
  ['FROM a\nHEALTHCHECK NONE now\n', 'HEALTHCHECK NONE takes no arguments', 2],
  ['FROM a\nHEALTHCHECK RUN curl x\n', 'Unknown type "RUN" in HEALTHCHECK (try CMD)', 2],
  ['FROM a\nHEALTHCHECK CMD\n', 'Missing command after HEALTHCHECK CMD', 2],
  ['FROM a\nHEALTHCHECK --interval=10 CMD true\n', 'time: missing unit in duration "10"', 2],
  ['FROM a\nHEALTHCHECK --timeout=5y CMD true\n', 'time: unknown unit "y" in duration "5y"', 2],
  ['FROM a\nHEALTHCHECK --interval=10us CMD true\n', 'Interval "interval" cannot be less than 1ms', 2],
  ['FROM a\nHEALTHCHECK --retries=-1 CMD true\n', '--retries cannot be negative (-1)', 2],
  ['FROM a\nHEALTHCHECK --retries=three CMD true\n', 'strconv.ParseInt: parsing "three": invalid syntax', 2],
  // ONBUILD
  ['FROM a\nONBUILD\n', 'ONBUILD requires at least one argument', 2],
  ['FROM a\nONBUILD ONBUILD RUN x\n', 'Chaining ONBUILD via `ONBUILD ONBUILD` isn\'t allowed', 2],
  ['FROM a\nONBUILD FROM b\n', "FROM isn't allowed as an ONBUILD trigger", 2],
  ['FROM a\nonbuild maintainer me\n', "MAINTAINER isn't allowed as an ONBUILD trigger", 2],
  // an instruction over several lines: the error names its first line
  ['FROM a\n# note\nENV \\\n  A\n', 'ENV must have two arguments', 3],
];

for (const [text, message, line] of cases) {
  test(`${JSON.stringify(text)} → ${message} (line ${line})`, () => {
    assert.throws(
      () => parseInstructions(parseDockerfile(text, 'Dockerfile')),
      (err: unknown) => {
        assert.ok(err instanceof DockerfileError, `not a DockerfileError: ${String(err)}`);
        assert.equal(err.message, message);
        assert.equal(err.where?.line, line);
        assert.equal(err.where?.file, 'Dockerfile');
        return true;
      },
    );
  });
}

test('the error names the instruction as written, and its last line', () => {
  try {
    parseInstructions(parseDockerfile('FROM a\nCOPY \\\n  one\n', 'ctx/Dockerfile'));
    assert.fail('no error');
  } catch (err) {
    assert.ok(err instanceof DockerfileError);
    assert.equal(err.instruction, 'COPY   one');
    assert.deepEqual(err.where, { file: 'ctx/Dockerfile', line: 2, endLine: 3 });
  }
});

test('there are at least 30 malformed cases, each message distinct in kind', () => {
  assert.ok(new Set(cases.map((c) => c[1])).size >= 30);
});
