/**
 * Exec through conmon against real crun and runc: output through the attach helper, exit
 * codes, stdin, tty, user and env, typed errors for commands that cannot run, and no session
 * files or monitors left afterwards. The foreground exec (a healthcheck's probe) against both:
 * the same output and exit codes without a conmon, a command that never started, a kill.
 */
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { access, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { silentLogger } from '../../../src/common/index.js';
import { cgroupDirsFor, ensureRuntimeCgroups, runCommand } from '../../../src/sys/index.js';
import { CannotInvokeError, CommandNotFoundError, ConmonRuntime, NoSuchUserError, type ContainerRuntimeSettings, type ExecProcess } from '../../../src/runtime/index.js';
import { PROCESS_TRAITS } from '../../../src/daemon/index.js';
import { ATTACH_HELPER, CONMON, CRUN, RUNC, makeScratch, settingsFor, waitFor, type Scratch } from './fixture.js';

let scratch: Scratch;
let mountedByUs: string[] = [];

before(async () => {
  scratch = await makeScratch();
  mountedByUs = (await ensureRuntimeCgroups()).mounted;
});

after(async () => {
  await scratch.dispose();
  for (const dir of await cgroupDirsFor('/berth-test')) await rmdir(dir).catch(() => {});
  for (const target of mountedByUs) await runCommand('umount', [target]);
});

/** Collect an exec's output: multiplexed frames to [stdout, stderr], or raw bytes with a tty. */
async function collect(exec: ExecProcess, isTty = false): Promise<{ stdout: string; stderr: string; exitCode: number }> {
  const chunks: Buffer[] = [];
  exec.output.on('data', (c: Buffer) => chunks.push(c));
  await new Promise((r) => exec.output.on('end', r));
  const exitCode = await exec.exited;
  await exec.cleanup();
  const all = Buffer.concat(chunks);
  if (isTty) return { stdout: all.toString(), stderr: '', exitCode };
  let stdout = '';
  let stderr = '';
  for (let offset = 0; offset + 8 <= all.length; ) {
    const length = all.readUInt32BE(offset + 4);
    const text = all.subarray(offset + 8, offset + 8 + length).toString();
    if (all[offset] === 1) stdout += text;
    else stderr += text;
    offset += 8 + length;
  }
  return { stdout, stderr, exitCode };
}

for (const [name, runtimePath] of [['crun', CRUN], ['runc', RUNC]] as const) {
  describe(`exec with conmon + ${name}`, () => {
    let runtime: ConmonRuntime;
    let container: ContainerRuntimeSettings;

    before(async () => {
      runtime = new ConmonRuntime({
        runtimePath, conmonPath: CONMON, runtimeRoot: join(scratch.runtimeRoot, name), exitDir: join(scratch.exitDir, name),
        persistDir: join(scratch.persistDir, name), attachHelperPath: ATTACH_HELPER, logger: silentLogger, traits: PROCESS_TRAITS,
      });
      container = settingsFor(scratch, ['sleep', '1000'], { env: ['PATH=/bin', 'FROM=container'] });
      await runtime.create(container, { logPath: join(container.bundleDir, 'ctr.log'), conmonPidFile: join(container.bundleDir, 'conmon.pid') });
      await runtime.start(container.id);
    });

    after(async () => {
      await runtime.delete(container.id);
    });

    function exec(args: string[], overrides: Partial<Parameters<ConmonRuntime['exec']>[0]> = {}): Promise<ExecProcess> {
      return runtime.exec({
        execId: randomBytes(32).toString('hex'), containerId: container.id, bundleDir: container.bundleDir, args, env: [], cwd: '', user: '',
        isTty: false, isStdinOpen: false, isPrivileged: false, ...overrides,
      });
    }

    test('output on both streams and the exit code', async () => {
      const result = await collect(await exec(['sh', '-c', 'echo out; echo err >&2; exit 4']));
      assert.deepEqual(result, { stdout: 'out\n', stderr: 'err\n', exitCode: 4 });
    });

    test('env, working directory and user', async () => {
      const result = await collect(await exec(['sh', '-c', 'echo $FROM $EXTRA; pwd; id -u'], { env: ['EXTRA=exec'], cwd: '/tmp', user: 'app' }));
      assert.deepEqual(result, { stdout: 'container exec\n/tmp\n1000\n', stderr: '', exitCode: 0 });
      await assert.rejects(exec(['true'], { user: 'nosuchuser' }), NoSuchUserError);
    });

    test('stdin is relayed and closed at EOF', async () => {
      const session = await exec(['cat'], { isStdinOpen: true });
      session.input!.end('some input\n');
      assert.deepEqual(await collect(session), { stdout: 'some input\n', stderr: '', exitCode: 0 });
    });

    test('a tty', async () => {
      const result = await collect(await exec(['tty'], { isTty: true }), true);
      assert.match(result.stdout, /^\/dev\/pts\/\d+/);
      assert.equal(result.exitCode, 0);
    });

    test('a missing command is CommandNotFoundError, a non-executable CannotInvokeError; nothing left', async () => {
      const execId = randomBytes(32).toString('hex');
      await assert.rejects(
        runtime.exec({ execId, containerId: container.id, bundleDir: container.bundleDir, args: ['nosuchcommand'], env: [], cwd: '', user: '', isTty: false, isStdinOpen: false, isPrivileged: false }),
        CommandNotFoundError,
      );
      await assert.rejects(exec(['/notexec']), CannotInvokeError);
      const sessionDir = join(scratch.persistDir, 'exec', execId);
      assert.equal(await access(sessionDir).then(() => true, () => false), false);
      // Only the container's own conmon remains.
      await waitFor('exec monitors to exit', async () => {
        const ps = await runCommand('ps', ['-eo', 'args=']);
        const monitors = ps.stdout.split('\n').filter((l) => l.startsWith(CONMON) && l.includes(container.id));
        return monitors.length === 1 ? true : undefined;
      });
    });

    test('a foreground exec: both streams and the exit code with no conmon of its own, a command that never started, a kill', async () => {
      const foreground = new ConmonRuntime({
        runtimePath, conmonPath: CONMON, runtimeRoot: join(scratch.runtimeRoot, name), exitDir: join(scratch.exitDir, name),
        persistDir: join(scratch.persistDir, name), attachHelperPath: ATTACH_HELPER, logger: silentLogger, traits: PROCESS_TRAITS, execsInForeground: true,
      });
      const run = (args: string[]): Promise<ExecProcess> => foreground.exec({
        execId: randomBytes(32).toString('hex'), containerId: container.id, bundleDir: container.bundleDir, args, env: [], cwd: '', user: '',
        isTty: false, isStdinOpen: false, isPrivileged: false, isForeground: true,
      });
      const session = await run(['sh', '-c', 'echo out; echo err >&2; sleep 2; exit 4']);
      assert.equal(session.input, null);
      const ps = await runCommand('ps', ['-eo', 'args=']);
      assert.equal(ps.stdout.split('\n').filter((l) => l.startsWith(CONMON) && l.includes(container.id)).length, 1, 'only the container\'s own conmon');
      assert.deepEqual(await collect(session), { stdout: 'out\n', stderr: 'err\n', exitCode: 4 });

      const missing = await run(['nosuchcommand']);
      await assert.rejects(missing.exited, CommandNotFoundError);
      await missing.cleanup();

      const long = await run(['sleep', '100']);
      await waitFor('the probe to run', async () => ((await runCommand('ps', ['-eo', 'args='])).stdout.includes('sleep 100') ? true : undefined));
      long.kill();
      const killed = await collect(long);
      assert.equal(killed.exitCode, 137);
      const sessionDir = join(scratch.persistDir, 'exec');
      const left = await runCommand('ls', [sessionDir]);
      assert.equal(left.stdout.trim(), '');
    });
  });
}
