/**
 * `docker build` with the classic builder (DOCKER_BUILDKIT=0) against a private berthd: every
 * Dockerfile instruction, the progress lines the CLI prints, the image config and history,
 * RUN's changes as a layer (a deletion as a whiteout), `.dockerignore`, `-f` and a Dockerfile
 * on stdin; and the failures: a syntax error (line number), COPY of a missing file or one
 * outside the context, a failing RUN (its output, its exit code, nothing tagged, nothing
 * left with --force-rm), and a hostile context tar (refused, nothing written outside).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tar from 'tar-stream';
import { NO_DOCKER, cannotRun, hasDocker, mountsUnder, startTestDaemon, type TestDaemon } from '../harness.js';

const DOCKERFILE = `ARG BASE=busybox
FROM \${BASE} AS base
ENV GREETING="hello world" \\
    OTHER=x
LABEL a=b "c d"=e
WORKDIR /app
COPY hello.txt ./
COPY sub /app/sub/
COPY --chown=1000:1000 hello.txt /owned.txt
COPY . /ctx/
ADD archive.tar /unpacked/
RUN echo "$GREETING from RUN" && cat /app/hello.txt && rm /bin/vi && echo made > /made.txt
USER 1000:1000
EXPOSE 8080 53/udp
VOLUME /data
STOPSIGNAL SIGINT
ONBUILD RUN echo onbuild
SHELL ["/bin/sh", "-c"]
ENTRYPOINT ["/bin/echo"]
CMD ["hi"]
`;

async function tarOf(entries: Array<{ name: string; body?: string; type?: 'file' | 'directory' | 'symlink'; linkname?: string }>): Promise<Buffer> {
  const pack = tar.pack();
  for (const e of entries) {
    if (e.type === 'directory') pack.entry({ name: e.name, type: 'directory', mode: 0o755 });
    else if (e.type === 'symlink') pack.entry({ name: e.name, type: 'symlink', linkname: e.linkname ?? '' });
    else pack.entry({ name: e.name, mode: 0o644 }, e.body ?? '');
  }
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of pack) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

describe('docker build (classic builder)', { skip: cannotRun(!hasDocker && NO_DOCKER) }, () => {
  let daemon: TestDaemon;
  let scratch: string;
  const docker = (args: string[], input?: string) =>
    daemon.docker(args, { timeoutMs: 180_000, ...(input !== undefined ? { input } : {}) });
  const withBuildkitOff = () => {
    daemon.env['DOCKER_BUILDKIT'] = '0';
  };

  before(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'berth-build-'));
    daemon = await startTestDaemon();
    withBuildkitOff();
  });
  after(async () => {
    await daemon?.cleanup();
    await rm(scratch, { recursive: true, force: true });
  });

  async function context(name: string, files: Record<string, string | Buffer>): Promise<string> {
    const dir = join(scratch, name);
    for (const [path, body] of Object.entries(files)) {
      await mkdir(join(dir, path, '..'), { recursive: true });
      await writeFile(join(dir, path), body);
    }
    return dir;
  }

  it('runs every instruction, prints docker\'s steps and stores config, history and layers', async () => {
    const dir = await context('all', {
      Dockerfile: DOCKERFILE,
      'hello.txt': 'hi\n',
      'sub/a': 'a\n',
      'ignored.txt': 'secret\n',
      '.dockerignore': 'ignored.txt\n',
      'archive.tar': await tarOf([{ name: 'inner/', type: 'directory' }, { name: 'inner/f.txt', body: 'from tar\n' }]),
    });
    const built = await docker(['build', '-t', 'app:1', dir]);
    assert.equal(built.exitCode, 0, built.stderr + built.stdout);
    assert.match(built.stdout, /^Step 1\/19 : ARG BASE=busybox$/m);
    assert.match(built.stdout, /^Step 2\/19 : FROM \$\{BASE\} AS base\n ---> [0-9a-f]{12}$/m);
    assert.match(built.stdout, /^Step 11\/19 : RUN echo "\$GREETING from RUN".*\n ---> Running in [0-9a-f]{12}\nhello world from RUN\nhi\n ---> Removed intermediate container [0-9a-f]{12}\n ---> [0-9a-f]{12}$/m);
    const id = /^Successfully built ([0-9a-f]{12})$/m.exec(built.stdout)?.[1];
    assert.ok(id, built.stdout);
    assert.match(built.stdout, /^Successfully tagged app:1$/m);

    const inspect = await docker(['image', 'inspect', '--format', '{{json .Config}}', 'app:1']);
    const config = JSON.parse(inspect.stdout) as Record<string, unknown>;
    assert.deepEqual(config['Env'], ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'GREETING=hello world', 'OTHER=x']);
    assert.equal(config['WorkingDir'], '/app');
    assert.equal(config['User'], '1000:1000');
    assert.deepEqual(config['ExposedPorts'], { '53/udp': {}, '8080/tcp': {} });
    assert.deepEqual(config['Labels'], { a: 'b', 'c d': 'e' });
    assert.deepEqual(config['Volumes'], { '/data': {} });
    assert.equal(config['StopSignal'], 'SIGINT');
    assert.deepEqual(config['Entrypoint'], ['/bin/echo']);
    assert.deepEqual(config['Cmd'], ['hi']);
    assert.deepEqual(config['OnBuild'], ['RUN echo onbuild']);
    assert.equal((await docker(['image', 'inspect', '--format', '{{.Id}}', 'app:1'])).stdout.trim().slice(7, 19), id);

    const history = await docker(['history', '--no-trunc', '--format', '{{.CreatedBy}}', 'app:1']);
    assert.match(history.stdout, /^\/bin\/sh -c echo "\$GREETING from RUN"/m);
    assert.match(history.stdout, /^\/bin\/sh -c #\(nop\)  ENV GREETING=hello world OTHER=x$/m);
    assert.match(history.stdout, /^\/bin\/sh -c #\(nop\)  CMD \["hi"\]$/m);

    const run = await docker(['run', '--rm', 'app:1']);
    assert.equal(run.stdout, 'hi\n');
    const files = await docker(['run', '--rm', '--user', '0', '--entrypoint', 'sh', 'app:1', '-c',
      'cat /app/hello.txt /app/sub/a /made.txt /unpacked/inner/f.txt; stat -c "%u:%g %a" /app/hello.txt /owned.txt; ls /ctx; test -e /bin/vi || echo vi-gone']);
    assert.equal(files.exitCode, 0, files.stderr);
    assert.equal(files.stdout, 'hi\na\nmade\nfrom tar\n0:0 644\n1000:1000 644\nDockerfile\narchive.tar\nhello.txt\nsub\nvi-gone\n');
    assert.equal((await docker(['ps', '-aq'])).stdout, '', 'no build container is left');
  });

  it('uses the cache for every step of a second build, rebuilds from a changed COPY on, and not at all with --no-cache', async () => {
    const dockerfile = 'FROM busybox\nENV A=1\nRUN echo ran-first\nCOPY data.txt /data.txt\nRUN echo ran-second; cat /data.txt\nCMD ["cat", "/data.txt"]\n';
    const dir = await context('cache', { Dockerfile: dockerfile, 'data.txt': 'one\n' });
    const first = await docker(['build', '-t', 'cached:1', dir]);
    assert.equal(first.exitCode, 0, first.stderr);
    const firstId = /^Successfully built ([0-9a-f]{12})$/m.exec(first.stdout)?.[1];
    const second = await docker(['build', '-t', 'cached:2', dir]);
    assert.equal(second.exitCode, 0, second.stderr);
    assert.equal((second.stdout.match(/^ ---> Using cache$/gm) ?? []).length, 5, second.stdout);
    assert.doesNotMatch(second.stdout, /^ran-first$|^ran-second$|Running in/m);
    assert.equal(/^Successfully built ([0-9a-f]{12})$/m.exec(second.stdout)?.[1], firstId);

    await writeFile(join(dir, 'data.txt'), 'two\n');
    const changed = await docker(['build', '-t', 'cached:3', dir]);
    assert.equal(changed.exitCode, 0, changed.stderr);
    assert.equal((changed.stdout.match(/^ ---> Using cache$/gm) ?? []).length, 2, changed.stdout);
    assert.doesNotMatch(changed.stdout, /^ran-first$/m);
    assert.match(changed.stdout, /^ran-second\ntwo$/m);
    assert.equal((await docker(['run', '--rm', 'cached:3'])).stdout, 'two\n');

    const uncached = await docker(['build', '--no-cache', '-t', 'cached:4', dir]);
    assert.equal(uncached.exitCode, 0, uncached.stderr);
    assert.doesNotMatch(uncached.stdout, /Using cache/);
    assert.match(uncached.stdout, /^ran-first$/m);
  });

  it('builds multi-stage: COPY --from a stage and an image, --target, intermediate stages untagged', async () => {
    const dockerfile = [
      'FROM busybox AS build',
      'RUN mkdir -p /out/dir && echo built > /out/app && echo inner > /out/dir/f && chown 7:8 /out/app',
      'FROM busybox AS test',
      'RUN echo testing > /tested',
      'FROM scratch',
      'COPY --from=build /out/app /app',
      'FROM busybox',
      'COPY --from=build /out/app /out/dir /srv/',
      'COPY --from=busybox /bin/busybox /copied-busybox',
      'COPY --from=2 /app /from-index',
      'CMD ["cat", "/srv/app", "/srv/f"]',
    ].join('\n');
    const dir = await context('multi', { Dockerfile: dockerfile });
    const built = await docker(['build', '-t', 'multi:1', dir]);
    assert.equal(built.exitCode, 0, built.stderr + built.stdout);
    assert.equal((await docker(['run', '--rm', 'multi:1'])).stdout, 'built\ninner\n');
    const owners = await docker(['run', '--rm', 'multi:1', 'sh', '-c', 'stat -c %u:%g /srv/app; cat /from-index; test -x /copied-busybox && echo exe']);
    assert.equal(owners.stdout, '7:8\nbuilt\nexe\n', owners.stderr);
    const images = await docker(['images', '--format', '{{.Repository}}:{{.Tag}}']);
    assert.deepEqual(images.stdout.split('\n').filter((l) => l.startsWith('multi')), ['multi:1'], 'only the last stage is tagged');

    const target = await docker(['build', '--target', 'test', '-t', 'multi:test', dir]);
    assert.equal(target.exitCode, 0, target.stderr);
    assert.match(target.stdout, /^Step 4\/4 : RUN echo testing > \/tested$/m);
    assert.equal((await docker(['run', '--rm', 'multi:test', 'cat', '/tested'])).stdout, 'testing\n');
    const missing = await docker(['build', '--target', 'nosuch', dir]);
    assert.equal(missing.exitCode, 1);
    assert.match(missing.stderr, /target stage "nosuch" could not be found/);
    assert.equal((await docker(['ps', '-aq'])).stdout, '', 'no COPY --from container is left');
  });

  it('a stage FROM scratch takes several COPY --from sources and ADD of a local archive, without a container', async () => {
    const dockerfile = [
      'FROM busybox AS build',
      'RUN mkdir -p /out/dir && echo built > /out/app && echo inner > /out/dir/f',
      'FROM scratch',
      'COPY --from=build /out/app /out/dir /srv/',
      'COPY --from=busybox /bin/busybox /bin/',
      'ADD files.tar /unpacked/',
      'ADD files.tar plain.txt /both/',
      'CMD ["/bin/busybox", "sh", "-c", "/bin/busybox cat /srv/app /srv/f /unpacked/inner/f.txt /both/plain.txt /both/inner/f.txt"]',
    ].join('\n');
    const dir = await context('scratch-multi', {
      Dockerfile: dockerfile,
      'plain.txt': 'plain\n',
      'files.tar': await tarOf([{ name: 'inner/', type: 'directory' }, { name: 'inner/f.txt', body: 'from tar\n' }]),
    });
    const built = await docker(['build', '-t', 'scratch-multi:1', dir]);
    assert.equal(built.exitCode, 0, built.stderr + built.stdout);
    const ran = await docker(['run', '--rm', 'scratch-multi:1']);
    assert.equal(ran.stdout, 'built\ninner\nfrom tar\nplain\nfrom tar\n', ran.stderr);
    const again = await docker(['build', '-t', 'scratch-multi:1', dir]);
    assert.equal(again.exitCode, 0, again.stderr);
    assert.equal(again.stdout.match(/Using cache/g)?.length, 6, again.stdout);
    assert.equal((await docker(['ps', '-aq'])).stdout, '', 'no COPY --from container is left');

    // An archive entry that climbs out is refused as docker's extraction refuses it, into
    // scratch (no container to extract through) as into an image.
    const hostile = await tarOf([{ name: 'ok.txt', body: 'ok\n' }, { name: '../../escape.txt', body: 'bad\n' }]);
    for (const base of ['scratch', 'busybox']) {
      const bad = await context(`scratch-hostile-${base}`, { Dockerfile: `FROM ${base}\nADD hostile.tar /x/\n`, 'hostile.tar': hostile });
      const refused = await docker(['build', '-t', `hostile-${base}:1`, bad]);
      assert.equal(refused.exitCode, 1, refused.stdout);
      assert.match(refused.stderr, /"\.\.\/\.\.\/escape\.txt" is outside of "\/x"/);
      assert.equal((await docker(['images', '-q', `hostile-${base}:1`])).stdout, '');
    }
    assert.equal((await docker(['ps', '-aq'])).stdout, '', 'no step container is left');
  });

  it('COPY --from takes wildcards (a matched directory by its contents) and here-documents beside the paths', async () => {
    const stage = [
      'FROM busybox AS build',
      'RUN mkdir -p /out/sub /out/dir.txt && echo a > /out/a.txt && echo b > /out/b.txt && echo c > /out/c.log && echo s > /out/sub/s.txt && echo inner > /out/dir.txt/inner',
      'FROM busybox',
    ];
    const dockerfile = (note: string) => [
      ...stage,
      'COPY --from=build /out/*.txt /txt/',
      'COPY --from=build /out/?.log /out/sub/*.txt /more/',
      'COPY --from=build --chown=5:6 /out/c.log <<note.txt /mixed/',
      note,
      'note.txt',
      'CMD ["sh", "-c", "ls /txt /more; cat /mixed/note.txt; stat -c %u:%g /mixed/note.txt /mixed/c.log"]',
    ].join('\n');
    const dir = await context('from-globs', { Dockerfile: dockerfile('a note') });
    const built = await docker(['build', '-t', 'from-globs:1', dir]);
    assert.equal(built.exitCode, 0, built.stderr + built.stdout);
    const expected = (note: string) => `/more:\nc.log\ns.txt\n\n/txt:\na.txt\nb.txt\ninner\n${note}\n5:6\n5:6\n`;
    assert.equal((await docker(['run', '--rm', 'from-globs:1'])).stdout, expected('a note'));
    const again = await docker(['build', '-t', 'from-globs:2', dir]);
    assert.equal(again.exitCode, 0, again.stderr);
    assert.equal((again.stdout.match(/^ ---> Using cache$/gm) ?? []).length, 5, again.stdout);
    await writeFile(join(dir, 'Dockerfile'), dockerfile('another note'));
    const changed = await docker(['build', '-t', 'from-globs:3', dir]);
    assert.equal(changed.exitCode, 0, changed.stderr);
    assert.equal((changed.stdout.match(/^ ---> Using cache$/gm) ?? []).length, 3, 'the changed document rebuilds its step');
    assert.equal((await docker(['run', '--rm', 'from-globs:3'])).stdout, expected('another note'));

    const none = await context('from-globs-none', { Dockerfile: [...stage, 'COPY --from=build /out/*.none /x/'].join('\n') });
    const noMatch = await docker(['build', none]);
    assert.equal(noMatch.exitCode, 1);
    assert.match(noMatch.stderr, /COPY failed: no source files were specified/);
    const many = await context('from-globs-many', { Dockerfile: [...stage, 'COPY --from=build /out/*.txt /single'].join('\n') });
    const notDir = await docker(['build', many]);
    assert.equal(notDir.exitCode, 1);
    assert.match(notDir.stderr, /When using COPY with more than one source file, the destination must be a directory and end with a \//);
    assert.equal((await docker(['ps', '-aq'])).stdout, '', 'no COPY --from container is left');
  });

  it('builds through berth build: build args, a Dockerfile outside the context, .dockerignore, -q, --iidfile, a failing step\'s code', async () => {
    const dir = await context('berth', { 'in.txt': 'in\n', 'skip.txt': 'skip\n', '.dockerignore': 'skip.txt\n' });
    const outside = join(scratch, 'berth.Dockerfile');
    await writeFile(outside, 'FROM busybox\nARG V=default\nCOPY . /ctx/\nRUN echo "v=$V" > /v\n');
    const built = await daemon.berth(['build', '-t', 'berth-built:1', '--build-arg', 'V=given', '-f', outside, dir], { timeoutMs: 180_000 });
    assert.equal(built.exitCode, 0, built.stderr);
    assert.match(built.stdout, /^Step 4\/4 : RUN echo "v=\$V" > \/v$/m);
    assert.match(built.stdout, /^Successfully tagged berth-built:1$/m);
    const files = await docker(['run', '--rm', 'berth-built:1', 'sh', '-c', 'cat /v; ls -A /ctx']);
    assert.equal(files.stdout, 'v=given\n.dockerignore\nin.txt\n');
    const iidfile = join(scratch, 'iid');
    const quiet = await daemon.berth(['build', '-q', '--iidfile', iidfile, '-f', outside, dir], { timeoutMs: 180_000 });
    assert.equal(quiet.exitCode, 0, quiet.stderr);
    assert.match(quiet.stdout, /^sha256:[0-9a-f]{64}\n$/);
    assert.equal(await readFile(iidfile, 'utf8'), quiet.stdout.trim());
    const failing = await daemon.berth(['build', '--force-rm', '-'], { input: 'FROM busybox\nRUN exit 7\n', timeoutMs: 180_000 });
    assert.equal(failing.exitCode, 7);
    assert.match(failing.stderr, /returned a non-zero code: 7/);
  });

  it('takes -f from inside the context and a Dockerfile on stdin', async () => {
    const dir = await context('dashf', { 'build/other.Dockerfile': 'FROM busybox\nRUN echo other > /which\n' });
    const built = await docker(['build', '-q', '-t', 'other:1', '-f', join(dir, 'build/other.Dockerfile'), dir]);
    assert.equal(built.exitCode, 0, built.stderr);
    assert.match(built.stdout.trim(), /^sha256:[0-9a-f]{64}$/);
    assert.equal((await docker(['run', '--rm', 'other:1', 'cat', '/which'])).stdout, 'other\n');
    const piped = await docker(['build', '-t', 'piped:1', '-'], 'FROM busybox\nLABEL piped=yes\n');
    assert.equal(piped.exitCode, 0, piped.stderr);
    assert.equal((await docker(['image', 'inspect', '--format', '{{.Config.Labels.piped}}', 'piped:1'])).stdout, 'yes\n');
  });

  it('refuses a syntax error with its line number, before anything runs', async () => {
    const dir = await context('syntax', { Dockerfile: 'FROM busybox\nFRUN echo x\n' });
    const built = await docker(['build', '-t', 'bad:1', dir]);
    assert.equal(built.exitCode, 1);
    assert.match(built.stderr, /dockerfile parse error on line 2: unknown instruction: FRUN/);
    assert.equal((await docker(['images', '-q', 'bad:1'])).stdout, '');
  });

  it('fails COPY of a missing file and of a path outside the context', async () => {
    const missing = await context('missing', { Dockerfile: 'FROM busybox\nCOPY nosuch.txt /x\n' });
    const m = await docker(['build', '-t', 'bad:2', missing]);
    assert.equal(m.exitCode, 1);
    assert.match(m.stderr, /COPY failed: file not found in build context or excluded by \.dockerignore: stat nosuch\.txt: file does not exist/);
    const outside = await context('outside', { Dockerfile: 'FROM busybox\nCOPY ../secret /x\n' });
    const o = await docker(['build', '-t', 'bad:3', outside]);
    assert.equal(o.exitCode, 1);
    assert.match(o.stderr, /COPY failed: forbidden path outside the build context: \.\.\/secret/);
    assert.equal((await docker(['images', '-q', 'bad:2'])).stdout + (await docker(['images', '-q', 'bad:3'])).stdout, '');
    assert.equal((await docker(['ps', '-aq'])).stdout, '', 'no COPY container is left');
  });

  it('resolves COPY --chown names in the image\'s own passwd and group files', async () => {
    const dir = await context('chown-names', {
      Dockerfile: [
        'FROM busybox',
        "RUN echo 'app:x:1234:1234::/home/app:/bin/sh' >> /etc/passwd && printf 'crew:x:2345:\\napp2:x:3456:\\n' >> /etc/group",
        // A later layer holds the group file the COPY steps read.
        "RUN echo 'app:x:1234:' >> /etc/group",
        'COPY --chown=app:crew f /by-names',
        'COPY --chown=app:3456 f /mixed',
        'ADD --chown=1234 f /numeric',
      ].join('\n'),
      f: 'owned\n',
    });
    const built = await docker(['build', '-t', 'chown:1', dir]);
    assert.equal(built.exitCode, 0, built.stderr + built.stdout);
    const owners = await docker(['run', '--rm', 'chown:1', 'stat', '-c', '%u:%g', '/by-names', '/mixed', '/numeric']);
    assert.equal(owners.stdout, '1234:2345\n1234:3456\n1234:1234\n', owners.stderr);
    const unknown = await context('chown-unknown', { Dockerfile: 'FROM busybox\nCOPY --chown=nosuch f /f\n', f: 'x\n' });
    const failed = await docker(['build', '-t', 'chown:2', unknown]);
    assert.equal(failed.exitCode, 1);
    assert.match(failed.stderr, /can't find uid for user nosuch: no such user: nosuch/);
    assert.equal((await docker(['images', '-q', 'chown:2'])).stdout, '');
    await docker(['rmi', 'chown:1']);
  });

  it('fails with a RUN step\'s exit code and output, tags nothing, and leaves nothing with --force-rm', async () => {
    const dir = await context('failing', { Dockerfile: 'FROM busybox\nRUN echo before-failing; exit 3\n' });
    const built = await docker(['build', '--force-rm', '-t', 'failed:1', dir]);
    assert.equal(built.exitCode, 3, built.stderr);
    assert.match(built.stdout, /^before-failing$/m);
    assert.match(built.stderr, /The command '\/bin\/sh -c echo before-failing; exit 3' returned a non-zero code: 3/);
    assert.equal((await docker(['images', '-q', 'failed:1'])).stdout, '');
    assert.equal((await docker(['ps', '-aq'])).stdout, '', 'the failed step\'s container is gone');
    assert.deepEqual(await mountsUnder(daemon.root), [], 'no overlay stays mounted');
    assert.deepEqual(await readdir(join(daemon.root, 'build', 'contexts')), [], 'no context directory stays');
  });

  it('refuses a context tar with a path leaving it, writing nothing outside', async () => {
    const marker = `berth-build-escape-${process.pid}`;
    const body = await tarOf([
      { name: 'Dockerfile', body: 'FROM busybox\n' },
      { name: `../../../../../../../../tmp/${marker}`, body: 'escaped\n' },
    ]);
    const post = (path: string, payload: Buffer) => new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = request({ socketPath: daemon.socket, path, method: 'POST', headers: { 'Content-Type': 'application/x-tar' } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      });
      req.on('error', reject);
      req.end(payload);
    });
    const answer = await post('/build?t=evil:1', body);
    assert.equal(answer.status, 400, answer.text);
    assert.match(answer.text, /outside of/);
    const broken = await post('/build', Buffer.concat([Buffer.from([0x1f, 0x8b, 0x08, 0x00]), Buffer.from('not really gzip')]));
    assert.equal(broken.status, 400, broken.text);
    await assert.rejects(readdir(join('/tmp', marker)), 'nothing was written outside');
    assert.deepEqual(await readdir(join(daemon.root, 'build', 'contexts')), []);
    assert.equal((await docker(['images', '-q', 'evil:1'])).stdout, '');
  });
});
