// Chapter 9's instructions (runtime/build/instructions.ts): each
// instruction's argument forms, and the stages they make.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Instruction } from '../../../runtime/build/ast.ts';
import { parseDockerfile, parseInstructionLine } from '../../../runtime/build/parser.ts';
import { parseInstruction, parseInstructions } from '../../../runtime/build/instructions.ts';

const file = (text: string) => parseInstructions(parseDockerfile(text, 'Dockerfile'));
/** the one instruction after `FROM a`, without its position */
function one(line: string): Record<string, unknown> {
  const d = file(`FROM a\n${line}\n`);
  const { file: _f, line: _l, endLine: _e, original: _o, ...rest } = d.stages[0].instructions[0] as Instruction & Record<string, unknown>;
  return rest;
}

test('FROM: image, AS name (lower-cased), --platform', () => {
  const d = file('ARG V=1\nFROM --platform=linux/amd64 alpine:$V AS Build\nFROM build\n');
  assert.deepEqual(d.metaArgs, [{ key: 'V', value: '1' }]);
  assert.equal(d.stages.length, 2);
  const f = d.stages[0].from;
  assert.deepEqual([f.image, f.stage, f.platform, d.stages[0].name, d.stages[0].index], ['alpine:$V', 'build', 'linux/amd64', 'build', 0]);
  assert.deepEqual([d.stages[1].name, d.stages[1].from.image, d.stages[1].index], [null, 'build', 1]);
});

test('instructions belong to the stage above them', () => {
  const d = file('FROM a\nRUN one\nFROM b\nRUN two\nUSER me\n');
  assert.deepEqual(d.stages.map((s) => s.instructions.map((i) => i.keyword)), [['RUN'], ['RUN', 'USER']]);
});

test('RUN: shell form, exec form, --network, heredocs', () => {
  assert.deepEqual(one('RUN echo $HOME && ls'), { keyword: 'RUN', cmd: { args: ['echo $HOME && ls'], prependShell: true, heredocs: [] }, network: null });
  assert.deepEqual(one('RUN --network=none ["ls", "-l"]'), { keyword: 'RUN', cmd: { args: ['ls', '-l'], prependShell: false, heredocs: [] }, network: 'none' });
  const h = one('RUN <<EOF\necho hi\nEOF') as { cmd: { heredocs: unknown[]; args: string[] } };
  assert.deepEqual(h.cmd.args, ['<<EOF']);
  assert.equal(h.cmd.heredocs.length, 1);
});

test('CMD and ENTRYPOINT: both forms; an empty shell form is no arguments', () => {
  assert.deepEqual(one('CMD ["nginx", "-g", "daemon off;"]'), { keyword: 'CMD', cmd: { args: ['nginx', '-g', 'daemon off;'], prependShell: false, heredocs: [] } });
  assert.deepEqual(one('ENTRYPOINT exec top -b'), { keyword: 'ENTRYPOINT', cmd: { args: ['exec top -b'], prependShell: true, heredocs: [] } });
  assert.deepEqual(one('CMD []'), { keyword: 'CMD', cmd: { args: [], prependShell: false, heredocs: [] } });
});

test('ENV and LABEL: key=value pairs keep their quotes; the legacy "key value" form takes the rest of the line', () => {
  assert.deepEqual(one('ENV A=1 B="two words" C=\'$x\' D=a\\ b E='), {
    keyword: 'ENV',
    pairs: [{ key: 'A', value: '1' }, { key: 'B', value: '"two words"' }, { key: 'C', value: "'$x'" }, { key: 'D', value: 'a\\ b' }, { key: 'E', value: '' }],
  });
  assert.deepEqual(one('ENV PATH /usr/local/bin:$PATH  more'), { keyword: 'ENV', pairs: [{ key: 'PATH', value: '/usr/local/bin:$PATH  more' }] });
  assert.deepEqual(one('LABEL "com.example.vendor"="ACME" version=1.0'), {
    keyword: 'LABEL',
    pairs: [{ key: '"com.example.vendor"', value: '"ACME"' }, { key: 'version', value: '1.0' }],
  });
});

test('ARG: names with and without defaults', () => {
  assert.deepEqual(one('ARG A B=2 C="x y"'), { keyword: 'ARG', args: [{ key: 'A', value: null }, { key: 'B', value: '2' }, { key: 'C', value: '"x y"' }] });
});

test('COPY and ADD: sources, destination, flags, exec form, heredoc sources', () => {
  assert.deepEqual(one('COPY --from=build --chown=1:1 --chmod=755 a b /dst/'), {
    keyword: 'COPY', sources: ['a', 'b'], dest: '/dst/', heredocs: [], from: 'build', chown: '1:1', chmod: '755',
  });
  assert.deepEqual(one('ADD ["my file", "/dst dir/"]'), { keyword: 'ADD', sources: ['my file'], dest: '/dst dir/', heredocs: [], from: null, chown: null, chmod: null });
  const h = one('COPY <<one <<two src /etc/\nx\none\ny\ntwo') as { sources: string[]; heredocs: { name: string }[] };
  assert.deepEqual(h.sources, ['src']);
  assert.deepEqual(h.heredocs.map((d) => d.name), ['one', 'two']);
  assert.equal((one('COPY --link --exclude=*.md --exclude=*.txt . /app') as { dest: string }).dest, '/app');
});

test('EXPOSE (sorted, as Docker keeps them), VOLUME (both forms), USER, WORKDIR, STOPSIGNAL, MAINTAINER, SHELL', () => {
  assert.deepEqual(one('EXPOSE 8080/tcp 53/udp 80'), { keyword: 'EXPOSE', ports: ['53/udp', '80', '8080/tcp'] });
  assert.deepEqual(one('VOLUME /data /logs'), { keyword: 'VOLUME', volumes: ['/data', '/logs'] });
  assert.deepEqual(one('VOLUME ["/my data"]'), { keyword: 'VOLUME', volumes: ['/my data'] });
  assert.deepEqual(one('USER app:app'), { keyword: 'USER', user: 'app:app' });
  assert.deepEqual(one('WORKDIR /srv/my app'), { keyword: 'WORKDIR', path: '/srv/my app' });
  assert.deepEqual(one('STOPSIGNAL SIGQUIT'), { keyword: 'STOPSIGNAL', signal: 'SIGQUIT' });
  assert.deepEqual(one('MAINTAINER Jane <j@example.com>'), { keyword: 'MAINTAINER', maintainer: 'Jane <j@example.com>' });
  assert.deepEqual(one('SHELL ["/bin/bash", "-o", "pipefail", "-c"]'), { keyword: 'SHELL', shell: ['/bin/bash', '-o', 'pipefail', '-c'] });
});

test('HEALTHCHECK: NONE, CMD in both forms, every option', () => {
  const none = { interval: null, timeout: null, startPeriod: null, startInterval: null, retries: null };
  assert.deepEqual(one('HEALTHCHECK NONE'), { keyword: 'HEALTHCHECK', test: null, ...none });
  assert.deepEqual(one('HEALTHCHECK CMD curl -f http://localhost/'), { keyword: 'HEALTHCHECK', test: ['CMD-SHELL', 'curl -f http://localhost/'], ...none });
  assert.deepEqual(one('healthcheck --interval=30s --timeout=1m30s --start-period=5s --start-interval=500ms --retries=3 cmd ["true"]'), {
    keyword: 'HEALTHCHECK', test: ['CMD', 'true'], interval: '30s', timeout: '1m30s', startPeriod: '5s', startInterval: '500ms', retries: 3,
  });
  // a zero duration is Docker's "not set"
  assert.equal((one('HEALTHCHECK --interval=0s CMD true') as { interval: unknown }).interval, null);
});

test('ONBUILD: the trigger kept as text, heredocs included; parseInstruction reads it later', () => {
  assert.deepEqual(one('ONBUILD  RUN echo hi'), { keyword: 'ONBUILD', expression: 'RUN echo hi' });
  const h = one('ONBUILD RUN <<EOF\necho hi\nEOF') as { expression: string };
  assert.equal(h.expression, 'RUN <<EOF\necho hi\nEOF');
  const trigger = parseInstruction(parseInstructionLine(h.expression, 'Dockerfile', 2, '\\'));
  assert.equal(trigger.keyword, 'RUN');
  assert.equal(trigger.keyword === 'RUN' && trigger.cmd.heredocs[0].content, 'echo hi\n');
});

test('the backtick escape reaches ENV\'s words', () => {
  const d = file('# escape=`\nFROM a\nENV A=x` y B=2\n');
  const env = d.stages[0].instructions[0];
  assert.deepEqual(env.keyword === 'ENV' && env.pairs, [{ key: 'A', value: 'x` y' }, { key: 'B', value: '2' }]);
});
