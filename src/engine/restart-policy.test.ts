import { test } from 'node:test';
import assert from 'node:assert/strict';
import { policyRestarts, RestartTracker, type ExitFacts } from './restart-policy.js';

const facts = (overrides: Partial<ExitFacts> = {}): ExitFacts => ({
  policy: { name: 'always', maximumRetryCount: 0 },
  exitCode: 1,
  hasBeenManuallyStopped: false,
  restartCount: 0,
  ranMs: 0,
  ...overrides,
});

test('policies follow docker: no, always, unless-stopped, on-failure with a count', () => {
  assert.equal(policyRestarts(facts({ policy: { name: 'no', maximumRetryCount: 0 } })), false);
  assert.equal(policyRestarts(facts({ exitCode: 0 })), true);
  assert.equal(policyRestarts(facts({ policy: { name: 'unless-stopped', maximumRetryCount: 0 }, hasBeenManuallyStopped: true })), false);
  assert.equal(policyRestarts(facts({ policy: { name: 'unless-stopped', maximumRetryCount: 0 } })), true);
  const onFailure = { name: 'on-failure' as const, maximumRetryCount: 2 };
  assert.equal(policyRestarts(facts({ policy: onFailure, exitCode: 0 })), false);
  assert.equal(policyRestarts(facts({ policy: onFailure, restartCount: 1 })), true);
  assert.equal(policyRestarts(facts({ policy: onFailure, restartCount: 2 })), false);
  assert.equal(policyRestarts(facts({ policy: { name: 'on-failure', maximumRetryCount: 0 }, restartCount: 50 })), true);
});

test('backoff starts at 100 ms, doubles, and resets after a 10 s run', () => {
  const tracker = new RestartTracker();
  assert.equal(tracker.decide('a', facts()), 100);
  assert.equal(tracker.decide('a', facts()), 200);
  assert.equal(tracker.decide('a', facts()), 400);
  assert.equal(tracker.decide('a', facts({ ranMs: 10_000 })), 100);
});

test('an asked-for exit does not restart, once', () => {
  const tracker = new RestartTracker();
  tracker.cancelNext('a');
  assert.equal(tracker.decide('a', facts()), undefined);
  assert.equal(tracker.decide('a', facts()), 100);
});
