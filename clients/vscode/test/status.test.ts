import assert from 'node:assert/strict';
import { test } from 'node:test';

import { statusReport, statusView } from '../src/status';

void test('running status shows the engine', () => {
  const view = statusView('running', { engine: 'openai', model: 'test-model', requests: 2, errors: 0, busy: false });
  assert.equal(view.text, '$(sparkle) lspilot: openai');
  assert.match(view.tooltip, /model: test-model/);
  assert.equal(view.severity, undefined);
});

void test('busy spins, errors warn, an open breaker is an error', () => {
  assert.match(statusView('running', { engine: 'openai', busy: true }).text, /sync~spin/);
  assert.match(statusView('running', { engine: 'openai', busy: 2 }).text, /sync~spin/);
  const failing = statusView('running', { engine: 'openai', lastError: 'rate limited' });
  assert.equal(failing.severity, 'warning');
  assert.match(failing.tooltip, /last error: rate limited/);
  assert.equal(statusView('running', { engine: 'openai', breaker: 'open' }).severity, 'error');
  assert.equal(statusView('running', { engine: 'openai', breaker: 'closed' }).severity, undefined);
});

void test('client states without a status', () => {
  assert.match(statusView('starting', undefined).text, /loading~spin/);
  assert.equal(statusView('failed', undefined).severity, 'error');
  assert.match(statusView('stopped', { engine: 'x' }).text, /circle-slash/);
});

void test('statusReport lists every field', () => {
  assert.equal(statusReport({ engine: 'offline', requests: 0, lastError: null }), 'engine: offline\nrequests: 0\nlastError: null');
});

void test('snake_case last_error and cache_hits are read too', () => {
  const view = statusView('running', { engine: 'openai', last_error: 'timeout', cache_hits: 3 });
  assert.equal(view.severity, 'warning');
  assert.match(view.tooltip, /cacheHits: 3/);
  assert.match(view.tooltip, /last error: timeout/);
});
