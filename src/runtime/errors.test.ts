import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classifyRuntimeFailure, CannotInvokeError, CommandNotFoundError, RuntimeError } from './errors.js';

test('crun and runc wordings map to docker exit-code errors', () => {
  const crunMissing = classifyRuntimeFailure('nosuch', 'executable file `nosuch` not found in $PATH: No such file or directory');
  assert.ok(crunMissing instanceof CommandNotFoundError);
  assert.equal(crunMissing.message, 'exec: "nosuch": executable file not found in $PATH');
  assert.equal(crunMissing.exitStatus, 127);
  assert.ok(classifyRuntimeFailure('nosuch', 'runc create failed: unable to start container process: exec: "nosuch": executable file not found in $PATH') instanceof CommandNotFoundError);
  const denied = classifyRuntimeFailure('/etc/passwd', 'open executable: Permission denied');
  assert.ok(denied instanceof CannotInvokeError);
  assert.equal(denied.exitStatus, 126);
  assert.ok(classifyRuntimeFailure('/bin', 'open executable: Operation not permitted') instanceof CannotInvokeError);
  const other = classifyRuntimeFailure('sh', 'mount `proc` to `proc`: Operation not permitted');
  assert.ok(other instanceof RuntimeError);
  assert.equal(other.message, 'mount `proc` to `proc`: Operation not permitted');
});
