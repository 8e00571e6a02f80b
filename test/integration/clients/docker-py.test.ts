/**
 * docker-py (Debian's python3-docker, run on Debian's /usr/bin/python3) against a private
 * berthd: what its users do most, one scenario per test (docker-py/scenarios.py).
 * scripts/test-deps installs the package.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { runCommand } from '../../../src/sys/index.js';
import { cannotRun, REPO, startTestDaemon, type TestDaemon } from '../harness.js';

const PYTHON = '/usr/bin/python3';
const SCRIPT = join(REPO, 'test/integration/clients/docker-py/scenarios.py');
const hasDockerPy = existsSync(PYTHON) && (await runCommand(PYTHON, ['-c', 'import docker'])).exitCode === 0;

describe('docker-py', { skip: cannotRun(hasDockerPy ? false : 'python3-docker is not installed (scripts/test-deps installs it)') }, () => {
  let daemon: TestDaemon;
  before(async () => {
    daemon = await startTestDaemon();
  });
  after(async () => {
    await daemon?.cleanup();
  });

  for (const scenario of ['system', 'containers', 'images', 'build', 'networks', 'volumes', 'events', 'healthcheck']) {
    it(scenario, async () => {
      const result = await runCommand(PYTHON, [SCRIPT, scenario], { env: { ...daemon.env, PYTHONDONTWRITEBYTECODE: '1' }, timeoutMs: 120_000 });
      assert.equal(result.exitCode, 0, `${result.stdout}\n${result.stderr}`);
      assert.match(result.stdout, new RegExp(`^ok ${scenario}$`, 'm'));
    });
  }
});
