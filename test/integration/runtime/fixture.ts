/**
 * Test fixture for the runtime integration tests: a busybox rootfs in a temp dir, a private
 * runtime root, exit dir and persist dir, and helpers that wait for conditions without timing asserts.
 */
import { access, chmod, copyFile, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { constants } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { runCommand } from '../../../src/sys/index.js';
import type { ContainerRuntimeSettings } from '../../../src/runtime/index.js';

export const CRUN = '/usr/bin/crun';
export const RUNC = '/usr/sbin/runc';
export const CONMON = '/usr/bin/conmon';
export const BUSYBOX = '/bin/busybox';
export const ATTACH_HELPER = process.env['BERTH_ATTACH_HELPER'] ?? join(import.meta.dirname, '..', '..', '..', '..', 'build', 'berth-attach');

/** Why a binary-dependent test must skip, or undefined when everything is present. */
export async function missingBinary(...paths: string[]): Promise<string | undefined> {
  for (const path of paths) {
    try {
      await access(path, constants.X_OK);
    } catch {
      return `${path} is not installed`;
    }
  }
  return undefined;
}

/** A scratch area with a busybox rootfs; `dispose` removes everything. */
export interface Scratch {
  dir: string;
  rootfsDir: string;
  runtimeRoot: string;
  exitDir: string;
  persistDir: string;
  dispose(): Promise<void>;
}

export async function makeScratch(): Promise<Scratch> {
  const dir = await mkdtemp('/tmp/berth-runtime-it-');
  const rootfsDir = join(dir, 'rootfs');
  for (const sub of ['bin', 'etc', 'proc', 'sys', 'dev', 'tmp', 'root', 'home/app']) await mkdir(join(rootfsDir, sub), { recursive: true });
  await copyFile(BUSYBOX, join(rootfsDir, 'bin', 'busybox'));
  await chmod(join(rootfsDir, 'bin', 'busybox'), 0o755);
  const applets = (await runCommand(BUSYBOX, ['--list'])).stdout.split('\n').filter((a) => a !== '' && a !== 'busybox');
  for (const applet of applets) await symlink('busybox', join(rootfsDir, 'bin', applet)).catch(() => {});
  await writeFile(join(rootfsDir, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\n');
  await writeFile(join(rootfsDir, 'etc', 'group'), 'root:x:0:\napp:x:1000:\nstaff:x:50:app\n');
  await writeFile(join(rootfsDir, 'notexec'), 'just data\n', { mode: 0o644 });
  return {
    dir,
    rootfsDir,
    runtimeRoot: join(dir, 'runtime-root'),
    exitDir: join(dir, 'exits'),
    persistDir: join(dir, 'persist'),
    dispose: () => rm(dir, { recursive: true, force: true }),
  };
}

/** Settings for a container in `scratch` running `args`. */
export function settingsFor(scratch: Scratch, args: string[], overrides: Partial<ContainerRuntimeSettings> = {}): ContainerRuntimeSettings {
  const id = randomBytes(32).toString('hex');
  return {
    id,
    bundleDir: join(scratch.dir, 'bundles', id),
    rootfsDir: scratch.rootfsDir,
    args,
    env: [],
    cwd: '/',
    user: '',
    hostname: id.slice(0, 12),
    isTty: false,
    isStdinOpen: false,
    isPrivileged: false,
    capAdd: [],
    capDrop: [],
    isReadonlyRootfs: false,
    securityOpt: [],
    cgroupsPath: `/berth-test/${id}`,
    networkNamespace: 'new',
    ...overrides,
  };
}

/** Poll `check` until it returns a value other than undefined; fails after `limitMs`. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined>, limitMs = 15_000): Promise<T> {
  const deadline = Date.now() + limitMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
