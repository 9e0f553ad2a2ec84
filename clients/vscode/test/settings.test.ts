import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  configurationAnswer,
  explicitSettings,
  initializationOptions,
  type Inspected,
  needsRestart,
  serverKeys,
  serverSettings,
  toJson,
} from '../src/settings';

void test('serverSettings drops client-only keys and functions', () => {
  const section = {
    provider: 'openai',
    hover: { enabled: true, timeoutMs: 4000 },
    server: { command: 'lspilot', args: ['serve'], python: null },
    trace: { server: 'off' },
    get: () => 1,
    inspect: () => undefined,
  };
  assert.deepEqual(serverSettings(section), {
    provider: 'openai',
    hover: { enabled: true, timeoutMs: 4000 },
  });
});

void test('initializationOptions nests the settings under lspilot', () => {
  assert.deepEqual(initializationOptions({ model: 'm', server: {} }), { lspilot: { model: 'm' } });
  assert.deepEqual(initializationOptions(undefined), { lspilot: {} });
});

void test('configurationAnswer only rewrites the lspilot section', () => {
  assert.deepEqual(configurationAnswer('lspilot', { model: 'x', trace: { server: 'off' } }), { model: 'x' });
  assert.deepEqual(configurationAnswer('python', { trace: 1 }), { trace: 1 });
  assert.deepEqual(configurationAnswer('lspilot.hover', { enabled: false }), { enabled: false });
});

void test('toJson keeps nulls and arrays', () => {
  assert.deepEqual(toJson({ a: null, b: [1, 'x', { c: undefined }], d: undefined }), {
    a: null,
    b: [1, 'x', {}],
  });
});

void test('only server launch settings need a restart', () => {
  assert.equal(needsRestart((s) => s === 'lspilot.server'), true);
  assert.equal(needsRestart((s) => s === 'lspilot.hover'), false);
});

void test('serverKeys drops client-only settings', () => {
  assert.deepEqual(
    serverKeys({ 'lspilot.server.command': {}, 'lspilot.trace.server': {}, 'lspilot.model': {}, 'lspilot.hover.enabled': {} }),
    ['model', 'hover.enabled'],
  );
});

void test('explicitSettings sends only what the user set, folder over workspace over user', () => {
  const values: Record<string, Inspected> = {
    model: { globalValue: 'user-model', workspaceValue: 'ws-model' },
    'hover.enabled': { globalValue: false },
    'hover.timeoutMs': {},
    'diagnostics.triggers': { workspaceFolderValue: ['save'], globalValue: ['open'] },
    provider: { globalValue: undefined },
  };
  assert.deepEqual(
    explicitSettings(Object.keys(values), (key) => values[key]),
    { model: 'ws-model', hover: { enabled: false }, diagnostics: { triggers: ['save'] } },
  );
  assert.deepEqual(explicitSettings(['model'], () => undefined), {});
});
