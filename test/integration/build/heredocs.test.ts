/**
 * Dockerfile here-documents (BuildKit's syntax, honoured by Berth's classic builder) through
 * the real docker CLI (DOCKER_BUILDKIT=0) and through berth: `RUN <<EOF` run as the shell's
 * script, `<<-` stripping tabs, a `#!` body run as its own file, several documents read by the
 * shell itself, `COPY <<EOF` with and without expansion, several documents into a directory;
 * a second build is all cache, and no scratch file stays behind.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NO_DOCKER, cannotRun, hasDocker, mountsUnder, startTestDaemon, type TestDaemon } from '../harness.js';

const DOCKERFILE = [
  'FROM busybox',
  'ARG WHO=world',
  'ENV GREETING=hello',
  'RUN <<EOF',
  'echo "run $GREETING $WHO" > /run.txt',
  '# a comment line of the script',
  'echo second line >> /run.txt',
  'EOF',
  'RUN <<-EOF',
  '\techo chomped > /chomped.txt',
  '\tEOF',
  'RUN <<EOF',
  '#!/bin/sh',
  'echo "script $0" > /script.txt',
  'EOF',
  'RUN cat <<A > /a.out && cat <<B > /b.out',
  'from a',
  'A',
  'from b',
  'B',
  'COPY <<EOF /copied.txt',
  'greeting=$GREETING who=${WHO} "quoted"',
  'EOF',
  'COPY <<"EOF" /literal.txt',
  'not $GREETING',
  'EOF',
  'COPY --chown=7:8 <<one.txt <<two.txt /dir/',
  'one',
  'one.txt',
  'two',
  'two.txt',
  'CMD ["cat", "/run.txt"]',
  '',
].join('\n');

const CHECK = 'cat /run.txt /chomped.txt /script.txt /a.out /b.out /copied.txt /literal.txt /dir/one.txt /dir/two.txt; stat -c "%a %u:%g" /copied.txt /dir/one.txt; test -e /dev/pipes/EOF || echo no-pipes';
const EXPECTED = [
  'run hello world', 'second line', 'chomped', 'script /dev/pipes/EOF', 'from a', 'from b',
  'greeting=hello who=world "quoted"', 'not $GREETING', 'one', 'two', '644 0:0', '644 7:8', 'no-pipes', '',
].join('\n');

describe('Dockerfile here-documents', { skip: cannotRun(!hasDocker && NO_DOCKER) }, () => {
  let daemon: TestDaemon;
  let scratch: string;
  const docker = (args: string[]) => daemon.docker(args, { timeoutMs: 180_000 });

  before(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'berth-heredocs-'));
    daemon = await startTestDaemon();
    daemon.env['DOCKER_BUILDKIT'] = '0';
  });
  after(async () => {
    await daemon?.cleanup();
    await rm(scratch, { recursive: true, force: true });
  });

  it('runs and copies documents through docker build, and takes a second build from the cache', async () => {
    const dir = join(scratch, 'ctx');
    await mkdir(dir);
    await writeFile(join(dir, 'Dockerfile'), DOCKERFILE);
    const built = await docker(['build', '-t', 'heredocs:1', dir]);
    assert.equal(built.exitCode, 0, built.stderr + built.stdout);
    assert.match(built.stdout, /^Step 4\/11 : RUN <<EOF$/m);
    assert.match(built.stdout, /^Step 11\/11 : CMD \["cat", "\/run.txt"\]$/m);
    assert.match(built.stdout, /^Successfully tagged heredocs:1$/m);
    const files = await docker(['run', '--rm', 'heredocs:1', 'sh', '-c', CHECK]);
    assert.equal(files.exitCode, 0, files.stderr);
    assert.equal(files.stdout, EXPECTED);
    const history = await docker(['history', '--no-trunc', '--format', '{{.CreatedBy}}', 'heredocs:1']);
    assert.match(history.stdout, /^\/bin\/sh -c #\(nop\) COPY --chown=7:8 multi:[0-9a-f]{64} in \/dir\/ $/m);

    const again = await docker(['build', '-t', 'heredocs:2', dir]);
    assert.equal(again.exitCode, 0, again.stderr);
    assert.equal((again.stdout.match(/^ ---> Using cache$/gm) ?? []).length, 10, again.stdout);
    assert.doesNotMatch(again.stdout, /Running in/);

    // A changed script body is another step: the cache stops there.
    await writeFile(join(dir, 'Dockerfile'), DOCKERFILE.replace('echo "script $0"', 'echo "changed $0"'));
    const changed = await docker(['build', '-t', 'heredocs:3', dir]);
    assert.equal(changed.exitCode, 0, changed.stderr);
    assert.equal((changed.stdout.match(/^ ---> Using cache$/gm) ?? []).length, 4, changed.stdout);
    assert.equal((await docker(['run', '--rm', 'heredocs:3', 'cat', '/script.txt'])).stdout, 'changed /dev/pipes/EOF\n');
    assert.equal((await docker(['ps', '-aq'])).stdout, '', 'no build container is left');
    assert.deepEqual(await readdir(join(daemon.root, 'build', 'heredocs')), [], 'no here-document file is left');
    assert.deepEqual(await mountsUnder(daemon.root), []);
  });

  it('builds documents through berth build, keeps an ONBUILD trigger\'s document, and fails a document\'s failing script with its code', async () => {
    const built = await daemon.berth(['build', '--no-cache', '-t', 'heredocs:berth', '-'], { input: DOCKERFILE, timeoutMs: 180_000 });
    assert.equal(built.exitCode, 0, built.stderr);
    assert.doesNotMatch(built.stdout, /Using cache/);
    const files = await docker(['run', '--rm', 'heredocs:berth', 'sh', '-c', CHECK]);
    assert.equal(files.stdout, EXPECTED, files.stderr);

    const failing = await daemon.berth(['build', '-'], { input: 'FROM busybox\nRUN <<EOF\necho failing-doc\nexit 4\nEOF\n', timeoutMs: 180_000 });
    assert.equal(failing.exitCode, 4);
    assert.match(failing.stdout, /^failing-doc$/m);
    assert.match(failing.stderr, /returned a non-zero code: 4/);
    // An ONBUILD trigger keeps its document: the image records it whole, a build FROM it runs it.
    const withTrigger = await daemon.berth(['build', '-t', 'heredocs:onbuild', '-'], { input: 'FROM busybox\nONBUILD RUN <<EOF\necho triggered > /trigger.txt\nEOF\n', timeoutMs: 180_000 });
    assert.equal(withTrigger.exitCode, 0, withTrigger.stderr);
    const onBuild = await docker(['image', 'inspect', '--format', '{{json .Config.OnBuild}}', 'heredocs:onbuild']);
    assert.deepEqual(JSON.parse(onBuild.stdout), ['RUN <<EOF\necho triggered > /trigger.txt\nEOF']);
    const triggered = await daemon.berth(['build', '-t', 'heredocs:triggered', '-'], { input: 'FROM heredocs:onbuild\n', timeoutMs: 180_000 });
    assert.equal(triggered.exitCode, 0, triggered.stderr);
    assert.equal((await docker(['run', '--rm', 'heredocs:triggered', 'cat', '/trigger.txt'])).stdout, 'triggered\n');
    const unterminated = await daemon.berth(['build', '-'], { input: 'FROM busybox\nRUN <<EOF\necho x\n', timeoutMs: 60_000 });
    assert.notEqual(unterminated.exitCode, 0);
    assert.match(unterminated.stderr, /dockerfile parse error on line 2: unterminated heredoc/);
  });
});
