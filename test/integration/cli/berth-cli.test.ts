/**
 * The same foundation through Berth's own CLI, which needs no docker CLI: run and its exit
 * codes, the container lifecycle, tables and --format, images.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mountsUnder, startTestDaemon, type TestDaemon } from '../harness.js';

describe('berth CLI against berthd', () => {
  let daemon: TestDaemon;
  before(async () => {
    daemon = await startTestDaemon();
  });
  after(async () => {
    await daemon?.cleanup();
  });

  it('runs a container and prints its output', async () => {
    const result = await daemon.berth(['run', '--rm', 'busybox', 'echo', 'hello']);
    assert.equal(result.stdout, 'hello\n');
    assert.equal(result.stderr, '');
    assert.equal(result.exitCode, 0);
    assert.equal((await daemon.berth(['ps', '-aq'])).stdout.trim(), '');
  });

  it('exits with the container code, 127, 126 and 125 as docker does', async () => {
    assert.equal((await daemon.berth(['run', '--rm', 'busybox', 'sh', '-c', 'echo err >&2; exit 4'])).exitCode, 4);
    const missing = await daemon.berth(['run', '--rm', 'busybox', 'nosuchcommand']);
    assert.equal(missing.exitCode, 127);
    assert.match(missing.stderr, /executable file not found/);
    assert.equal((await daemon.berth(['run', '--rm', 'busybox', '/etc'])).exitCode, 126);
    const image = await daemon.berth(['run', '--pull', 'never', 'nosuchimage']);
    assert.equal(image.exitCode, 125);
    assert.match(image.stderr, /No such image/);
    const flag = await daemon.berth(['run', '--memory', 'abc', 'busybox', 'true']);
    assert.equal(flag.exitCode, 125);
    assert.match(flag.stderr, /invalid/i);
    assert.equal((await daemon.berth(['ps', '-aq'])).stdout.trim(), '');
    assert.deepEqual(await mountsUnder(daemon.dir), []);
  });

  it('manages a detached container from run to rm', async () => {
    const run = await daemon.berth(['run', '-d', '--name', 'web', '-e', 'GREETING=hi', '-w', '/tmp', '-h', 'box', 'busybox', 'sh', '-c', 'echo $GREETING $(pwd) $(hostname); sleep 1000']);
    assert.equal(run.exitCode, 0, run.stderr);
    const id = run.stdout.trim();
    const ps = await daemon.berth(['ps']);
    assert.match(ps.stdout, /^CONTAINER ID\s+IMAGE\s+COMMAND\s+CREATED\s+STATUS\s+PORTS\s+NAMES$/m);
    assert.match(ps.stdout, new RegExp(`^${id.slice(0, 12)}\\s+busybox\\s+"sh -c .*Up .*web$`, 'm'));
    assert.equal((await daemon.berth(['inspect', '-f', '{{.State.Status}} {{.Config.Hostname}}', 'web'])).stdout.trim(), 'running box');
    // Output arrives asynchronously; give the shell a moment.
    for (let i = 0; i < 50 && (await daemon.berth(['logs', 'web'])).stdout === ''; i++) await new Promise((r) => setTimeout(r, 100));
    assert.equal((await daemon.berth(['logs', 'web'])).stdout, 'hi /tmp box\n');
    assert.match((await daemon.berth(['top', 'web'])).stdout, /sleep 1000/);
    assert.equal((await daemon.berth(['stop', '-t', '1', 'web'])).exitCode, 0);
    assert.match((await daemon.berth(['ps', '-a', '--format', '{{.Names}} {{.Status}}'])).stdout, /^web Exited \(137\)/m);
    assert.equal((await daemon.berth(['rm', 'web'])).stdout.trim(), 'web');
    const gone = await daemon.berth(['inspect', 'web']);
    assert.equal(gone.exitCode, 1);
    assert.match(gone.stderr, /No such/);
  });

  it('lists images and tags them', async () => {
    assert.match((await daemon.berth(['images'])).stdout, /^busybox\s+latest\s+[0-9a-f]{12}\s/m);
    assert.equal((await daemon.berth(['tag', 'busybox', 'copy:2'])).exitCode, 0);
    assert.match((await daemon.berth(['images', '--format', '{{.Repository}}:{{.Tag}}'])).stdout, /copy:2/);
    assert.match((await daemon.berth(['rmi', 'copy:2'])).stdout, /Untagged: copy:2/);
  });
});
