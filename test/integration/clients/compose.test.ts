/**
 * docker-compose 1.29 (Debian's package, on docker-py) against a private berthd: a project with
 * an image service on a published port, an env file, a named volume, a user network and
 * depends_on; up, ps, port, exec, --scale, run --rm, logs, and down -v leaving nothing. exec and
 * run go through the docker CLI, compose's default on Linux.
 * healthcheck: with depends_on's condition: service_healthy (healthy.yml, unhealthy.yml).
 * scripts/test-deps installs the package. build: comes with issue 16.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { runCommand, type CommandResult } from '../../../src/sys/index.js';
import { cannotRun, fetchText, REPO, startTestDaemon, type TestDaemon } from '../harness.js';

const COMPOSE = '/usr/bin/docker-compose';
const PROJECT_DIR = join(REPO, 'test/integration/clients/compose');

describe('docker-compose 1.29', { skip: cannotRun(existsSync(COMPOSE) ? false : 'docker-compose is not installed (scripts/test-deps installs it)') }, () => {
  let daemon: TestDaemon;
  const compose = (args: string[]): Promise<CommandResult> =>
    runCommand(COMPOSE, ['-p', 'cmp', '-f', join(PROJECT_DIR, 'docker-compose.yml'), ...args], { env: daemon.env, timeoutMs: 120_000 });
  const ok = async (args: string[]): Promise<string> => {
    const result = await compose(args);
    assert.equal(result.exitCode, 0, `docker-compose ${args.join(' ')}:\n${result.stdout}\n${result.stderr}`);
    return result.stdout;
  };
  const api = async (path: string): Promise<unknown> => JSON.parse((await daemon.api('GET', path)).body) as unknown;

  before(async () => {
    daemon = await startTestDaemon();
  });
  const project = (name: string, file: string, args: string[]): Promise<CommandResult> =>
    runCommand(COMPOSE, ['-p', name, '-f', join(PROJECT_DIR, file), ...args], { env: daemon.env, timeoutMs: 120_000 });
  after(async () => {
    await compose(['down', '-v']).catch(() => undefined);
    await project('hlt', 'healthy.yml', ['down', '-v']).catch(() => undefined);
    await project('sick', 'unhealthy.yml', ['down', '-v']).catch(() => undefined);
    await daemon?.cleanup();
  });

  it('up -d starts the project: network, volume, both services, the env file, the published port', async () => {
    await ok(['up', '-d']);
    const ids = (await ok(['ps', '-q'])).trim().split('\n');
    assert.equal(ids.length, 2);
    const port = (await ok(['port', 'web', '8080'])).trim();
    assert.match(port, /^127\.0\.0\.1:\d+$/);
    assert.equal(await fetchText(`http://${port}/`), 'served\n');
    const logs = await ok(['logs', '--no-color', 'web']);
    assert.match(logs, /web says hello-from-env/);
    assert.match(await ok(['logs', '--no-color', 'worker']), /worker up/);
    const networks = (await api('/networks')) as Array<{ Name: string }>;
    assert.ok(networks.some((n) => n.Name === 'cmp_front'));
    const volumes = (await api('/volumes')) as { Volumes: Array<{ Name: string }> };
    assert.ok(volumes.Volumes.some((v) => v.Name === 'cmp_data'));
  });

  it('exec reaches another service by its name on the project network', async () => {
    assert.equal(await ok(['exec', '-T', 'worker', 'wget', '-qO-', 'http://web:8080/']), 'served\n');
    assert.equal(await ok(['exec', '-T', 'web', 'cat', '/data/note']), 'kept\n');
  });

  it('--scale adds replicas; run --rm leaves no container', async () => {
    await ok(['up', '-d', '--scale', 'worker=2']);
    assert.equal((await ok(['ps', '-q', 'worker'])).trim().split('\n').length, 2);
    assert.match(await ok(['run', '--rm', '-T', 'worker', 'echo', 'ran once']), /ran once/);
    const all = (await api('/containers/json?all=1')) as Array<{ Names: string[] }>;
    assert.equal(all.length, 3, JSON.stringify(all.map((c) => c.Names)));
  });

  it('down -v removes the containers, the network and the volume', async () => {
    await ok(['down', '-v']);
    assert.deepEqual(await api('/containers/json?all=1'), []);
    assert.ok(!((await api('/networks')) as Array<{ Name: string }>).some((n) => n.Name.startsWith('cmp_')));
    assert.deepEqual(((await api('/volumes')) as { Volumes: unknown[] | null }).Volumes ?? [], []);
  });

  it('healthcheck: and depends_on service_healthy: app starts once db is healthy', async () => {
    const up = await project('hlt', 'healthy.yml', ['up', '-d']);
    assert.equal(up.exitCode, 0, `${up.stdout}\n${up.stderr}`);
    const inspect = async (service: string): Promise<{ State: { StartedAt: string; Health?: { Status: string } } }> => {
      const ps = await project('hlt', 'healthy.yml', ['ps', '-q', service]);
      return JSON.parse((await daemon.api('GET', `/containers/${ps.stdout.trim()}/json`)).body) as never;
    };
    const db = await inspect('db');
    assert.equal(db.State.Health?.Status, 'healthy');
    // db's probe cannot pass before its command has slept 2 s: app, started after it passed, started later.
    const app = await inspect('app');
    assert.ok(Date.parse(app.State.StartedAt) - Date.parse(db.State.StartedAt) >= 2000, `app started ${app.State.StartedAt}, db ${db.State.StartedAt}`);
    assert.match((await project('hlt', 'healthy.yml', ['ps'])).stdout, /Up \(healthy\)/);
    const down = await project('hlt', 'healthy.yml', ['down', '-v']);
    assert.equal(down.exitCode, 0, down.stderr);
  });

  it('depends_on service_healthy on a dependency that turns unhealthy: up fails and app never starts', async () => {
    const up = await project('sick', 'unhealthy.yml', ['up', '-d']);
    assert.notEqual(up.exitCode, 0, up.stdout);
    assert.match(up.stderr, /unhealthy/);
    const app = await project('sick', 'unhealthy.yml', ['ps', '-q', 'app']);
    if (app.stdout.trim() !== '') {
      const state = JSON.parse((await daemon.api('GET', `/containers/${app.stdout.trim()}/json`)).body) as { State: { Status: string } };
      assert.equal(state.State.Status, 'created');
    }
    await project('sick', 'unhealthy.yml', ['down', '-v']);
  });
});
