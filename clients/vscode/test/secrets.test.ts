import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';

import { API_KEY, REDIS_PASSWORD, SECRETS, serverEnv } from '../src/secrets';

void test('stored secrets reach the server as environment variables', async () => {
  const store: Record<string, string> = { 'lspilot.apiKey': 'sk-test', 'lspilot.redisPassword': ' s3cret ' };
  const base = { PATH: '/usr/bin', HOME: '/home/u' };
  const { env, used } = await serverEnv(base, (key) => Promise.resolve(store[key]));
  assert.equal(env.OPENAI_API_KEY, 'sk-test');
  assert.equal(env.LSPILOT_REDIS_PASSWORD, 's3cret');
  assert.equal(env.PATH, '/usr/bin');
  assert.deepEqual(used, ['API key', 'team cache password']);
  assert.deepEqual(base, { PATH: '/usr/bin', HOME: '/home/u' }, 'the base environment is not changed');
});

void test('a secret not stored (or blank) leaves the inherited variable alone', async () => {
  const base = { LSPILOT_REDIS_PASSWORD: 'from-shell', OPENAI_API_KEY: 'from-shell-too' };
  const { env, used } = await serverEnv(base, (key) => (key === REDIS_PASSWORD.key ? '   ' : undefined));
  assert.equal(env.LSPILOT_REDIS_PASSWORD, 'from-shell');
  assert.equal(env.OPENAI_API_KEY, 'from-shell-too');
  assert.deepEqual(used, []);
  const none = await serverEnv({}, () => undefined);
  assert.equal('LSPILOT_REDIS_PASSWORD' in none.env, false);
});

void test('the Redis password is the variable the server reads, under its own secret key', () => {
  assert.equal(REDIS_PASSWORD.env, 'LSPILOT_REDIS_PASSWORD');
  assert.equal(API_KEY.env, 'OPENAI_API_KEY');
  assert.equal(new Set(SECRETS.map((s) => s.key)).size, SECRETS.length);
  // The server's team cache documents this variable for the password (docs/team-cache.md).
  const doc = readFileSync(join(__dirname, '..', '..', '..', '..', 'docs', 'team-cache.md'), 'utf8');
  assert.match(doc, /LSPILOT_REDIS_PASSWORD/);
});

void test('each secret has a Set and a Clear command in package.json, and no setting', () => {
  const pkg = JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8')) as {
    contributes: { commands: { command: string }[]; configuration: { properties: Record<string, unknown> } };
  };
  const commands = pkg.contributes.commands.map((c) => c.command);
  for (const command of ['lspilot.setApiKey', 'lspilot.clearApiKey', 'lspilot.setRedisPassword', 'lspilot.clearRedisPassword']) {
    assert.ok(commands.includes(command), command);
  }
  const settings = Object.keys(pkg.contributes.configuration.properties).map((k) => k.toLowerCase());
  assert.deepEqual(settings.filter((k) => k.includes('password') || k.includes('apikey')), []);
});
