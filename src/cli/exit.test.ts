import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ApiError } from '../client/index.js';
import { EXIT_CODE_OF_ERROR, StatusError, UsageError, exitCodeFor, startFailureExitCode } from './exit.js';

// dist/src/cli -> the repository.
const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

test('run start failures map to 127 / 126 / 125 by the daemon error code, like docker/cli', () => {
  assert.equal(startFailureExitCode(new ApiError(400, 'exec: "nope": executable file not found in $PATH', 'BERTH_COMMAND_NOT_FOUND')), 127);
  assert.equal(startFailureExitCode(new ApiError(400, 'exec: "/etc": is a directory', 'BERTH_CANNOT_INVOKE')), 126);
  assert.equal(startFailureExitCode(new ApiError(500, 'cgroup setup failed', 'BERTH_RUNTIME_ERROR')), 125);
  // The message never decides: a daemon that sent no code gets docker's 125.
  assert.equal(startFailureExitCode(new ApiError(400, 'exec: "nope": executable file not found in $PATH')), 125);
});

test('exit codes by error type', () => {
  assert.equal(exitCodeFor(new UsageError('x'), false), 125);
  assert.equal(exitCodeFor(new StatusError(3), true), 3);
  assert.equal(exitCodeFor(new Error('daemon'), true), 125);
  assert.equal(exitCodeFor(new Error('daemon'), false), 1);
  assert.equal(exitCodeFor(new ApiError(404, 'No such container: x', 'BERTH_NO_SUCH_CONTAINER'), false), 1);
  assert.equal(exitCodeFor(new ApiError(400, 'missing', 'BERTH_COMMAND_NOT_FOUND'), true), 127);
});

test('docs/errors.md lists the same exit-code table as exit.ts', async () => {
  const doc = await readFile(join(REPO, 'docs/errors.md'), 'utf8');
  const section = doc.slice(doc.indexOf('## CLI exit codes'));
  assert.ok(section.startsWith('## CLI exit codes'), 'docs/errors.md has a "CLI exit codes" section');
  const documented = Object.fromEntries([...section.matchAll(/^\| `(BERTH_[A-Z0-9_]+)` \| (\d+) \|/gm)].map((m) => [m[1]!, Number(m[2])]));
  assert.deepEqual(documented, { ...EXIT_CODE_OF_ERROR });
});
