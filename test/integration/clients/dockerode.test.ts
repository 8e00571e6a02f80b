/**
 * dockerode (npm devDependency) against a private berthd: what its users do most, in the order
 * they do it. Includes its attach and exec-hijack sessions on one container followed by
 * commit and stop, which once hung because those sessions were left open.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough, Readable, type Duplex } from 'node:stream';
import tar from 'tar-stream';
import { startTestDaemon, type TestDaemon } from '../harness.js';

/**
 * dockerode, loaded by name at run time: the build then needs neither the package nor its
 * types (a checkout without `npm ci` still compiles), so its objects are untyped here.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the package's types are not a build dependency
type Dockerode = any;
const DOCKERODE: string = 'dockerode';

/** Everything a readable stream yields, as one buffer. */
async function collect(stream: AsyncIterable<unknown>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string));
  return Buffer.concat(chunks);
}

/** A tar archive of name to [content, mode]. */
async function tarOf(files: Record<string, [string, number]>): Promise<Buffer> {
  const pack = tar.pack();
  for (const [name, [content, mode]] of Object.entries(files)) pack.entry({ name, mode, uid: 4242, gid: 4242 }, content);
  pack.finalize();
  return collect(pack);
}

/** stdout and stderr of a multiplexed stream, split as dockerode's users do. */
async function demux(docker: Dockerode, stream: NodeJS.ReadableStream): Promise<{ stdout: string; stderr: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const outText = collect(stdout);
  const errText = collect(stderr);
  docker.modem.demuxStream(stream, stdout, stderr);
  await new Promise<void>((resolve) => stream.on('end', () => resolve()));
  stdout.end();
  stderr.end();
  return { stdout: (await outText).toString(), stderr: (await errText).toString() };
}

describe('dockerode', () => {
  let daemon: TestDaemon;
  let docker: Dockerode;
  before(async () => {
    daemon = await startTestDaemon();
    const { default: Docker } = (await import(DOCKERODE)) as { default: new (options: { socketPath: string }) => Dockerode };
    docker = new Docker({ socketPath: daemon.socket });
  });
  after(async () => {
    await daemon?.cleanup();
  });

  it('system: ping, version, info, df, plugins', async () => {
    assert.equal(String(await docker.ping()), 'OK');
    const version = await docker.version();
    assert.equal(version.ApiVersion, '1.52');
    const info = (await docker.info()) as { Containers: number; OSType: string };
    assert.equal(info.OSType, 'linux');
    const df = (await docker.df()) as { Images: unknown[]; Volumes: unknown[] };
    assert.ok(Array.isArray(df.Images));
    assert.deepEqual(await docker.listPlugins(), []);
  });

  it('containers: create, attach with stdin, start, wait, logs, inspect, top, stats, archives, exec, commit, kill, stop, remove', async () => {
    const container = await docker.createContainer({
      name: 'dode-main', Image: 'busybox', Cmd: ['sh', '-c', 'read line; echo "got $line"; echo err >&2; exec sleep 1000'],
      OpenStdin: true, AttachStdin: true, AttachStdout: true, AttachStderr: true, Labels: { app: 'dode' },
    });
    const attached = (await container.attach({ stream: true, stdin: true, stdout: true, stderr: true, hijack: true })) as Duplex;
    const output = demux(docker, attached);
    await container.start();
    attached.write('hello\n');
    const logsReady = async (): Promise<string> => {
      for (let i = 0; i < 300; i++) {
        const logs = (await container.logs({ stdout: true, stderr: true, follow: false })) as Buffer;
        if (logs.includes('err')) return logs.toString();
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error('no output');
    };
    assert.match(await logsReady(), /got hello/);
    const inspect = await container.inspect();
    assert.equal(inspect.State.Running, true);
    assert.equal((inspect.HostConfig as Record<string, unknown>)['MemorySwappiness'], null);
    const listed = await docker.listContainers({ filters: { label: { 'app=dode': true } } });
    assert.deepEqual(listed.map((c: { Names: string[] }) => c.Names[0]), ['/dode-main']);
    const top = await container.top();
    assert.ok(top.Processes.some((p: string[]) => p.join(' ').includes('sleep')));
    const stats = (await container.stats({ stream: false })) as { memory_stats: { usage?: number } };
    assert.ok((stats.memory_stats.usage ?? 0) > 0);

    await container.putArchive(await tarOf({ 'note.txt': ['from dockerode\n', 0o644] }), { path: '/tmp' });
    const archive = await collect((await container.getArchive({ path: '/tmp/note.txt' })) as Readable);
    assert.ok(archive.includes(Buffer.from('from dockerode\n')));

    // An exec with a hijacked stdin, as dockerode's own tests do.
    const exec = await container.exec({ Cmd: ['sh', '-c', 'cat; echo exec-done'], AttachStdin: true, AttachStdout: true, AttachStderr: true });
    const execStream = (await exec.start({ hijack: true, stdin: true })) as Duplex;
    const execOutput = demux(docker, execStream);
    execStream.end('to exec\n');
    assert.equal((await execOutput).stdout, 'to exec\nexec-done\n');
    assert.equal((await exec.inspect()).ExitCode, 0);

    // After those sessions, commit and stop answer at once.
    const committed = await container.commit({ repo: 'dode-committed', tag: '1' });
    assert.match((committed as { Id: string }).Id, /^sha256:/);
    await container.stop({ t: 1 });
    assert.match((await output).stdout, /got hello/);
    assert.equal((await output).stderr, 'err\n');
    assert.equal((await container.wait()).StatusCode, 137);
    await container.start();
    await container.kill();
    assert.equal((await container.inspect()).State.ExitCode, 137);
    await container.remove();
    await docker.getImage('dode-committed:1').remove();
  });

  it('a tty container: sessions left open (a plain attach, an exec with a tty) do not hold up commit and stop', async () => {
    const container = await docker.createContainer({ name: 'dode-tty', Image: 'busybox', Cmd: ['sh', '-c', 'while true; do echo tick; sleep 0.2; done'], Tty: true, OpenStdin: true });
    await container.start();
    const attached = (await container.attach({ stream: true, stdout: true, stderr: true })) as unknown as Readable;
    attached.resume();
    const exec = await container.exec({ Cmd: ['sh'], AttachStdin: true, AttachStdout: true, Tty: true });
    const execStream = (await exec.start({ hijack: true, stdin: true, Tty: true })) as Duplex;
    execStream.resume();
    execStream.write('echo in-exec\n');
    await container.commit({ repo: 'dode-tty-committed', tag: '1' });
    await container.stop({ t: 1 });
    assert.equal((await container.inspect()).State.Running, false);
    execStream.destroy();
    attached.destroy();
    await container.remove();
    await docker.getImage('dode-tty-committed:1').remove();
  });

  it('run: output (through a tty, the default of dockerode), and the exit code', async () => {
    const out = new PassThrough();
    const text = collect(out);
    const [result, container] = (await docker.run('busybox', ['sh', '-c', 'echo ran; exit 3'], out)) as [{ StatusCode: number }, Dockerode];
    out.end();
    assert.equal(result.StatusCode, 3);
    assert.equal((await text).toString(), 'ran\r\n');
    await container.remove();
  });

  it('images: tag, history, save, load, list, prune, remove', async () => {
    await docker.getImage('busybox').tag({ repo: 'dode-img', tag: 'a' });
    const image = docker.getImage('dode-img:a');
    assert.ok((await image.inspect()).RepoTags.includes('dode-img:a'));
    assert.ok((await image.history()).length >= 1);
    const saved = await collect((await image.get()) as Readable);
    await image.remove();
    await collect((await docker.loadImage(Readable.from([saved]))) as Readable);
    assert.deepEqual((await docker.listImages({ filters: { reference: ['dode-img'] } })).map((i: { RepoTags: string[] }) => i.RepoTags), [['dode-img:a']]);
    const pruned = await docker.pruneImages();
    assert.ok('SpaceReclaimed' in pruned);
    await docker.getImage('dode-img:a').remove();
    await assert.rejects(docker.getImage('dode-img:a').inspect(), (err: { statusCode?: number }) => err.statusCode === 404);
  });

  it('networks: create with IPAM, connect with aliases, inspect, disconnect, remove, prune', async () => {
    const network = await docker.createNetwork({ Name: 'dode-net', IPAM: { Config: [{ Subnet: '10.92.0.0/24', Gateway: '10.92.0.1' }] }, Labels: { team: 'dode' } });
    const container = await docker.createContainer({ name: 'dode-net-c', Image: 'busybox', Cmd: ['sleep', '1000'] });
    await container.start();
    await network.connect({ Container: container.id, EndpointConfig: { Aliases: ['dode-alias'] } });
    const inspect = await network.inspect();
    assert.deepEqual(Object.keys(inspect.Containers ?? {}), [container.id]);
    assert.equal(inspect.IPAM?.Config?.[0]?.Subnet, '10.92.0.0/24');
    await network.disconnect({ Container: container.id });
    await container.remove({ force: true });
    assert.deepEqual((await docker.listNetworks({ filters: { name: ['^dode-net$'] } })).map((n: { Name: string }) => n.Name), ['dode-net']);
    await network.remove();
    await docker.createNetwork({ Name: 'dode-prune', Labels: { prune: 'me' } });
    assert.deepEqual((await docker.pruneNetworks({ filters: { label: ['prune=me'] } })).NetworksDeleted, ['dode-prune']);
  });

  it('volumes: create, list, inspect, remove, prune', async () => {
    const volume = await docker.createVolume({ Name: 'dode-vol', Labels: { team: 'dode' } });
    assert.equal(volume.name, 'dode-vol');
    assert.deepEqual((await docker.listVolumes({ filters: { label: { 'team=dode': true } } })).Volumes.map((v: { Name: string }) => v.Name), ['dode-vol']);
    assert.equal((await docker.getVolume('dode-vol').inspect()).Name, 'dode-vol');
    const pruned = await docker.pruneVolumes();
    assert.ok(!(pruned.VolumesDeleted ?? []).includes('dode-vol'), 'API 1.42+ prunes only anonymous volumes');
    await docker.getVolume('dode-vol').remove();
  });

  it('events: a bounded stream of one container’s life', async () => {
    const since = Math.floor(Date.now() / 1000) - 1;
    const container = await docker.createContainer({ name: 'dode-ev', Image: 'busybox', Cmd: ['true'] });
    await container.start();
    await container.wait();
    await container.remove();
    const stream = await docker.getEvents({ since, until: Math.floor(Date.now() / 1000) + 1, filters: { container: ['dode-ev'] } });
    const actions = (await collect(stream as Readable)).toString().trim().split('\n').map((line) => (JSON.parse(line) as { Action: string }).Action);
    assert.deepEqual([actions[0], actions.at(-1)], ['create', 'destroy']);
    assert.ok(actions.includes('start') && actions.includes('die'), actions.join(','));
  });
});
