// Logging in, for real: a registry with htpasswd (Basic), and one behind a
// token service that answers as Docker Hub's does (Bearer). Credentials are
// checked before they are saved, kept 0600, sent only where they belong.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { chapter8 } from './helpers.ts';
import { expectCode } from '../../helpers/chapter.ts';
import { startRegistry, startTokenService, whyNoRegistry, type Registry, type TokenService } from '../../helpers/registry.ts';

const skip = whyNoRegistry();
const { tmp, cliAsync } = chapter8('auth');
const USERS = [{ user: 'student', password: 's3cret' }];
let basic: Registry;
let tokens: TokenService;
let bearer: Registry;
before(async () => {
  if (skip) return;
  basic = await startRegistry({ dir: path.join(tmp(), 'basic'), htpasswd: USERS });
  tokens = await startTokenService({ dir: path.join(tmp(), 'tokens'), users: USERS });
  bearer = await startRegistry({ dir: path.join(tmp(), 'bearer'), token: tokens });
});
after(async () => {
  await basic?.stop();
  await bearer?.stop();
  await tokens?.stop();
});

const configFile = () => path.join(tmp(), 'client/config.json');
/** `login --password-stdin`, with the password on stdin. */
const loginWith = (host: string, password: string) => cliAsync(['login', host, '-u', 'student', '--password-stdin'], {}, password + '\n');

describe('login, Basic (htpasswd)', { skip }, () => {
  test('without a login, a pull is refused with the login to try', async () => {
    const r = expectCode(await cliAsync(['pull', `${basic.host}/lab/x:1`]), 1);
    assert.match(r.stderr, /Get "http:\/\/127\.0\.0\.1:\d+\/v2\/lab\/x\/manifests\/1": no basic auth credentials/);
  });

  test('a wrong password is refused and nothing is saved; the right one is saved 0600; push and pull work; logout forgets', async () => {
    const wrong = expectCode(await loginWith(basic.host, 'nope'), 1);
    assert.match(wrong.stderr, /login attempt to http:\/\/127\.0\.0\.1:\d+\/v2\/ failed with status: 401 Unauthorized/);
    assert.equal(fs.existsSync(configFile()), false, 'no file written for a refused login');
    const right = expectCode(await loginWith(basic.host, 's3cret'), 0);
    assert.equal(right.stdout, 'Login Succeeded\n');
    assert.match(right.stderr, /WARNING! Your password will be stored unencrypted in .*client\/config\.json\./);
    assert.equal(fs.statSync(configFile()).mode & 0o777, 0o600);
    const saved = JSON.parse(fs.readFileSync(configFile(), 'utf8'));
    assert.equal(Buffer.from(saved.auths[basic.host].auth, 'base64').toString(), 'student:s3cret');
    expectCode(await cliAsync(['tag', 'busybox', `${basic.host}/lab/x:1`]), 0);
    try {
      assert.match(expectCode(await cliAsync(['push', `${basic.host}/lab/x:1`]), 0).stdout, /1: digest: sha256:/);
      expectCode(await cliAsync(['rmi', `${basic.host}/lab/x:1`]), 0);
      assert.match(expectCode(await cliAsync(['pull', `${basic.host}/lab/x:1`]), 0).stdout, /Status: /);
    } finally {
      await cliAsync(['rmi', `${basic.host}/lab/x:1`]);
    }
    assert.equal(expectCode(await cliAsync(['logout', basic.host]), 0).stdout, `Removing login credentials for ${basic.host}\n`);
    assert.equal(JSON.parse(fs.readFileSync(configFile(), 'utf8')).auths[basic.host], undefined);
    assert.equal(expectCode(await cliAsync(['logout', basic.host]), 0).stdout, `Removing login credentials for ${basic.host}\n`, 'as docker 20.10 says it, logged in or not');
  });

  test('bad login input: no TTY to ask on, --password-stdin without -u', async () => {
    assert.match(expectCode(await cliAsync(['login', basic.host]), 1).stderr, /Cannot perform an interactive login from a non TTY device/);
    assert.match(expectCode(await cliAsync(['login', basic.host, '--password-stdin']), 1).stderr, /Must provide --username with --password-stdin/);
  });
});

describe('login, Bearer (a token service)', { skip }, () => {
  test('anonymous pulls get a pull token; a push needs a login; with one, tokens are asked per scope and kept', async () => {
    const name = `${bearer.host}/lab/tok:1`;
    expectCode(await cliAsync(['tag', 'busybox', name]), 0);
    try {
      const denied = expectCode(await cliAsync(['push', name]), 1);
      assert.match(denied.stderr, /unauthorized|denied/);
      assert.ok(tokens.requests.some((r) => r.user === null && r.scopes.includes('repository:lab/tok:pull,push')), 'the token service was asked, anonymously, for pull and push');
      const wrong = expectCode(await loginWith(bearer.host, 'nope'), 1);
      assert.match(wrong.stderr, /unauthorized: incorrect username or password/);
      expectCode(await loginWith(bearer.host, 's3cret'), 0);
      tokens.requests.length = 0;
      assert.match(expectCode(await cliAsync(['push', name]), 0).stdout, /: Pushed\n/);
      assert.deepEqual(tokens.requests, [{ user: 'student', scopes: ['repository:lab/tok:pull,push'] }], 'one token for the whole push: kept for its scope');
      expectCode(await cliAsync(['rmi', name]), 0);
      tokens.requests.length = 0;
      assert.match(expectCode(await cliAsync(['pull', name]), 0).stdout, /Status: Downloaded newer image for /);
      assert.deepEqual(tokens.requests, [{ user: 'student', scopes: ['repository:lab/tok:pull'] }]);
      expectCode(await cliAsync(['logout', bearer.host]), 0);
      // Anonymous again: a pull token is enough to pull.
      expectCode(await cliAsync(['rmi', name]), 0);
      expectCode(await cliAsync(['pull', name]), 0);
    } finally {
      await cliAsync(['rmi', name]);
    }
  });
});

