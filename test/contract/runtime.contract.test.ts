/**
 * The Runtime contract (runtime/runtime.ts), one set of cases run against every runtime berthd
 * builds: conmon with crun, with runc, and with berth-vm (a microVM per container), each with the
 * traits the daemon declares for it (daemon/builtins.ts), as containerd runs one suite against
 * every content store. Only the Runtime interface is used; whatever one runtime may do beyond it
 * is tested in its own folder (test/integration/runtime/, test/integration/vm/). Needs root.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { release } from 'node:os';
import { join } from 'node:path';
import { rmdir } from 'node:fs/promises';
import { silentLogger } from '../../src/common/index.js';
import { PROCESS_TRAITS, VM_TRAITS } from '../../src/daemon/index.js';
import { CommandNotFoundError, ConmonRuntime, type ContainerRuntimeSettings, type Runtime, type RuntimeTraits } from '../../src/runtime/index.js';
import { cgroupDirsFor, ensureRuntimeCgroups, runCommand } from '../../src/sys/index.js';
import { cannotRun, REPO } from '../integration/harness.js';
import { ATTACH_HELPER, CONMON, CRUN, RUNC, makeScratch, missingBinary, settingsFor, waitFor, type Scratch } from '../integration/runtime/fixture.js';

const BERTH_VM = join(REPO, 'build', 'berth-vm');
const QEMU = '/usr/bin/qemu-system-x86_64';
/** A VM boots on QEMU's software emulation on machines without usable KVM: seconds, not milliseconds. */
const CASE_TIMEOUT_MS = 180_000;

interface Subject {
  name: string;
  runtimePath: string;
  traits: RuntimeTraits;
  needs: string[];
  isCrun?: boolean;
}

const SUBJECTS: Subject[] = [
  { name: 'crun', runtimePath: CRUN, traits: PROCESS_TRAITS, needs: [CRUN, CONMON, ATTACH_HELPER], isCrun: true },
  { name: 'runc', runtimePath: RUNC, traits: PROCESS_TRAITS, needs: [RUNC, CONMON, ATTACH_HELPER] },
  { name: 'berth-vm', runtimePath: BERTH_VM, traits: VM_TRAITS, needs: [BERTH_VM, QEMU, CONMON, ATTACH_HELPER] },
];

let scratch: Scratch;
let mountedByUs: string[] = [];

before(async () => {
  scratch = await makeScratch();
  mountedByUs = (await ensureRuntimeCgroups()).mounted;
});

after(async () => {
  await scratch?.dispose();
  for (const dir of await cgroupDirsFor('/berth-test')) await rmdir(dir).catch(() => {});
  for (const target of mountedByUs) await runCommand('umount', [target]);
});

/** Docker's multiplexed frames split by stream (1 stdout, 2 stderr), whole frames only. */
function demux(buffer: Buffer): Record<1 | 2, string> {
  const out: Record<1 | 2, string> = { 1: '', 2: '' };
  let offset = 0;
  while (offset + 8 <= buffer.length) {
    const length = buffer.readUInt32BE(offset + 4);
    if (offset + 8 + length > buffer.length) break;
    const stream = buffer[offset] === 2 ? 2 : 1;
    out[stream] += buffer.subarray(offset + 8, offset + 8 + length).toString();
    offset += 8 + length;
  }
  return out;
}

async function collect(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks);
}

for (const subject of SUBJECTS) {
  describe(`Runtime contract: ${subject.name}`, async () => {
    const skip = cannotRun(await missingBinary(...subject.needs));
    let runtime: Runtime;
    const made: ContainerRuntimeSettings[] = [];
    const logPathOf = (s: ContainerRuntimeSettings): string => join(s.bundleDir, 'ctr.log');

    before(() => {
      runtime = new ConmonRuntime({
        runtimePath: subject.runtimePath,
        conmonPath: CONMON,
        runtimeRoot: join(scratch.runtimeRoot, subject.name),
        exitDir: join(scratch.exitDir, subject.name),
        persistDir: join(scratch.persistDir, subject.name),
        attachHelperPath: ATTACH_HELPER,
        logger: silentLogger,
        traits: subject.traits,
        ...(subject.isCrun ? { isCrun: true } : {}),
      });
    });

    after(async () => {
      // A failed case may leave its container: nothing of it may outlive the suite.
      for (const s of made) await runtime?.delete(s.id).catch(() => {});
    });

    /** Create (not start) a container running `args`. */
    async function create(args: string[], overrides: Partial<ContainerRuntimeSettings> = {}): Promise<ContainerRuntimeSettings> {
      const s = settingsFor(scratch, args, overrides);
      made.push(s);
      await runtime.create(s, { logPath: logPathOf(s), conmonPidFile: join(s.bundleDir, 'conmon.pid') });
      return s;
    }

    async function run(args: string[], overrides: Partial<ContainerRuntimeSettings> = {}): Promise<ContainerRuntimeSettings> {
      const s = await create(args, overrides);
      await runtime.start(s.id);
      return s;
    }

    async function logText(s: ContainerRuntimeSettings): Promise<string> {
      let text = '';
      for await (const record of runtime.readLogs(logPathOf(s), {})) text += record.data.toString();
      return text;
    }

    /** Delete twice (idempotent) and check the runtime no longer knows the container. */
    async function removeAndCheck(s: ContainerRuntimeSettings): Promise<void> {
      await runtime.delete(s.id);
      await runtime.delete(s.id);
      assert.equal(await runtime.state(s.id), undefined);
      await runtime.clearExit(s.id);
      assert.equal(await runtime.exitCode(s.id), undefined);
    }

    test('create leaves it created; start runs it; its exit code and output are recorded; delete forgets it', { skip, timeout: CASE_TIMEOUT_MS }, async () => {
      const s = await create(['sh', '-c', 'echo out; echo err >&2; exit 3']);
      assert.equal((await runtime.state(s.id))?.status, 'created');
      assert.equal(await runtime.exitCode(s.id), undefined);
      await runtime.start(s.id);
      assert.equal(await waitFor('exit', () => runtime.exitCode(s.id), CASE_TIMEOUT_MS), 3);
      assert.equal((await runtime.state(s.id))?.status, 'stopped');
      assert.equal(await runtime.stats(s.id), undefined, 'no stats without a running process');
      const records: string[] = [];
      for await (const record of runtime.readLogs(logPathOf(s), {})) records.push(`${record.stream}:${record.data.toString()}`);
      assert.deepEqual(records.sort(), ['stderr:err\n', 'stdout:out\n']);
      await removeAndCheck(s);
    });

    test('a missing command is CommandNotFoundError and leaves nothing', { skip, timeout: CASE_TIMEOUT_MS }, async () => {
      const s = settingsFor(scratch, ['nosuch-command']);
      made.push(s);
      // The contract lets a runtime report it at create or at start.
      await assert.rejects(
        runtime.create(s, { logPath: logPathOf(s), conmonPidFile: join(s.bundleDir, 'conmon.pid') }).then(() => runtime.start(s.id)),
        (err: unknown) => err instanceof CommandNotFoundError && err.exitStatus === 127,
      );
      await removeAndCheck(s);
    });

    test('a running container: state, stats, exec, pause and resume, SIGKILL gives 137', { skip, timeout: CASE_TIMEOUT_MS }, async () => {
      const s = await run(['sleep', '1000']);
      const state = await runtime.state(s.id);
      assert.equal(state?.status, 'running');
      assert.ok((state?.pid ?? 0) > 0, 'a running container has a host pid');
      const stats = await runtime.stats(s.id);
      assert.ok(stats, 'a running container has stats');
      assert.ok(stats.readAtMs > 0);

      const exec = await runtime.exec({
        execId: randomBytes(32).toString('hex'), containerId: s.id, bundleDir: s.bundleDir,
        args: ['sh', '-c', 'echo from-exec; echo to-stderr >&2; exit 5'], env: [], cwd: '', user: '',
        isTty: false, isStdinOpen: false, isPrivileged: false,
      });
      assert.equal(exec.input, null, 'no stdin was asked for');
      const [output, exitCode] = await Promise.all([collect(exec.output), exec.exited]);
      await exec.cleanup();
      assert.equal(exitCode, 5);
      assert.deepEqual(demux(output), { 1: 'from-exec\n', 2: 'to-stderr\n' });

      await assert.rejects(
        runtime.exec({
          execId: randomBytes(32).toString('hex'), containerId: s.id, bundleDir: s.bundleDir,
          args: ['nosuch-command'], env: [], cwd: '', user: '', isTty: false, isStdinOpen: false, isPrivileged: false,
        }),
        (err: unknown) => err instanceof CommandNotFoundError,
      );

      await runtime.pause(s.id);
      assert.equal((await runtime.state(s.id))?.status, 'paused');
      await runtime.resume(s.id);
      assert.equal((await runtime.state(s.id))?.status, 'running');

      await runtime.kill(s.id, 'SIGKILL');
      assert.equal(await waitFor('exit', () => runtime.exitCode(s.id), CASE_TIMEOUT_MS), 137);
      await removeAndCheck(s);
    });

    test('delete stops a running container', { skip, timeout: CASE_TIMEOUT_MS }, async () => {
      const s = await run(['sleep', '1000']);
      assert.equal((await runtime.state(s.id))?.status, 'running');
      await removeAndCheck(s);
    });

    test('attach: stdin in, its end reaches the container as EOF; output as multiplexed frames', { skip, timeout: CASE_TIMEOUT_MS }, async () => {
      const s = await create(['sh', '-c', 'read x; echo got-$x; cat >/dev/null; echo eof >&2'], { isStdinOpen: true });
      const session = await runtime.attach(s.id, { isStdin: true, isTty: false });
      assert.ok(session.input, 'stdin was asked for');
      const output = collect(session.output);
      await runtime.start(s.id);
      session.input.end('hi\nmore\n');
      assert.equal(await waitFor('exit', () => runtime.exitCode(s.id), CASE_TIMEOUT_MS), 0);
      session.close();
      assert.deepEqual(demux(await output), { 1: 'got-hi\n', 2: 'eof\n' });
      await removeAndCheck(s);
    });

    test('its traits are declared honestly', { skip, timeout: CASE_TIMEOUT_MS }, async () => {
      const s = await run(['sh', '-c', 'uname -r; sleep 1000']);
      await waitFor('output', async () => ((await logText(s)) !== '' ? true : undefined), CASE_TIMEOUT_MS);
      // sharesHostKernel: the container sees the host's kernel, or its own.
      assert.equal((await logText(s)).trim() === release(), subject.traits.sharesHostKernel, `kernel ${(await logText(s)).trim()}, host ${release()}`);
      // listsProcesses: the runtime lists the container's processes itself, or cannot.
      const listed = await runtime.guestProcesses(s.id, ['-o', 'pid,comm']);
      if (subject.traits.listsProcesses) {
        assert.equal(listed.exitCode, 0, listed.stderr);
        assert.match(listed.stdout, /sleep/);
      } else {
        assert.notEqual(listed.exitCode, 0);
        const state = await runtime.state(s.id);
        assert.ok((await runtime.listPids(s.id)).includes(state!.pid!), 'the host sees the container\'s init');
      }
      // acceleratorAnnotation: the state names what the run got.
      if (subject.traits.acceleratorAnnotation !== undefined) {
        const accelerator = await waitFor('the accelerator annotation', async () => (await runtime.state(s.id))?.annotations?.[subject.traits.acceleratorAnnotation!], CASE_TIMEOUT_MS);
        assert.match(accelerator, /^(kvm|tcg)$/);
      }
      await removeAndCheck(s);
    });
  });
}
