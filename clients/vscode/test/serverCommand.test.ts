import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  crashedMessage,
  missingModuleMessage,
  notFoundMessage,
  resolveCommand,
  RestartBudget,
  serverLaunch,
} from '../src/serverCommand';

void test('default launch is `lspilot serve`', () => {
  assert.deepEqual(serverLaunch({ command: 'lspilot', args: ['serve'], python: null }), {
    command: 'lspilot',
    args: ['serve'],
    display: 'lspilot serve',
  });
});

void test('a python interpreter runs `-m lspilot serve`', () => {
  const launch = serverLaunch({ command: 'lspilot', args: ['serve'], python: '/venv/bin/python' });
  assert.equal(launch.command, '/venv/bin/python');
  assert.deepEqual(launch.args, ['-m', 'lspilot', 'serve']);
});

void test('empty command or args fall back to the defaults', () => {
  assert.deepEqual(serverLaunch({ command: ' ', args: [], python: '' }).args, ['serve']);
  assert.equal(serverLaunch({ command: ' ', args: [], python: '' }).command, 'lspilot');
});

void test('resolveCommand searches PATH in order and honours directories', () => {
  const present = new Set(['/b/lspilot', '/c/lspilot', '/opt/x/lspilot']);
  const lookup = { isExecutable: (f: string) => present.has(f), pathEntries: ['/a', '', '/b', '/c'], suffixes: [''] };
  assert.equal(resolveCommand('lspilot', lookup), '/b/lspilot');
  assert.equal(resolveCommand('/opt/x/lspilot', lookup), '/opt/x/lspilot');
  assert.equal(resolveCommand('/opt/y/lspilot', lookup), undefined);
  assert.equal(resolveCommand('other', lookup), undefined);
});

void test('error messages say what to install', () => {
  const launch = serverLaunch({ command: 'lspilot', args: ['serve'], python: null });
  assert.match(notFoundMessage(launch, false), /pipx install lspilot/);
  assert.match(notFoundMessage(launch, false), /lspilot\.server\.command/);
  assert.match(notFoundMessage(serverLaunch({ command: '', args: [], python: 'py3' }), true), /lspilot\.server\.python/);
  assert.match(missingModuleMessage('/usr/bin/python3'), /\/usr\/bin\/python3 -m pip install lspilot/);
  assert.match(crashedMessage(launch, 4), /4 times/);
});

void test('RestartBudget stops a crash loop and forgets old crashes', () => {
  const budget = new RestartBudget(3, 1000);
  assert.equal(budget.allow(0), true);
  assert.equal(budget.allow(10), true);
  assert.equal(budget.allow(20), true);
  assert.equal(budget.allow(30), false);
  assert.equal(budget.allow(5000), true);
  budget.reset();
  assert.equal(budget.count, 0);
});
