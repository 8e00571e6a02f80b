/**
 * The events real clients read as dockerd sends them: `docker run` logs create, attach, start
 * and die in that order; `rmi` of a tag logs untag with the image ID as the actor.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { NO_DOCKER, cannotRun, hasDocker, startTestDaemon, type TestDaemon } from '../harness.js';

/** The docker CLI sends whole seconds: an until a moment ahead keeps the current second's events. */
const untilSoon = (): string => String(Math.floor(Date.now() / 1000) + 2);

describe('events as clients read them', { skip: cannotRun(!hasDocker && NO_DOCKER) }, () => {
  let daemon: TestDaemon;
  before(async () => {
    daemon = await startTestDaemon();
  });
  after(async () => {
    await daemon?.cleanup();
  });

  it('docker run logs an attach between create and start; run -d does not', async () => {
    const run = await daemon.docker(['run', '--name', 'ev-run', 'busybox', 'echo', 'hi']);
    assert.equal(run.exitCode, 0, run.stderr);
    const detached = await daemon.docker(['run', '-d', '--name', 'ev-detached', 'busybox', 'true']);
    assert.equal(detached.exitCode, 0, detached.stderr);
    const actions = async (name: string): Promise<string[]> => {
      const events = await daemon.docker(['events', '--since', '5m', '--until', untilSoon(), '--filter', `container=${name}`, '--format', '{{.Action}}']);
      assert.equal(events.exitCode, 0, events.stderr);
      return events.stdout.trim().split('\n');
    };
    assert.deepEqual((await actions('ev-run')).slice(0, 3), ['create', 'attach', 'start']);
    assert.ok(!(await actions('ev-detached')).includes('attach'));
  });

  it('untag names the image by its ID', async () => {
    assert.equal((await daemon.docker(['tag', 'busybox', 'ev-tag:1'])).exitCode, 0);
    const id = (await daemon.docker(['image', 'inspect', '-f', '{{.Id}}', 'busybox'])).stdout.trim();
    assert.equal((await daemon.docker(['rmi', 'ev-tag:1'])).exitCode, 0);
    const events = await daemon.docker(['events', '--since', '5m', '--until', untilSoon(), '--filter', 'type=image', '--filter', 'event=untag', '--format', '{{.Actor.ID}} {{.Actor.Attributes.name}}']);
    assert.equal(events.stdout.trim(), `${id} ev-tag:1`);
  });
});
