// Chapter 5, `ps` as a Docker user scripts it: --format (Go templates on
// docker/cli's ContainerContext fields, the `table` directive with
// Docker's column names, `json` as one object a line; -q wins over a
// format, with Docker's warning), --filter/-f (status, name, id, label,
// ancestor, exited, before, since; values of one key OR together, keys
// AND; an unknown key is the daemon's "invalid filter"), and -s/--size
// (the writable layer's bytes, "virtual" with the image's).
//
// test/run.ts runs this file with layers 1..5 (every test must pass) and
// with layers 1..4 (every test must fail: there is no `run -d`).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rootOrSkip } from '../../helpers/dockling.js';
import { expectCode } from '../../helpers/chapter.js';
import { chapter5, lines } from './helpers.js';

const skip = rootOrSkip();
const c = chapter5('ch5-ps-format');

/** Three containers, oldest first: `first` exited 3, `second` exited 0, `up` running; and an image with a label. */
function threeContainers(): { first: string; second: string; up: string } {
  const first = c.ok(['create', '--name', 'first', 'busybox', 'sh', '-c', 'printf 12345 > /five; exit 3']).trim();
  c.track(first);
  expectCode(c.dk(['start', '-a', 'first']), 3);
  c.ok(['commit', '-c', 'LABEL tier=web', '-c', 'LABEL com.example.team-name=ops', 'first', 'ps-labelled:1']);
  const second = c.ok(['create', '--name', 'second', 'ps-labelled:1', 'true']).trim();
  c.track(second);
  expectCode(c.dk(['start', '-a', 'second']), 0);
  const up = c.runD(['--name', 'up', 'busybox', 'sleep', '60']);
  return { first, second, up };
}

test('ps --format: Go templates on Docker\'s fields; `table` prints Docker\'s column names; json is one object a line; -q wins', { skip }, async () => {
  try {
    const { first, up } = threeContainers();
    assert.equal(c.ok(['ps', '--format', '{{.Names}} {{.State}} {{.Image}} {{.Command}}']), 'up running busybox "sleep 60"\n');
    const all = lines(c.ok(['ps', '-a', '--format', '{{.Names}}|{{.Status}}|{{.Label "tier"}}|{{.Labels}}|{{.LocalVolumes}}']));
    assert.equal(all.length, 3);
    assert.match(all[0], /^up\|Up .*\|\|\|0$/);
    assert.match(all[1], /^second\|Exited \(0\) .* ago\|web\|com\.example\.team-name=ops,tier=web\|0$/);
    assert.match(all[2], /^first\|Exited \(3\) /);
    // dockerd's COMMAND: an argument with a space in single quotes; the CLI quotes the whole as Go does.
    assert.equal(c.ok(['ps', '-a', '--no-trunc', '-f', 'name=first', '--format', '{{.Command}}']), `"sh -c 'printf 12345 > /five; exit 3'"\n`);
    assert.equal(c.ok(['ps', '-a', '-f', 'name=first', '--format', '{{.Command}}']), `"sh -c 'printf 12345…"\n`);

    const table = lines(c.ok(['ps', '-a', '--no-trunc', '--format', 'table {{.ID}}\\t{{.Names}}\\t{{.CreatedAt}}\\t{{.Label "com.example.team-name"}}\\t{{.State}}']));
    assert.match(table[0], /^CONTAINER ID {55}NAMES {5}CREATED AT {4,}team name {3}STATE$/);
    assert.match(table[3], new RegExp(`^${first} {3}first {5}\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d [+-]\\d{4} \\S+ {15}exited$`));

    const json = lines(c.ok(['ps', '--format', 'json'])).map((l) => JSON.parse(l));
    assert.equal(json.length, 1);
    assert.deepEqual(Object.keys(json[0]), ['Command', 'CreatedAt', 'ID', 'Image', 'Labels', 'LocalVolumes', 'Mounts', 'Names', 'Networks', 'Ports', 'RunningFor', 'Size', 'State', 'Status']);
    assert.equal(json[0].ID, up.slice(0, 12));
    assert.equal(json[0].Command, '"sleep 60"');

    const quiet = expectCode(c.dk(['ps', '-q', '--format', '{{.Names}}']), 0);
    assert.equal(quiet.stdout, `${up.slice(0, 12)}\n`);
    assert.equal(quiet.stderr, 'WARNING: Ignoring custom format, because both --format and --quiet are set.\n');

    // The CLI checks the template before listing: Go's words, exit 1, nothing printed.
    const unparsable = expectCode(c.dk(['ps', '--format', '{{.Names']), 1);
    assert.equal(unparsable.stderr, 'dockling: failed to parse template: template: :1: unclosed action\n');
    const bogus = expectCode(c.dk(['ps', '--format', '{{.Bogus}}']), 1);
    assert.equal(bogus.stderr, 'dockling: failed to execute template: template: :1:2: executing "" at <.Bogus>: can\'t evaluate field Bogus in type *formatter.ContainerContext\n');
    assert.equal(bogus.stdout, '');
  } finally {
    await c.cleanup();
    c.dk(['rmi', 'ps-labelled:1']);
  }
});

test('ps --filter: status, name, id, label, ancestor, exited, before, since; one key ORs, keys AND; Docker\'s errors', { skip }, async () => {
  try {
    const { first, second, up } = threeContainers();
    const names = (args: string[]) => lines(c.ok(['ps', ...args, '--format', '{{.Names}}']));
    assert.deepEqual(names(['-f', 'status=exited']), ['second', 'first'], 'a status filter lists stopped containers without -a');
    assert.deepEqual(names(['-f', 'status=exited', '-f', 'status=running']), ['up', 'second', 'first']);
    assert.deepEqual(names(['-a', '-f', 'name=^fir']), ['first'], 'name is a regular expression');
    assert.deepEqual(names(['-a', '-f', 'name=s']), ['second', 'first']);
    assert.deepEqual(names(['-a', '-f', `id=${second.slice(0, 8)}`]), ['second']);
    assert.deepEqual(names(['-a', '-f', 'label=tier']), ['second'], 'the image\'s labels are the container\'s');
    assert.deepEqual(names(['-a', '-f', 'label=tier=web', '-f', 'label=com.example.team-name=ops']), ['second']);
    assert.deepEqual(names(['-a', '-f', 'label=tier=db']), []);
    assert.deepEqual(names(['-a', '-f', 'ancestor=busybox']), ['up', 'second', 'first'], 'ps-labelled is built on busybox');
    assert.deepEqual(names(['-a', '-f', 'ancestor=ps-labelled:1']), ['second']);
    const labelledID = c.ok(['image', 'inspect', '-f', '{{.Id}}', 'ps-labelled:1']).trim();
    assert.deepEqual(names(['-a', '-f', `ancestor=${labelledID.slice(7, 17)}`]), ['second']);
    assert.deepEqual(names(['-a', '-f', 'ancestor=nosuch']), []);
    assert.deepEqual(names(['-a', '-f', 'exited=3']), ['first']);
    assert.deepEqual(names(['-a', '-f', 'exited=0', '-f', 'exited=3']), ['second', 'first']);
    assert.deepEqual(names(['-a', '-f', 'exited=3', '-f', 'name=second']), [], 'different keys: all must hold');
    assert.deepEqual(names(['-a', '-f', 'before=second']), ['first']);
    assert.deepEqual(names(['-a', '-f', 'since=first']), ['up', 'second']);
    assert.deepEqual(names(['-f', `since=${first.slice(0, 12)}`]), ['up'], 'since does not imply -a');
    assert.deepEqual(lines(c.ok(['ps', '-q', '-a', '-f', 'status=running'])), [up.slice(0, 12)]);

    assert.equal(expectCode(c.dk(['ps', '-f', 'bogus=1']), 1).stderr, "dockling: Error response from daemon: invalid filter 'bogus'\n");
    assert.equal(expectCode(c.dk(['ps', '-f', 'status=sleeping']), 1).stderr, "dockling: Error response from daemon: invalid filter 'status=sleeping'\n");
    assert.equal(expectCode(c.dk(['ps', '-f', 'exited=x']), 1).stderr, 'dockling: Error response from daemon: invalid filter \'exited=x\': strconv.Atoi: parsing "x": invalid syntax\n');
    assert.equal(expectCode(c.dk(['ps', '-f', 'before=nosuch']), 1).stderr, 'dockling: Error response from daemon: No such container: nosuch\n');
    const bad = expectCode(c.dk(['ps', '-f', 'status']), 125);
    assert.match(bad.stderr, /^dockling: invalid argument "status" for "-f, --filter" flag: bad format of filter \(expected name=value\)\n/);
  } finally {
    await c.cleanup();
    c.dk(['rmi', 'ps-labelled:1']);
  }
});

test('ps -s: SIZE is the writable layer\'s bytes, "(virtual …)" with the image\'s; a template with .Size asks for it', { skip }, async () => {
  try {
    threeContainers();
    const imageSize = c.ok(['image', 'inspect', '-f', '{{.Size}}', 'busybox']).trim();
    const human = (n: number) => {
      const units = ['B', 'kB', 'MB', 'GB'];
      let i = 0;
      while (n >= 1000 && i < units.length - 1) (n /= 1000), i++;
      return `${Number(n.toPrecision(3))}${units[i]}`;
    };
    const table = lines(c.ok(['ps', '-a', '-s']));
    assert.match(table[0], /^CONTAINER ID +IMAGE +COMMAND +CREATED +STATUS +PORTS +NAMES +SIZE$/);
    // first wrote 5 bytes (/five) on top of busybox.
    assert.ok(table.at(-1)!.endsWith(`first     5B (virtual ${human(Number(imageSize) + 5)})`), table.at(-1));
    assert.equal(c.ok(['ps', '-a', '-f', 'name=first', '--format', '{{.Size}}']), `5B (virtual ${human(Number(imageSize) + 5)})\n`);
    assert.equal(c.ok(['ps', '-a', '-f', 'name=first', '--size=false', '--format', '{{.Size}}']), '0B\n', '--size=false is obeyed');
  } finally {
    await c.cleanup();
    c.dk(['rmi', 'ps-labelled:1']);
  }
});
