/**
 * docker-compose 1.29 building its services (compose-build/): `build:` with a context, a named
 * Dockerfile and args, and the short `build: ./dir` form with an `image:` name; `up` attached in
 * the foreground (it follows the events stream, so it needs their legacy `id`), `--exit-code-from`
 * passing the service's exit code on, `run --rm`, `build --no-cache`, and `down --rmi local`
 * removing the images compose named. scripts/test-deps installs the package.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { runCommand, type CommandResult } from '../../../src/sys/index.js';
import { cannotRun, REPO, startTestDaemon, type TestDaemon } from '../harness.js';

const COMPOSE = '/usr/bin/docker-compose';
const PROJECT_DIR = join(REPO, 'test/integration/clients/compose-build');

describe('docker-compose 1.29 build:', { skip: cannotRun(existsSync(COMPOSE) ? false : 'docker-compose is not installed (scripts/test-deps installs it)') }, () => {
  let daemon: TestDaemon;
  const compose = (args: string[]): Promise<CommandResult> =>
    runCommand(COMPOSE, ['-p', 'cbld', '-f', join(PROJECT_DIR, 'docker-compose.yml'), ...args], { env: daemon.env, timeoutMs: 180_000 });
  const ok = async (args: string[]): Promise<CommandResult> => {
    const result = await compose(args);
    assert.equal(result.exitCode, 0, `docker-compose ${args.join(' ')}:\n${result.stdout}\n${result.stderr}`);
    return result;
  };
  const tags = async (): Promise<string[]> =>
    ((JSON.parse((await daemon.api('GET', '/images/json')).body) as Array<{ RepoTags: string[] }>).flatMap((image) => image.RepoTags)).sort();

  before(async () => {
    daemon = await startTestDaemon();
  });
  after(async () => {
    await compose(['down', '--rmi', 'local']).catch(() => undefined);
    await daemon?.cleanup();
  });

  it('build names the images after the project or the image: key', async () => {
    const result = await ok(['build']);
    assert.match(result.stdout, /Successfully tagged cbld_app:latest/);
    assert.match(result.stdout, /Successfully tagged cbld-tool:1/);
    assert.deepEqual(await tags(), ['busybox:latest', 'cbld-tool:1', 'cbld_app:latest']);
    const inspect = JSON.parse((await daemon.api('GET', '/images/cbld_app:latest/json')).body) as { Config: { Labels: Record<string, string> } };
    assert.equal(inspect.Config.Labels['org.berth.test'], 'compose-build');
  });

  it('up in the foreground shows the built output and passes the exit code on', async () => {
    const result = await compose(['up', '--no-color', '--exit-code-from', 'app', 'app']);
    assert.equal(result.exitCode, 3, `${result.stdout}\n${result.stderr}`);
    assert.match(result.stdout, /app_1 +\| built-by-compose/);
    assert.doesNotMatch(result.stderr, /Traceback/);
  });

  it('run --rm uses the context (with its .dockerignore) and leaves no container', async () => {
    const result = await ok(['run', '--rm', '-T', 'tool']);
    assert.equal(result.stdout, 'from-the-context\n');
    const inContext = await ok(['run', '--rm', '-T', '--entrypoint', 'ls', 'tool', '/']);
    assert.doesNotMatch(inContext.stdout, /ignored\.txt/);
    const all = JSON.parse((await daemon.api('GET', '/containers/json?all=1')).body) as Array<{ Names: string[] }>;
    assert.deepEqual(all.map((c) => c.Names[0]), ['/cbld_app_1']);
  });

  it('build --no-cache builds again; down --rmi local removes what compose named', async () => {
    const result = await ok(['build', '--no-cache', 'app']);
    assert.doesNotMatch(result.stdout, /Using cache/);
    assert.match(result.stdout, /Successfully tagged cbld_app:latest/);
    await ok(['down', '--rmi', 'local']);
    // cbld-tool:1 has an image: name, so --rmi local keeps it, as with dockerd.
    assert.deepEqual(await tags(), ['busybox:latest', 'cbld-tool:1']);
    assert.deepEqual(JSON.parse((await daemon.api('GET', '/containers/json?all=1')).body), []);
  });
});
