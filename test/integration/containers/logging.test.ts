/**
 * Log drivers as docker names them, through the real docker CLI: json-file by default (in
 * inspect and info), its max-size/max-file/compress rotation with logs read across the
 * rotated files, local, none (logs refused with docker's words), unknown drivers and options
 * refused at create with nothing created.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { NO_DOCKER, cannotRun, eventually, hasDocker, startTestDaemon, type TestDaemon } from '../harness.js';

/** A container that writes `count` numbered lines of about 60 bytes, slowly enough to be rotated between them, then idles. */
function writer(count: number): string[] {
  return ['sh', '-c', `i=0; while [ $i -lt ${count} ]; do i=$((i+1)); echo "line $i ..................................................."; usleep 2000; done; sleep 1000`];
}

/** The numbers of `line N` in a logs output, checking they run without a gap up to `last`. */
function assertContiguousTail(output: string, last: number): number[] {
  const numbers = output.trim().split('\n').map((text) => Number(/^line (\d+) /.exec(text)?.[1] ?? NaN));
  assert.ok(numbers.every((n) => Number.isInteger(n)), `unexpected log lines: ${output.slice(0, 300)}`);
  numbers.forEach((n, index) => assert.equal(n, last - numbers.length + 1 + index, 'the lines kept run without a gap'));
  assert.equal(numbers.at(-1), last);
  return numbers;
}

describe('log drivers', { skip: cannotRun(!hasDocker && NO_DOCKER) }, () => {
  let daemon: TestDaemon;
  before(async () => {
    daemon = await startTestDaemon();
  });
  after(async () => {
    await daemon?.cleanup();
  });

  const logFiles = async (id: string): Promise<string[]> =>
    (await readdir(join(daemon.root, 'containers', id))).filter((name) => name.startsWith('ctr.log')).sort();

  /**
   * `docker logs` once the writer has printed `line <last>` and no rotation is under way (the same
   * files twice in a row, no gzip in progress), so the files asserted on below are final. Reading
   * while rotations run is log-reader.test.ts's 'reads while rotations rename and compress'.
   */
  async function settledLogs(id: string, last: number, options: { maxSizeBytes: number; isCompressed: boolean }): Promise<string> {
    await eventually(async () => (await daemon.docker(['logs', id])).stdout.includes(`line ${last} `), 'the last line in docker logs');
    let previous = '';
    await eventually(async () => {
      const files = await logFiles(id);
      const names = files.join(' ');
      // Settled: nothing left to rotate (the current file under max-size), no compression pending
      // or running, and the same files as at the last look.
      const currentBytes = (await stat(join(daemon.root, 'containers', id, 'ctr.log'))).size;
      const isPending = currentBytes >= options.maxSizeBytes || names.includes('.tmp') || (options.isCompressed && files.some((name) => /^ctr\.log\.\d+$/.test(name)));
      const isSettled = !isPending && names === previous;
      previous = names;
      return isSettled;
    }, 'the rotation to settle');
    return (await daemon.docker(['logs', id])).stdout;
  }

  it('names the default driver json-file in inspect and info', async () => {
    const info = await daemon.docker(['info', '-f', '{{.LoggingDriver}}']);
    assert.equal(info.stdout.trim(), 'json-file', info.stderr);
    const run = await daemon.docker(['run', '-d', 'busybox', 'echo', 'hi']);
    assert.equal(run.exitCode, 0, run.stderr);
    const id = run.stdout.trim();
    const type = await daemon.docker(['inspect', '-f', '{{.HostConfig.LogConfig.Type}}', id]);
    assert.equal(type.stdout.trim(), 'json-file');
    await daemon.docker(['wait', id]);
    assert.equal((await daemon.docker(['logs', id])).stdout, 'hi\n');
  });

  it('rotates at max-size, keeps max-file files and reads logs across them', async () => {
    const run = await daemon.docker(['run', '-d', '--log-opt', 'max-size=1k', '--log-opt', 'max-file=3', 'busybox', ...writer(300)]);
    assert.equal(run.exitCode, 0, run.stderr);
    const id = run.stdout.trim();
    const logs = await settledLogs(id, 300, { maxSizeBytes: 1024, isCompressed: false });
    const kept = assertContiguousTail(logs, 300);
    assert.ok(kept.length < 300, 'the oldest lines were rotated away');
    // The rotated files are read too: more lines than the current file alone holds.
    const files = await logFiles(id);
    assert.ok(files.includes('ctr.log.1'), `files: ${files.join(' ')}`);
    assert.ok(files.every((name) => ['ctr.log', 'ctr.log.1', 'ctr.log.2'].includes(name)), `files: ${files.join(' ')}`);
    const tail = await daemon.docker(['logs', '--tail', '2', id]);
    assert.deepEqual(assertContiguousTail(tail.stdout, 300), [299, 300]);
  });

  it('gzips rotated files with compress=true and still reads them', async () => {
    const run = await daemon.docker(['run', '-d', '--log-opt', 'max-size=1k', '--log-opt', 'max-file=3', '--log-opt', 'compress=true', 'busybox', ...writer(200)]);
    assert.equal(run.exitCode, 0, run.stderr);
    const id = run.stdout.trim();
    const logs = await settledLogs(id, 200, { maxSizeBytes: 1024, isCompressed: true });
    assertContiguousTail(logs, 200);
    const files = await eventually(async () => {
      const names = await logFiles(id);
      return names.includes('ctr.log.1.gz') ? names : undefined;
    }, 'a compressed rotated file');
    assert.ok(files.every((name) => ['ctr.log', 'ctr.log.1.gz', 'ctr.log.2.gz'].includes(name)), `files: ${files.join(' ')}`);
  });

  it('has local, whose logs read back', async () => {
    const run = await daemon.docker(['run', '-d', '--log-driver', 'local', 'busybox', 'echo', 'local hi']);
    assert.equal(run.exitCode, 0, run.stderr);
    const id = run.stdout.trim();
    assert.equal((await daemon.docker(['inspect', '-f', '{{.HostConfig.LogConfig.Type}}', id])).stdout.trim(), 'local');
    await daemon.docker(['wait', id]);
    assert.equal((await daemon.docker(['logs', id])).stdout, 'local hi\n');
  });

  it('keeps nothing with none, and refuses logs with docker\'s message', async () => {
    const run = await daemon.docker(['run', '-d', '--log-driver', 'none', 'busybox', 'echo', 'x']);
    assert.equal(run.exitCode, 0, run.stderr);
    const id = run.stdout.trim();
    await daemon.docker(['wait', id]);
    const logs = await daemon.docker(['logs', id]);
    assert.notEqual(logs.exitCode, 0);
    assert.match(logs.stderr, /configured logging driver does not support reading/);
    assert.equal(logs.stdout, '');
    const raw = await daemon.api('GET', `/containers/${id}/logs?stdout=1`);
    assert.equal(raw.status, 501);
    assert.deepEqual(await logFiles(id), []);
  });

  it('refuses an unknown driver or option at create, creating nothing', async () => {
    const before = (await daemon.docker(['ps', '-aq'])).stdout;
    const driver = await daemon.docker(['run', '--name', 'badlog', '--log-driver', 'nosuchdriver', 'busybox', 'true']);
    assert.equal(driver.exitCode, 125);
    assert.match(driver.stderr, /no log driver named 'nosuchdriver' is registered/);
    const option = await daemon.docker(['create', '--log-opt', 'max-sise=1m', 'busybox', 'true']);
    assert.equal(option.exitCode, 1);
    assert.match(option.stderr, /unknown log opt 'max-sise' for json-file log driver/);
    const compress = await daemon.docker(['create', '--log-opt', 'compress=true', 'busybox', 'true']);
    assert.equal(compress.exitCode, 1);
    assert.match(compress.stderr, /compress cannot be true when max-file is less than 2 or max-size is not set/);
    assert.equal((await daemon.docker(['ps', '-aq'])).stdout, before);
  });
});
