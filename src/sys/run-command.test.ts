import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CommandTimeoutError, runCommand, runChecked, CommandFailedError } from './run-command.js';

test('runCommand resolves with the output and exit code, whatever the code', async () => {
  const result = await runCommand('sh', ['-c', 'echo out; echo err >&2; exit 3']);
  assert.deepEqual(result, { stdout: 'out\n', stderr: 'err\n', exitCode: 3 });
});

test('runCommand fails the call when the program outlives its timeout, as its doc says', async () => {
  await assert.rejects(runCommand('sleep', ['30'], { timeoutMs: 50 }), (err: unknown) => err instanceof CommandTimeoutError && err.code === 'BERTH_COMMAND_TIMEOUT');
});

test('runChecked fails with the last line of stderr', async () => {
  await assert.rejects(runChecked('sh', ['-c', 'echo first >&2; echo last >&2; exit 1']), (err: unknown) => err instanceof CommandFailedError && err.message === 'sh: last');
});
