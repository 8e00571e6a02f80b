/**
 * docker-compose 1.29 (Debian's package, on docker-py) against a private berthd: a project with
 * an image service on a published port, an env file, a named volume, a user network and
 * depends_on; up, ps, port, exec, --scale, run --rm, logs, and down -v leaving nothing. exec and
 * run go through the docker CLI, compose's default on Linux.
 * scripts/test-deps installs the package. build: and healthcheck: come with issue 16 and 14.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { get } from 'node:http';
import { join } from 'node:path';
import { runCommand, type CommandResult } from '../../../src/sys/index.js';
import { cannotRun, REPO, startTestDaemon, type TestDaemon } from '../harness.js';

const COMPOSE = '/usr/bin/docker-compose';
const PROJECT_DIR = join(REPO, 'test/integration/clients/compose');

function fetchText(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    get(url, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve(Buffer.concat(chunks).toString()));
    }).on('error', reject);
  });
}

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
  after(async () => {
    await compose(['down', '-v']).catch(() => undefined);
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
});
