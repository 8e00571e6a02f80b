import { describe, it, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BerthError, silentLogger } from '../common/index.js';
import { FakeHostTools } from '../sys/index.js';
import { ContainerService, mergeEnv, mergeWithImage, newCreateInput, normalizeSignal, type CreateContainerInput } from './container-service.js';
import { EventBus } from './events.js';
import { ManualClock } from './clock.js';
import type { AttachSession, ContainerRuntimeSettings, EngineImage, ExecProcess, ImagePort, LogRecord, RootfsPort, Runtime, RuntimeState, RuntimeStatus, RuntimeTraits } from './ports.js';

const PROCESS_TRAITS: RuntimeTraits = { isolation: 'process', sharesHostKernel: true, sharesNetworkNamespace: true, hotPlugsNetworks: true, listsProcesses: false };
const VM_TRAITS: RuntimeTraits = { isolation: 'vm', sharesHostKernel: false, sharesNetworkNamespace: false, hotPlugsNetworks: false, listsProcesses: true, exitReasonAnnotation: 'io.berth.vm.error', acceleratorAnnotation: 'io.berth.vm.accel' };

const IMAGE: EngineImage = {
  id: 'sha256:' + 'a'.repeat(64),
  repoTags: ['busybox:latest'],
  config: { config: { Cmd: ['sh'], Env: ['PATH=/bin', 'A=image'], WorkingDir: '/srv', Labels: { from: 'image' } } },
};

class FakeImages implements ImagePort {
  async get(ref: string): Promise<EngineImage> {
    if (ref !== 'busybox' && ref !== IMAGE.id) throw new BerthError('not-found', 'BERTH_NO_SUCH_IMAGE', `No such image: ${ref}`);
    return IMAGE;
  }
  async lowerDirs(): Promise<string[]> {
    return ['/lower'];
  }
}

class FakeRootfs implements RootfsPort {
  mounted = new Set<string>();
  async mount(options: { mergedDir: string }): Promise<void> {
    this.mounted.add(options.mergedDir);
  }
  async unmount(mergedDir: string): Promise<void> {
    this.mounted.delete(mergedDir);
  }
}

/** A runtime whose processes run until the test says they exit. */
class FakeRuntime implements Runtime {
  readonly traits: RuntimeTraits;
  constructor(traits: RuntimeTraits = PROCESS_TRAITS) {
    this.traits = traits;
  }
  async guestProcesses(): Promise<{ exitCode: number; stdout: string; stderr: string }> {
    return { exitCode: 1, stdout: '', stderr: 'no guest' };
  }
  created = new Map<string, ContainerRuntimeSettings>();
  states = new Map<string, RuntimeStatus>();
  exitCodes = new Map<string, number>();
  signals: Array<[string, string]> = [];
  failStartWith: BerthError | undefined;
  onKill: ((id: string, signal: string) => void) | undefined;

  async create(settings: ContainerRuntimeSettings): Promise<{ pid: number; conmonPid: number }> {
    if (this.states.has(settings.id)) throw new BerthError('conflict', 'BERTH_INTERNAL', `container ${settings.id} already exists`);
    this.created.set(settings.id, settings);
    this.states.set(settings.id, 'created');
    return { pid: 4242, conmonPid: 4241 };
  }
  /** When set, start returns only once it settles (a VM guest starting its process). */
  startGate: Promise<void> | undefined;
  async start(id: string): Promise<void> {
    await this.startGate;
    if (this.failStartWith) throw this.failStartWith;
    this.states.set(id, 'running');
  }
  async kill(id: string, signal: string): Promise<void> {
    this.signals.push([id, signal]);
    this.onKill?.(id, signal);
  }
  async delete(id: string): Promise<void> {
    this.created.delete(id);
    this.states.delete(id);
  }
  /** What berth-vm's state would carry, per container. */
  vmAnnotations = new Map<string, Record<string, string>>();
  async state(id: string): Promise<RuntimeState | undefined> {
    const status = this.states.get(id);
    if (status === undefined) return undefined;
    return { status, annotations: this.created.has(id) ? (this.vmAnnotations.get(id) ?? {}) : {} };
  }
  async exitCode(id: string): Promise<number | undefined> {
    return this.exitCodes.get(id);
  }
  async clearExit(id: string): Promise<void> {
    this.exitCodes.delete(id);
  }
  async listPids(): Promise<number[]> {
    return [4242];
  }
  async attach(): Promise<AttachSession> {
    throw new Error('not used');
  }
  async exec(): Promise<ExecProcess> {
    throw new Error('not used');
  }
  async resize(): Promise<void> {}
  async keepLogRotated(): Promise<void> {}
  async reopenLog(): Promise<void> {}
  async *readLogs(): AsyncIterable<LogRecord> {}
  async pause(id: string): Promise<void> {
    this.states.set(id, 'paused');
  }
  async resume(id: string): Promise<void> {
    this.states.set(id, 'running');
  }
  async update(): Promise<void> {}
  async stats(): Promise<undefined> {
    return undefined;
  }
  async wasOomKilled(): Promise<boolean> {
    return false;
  }
}

function createInput(overrides: Partial<CreateContainerInput> = {}): CreateContainerInput {
  return { ...newCreateInput('busybox'), attachStdout: true, attachStderr: true, ...overrides };
}

describe('ContainerService', () => {
  let root: string;
  let runtime: FakeRuntime;
  let rootfs: FakeRootfs;
  let service: ContainerService;
  let events: EventBus;
  let hostTools: FakeHostTools;

  async function open(): Promise<ContainerService> {
    return ContainerService.open({
      root,
      execRoot: join(root, 'run'),
      defaultRuntime: 'crun',
      knownRuntimes: ['crun', 'runc'],
      images: new FakeImages(),
      rootfs,
      runtimes: { crun: runtime, runc: runtime },
      events,
      logger: silentLogger,
      hostTools,
    });
  }

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'berth-engine-'));
    runtime = new FakeRuntime();
    rootfs = new FakeRootfs();
    events = new EventBus();
    hostTools = new FakeHostTools();
    service = await open();
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('creates a container with the image defaults merged in', async () => {
    const { id } = await service.create(createInput({ name: 'web', env: ['A=user'], labels: { mine: '1' } }));
    const record = service.get('web');
    assert.equal(record.id, id);
    assert.equal(record.path, 'sh');
    assert.deepEqual(record.args, []);
    assert.deepEqual(record.settings.env, ['PATH=/bin', 'A=user']);
    assert.equal(record.settings.workingDir, '/srv');
    assert.deepEqual(record.settings.labels, { from: 'image', mine: '1' });
    assert.equal(record.settings.hostname, id.slice(0, 12));
    assert.equal(record.state.status, 'created');
    assert.equal(service.get(id.slice(0, 8)).id, id);
  });

  it('refuses a name in use with docker wording and leaves no directory behind on failure', async () => {
    await service.create(createInput({ name: 'web' }));
    await assert.rejects(service.create(createInput({ name: 'web' })), /The container name "\/web" is already in use/);
    await assert.rejects(service.create(createInput({ imageRef: 'nosuch' })), /No such image: nosuch/);
    await assert.rejects(service.create(createInput({ host: { ...createInput().host, isolation: 'bogus' } })), /invalid isolation 'bogus'/);
    assert.equal((await readdir(join(root, 'containers'))).length, 1);
  });

  it('top shows the host ps rows of the container\'s processes only, the command kept whole', async () => {
    const { id } = await service.create(createInput({ cmd: ['sleep', '1000'] }));
    await assert.rejects(service.top(id, ''), (err: BerthError) => err.code === 'BERTH_CONTAINER_NOT_RUNNING' && err.message === `Container ${id} is not running`);
    await service.start(id);
    hostTools.psOutput = 'UID PID PPID C STIME TTY TIME CMD\nroot 4242 4241 0 10:00 ? 00:00:00 sleep 1000\nroot 99 1 0 10:00 ? 00:00:00 other process\n';
    const top = await service.top(id, '');
    assert.deepEqual(hostTools.psCalls, [['-ef']]);
    assert.deepEqual(top.titles, ['UID', 'PID', 'PPID', 'C', 'STIME', 'TTY', 'TIME', 'CMD']);
    assert.deepEqual(top.processes, [['root', '4242', '4241', '0', '10:00', '?', '00:00:00', 'sleep 1000']]);
    hostTools.psOutput = 'no pid column\n';
    await assert.rejects(service.top(id, 'x'), /Couldn't find PID field in ps output/);
    await service.handleExit(id, 0);
  });

  it('top (and exec) asked while the runtime start is under way wait for it: the record says running first', async () => {
    const { id } = await service.create(createInput({ cmd: ['sleep', '1000'] }));
    let openGate = (): void => {};
    runtime.startGate = new Promise<void>((resolve) => (openGate = resolve));
    const starting = service.start(id);
    for (let i = 0; i < 1000 && service.get(id).state.status !== 'running'; i++) await new Promise((r) => setImmediate(r));
    assert.equal(service.get(id).state.status, 'running');
    hostTools.psOutput = 'UID PID PPID C STIME TTY TIME CMD\nroot 4242 4241 0 10:00 ? 00:00:00 sleep 1000\n';
    const top = service.top(id, '');
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
    assert.deepEqual(hostTools.psCalls, [], 'top ran before the start returned');
    openGate();
    await starting;
    assert.equal((await top).processes.length, 1);
    await service.untilStarted(id);
    await service.handleExit(id, 0);
  });

  it('prune removes stopped containers and counts their upper dirs through du', async () => {
    const { id } = await service.create(createInput({ cmd: ['true'] }));
    hostTools.sizes.set(service.pathsOf(id).upper, 4096);
    const pruned = await service.prune({});
    assert.deepEqual(pruned, { deleted: [id], spaceReclaimedBytes: 4096 });
  });

  it('starts, records the exit, wakes waiters and cleans up', async () => {
    const { id } = await service.create(createInput({ cmd: ['true'] }));
    const nextExit = service.wait(id, 'next-exit');
    await service.start(id);
    assert.equal(service.get(id).state.status, 'running');
    assert.equal(service.get(id).state.pid, 4242);
    assert.equal(rootfs.mounted.size, 1);
    await assert.rejects(service.start(id), (err: BerthError) => err.kind === 'not-modified');

    await service.handleExit(id, 3);
    assert.deepEqual(await nextExit, { statusCode: 3, error: undefined });
    const record = service.get(id);
    assert.equal(record.state.status, 'exited');
    assert.equal(record.state.exitCode, 3);
    assert.equal(rootfs.mounted.size, 0);
    assert.equal(runtime.created.size, 0);
  });

  it("a VM container's run records its accelerator, and a VM that ended without an exit status is Exited (255) with the reason", async () => {
    const vmRuntime = new FakeRuntime(VM_TRAITS);
    const vmService = await ContainerService.open({
      root,
      execRoot: join(root, 'run'),
      defaultRuntime: 'crun',
      knownRuntimes: ['crun', 'runc', 'berth-vm'],
      images: new FakeImages(),
      rootfs,
      runtimes: { crun: runtime, runc: runtime, 'berth-vm': vmRuntime },
      events,
      logger: silentLogger,
      hostTools,
    });
    const { id } = await vmService.create(createInput({ cmd: ['sleep', '9'], host: { ...createInput().host, isolation: 'vm' } }));
    vmRuntime.vmAnnotations.set(id, { 'io.berth.vm.accel': 'tcg' });
    await vmService.start(id);
    // Noted a second after the start.
    for (let i = 0; i < 400 && vmService.get(id).state.vmAccelerator === undefined; i++) await new Promise((r) => setTimeout(r, 5));
    assert.equal(vmService.get(id).state.vmAccelerator, 'tcg');
    vmRuntime.vmAnnotations.set(id, { 'io.berth.vm.accel': 'tcg', 'io.berth.vm.error': "the VM ended without the container's exit status: Kernel panic" });
    // berth-vm's status when its VM ended without the container's.
    await vmService.handleExit(id, 255);
    const state = vmService.get(id).state;
    assert.equal(state.status, 'exited');
    assert.equal(state.exitCode, 255);
    assert.equal(state.error, "the VM ended without the container's exit status: Kernel panic");
    assert.equal(state.vmAccelerator, 'tcg');
    // A process container never asks.
    const plain = await vmService.create(createInput({ cmd: ['true'] }));
    runtime.vmAnnotations.set(plain.id, { 'io.berth.vm.error': 'not for process containers' });
    await vmService.start(plain.id);
    await vmService.handleExit(plain.id, 0);
    assert.equal(vmService.get(plain.id).state.error, '');
    assert.equal(vmService.get(plain.id).state.exitCode, 0);
    // A VM container that is done at once gets its accelerator from the exit.
    const quick = await vmService.create(createInput({ cmd: ['true'], host: { ...createInput().host, isolation: 'vm' } }));
    vmRuntime.vmAnnotations.set(quick.id, { 'io.berth.vm.accel': 'kvm' });
    await vmService.start(quick.id);
    await vmService.handleExit(quick.id, 0);
    assert.equal(vmService.get(quick.id).state.vmAccelerator, 'kvm');
    assert.equal(vmService.get(quick.id).state.error, '');
  });

  it('removes an --rm container after it exits and wakes removed waiters', async () => {
    const { id } = await service.create(createInput({ host: { ...createInput().host, autoRemove: true } }));
    const removed = service.wait(id, 'removed');
    await service.start(id);
    await service.handleExit(id, 0);
    assert.deepEqual(await removed, { statusCode: 0, error: undefined });
    assert.throws(() => service.get(id), /No such container/);
  });

  it('refuses to remove a running container without force; force kills it first', async () => {
    const { id } = await service.create(createInput({ name: 'busy' }));
    await service.start(id);
    await assert.rejects(service.remove(id, { force: false, removeVolumes: false }), /cannot remove container "\/busy": container is running/);
    runtime.onKill = (killed, signal) => {
      if (signal === 'SIGKILL') void service.handleExit(killed, 137);
    };
    await service.remove(id, { force: true, removeVolumes: false });
    assert.throws(() => service.get(id), /No such container/);
    assert.equal(rootfs.mounted.size, 0);
  });

  it('stops with the stop signal, then SIGKILL after the timeout', async () => {
    const { id } = await service.create(createInput());
    await service.start(id);
    runtime.onKill = (killed, signal) => {
      if (signal === 'SIGKILL') void service.handleExit(killed, 137);
    };
    await service.stop(id, { timeoutSec: 0.05 });
    assert.deepEqual(runtime.signals.map(([, s]) => s), ['SIGTERM', 'SIGKILL']);
    assert.equal(service.get(id).state.exitCode, 137);
    await assert.rejects(service.stop(id, {}), (err: BerthError) => err.kind === 'not-modified');
  });

  it('records 127 when the command is not found and undoes the start', async () => {
    const { id } = await service.create(createInput({ cmd: ['nosuch'] }));
    runtime.failStartWith = new BerthError('invalid-argument', 'BERTH_COMMAND_NOT_FOUND', 'exec: "nosuch": executable file not found in $PATH');
    await assert.rejects(service.start(id), /executable file not found/);
    const record = service.get(id);
    assert.equal(record.state.status, 'created');
    assert.equal(record.state.exitCode, 127);
    assert.equal(rootfs.mounted.size, 0);
    assert.equal(runtime.created.size, 0);
  });

  it('recovers after a restart: running stays running, exited gets its code', async () => {
    const a = (await service.create(createInput({ name: 'aa' }))).id;
    const b = (await service.create(createInput({ name: 'bb' }))).id;
    await service.start(a);
    await service.start(b);
    runtime.exitCodes.set(b, 7);
    const reopened = await open();
    await reopened.recover();
    assert.equal(reopened.get('aa').state.status, 'running');
    assert.equal(reopened.get('bb').state.status, 'exited');
    assert.equal(reopened.get('bb').state.exitCode, 7);
  });

  it('starts again a container whose runtime state a crash left after its exit was recorded', async () => {
    const { id } = await service.create(createInput({ name: 'leftover' }));
    await service.start(id);
    await service.handleExit(id, 0);
    // As if berthd died after the record said exited and before the runtime's delete.
    runtime.states.set(id, 'stopped');
    const reopened = await open();
    await reopened.recover();
    await reopened.start(id);
    assert.equal(reopened.get(id).state.status, 'running');
    await reopened.handleExit(id, 0);
  });

  it('lists with docker filters', async () => {
    const a = (await service.create(createInput({ name: 'alpha', labels: { tier: 'web' } }))).id;
    await service.create(createInput({ name: 'beta' }));
    await service.start(a);
    assert.deepEqual((await service.list({ all: false, limit: -1, filters: {} })).map((r) => r.name), ['alpha']);
    assert.equal((await service.list({ all: true, limit: -1, filters: {} })).length, 2);
    assert.deepEqual((await service.list({ all: true, limit: -1, filters: { label: ['tier=web'] } })).map((r) => r.name), ['alpha']);
    assert.deepEqual((await service.list({ all: true, limit: -1, filters: { status: ['created'] } })).map((r) => r.name), ['beta']);
    assert.deepEqual((await service.list({ all: true, limit: -1, filters: { name: ['bet'] } })).map((r) => r.name), ['beta']);
    await assert.rejects(service.list({ all: true, limit: -1, filters: { bogus: ['x'] } }), /invalid filter 'bogus'/);
  });
});

describe('restart policies and kill, on an injected clock', () => {
  let root: string;
  let runtime: FakeRuntime;
  let clock: ManualClock;
  let service: ContainerService;

  async function open(): Promise<ContainerService> {
    return ContainerService.open({
      root,
      execRoot: join(root, 'run'),
      defaultRuntime: 'crun',
      knownRuntimes: ['crun'],
      images: new FakeImages(),
      rootfs: new FakeRootfs(),
      runtimes: { crun: runtime },
      events: new EventBus(),
      logger: silentLogger,
      clock,
      hostTools: new FakeHostTools(),
    });
  }

  /** Let the operations the clock set off (under the container's lock) finish: poll for `check`, then wait for the lock. */
  async function until(id: string, check: () => boolean, what: string): Promise<void> {
    const deadline = Date.now() + 10_000;
    while (!check() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 1));
    assert.ok(check(), what);
    await service.withLock(id, async () => {});
  }

  function withPolicy(name: 'always' | 'unless-stopped' | 'on-failure', maximumRetryCount = 0): CreateContainerInput {
    return createInput({ name: 'svc', host: { ...createInput().host, restartPolicy: { name, maximumRetryCount } } });
  }

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'berth-restart-'));
    runtime = new FakeRuntime();
    clock = new ManualClock();
    service = await open();
    // A killed process exits a moment later, as conmon reports it.
    runtime.onKill = (id, signal) => {
      if (signal === 'SIGKILL' || signal === 'SIGTERM') setImmediate(() => void service.handleExit(id, signal === 'SIGKILL' ? 137 : 143));
    };
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('is restarting between runs, with a backoff of 100 ms doubling and reset after a 10 s run', async () => {
    const { id } = await service.create(withPolicy('always'));
    await service.start(id);
    const delays: number[] = [];
    for (let run = 1; run <= 4; run++) {
      await service.handleExit(id, 1);
      assert.equal(service.get(id).state.status, 'restarting');
      delays.push(...clock.pendingDelays());
      clock.advance(clock.pendingDelays()[0]!);
      await until(id, () => service.get(id).state.status === 'running', `run ${run + 1} started`);
    }
    assert.deepEqual(delays, [100, 200, 400, 800]);
    assert.equal(service.get(id).state.restartCount, 4);
    // A run of 10 s starts the backoff over.
    clock.advance(10_000);
    await service.handleExit(id, 1);
    assert.deepEqual(clock.pendingDelays(), [100]);
  });

  it('refuses rm of a restarting container with docker\'s message; stop and kill keep it down', async () => {
    const { id } = await service.create(withPolicy('always'));
    await service.start(id);
    await service.handleExit(id, 1);
    await assert.rejects(service.remove(id, { force: false, removeVolumes: false }), /cannot remove container "\/svc": container is restarting: stop the container before removing or force remove/);
    await service.stop(id, {});
    assert.equal(service.get(id).state.status, 'exited');
    assert.deepEqual(clock.pendingDelays(), []);
    await service.start(id);
    await service.handleExit(id, 1);
    assert.equal(service.get(id).state.status, 'restarting');
    await service.kill(id);
    assert.equal(service.get(id).state.status, 'exited');
    assert.deepEqual(clock.pendingDelays(), []);
    await service.remove(id, { force: false, removeVolumes: false });
  });

  it('counts on-failure:N restarts and never restarts a clean exit', async () => {
    const { id } = await service.create(withPolicy('on-failure', 2));
    await service.start(id);
    for (let count = 1; count <= 2; count++) {
      await service.handleExit(id, 3);
      assert.equal(service.get(id).state.status, 'restarting');
      clock.advance(clock.pendingDelays()[0]!);
      await until(id, () => service.get(id).state.restartCount === count && service.get(id).state.status === 'running', `restart ${count}`);
    }
    await service.handleExit(id, 3);
    assert.equal(service.get(id).state.status, 'exited');
    assert.equal(service.get(id).state.restartCount, 2);
    const clean = await service.create(createInput({ host: { ...createInput().host, restartPolicy: { name: 'on-failure', maximumRetryCount: 0 } } }));
    await service.start(clean.id);
    await service.handleExit(clean.id, 0);
    assert.equal(service.get(clean.id).state.status, 'exited');
  });

  it('keeps an unless-stopped container down across a daemon restart once stopped; always comes back', async () => {
    const unless = (await service.create(withPolicy('unless-stopped'))).id;
    const always = (await service.create({ ...withPolicy('always'), name: 'svc2' })).id;
    for (const id of [unless, always]) {
      await service.start(id);
      await service.stop(id, {});
      assert.equal(service.get(id).state.status, 'exited');
    }
    // The new daemon has its own timers: the old one's pending restart must not fire into it.
    clock = new ManualClock();
    service = await open();
    await service.recover();
    assert.equal(service.get(unless).state.status, 'exited');
    assert.equal(service.get(always).state.status, 'restarting');
    clock.advance(0);
    await until(always, () => service.get(always).state.status === 'running', 'always came back');
  });

  it('comes back restarting after a daemon restart that found it between runs', async () => {
    const { id } = await service.create(withPolicy('always'));
    await service.start(id);
    await service.handleExit(id, 1);
    // The new daemon has its own timers: the old one's pending restart must not fire into it.
    clock = new ManualClock();
    service = await open();
    await service.recover();
    assert.equal(service.get(id).state.status, 'restarting');
    clock.advance(0);
    await until(id, () => service.get(id).state.status === 'running', 'restarted');
  });

  it('returns from a SIGKILL only once the exit is recorded', async () => {
    const { id } = await service.create(createInput());
    await service.start(id);
    await service.kill(id);
    const state = service.get(id).state;
    assert.equal(state.status, 'exited');
    assert.equal(state.exitCode, 137);
  });
});

describe('merging with the image', () => {
  const image = { Entrypoint: ['/entry'], Cmd: ['default'], Env: ['PATH=/bin'] };
  const base = createInput();

  it('keeps the image entrypoint and cmd when the user gives neither', () => {
    const merged = mergeWithImage(base, image);
    assert.deepEqual([merged.entrypoint, merged.cmd], [['/entry'], ['default']]);
  });

  it('replaces cmd only when the user gives one', () => {
    const merged = mergeWithImage({ ...base, cmd: ['mine'] }, image);
    assert.deepEqual([merged.entrypoint, merged.cmd], [['/entry'], ['mine']]);
  });

  it('drops the image cmd when the user sets an entrypoint, and clears it with ""', () => {
    const own = mergeWithImage({ ...base, entrypoint: ['/other'] }, image);
    assert.deepEqual([own.entrypoint, own.cmd], [['/other'], []]);
    const cleared = mergeWithImage({ ...base, entrypoint: [''], cmd: ['echo', 'hi'] }, image);
    assert.deepEqual([cleared.entrypoint, cleared.cmd], [null, ['echo', 'hi']]);
  });

  it('lets user env override the image env by name', () => {
    assert.deepEqual(mergeEnv(['PATH=/bin', 'A=1'], ['A=2', 'B=3']), ['PATH=/bin', 'A=2', 'B=3']);
  });
});

describe('normalizeSignal', () => {
  it('accepts names with or without SIG and numbers', () => {
    assert.equal(normalizeSignal('TERM'), 'SIGTERM');
    assert.equal(normalizeSignal('sigkill'), 'SIGKILL');
    assert.equal(normalizeSignal('9'), 'SIGKILL');
  });
  it('refuses unknown signals with docker wording', () => {
    assert.throws(() => normalizeSignal('BOGUS'), /Invalid signal: BOGUS/);
    assert.throws(() => normalizeSignal('0'), /Invalid signal: 0/);
  });
});
