/**
 * testcontainers-node (npm devDependency) against a private berthd, as its users write tests:
 * GenericContainer with exposed ports and each wait strategy Berth can serve (log, listening
 * ports, HTTP, shell command), files copied in with copyUIDGID, a user network with aliases,
 * exec, commit, and GenericContainer.fromDockerfile (a target stage, build args) built by berthd
 * and run. Ryuk is off: its image comes from a public registry, which tests never reach.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fetchText, startTestDaemon, type TestDaemon } from '../harness.js';

/**
 * testcontainers, loaded by name at run time: the build then does not need the package (a
 * checkout without `npm ci` still compiles), so its objects are untyped here.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the package's types are not a build dependency
type Testcontainers = any;
const TESTCONTAINERS: string = 'testcontainers';

describe('testcontainers', () => {
  let daemon: TestDaemon;
  let tc: Testcontainers;
  before(async () => {
    daemon = await startTestDaemon();
    // testcontainers reads its settings from the environment when it is first loaded.
    process.env['DOCKER_HOST'] = `unix://${daemon.socket}`;
    process.env['TESTCONTAINERS_RYUK_DISABLED'] = 'true';
    process.env['TESTCONTAINERS_HOST_OVERRIDE'] = '127.0.0.1';
    tc = await import(TESTCONTAINERS);
  });
  after(async () => {
    await daemon?.cleanup();
  });

  const httpd = (): Testcontainers =>
    new tc.GenericContainer('busybox')
      .withCommand(['sh', '-c', 'mkdir -p /www && echo served > /www/index.html && echo "web ready" && exec httpd -f -p 8080 -h /www'])
      .withExposedPorts(8080);

  it('waits for a log line, listening ports, HTTP and a shell command, and maps the port', async () => {
    for (const strategy of [tc.Wait.forLogMessage('web ready'), tc.Wait.forListeningPorts(), tc.Wait.forHttp('/', 8080), tc.Wait.forSuccessfulCommand('test -f /www/index.html')]) {
      const container = await httpd().withWaitStrategy(strategy).start();
      try {
        assert.equal(await fetchText(`http://${container.getHost()}:${container.getMappedPort(8080)}/`), 'served\n');
      } finally {
        await container.stop();
      }
    }
  });

  it('waits for a healthcheck (withHealthCheck and Wait.forHealthCheck), and fails on an unhealthy one', async () => {
    const container = await httpd()
      .withHealthCheck({ test: ['CMD-SHELL', 'wget -qO- http://127.0.0.1:8080/'], interval: 1000, retries: 30 })
      .withWaitStrategy(tc.Wait.forHealthCheck())
      .start();
    try {
      assert.equal(await fetchText(`http://${container.getHost()}:${container.getMappedPort(8080)}/`), 'served\n');
    } finally {
      await container.stop();
    }
    await assert.rejects(
      httpd().withHealthCheck({ test: ['CMD', 'false'], interval: 1000, retries: 1 }).withWaitStrategy(tc.Wait.forHealthCheck()).start(),
      /Health check failed: unhealthy/,
    );
  });

  it('copies content with copyUIDGID, execs, and commits', async () => {
    const container = await new tc.GenericContainer('busybox')
      .withCommand(['sleep', '1000'])
      .withUser('1234:5678')
      .withCopyContentToContainer([{ content: 'copied\n', target: '/tmp/copied.txt', mode: 0o644 }])
      .withCopyToContainerOptions({ copyUIDGID: true })
      .start();
    try {
      const cat = await container.exec(['cat', '/tmp/copied.txt']);
      assert.equal(cat.exitCode, 0);
      assert.equal(cat.output, 'copied\n');
      const owner = await container.exec(['stat', '-c', '%u:%g', '/tmp/copied.txt']);
      assert.equal(owner.output.trim(), '1234:5678');
      const image = await container.commit({ repo: 'tc-committed', tag: '1' });
      assert.match(image, /^sha256:/);
    } finally {
      await container.stop();
    }
  });

  it('joins a network where containers reach each other by alias', async () => {
    const network = await new tc.Network().start();
    const web = await httpd().withNetwork(network).withNetworkAliases('web-alias').withWaitStrategy(tc.Wait.forLogMessage('web ready')).start();
    const client = await new tc.GenericContainer('busybox').withCommand(['sleep', '1000']).withNetwork(network).start();
    try {
      const fetched = await client.exec(['wget', '-qO-', 'http://web-alias:8080/']);
      assert.equal(fetched.output, 'served\n');
    } finally {
      await client.stop();
      await web.stop();
      await network.stop();
    }
  });

  it('builds a Dockerfile with fromDockerfile (a target stage, build args) and runs the image', async () => {
    const context = await mkdtemp(join(tmpdir(), 'berth-tc-build-'));
    try {
      await writeFile(join(context, 'index.html'), 'built by berthd\n');
      await writeFile(
        join(context, 'Dockerfile'),
        [
          'FROM busybox AS base',
          'ARG GREETING=unset',
          'RUN echo "$GREETING" > /greeting',
          'FROM base AS web',
          'COPY index.html /www/index.html',
          'EXPOSE 8080',
          'CMD ["httpd", "-f", "-p", "8080", "-h", "/www"]',
          'FROM base AS last',
          'RUN echo "the last stage, not the target" > /greeting',
          '',
        ].join('\n'),
      );
      const built = await tc.GenericContainer.fromDockerfile(context).withTarget('web').withBuildArgs({ GREETING: 'hello from a build arg' }).build();
      const container = await built.withExposedPorts(8080).withWaitStrategy(tc.Wait.forHttp('/', 8080)).start();
      try {
        assert.equal(await fetchText(`http://${container.getHost()}:${container.getMappedPort(8080)}/`), 'built by berthd\n');
        const greeting = await container.exec(['cat', '/greeting']);
        assert.equal(greeting.output, 'hello from a build arg\n');
      } finally {
        await container.stop();
      }
    } finally {
      await rm(context, { recursive: true, force: true });
    }
  });
});
