/**
 * berthd killed at every named step of its multi-step operations (BERTH_CRASH_AT, a SIGKILL at that
 * point): after a restart `berth system check` finds nothing left behind (no record it cannot read,
 * no directory without a record, no mount, conmon directory, cgroup or endpoint of a container
 * that does not run, no container frozen that nobody paused, no image missing a blob), the
 * interrupted operation either completed or left no trace, and repeating it succeeds.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CRASH_AT_ENV, CRASH_STEPS, type CrashStep } from '../../../src/common/index.js';
import { startTestDaemon, type TestDaemon } from '../harness.js';
import { type FakeRegistry, startFakeRegistry } from '../images/registries.js';
import { MANIFEST_V2, makeLayeredImage, storeContents, type StoreContents } from '../reliability/layered-image.js';

interface ContainerState {
  Status: string;
  Running: boolean;
  Paused: boolean;
}

describe('crash points: berthd killed at every step, then restarted', () => {
  let daemon: TestDaemon;
  let registry: FakeRegistry;
  before(async () => {
    daemon = await startTestDaemon();
    registry = await startFakeRegistry();
  });
  after(async () => {
    await daemon?.cleanup();
    await registry?.stop();
  });

  /** `berth system check` as JSON: the problems it found. */
  async function problems(): Promise<string[]> {
    const result = await daemon.berth(['system', 'check', '--format', 'json']);
    const report = JSON.parse(result.stdout) as { problems: { kind: string; subject: string; detail: string }[] };
    assert.equal(result.exitCode, report.problems.length === 0 ? 0 : 1, result.stderr);
    return report.problems.map((problem) => `${problem.kind} ${problem.detail}`);
  }

  async function state(name: string): Promise<ContainerState | undefined> {
    const answer = await daemon.api('GET', `/containers/${name}/json`);
    if (answer.status === 404) return undefined;
    assert.equal(answer.status, 200, answer.body);
    return (JSON.parse(answer.body) as { State: ContainerState }).State;
  }

  async function ok(args: string[]): Promise<string> {
    const result = await daemon.berth(args);
    assert.equal(result.exitCode, 0, `berth ${args.join(' ')}: ${result.stderr}`);
    return result.stdout.trim();
  }

  /**
   * Restart the daemon armed to die at `step`, run `operation` (whose request dies with it), wait
   * for the crash, and restart it unarmed. Fails if the step was never reached.
   */
  async function crashDuring(step: CrashStep, operation: () => Promise<unknown>): Promise<void> {
    await daemon.kill9();
    await daemon.restart({ daemonEnv: { [CRASH_AT_ENV]: step } });
    const crashed = daemon.exited();
    await operation().catch(() => undefined);
    const reached = await Promise.race([crashed.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 30_000))]);
    assert.ok(reached, `the daemon never reached ${step}`);
    await daemon.restart({ daemonEnv: {} });
  }

  /** For each step: arrange, crash during the operation, then check what a restart finds and that the operation can be done again. */
  const scenarios: Record<CrashStep, { arrange(name: string): Promise<void>; operate(name: string): Promise<unknown>; verify(name: string): Promise<void> }> = {
    'create.dirs-made': createScenario(),
    'create.recorded': createScenario(),
    'start.mounted': startScenario(),
    'start.runtime-created': startScenario(),
    'start.recorded': startScenario(),
    'stop.signalled': {
      arrange: (name) => ok(['run', '-d', '--name', name, 'busybox', 'sh', '-c', 'trap "exit 3" TERM; while true; do sleep 0.1; done']).then(() => undefined),
      operate: (name) => daemon.berth(['stop', '-t', '30', name]),
      async verify(name) {
        const after = await state(name);
        assert.ok(after, 'the container is still there');
        if (after.Running) await ok(['stop', '-t', '30', name]);
        assert.equal((await state(name))?.Running, false);
        await ok(['start', name]);
        await ok(['rm', '-f', name]);
      },
    },
    'rm.runtime-deleted': removeScenario(),
    'rm.unmounted': removeScenario(),
    'commit.paused': commitScenario(),
    'commit.layer-stored': commitScenario(),
    'pause.frozen': {
      arrange: (name) => ok(['run', '-d', '--name', name, 'busybox', 'sleep', '1000']).then(() => undefined),
      operate: (name) => daemon.berth(['pause', name]),
      async verify(name) {
        const after = await state(name);
        assert.equal(after?.Running, true);
        // Either the pause completed (and says so) or the container runs unfrozen.
        if (after?.Paused) await ok(['unpause', name]);
        assert.equal(await ok(['exec', name, 'echo', 'alive']), 'alive');
        await ok(['pause', name]);
        await ok(['unpause', name]);
        await ok(['rm', '-f', name]);
      },
    },
    'volume-create.dir-made': {
      arrange: async () => {},
      operate: (name) => daemon.berth(['volume', 'create', name]),
      async verify(name) {
        const listed = (await ok(['volume', 'ls', '-q'])).split('\n');
        assert.ok(!listed.includes(name), 'a volume whose create was cut short is gone');
        await ok(['volume', 'create', name]);
        await ok(['run', '--rm', '-v', `${name}:/data`, 'busybox', 'sh', '-c', 'echo x > /data/f']);
        await ok(['volume', 'rm', name]);
      },
    },
    'load.blobs-stored': archiveScenario('load'),
    'import.blob-stored': archiveScenario('import'),
    'pull.layer-unpacked': pullScenario(),
    'build.layer-stored': buildScenario(),
    'network-create.recorded': {
      arrange: async () => {},
      operate: (name) => daemon.berth(['network', 'create', name]),
      async verify(name) {
        // The record was written before the bridge: the restart made the bridge, the network is whole.
        const networks = (await ok(['network', 'ls', '--format', '{{.Name}}'])).split('\n');
        if (!networks.includes(name)) await ok(['network', 'create', name]);
        const bridge = `br-${(await ok(['network', 'inspect', '-f', '{{.Id}}', name])).slice(0, 12)}`;
        assert.ok((await bridgeNames()).includes(bridge), `${bridge} is there`);
        assert.equal(await ok(['run', '--rm', '--network', name, 'busybox', 'sh', '-c', 'ip -4 addr show eth0 | grep -c inet']), '1');
        await ok(['network', 'rm', name]);
        assert.ok(!(await bridgeNames()).includes(bridge), 'the bridge went with the network');
      },
    },
    // The crash comes while the connect's CNI plugin runs (it finishes orphaned): the restart
    // waits for it, then DELs what it made. test/integration/reliability/cni-crash holds the plugin back.
    'network-connect.cni-adding': connectScenario(),
    'network-connect.endpoint-added': connectScenario(),
    'network-rm.bridge-removed': {
      arrange: (name) => ok(['network', 'create', name]).then(() => undefined),
      operate: (name) => daemon.berth(['network', 'rm', name]),
      async verify(name) {
        // The record outlived its bridge: the restart made the bridge again and a second rm finishes.
        const networks = (await ok(['network', 'ls', '--format', '{{.Name}}'])).split('\n');
        if (networks.includes(name)) await ok(['network', 'rm', name]);
        await ok(['network', 'create', name]);
        await ok(['network', 'rm', name]);
        assert.ok(!(await ok(['network', 'ls', '--format', '{{.Name}}'])).split('\n').includes(name));
      },
    },
  };

  /** Bridge devices on the host (`br-<id12>` for Berth's user networks). */
  async function bridgeNames(): Promise<string[]> {
    return hostLinks('br-');
  }

  /** Network links on the host whose name starts with `prefix`. */
  async function hostLinks(prefix: string): Promise<string[]> {
    const { readdir } = await import('node:fs/promises');
    return (await readdir('/sys/class/net')).filter((link) => link.startsWith(prefix));
  }

  /** The IP lease files host-local holds under the daemon's root (`<network>/<address>`). */
  async function leases(): Promise<string[]> {
    const { readdir } = await import('node:fs/promises');
    const { join } = await import('node:path');
    const dir = join(daemon.root, 'networks', 'ipam');
    const found: string[] = [];
    for (const network of await readdir(dir).catch(() => [] as string[])) {
      for (const lease of await readdir(join(dir, network)).catch(() => [] as string[])) if (/^[\d.]+$/.test(lease)) found.push(`${network}/${lease}`);
    }
    return found.sort();
  }

  async function blobCount(): Promise<number> {
    const { readdir } = await import('node:fs/promises');
    const { join } = await import('node:path');
    return (await readdir(join(daemon.root, 'image', 'blobs', 'sha256'))).length;
  }

  /** A crash after the blobs of a load or import are stored and before the image is recorded. */
  function archiveScenario(kind: 'load' | 'import'): (typeof scenarios)[CrashStep] {
    let file = '';
    let blobsBefore = 0;
    return {
      async arrange(name) {
        const { mkdir, writeFile } = await import('node:fs/promises');
        const { join } = await import('node:path');
        const { runCommand } = await import('../../../src/sys/index.js');
        const dir = join(daemon.dir, `${name}-rootfs`);
        await mkdir(dir, { recursive: true });
        await writeFile(join(dir, 'only-here'), `${name}\n`);
        const rootfsTar = join(daemon.dir, `${name}-rootfs.tar`);
        assert.equal((await runCommand('tar', ['-cf', rootfsTar, '-C', dir, 'only-here'])).exitCode, 0);
        file = rootfsTar;
        if (kind === 'load') {
          // An archive of an image whose layer no other image has.
          await ok(['import', rootfsTar, `${name}:1`]);
          file = join(daemon.dir, `${name}.tar`);
          await ok(['save', '-o', file, `${name}:1`]);
          await ok(['rmi', `${name}:1`]);
        }
        blobsBefore = await blobCount();
      },
      operate: (name) => (kind === 'load' ? daemon.berth(['load', '-i', file]) : daemon.berth(['import', file, `${name}:1`])),
      async verify(name) {
        // Cut short before the image was recorded: the restart removed the blobs no image uses.
        assert.equal((await daemon.api('GET', `/images/${name}:1/json`)).status, 404);
        assert.equal(await blobCount(), blobsBefore, 'no blob left behind');
        if (kind === 'load') await ok(['load', '-i', file]);
        else await ok(['import', file, `${name}:1`]);
        assert.equal((await daemon.api('GET', `/images/${name}:1/json`)).status, 200);
        await ok(['rmi', `${name}:1`]);
      },
    };
  }

  /** A crash after the first of three layers is unpacked: the restart sweeps its blobs and layer. */
  function pullScenario(): (typeof scenarios)[CrashStep] {
    let before: StoreContents | undefined;
    const ref = (name: string): string => `${registry.host}/crash/pull:${name}`;
    return {
      async arrange(name) {
        const image = await makeLayeredImage(3);
        registry.serve('crash/pull', name, image.manifest, MANIFEST_V2, image.blobs);
        before = await storeContents(daemon.root);
      },
      operate: (name) => daemon.berth(['pull', ref(name)]),
      async verify(name) {
        assert.equal((await daemon.api('GET', `/images/${encodeURIComponent(ref(name))}/json`)).status, 404);
        assert.deepEqual(await storeContents(daemon.root), before, 'no blob, temp file or unpacked layer left behind');
        await ok(['pull', ref(name)]);
        assert.equal((await daemon.api('GET', `/images/${encodeURIComponent(ref(name))}/json`)).status, 200);
        await ok(['rmi', ref(name)]);
        assert.deepEqual(await storeContents(daemon.root), before);
      },
    };
  }

  /**
   * A crash after a RUN step's changes are stored as a blob and before its image is recorded:
   * the restart sweeps the blob; the step's container stays, exited, as dockerd's would.
   */
  function buildScenario(): (typeof scenarios)[CrashStep] {
    let before: StoreContents | undefined;
    let context = '';
    let containersBefore: string[] = [];
    return {
      async arrange(name) {
        const { mkdir, writeFile } = await import('node:fs/promises');
        const { join } = await import('node:path');
        context = join(daemon.dir, `${name}-context`);
        await mkdir(context, { recursive: true });
        await writeFile(join(context, 'Dockerfile'), `FROM busybox\nRUN echo ${name} > /made\nRUN cat /made\n`);
        before = await storeContents(daemon.root);
        containersBefore = (await ok(['ps', '-aq', '--no-trunc'])).split('\n').filter(Boolean);
      },
      operate: (name) => daemon.berth(['build', '-t', `${name}-image`, context]),
      async verify(name) {
        assert.equal((await daemon.api('GET', `/images/${name}-image/json`)).status, 404);
        const left = (await ok(['ps', '-aq', '--no-trunc'])).split('\n').filter((id) => id !== '' && !containersBefore.includes(id));
        assert.equal(left.length, 1, 'the step that was cut short left its container');
        assert.equal((await state(left[0]!))?.Running, false);
        await ok(['rm', left[0]!]);
        assert.deepEqual(await storeContents(daemon.root), before, 'no blob or layer of the cut-short step is left');
        await ok(['build', '-t', `${name}-image`, context]);
        assert.equal(await ok(['run', '--rm', `${name}-image`, 'cat', '/made']), name);
        await ok(['rmi', `${name}-image`]);
        assert.deepEqual(await storeContents(daemon.root), before);
      },
    };
  }

  /** A connect of a running container whose endpoint a crash left half made or unrecorded: the restart takes it away. */
  function connectScenario(): (typeof scenarios)[CrashStep] {
    let vethsBefore = 0;
    let leasesBefore: string[] = [];
    return {
      async arrange(name: string) {
        vethsBefore = (await hostLinks('veth')).length;
        await ok(['network', 'create', `${name}-net`]);
        await ok(['run', '-d', '--name', name, 'busybox', 'sleep', '1000']);
        leasesBefore = await leases();
      },
      operate: (name: string) => daemon.berth(['network', 'connect', `${name}-net`, name]),
      async verify(name: string) {
        // The endpoint was (partly) made but the record never saved: the restart took the endpoint away.
        assert.equal((await state(name))?.Running, true);
        const inspect = JSON.parse((await daemon.api('GET', `/containers/${name}/json`)).body) as { NetworkSettings: { Networks: Record<string, unknown> } };
        assert.deepEqual(Object.keys(inspect.NetworkSettings.Networks), ['bridge']);
        assert.equal(await ok(['exec', name, 'sh', '-c', 'ls /sys/class/net | grep -c ^eth']), '1', 'no interface of the cut-short connect inside');
        assert.deepEqual(await leases(), leasesBefore, 'no IP lease of the cut-short connect');
        await ok(['network', 'connect', `${name}-net`, name]);
        assert.equal(await ok(['exec', name, 'sh', '-c', 'ls /sys/class/net | grep -c ^eth']), '2');
        await ok(['network', 'disconnect', `${name}-net`, name]);
        await ok(['rm', '-f', name]);
        await ok(['network', 'rm', `${name}-net`]);
        assert.equal((await hostLinks('veth')).length, vethsBefore, 'no veth left on the host');
      },
    };
  }

  function createScenario(): (typeof scenarios)[CrashStep] {
    return {
      arrange: async () => {},
      operate: (name) => daemon.berth(['create', '--name', name, 'busybox', 'true']),
      async verify(name) {
        if ((await state(name)) !== undefined) await ok(['rm', '-f', name]);
        await ok(['create', '--name', name, 'busybox', 'true']);
        await ok(['start', '-a', name]);
        await ok(['rm', name]);
      },
    };
  }

  function startScenario(): (typeof scenarios)[CrashStep] {
    return {
      arrange: (name) => ok(['create', '--name', name, 'busybox', 'sleep', '1000']).then(() => undefined),
      operate: (name) => daemon.berth(['start', name]),
      async verify(name) {
        const after = await state(name);
        assert.ok(after, 'the container is still there');
        if (!after.Running) await ok(['start', name]);
        assert.equal(await ok(['exec', name, 'echo', 'alive']), 'alive');
        await ok(['stop', '-t', '0', name]);
        await ok(['start', name]);
        await ok(['rm', '-f', name]);
      },
    };
  }

  function removeScenario(): (typeof scenarios)[CrashStep] {
    return {
      arrange: (name) => ok(['create', '--name', name, 'busybox', 'true']).then(() => undefined),
      operate: (name) => daemon.berth(['rm', name]),
      async verify(name) {
        if ((await state(name)) !== undefined) await ok(['rm', name]);
        assert.equal(await state(name), undefined);
        await ok(['create', '--name', name, 'busybox', 'true']);
        await ok(['rm', name]);
      },
    };
  }

  function commitScenario(): (typeof scenarios)[CrashStep] {
    return {
      arrange: (name) => ok(['run', '-d', '--name', name, 'busybox', 'sh', '-c', 'echo data > /made; sleep 1000']).then(() => undefined),
      operate: (name) => daemon.berth(['commit', name, `${name}-image`]),
      async verify(name) {
        const after = await state(name);
        assert.equal(after?.Running, true);
        assert.equal(after?.Paused, false);
        assert.equal(await ok(['exec', name, 'echo', 'alive']), 'alive');
        await ok(['commit', name, `${name}-image`]);
        assert.equal(await ok(['run', '--rm', `${name}-image`, 'cat', '/made']), 'data');
        await ok(['rm', '-f', name]);
        await ok(['rmi', `${name}-image`]);
      },
    };
  }

  it('walks every crash step: a restart leaves a clean store, and the operation works again', { timeout: 600_000 }, async () => {
    assert.deepEqual(await problems(), [], 'a clean store to begin with');
    for (const [index, step] of CRASH_STEPS.entries()) {
      const name = `crash-${index}`;
      const scenario = scenarios[step];
      await scenario.arrange(name);
      await crashDuring(step, () => scenario.operate(name));
      assert.deepEqual(await problems(), [], `after a crash at ${step}`);
      await scenario.verify(name);
      assert.deepEqual(await problems(), [], `after repeating the operation of ${step}`);
    }
  });

  it('reports what it finds: a directory without a record, an unreadable record', async () => {
    const { mkdir, writeFile } = await import('node:fs/promises');
    const { join } = await import('node:path');
    const stray = join(daemon.root, 'containers', 'f'.repeat(64));
    await mkdir(stray, { recursive: true });
    const id = await ok(['create', 'busybox', 'true']);
    await daemon.kill9();
    await writeFile(join(daemon.root, 'containers', id, 'config.json'), '{"truncated": ');
    await daemon.restart();
    const found = await problems();
    assert.equal(found.length, 1, found.join('\n'));
    assert.match(found[0]!, new RegExp(`^record unreadable record .*${id}/config.json`));
    // The directory without a record went at the restart; the engine goes on without the unreadable one.
    assert.equal(await ok(['run', '--rm', 'busybox', 'echo', 'ok']), 'ok');
    const { rm } = await import('node:fs/promises');
    await rm(join(daemon.root, 'containers', id), { recursive: true, force: true });
  });
});
