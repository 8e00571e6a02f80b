import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, writeFile, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HostMounter, parseMountInfo, MountError } from './mount.js';
import { MountHelper } from './mount-helper.js';
import { runCommand } from './run-command.js';

const SAMPLE = [
  '22 1 254:1 / / rw,relatime shared:1 - ext4 /dev/vda rw',
  '36 22 0:31 / /tmp/with\\040space rw - tmpfs tmp\\040fs rw,size=10k',
  '40 22 0:33 / /var/lib/berth/containers/x/merged rw master:2 - overlay overlay rw,lowerdir=l/A:l/B',
  'garbage line',
  '',
].join('\n');

test('parseMountInfo reads fields and decodes escapes', () => {
  const entries = parseMountInfo(SAMPLE);
  assert.equal(entries.length, 3);
  assert.deepEqual(entries[1], {
    mountId: 36, parentId: 22, mountPoint: '/tmp/with space', fsType: 'tmpfs', source: 'tmp fs', superOptions: 'rw,size=10k',
  });
  assert.equal(entries[2]!.fsType, 'overlay');
  assert.equal(entries[2]!.mountPoint, '/var/lib/berth/containers/x/merged');
});

const isRoot = process.getuid?.() === 0;

test('HostMounter mounts, reports and unmounts a tmpfs idempotently', { skip: !isRoot && 'needs root' }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'berth-mount-test-'));
  const target = join(dir, 'm nt');
  await mkdir(target);
  const mounter = new HostMounter();
  try {
    assert.equal(await mounter.isMounted(target), false);
    await mounter.mount({ source: 'tmpfs', target, type: 'tmpfs', options: ['size=64k', 'mode=0700'] });
    assert.equal(await mounter.isMounted(target), true);
    await writeFile(join(target, 'f'), 'x');
    assert.equal(await readFile(join(target, 'f'), 'utf8'), 'x');
    await mounter.unmount(target);
    assert.equal(await mounter.isMounted(target), false);
    await mounter.unmount(target);
    await assert.rejects(mounter.mount({ source: 'none', target: join(dir, 'missing'), type: 'tmpfs' }), MountError);
  } finally {
    await mounter.unmount(target).catch(() => {});
    await rm(dir, { recursive: true, force: true });
  }
});

test('HostMounter mounts and unmounts an overlay through the berth-mount helper', { skip: !isRoot && 'needs root' }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'berth-mount-helper-test-'));
  for (const sub of ['lower', 'upper', 'work', 'merged']) await mkdir(join(dir, sub));
  await writeFile(join(dir, 'lower', 'f'), 'from the layer');
  // dist/src/sys/ -> the repository's build/, where scripts/build puts the helper.
  const helper = new MountHelper(new URL('../../../build/berth-mount', import.meta.url).pathname);
  const mounter = new HostMounter({ helper });
  const target = join(dir, 'merged');
  try {
    // Relative layer paths resolve in `cwd`, as the snapshotter's short links need.
    await mounter.mount({ source: 'overlay', target, type: 'overlay', options: ['lowerdir=lower', 'upperdir=upper', 'workdir=work'], cwd: dir });
    assert.equal(await mounter.isMounted(target), true);
    assert.equal(await readFile(join(target, 'f'), 'utf8'), 'from the layer');
    await mounter.unmount(target);
    assert.equal(await mounter.isMounted(target), false);
    await mounter.unmount(target);
    await assert.rejects(
      mounter.mount({ source: 'overlay', target: join(dir, 'missing'), type: 'overlay', options: ['lowerdir=lower', 'upperdir=upper', 'workdir=work'], cwd: dir }),
      (err: unknown) => err instanceof MountError && /No such file or directory/.test(err.message),
    );
  } finally {
    await mounter.unmount(target).catch(() => {});
    helper.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('MountHelper answers undefined when its program cannot run, so HostMounter falls back to mount(8)', async () => {
  const helper = new MountHelper('/nonexistent/berth-mount');
  assert.equal(await helper.unmount('/nonexistent/target'), undefined);
  assert.equal(await helper.mount('', 'overlay', 'overlay', '/nonexistent/target', 'lowerdir=x'), undefined);
  helper.close();
});

test('MountHelper holds the event loop while an answer is awaited (berthd awaits unmounts before it listens)', async () => {
  // A process with nothing else to wait for: an unref'd pipe would end it mid-await (exit 13).
  const script = [
    `import { MountHelper } from ${JSON.stringify(new URL('./mount-helper.js', import.meta.url).href)};`,
    `const helper = new MountHelper(${JSON.stringify(new URL('../../../build/berth-mount', import.meta.url).pathname)});`,
    `const answer = await helper.unmount('/nonexistent/berth-mount-test');`,
    'helper.close();',
    'console.log(JSON.stringify(answer));',
  ].join('\n');
  const result = await runCommand(process.execPath, ['--input-type=module', '-e', script]);
  assert.equal(result.exitCode, 0, result.stderr);
  // ENOENT as root, EPERM otherwise: either way the helper's answer arrived.
  const answer = JSON.parse(result.stdout) as { errno: number; message: string };
  assert.ok(answer.errno === 2 || answer.errno === 1, result.stdout);
});

test('MountHelper.spawnReporting starts a program with the sync and start pipes and relays its first line', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'berth-spawn-test-'));
  const helper = new MountHelper(new URL('../../../build/berth-mount', import.meta.url).pathname);
  try {
    const stderrPath = join(dir, 'stderr');
    // The program reads the start byte on fd 4, reports on fd 3 with its environment and cwd.
    const script = 'x=$(head -c1 <&4); echo "{\\"data\\": 7, \\"start\\": \\"$x\\", \\"env\\": \\"$ONLY\\", \\"cwd\\": \\"$(pwd)\\"}" >&3; echo note >&2';
    const answer = await helper.spawnReporting({ argv: ['/bin/sh', '-c', script], env: { ONLY: 'given', PATH: '/usr/bin:/bin' }, cwd: dir, stderrPath, timeoutMs: 10_000 });
    assert.equal(answer?.errno, 0, answer?.message);
    assert.deepEqual(JSON.parse(answer!.message), { data: 7, start: '0', env: 'given', cwd: dir });
    // Requests answered in order go on while a spawn waits; a program that never reports times out.
    const slow = helper.spawnReporting({ argv: ['/bin/sh', '-c', 'sleep 2'], env: {}, cwd: dir, stderrPath: join(dir, 'slow'), timeoutMs: 300 });
    assert.ok((await helper.unmount(join(dir, 'not-mounted'))) !== undefined);
    assert.equal((await slow)?.errno, 110);
    // Closing fd 3 without a line, and a program that cannot run.
    assert.deepEqual(await helper.spawnReporting({ argv: ['/bin/true'], env: {}, cwd: dir, stderrPath: join(dir, 'quiet'), timeoutMs: 10_000 }), { errno: 0, message: '' });
    const missing = await helper.spawnReporting({ argv: ['/nonexistent/program'], env: {}, cwd: dir, stderrPath: join(dir, 'missing'), timeoutMs: 10_000 });
    assert.deepEqual(missing, { errno: 0, message: '' });
    assert.match(await readFile(join(dir, 'missing'), 'utf8'), /cannot run \/nonexistent\/program/);
    assert.equal(await readFile(stderrPath, 'utf8'), 'note\n');
  } finally {
    helper.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('MountHelper.run runs a program to its end: stdin from a file, stdout and stderr into files, exact env, exit status; killed at its timeout', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'berth-helper-run-test-'));
  const helper = new MountHelper(new URL('../../../build/berth-mount', import.meta.url).pathname);
  try {
    const paths = { stdinPath: join(dir, 'in'), stdoutPath: join(dir, 'out'), stderrPath: join(dir, 'err') };
    await writeFile(paths.stdinPath, '{"config":1}');
    const ran = await helper.run({ argv: ['/bin/sh', '-c', 'cat; echo "to stderr $ONLY" >&2; exit 3'], env: { ONLY: 'this' }, ...paths, timeoutMs: 10_000 });
    assert.deepEqual(ran, { errno: 0, message: '3' });
    assert.equal(await readFile(paths.stdoutPath, 'utf8'), '{"config":1}');
    assert.equal(await readFile(paths.stderrPath, 'utf8'), 'to stderr this\n');
    const missing = await helper.run({ argv: [join(dir, 'no-such-program')], env: {}, ...paths, timeoutMs: 10_000 });
    assert.deepEqual(missing, { errno: 0, message: '127' });
    assert.match(await readFile(paths.stderrPath, 'utf8'), /cannot run .*no-such-program: No such file or directory/);
    const slow = await helper.run({ argv: ['/bin/sleep', '30'], env: {}, ...paths, timeoutMs: 200 });
    assert.equal(slow?.errno, 110);
  } finally {
    helper.close();
    await rm(dir, { recursive: true, force: true });
  }
});
