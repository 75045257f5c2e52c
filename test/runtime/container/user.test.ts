// resolveUser (runtime/container/user.ts): Docker's rules for a user spec,
// against passwd and group texts given here (the init reads the
// container's own files; this checks only the rules).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveUser } from '../../../runtime/container/user.js';

const PASSWD = [
  'root:x:0:0:root:/root:/bin/sh',
  '# a comment',
  'broken:x:notanumber:1::/x:/bin/sh',
  'app:x:1000:1001:App:/home/app:/bin/sh',
  'nohome:x:1002:1002::',
].join('\n');
const GROUP = ['root:x:0:', 'app:x:1001:', 'staff:x:50:app,other', 'audio:x:29:other,app', 'solo:x:7:'].join('\n');

test('names and numbers, with and without a passwd entry', () => {
  assert.deepEqual(resolveUser('app', [], PASSWD, GROUP), { uid: 1000, gid: 1001, groups: [50, 29], home: '/home/app' });
  assert.deepEqual(resolveUser('1000', [], PASSWD, GROUP), { uid: 1000, gid: 1001, groups: [50, 29], home: '/home/app' });
  assert.deepEqual(resolveUser('4242', [], PASSWD, GROUP), { uid: 4242, gid: 0, groups: [], home: '/' });
  assert.deepEqual(resolveUser('nohome', [], PASSWD, GROUP), { uid: 1002, gid: 1002, groups: [], home: '/' });
  assert.throws(() => resolveUser('broken', [], PASSWD, GROUP), /unable to find user broken: no matching entries in passwd file/);
  assert.throws(() => resolveUser('nosuch', [], '', ''), /^Error: unable to find user nosuch: no matching entries in passwd file$/);
});

test('an explicit group replaces the primary group and drops the supplementary ones', () => {
  assert.deepEqual(resolveUser('app:staff', [], PASSWD, GROUP), { uid: 1000, gid: 50, groups: [], home: '/home/app' });
  assert.deepEqual(resolveUser('app:77', [], PASSWD, GROUP), { uid: 1000, gid: 77, groups: [], home: '/home/app' });
  assert.deepEqual(resolveUser('4242:solo', [], PASSWD, GROUP), { uid: 4242, gid: 7, groups: [], home: '/' });
  assert.throws(() => resolveUser('app:nosuch', [], PASSWD, GROUP), /unable to find group nosuch: no matching entries in group file/);
});

test('--group-add adds groups by name or number, after the user’s own', () => {
  assert.deepEqual(resolveUser('app', ['solo', '900'], PASSWD, GROUP).groups, [50, 29, 7, 900]);
  // No user: root's entry (runc looks up uid 0).
  assert.deepEqual(resolveUser('', ['solo'], PASSWD, GROUP), { uid: 0, gid: 0, groups: [7], home: '/root' });
  assert.throws(() => resolveUser('app', ['nosuch'], PASSWD, GROUP), /Unable to find group nosuch/);
});
