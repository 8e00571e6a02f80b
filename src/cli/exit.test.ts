import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StatusError, UsageError, exitCodeFor, runStartFailureCode } from './exit.js';

test('run start failures map to 127 / 126 / 125 like docker/cli', () => {
  assert.equal(runStartFailureCode('exec: "nope": executable file not found in $PATH'), 127);
  assert.equal(runStartFailureCode('exec /bin/nope: no such file or directory'), 127);
  assert.equal(runStartFailureCode('exec /etc/passwd: permission denied'), 126);
  assert.equal(runStartFailureCode('exec /etc: is a directory'), 126);
  assert.equal(runStartFailureCode('cgroup setup failed'), 125);
});

test('exit codes by error type', () => {
  assert.equal(exitCodeFor(new UsageError('x'), false), 125);
  assert.equal(exitCodeFor(new StatusError(3), true), 3);
  assert.equal(exitCodeFor(new Error('daemon'), true), 125);
  assert.equal(exitCodeFor(new Error('daemon'), false), 1);
});
