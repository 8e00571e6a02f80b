import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, writeFile, rm, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { InvalidArgumentError } from '../../common/index.js';
import type { ContainerRuntimeSettings } from '../types.js';
import { buildRuntimeSpec, computeCapabilities, writeRuntimeSpec, type SpecHost } from './build-runtime-spec.js';
import { ALL_CAPABILITIES, DEFAULT_CAPABILITIES, DEFAULT_MASKED_PATHS } from './defaults.js';
import type { MobySeccompProfile } from './seccomp-profile.js';

const profile: MobySeccompProfile = {
  defaultAction: 'SCMP_ACT_ERRNO',
  archMap: [{ architecture: 'SCMP_ARCH_X86_64', subArchitectures: [] }, { architecture: 'SCMP_ARCH_AARCH64', subArchitectures: [] }],
  syscalls: [
    { names: ['read'], action: 'SCMP_ACT_ALLOW' },
    { names: ['mount'], action: 'SCMP_ACT_ALLOW', includes: { caps: ['CAP_SYS_ADMIN'] } },
  ],
};

const host: SpecHost = {
  loadDefaultSeccomp: async () => profile,
  loadSeccompFile: async () => ({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['reboot'], action: 'SCMP_ACT_ERRNO' }] }),
  knownCapabilities: async () => [...ALL_CAPABILITIES],
  hostDevices: async () => [{ path: '/dev/sda', type: 'b', major: 8, minor: 0 }],
  kernelRelease: '6.1.0',
};

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'berth-spec-'));
  await mkdir(join(dir, 'rootfs', 'etc'), { recursive: true });
  await writeFile(join(dir, 'rootfs', 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n');
  await writeFile(join(dir, 'rootfs', 'etc', 'group'), 'root:x:0:\napp:x:1000:\n');
});
after(() => rm(dir, { recursive: true, force: true }));

function settings(overrides: Partial<ContainerRuntimeSettings> = {}): ContainerRuntimeSettings {
  return {
    id: 'a'.repeat(64), bundleDir: join(dir, 'bundle'), rootfsDir: join(dir, 'rootfs'), args: ['sh', '-c', 'echo hi'],
    env: ['FOO=bar'], cwd: '', user: '', hostname: 'aaaaaaaaaaaa', isTty: false, isStdinOpen: false, isPrivileged: false,
    capAdd: [], capDrop: [], isReadonlyRootfs: false, securityOpt: [], networkNamespace: 'new', ...overrides,
  };
}

test('defaults match docker: caps, namespaces, mounts, masked paths, seccomp, cgroup path', async () => {
  const spec = await buildRuntimeSpec(settings(), host);
  assert.equal(spec.process!.cwd, '/');
  assert.deepEqual(spec.process!.user, { uid: 0, gid: 0 });
  assert.deepEqual(spec.process!.capabilities!.bounding, [...DEFAULT_CAPABILITIES]);
  assert.deepEqual(spec.process!.capabilities!.effective, [...DEFAULT_CAPABILITIES]);
  assert.equal(spec.process!.capabilities!.ambient, undefined);
  assert.equal(spec.process!.capabilities!.inheritable, undefined);
  assert.equal(spec.process!.rlimits, undefined);
  assert.deepEqual(spec.process!.env, [
    'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'FOO=bar', 'HOSTNAME=aaaaaaaaaaaa', 'HOME=/root',
  ]);
  assert.deepEqual(spec.linux!.namespaces!.map((n) => n.type).sort(), ['cgroup', 'ipc', 'mount', 'network', 'pid', 'uts']);
  assert.equal(spec.linux!.cgroupsPath, `/berth/${'a'.repeat(64)}`);
  assert.deepEqual(spec.linux!.maskedPaths, [...DEFAULT_MASKED_PATHS]);
  assert.ok(spec.linux!.readonlyPaths!.includes('/proc/sys'));
  const byDest = new Map(spec.mounts!.map((m) => [m.destination, m]));
  for (const dest of ['/proc', '/dev', '/dev/pts', '/dev/shm', '/dev/mqueue', '/sys', '/sys/fs/cgroup']) assert.ok(byDest.has(dest), dest);
  assert.ok(byDest.get('/dev/shm')!.options!.includes('size=67108864'));
  assert.ok(byDest.get('/sys')!.options!.includes('ro'));
  assert.deepEqual(spec.linux!.seccomp!.syscalls, [{ names: ['read'], action: 'SCMP_ACT_ALLOW' }]);
  assert.deepEqual(spec.linux!.resources!.devices![0], { allow: false, access: 'rwm' });
  assert.equal(spec.root!.readonly, false);
});

test('non-root users get only the bounding set, and their home', async () => {
  const spec = await buildRuntimeSpec(settings({ user: 'app' }), host);
  assert.deepEqual(spec.process!.user, { uid: 1000, gid: 1000 });
  assert.deepEqual(spec.process!.capabilities, { bounding: [...DEFAULT_CAPABILITIES] });
  assert.ok(spec.process!.env!.includes('HOME=/home/app'));
});

test('unknown user is rejected with docker message', async () => {
  await assert.rejects(buildRuntimeSpec(settings({ user: 'nobody2' }), host), /unable to find user nobody2: no matching entries in passwd file/);
});

test('cap-add SYS_ADMIN also opens its seccomp rules', async () => {
  const spec = await buildRuntimeSpec(settings({ capAdd: ['sys_admin'], capDrop: ['NET_RAW'] }), host);
  const caps = spec.process!.capabilities!.bounding!;
  assert.ok(caps.includes('CAP_SYS_ADMIN'));
  assert.ok(!caps.includes('CAP_NET_RAW'));
  assert.ok(spec.linux!.seccomp!.syscalls!.some((s) => s.names.includes('mount')));
});

test('computeCapabilities: ALL, drop ALL then add, unknown names', () => {
  assert.deepEqual(computeCapabilities(['ALL'], ['CHOWN'], ALL_CAPABILITIES), ALL_CAPABILITIES.filter((c) => c !== 'CAP_CHOWN'));
  assert.deepEqual(computeCapabilities(['NET_ADMIN'], ['ALL'], ALL_CAPABILITIES), ['CAP_NET_ADMIN']);
  assert.throws(() => computeCapabilities(['FOO'], [], ALL_CAPABILITIES), (err: unknown) => err instanceof InvalidArgumentError && err.message === 'unknown capability: "CAP_FOO"');
});

test('privileged: all caps, no seccomp, no masked paths, rw sys, host devices, all device access', async () => {
  const spec = await buildRuntimeSpec(settings({ isPrivileged: true, capDrop: ['CHOWN'] }), host);
  assert.deepEqual(spec.process!.capabilities!.bounding, [...ALL_CAPABILITIES]);
  assert.equal(spec.linux!.seccomp, undefined);
  assert.equal(spec.linux!.maskedPaths, undefined);
  assert.equal(spec.linux!.readonlyPaths, undefined);
  assert.ok(!spec.mounts!.find((m) => m.destination === '/sys')!.options!.includes('ro'));
  assert.deepEqual(spec.linux!.devices, [{ path: '/dev/sda', type: 'b', major: 8, minor: 0 }]);
  assert.deepEqual(spec.linux!.resources!.devices, [{ allow: true, access: 'rwm' }]);
});

test('security options: unconfined, inline profile, no-new-privileges, bad option', async () => {
  const unconfined = await buildRuntimeSpec(settings({ securityOpt: ['seccomp=unconfined', 'no-new-privileges'] }), host);
  assert.equal(unconfined.linux!.seccomp, undefined);
  assert.equal(unconfined.process!.noNewPrivileges, true);
  const inline = await buildRuntimeSpec(settings({ securityOpt: ['seccomp={"defaultAction":"SCMP_ACT_LOG"}'] }), host);
  assert.equal(inline.linux!.seccomp!.defaultAction, 'SCMP_ACT_LOG');
  const file = await buildRuntimeSpec(settings({ securityOpt: ['seccomp=/some/profile.json'] }), host);
  assert.deepEqual(file.linux!.seccomp!.syscalls, [{ names: ['reboot'], action: 'SCMP_ACT_ERRNO' }]);
  await assert.rejects(buildRuntimeSpec(settings({ securityOpt: ['bogus'] }), host), /invalid --security-opt 1: "bogus"/);
});

test('network namespace: host omits it, a path joins it', async () => {
  const hostNet = await buildRuntimeSpec(settings({ networkNamespace: 'host' }), host);
  assert.ok(!hostNet.linux!.namespaces!.some((n) => n.type === 'network'));
  const joined = await buildRuntimeSpec(settings({ networkNamespace: { path: '/run/berth/netns/x' } }), host);
  assert.deepEqual(joined.linux!.namespaces!.find((n) => n.type === 'network'), { type: 'network', path: '/run/berth/netns/x' });
});

test('ipc namespace: a path (a pod\'s handle) joins it', async () => {
  const joined = await buildRuntimeSpec(settings({ ipcNamespacePath: '/run/berth/cri/ipc/x' }), host);
  assert.deepEqual(joined.linux!.namespaces!.filter((n) => n.type === 'ipc'), [{ type: 'ipc', path: '/run/berth/cri/ipc/x' }]);
});

test('etc files, binds, tty, read-only rootfs, shm size and limits', async () => {
  const spec = await buildRuntimeSpec(settings({
    isTty: true, isReadonlyRootfs: true, shmSizeBytes: 1024, memoryLimitBytes: 1 << 26, pidsLimit: 50,
    etcFiles: { hosts: '/h/hosts', resolvConf: '/h/resolv.conf' },
    mounts: [{ type: 'bind', source: '/data', destination: '/data', isReadOnly: true }, { type: 'tmpfs', destination: '/dev/shm', options: ['size=1m'] }],
    annotations: { 'org.example': 'x' },
  }), host);
  assert.equal(spec.process!.terminal, true);
  assert.ok(spec.process!.env!.includes('TERM=xterm'));
  assert.equal(spec.root!.readonly, true);
  const hosts = spec.mounts!.find((m) => m.destination === '/etc/hosts')!;
  assert.deepEqual(hosts, { destination: '/etc/hosts', type: 'bind', source: '/h/hosts', options: ['rbind', 'rprivate', 'ro'] });
  assert.ok(!spec.mounts!.some((m) => m.destination === '/etc/hostname'));
  assert.ok(spec.mounts!.find((m) => m.destination === '/data')!.options!.includes('ro'));
  const shm = spec.mounts!.filter((m) => m.destination === '/dev/shm');
  assert.equal(shm.length, 1);
  assert.ok(shm[0]!.options!.includes('size=1m'));
  assert.deepEqual(spec.linux!.resources!.memory, { limit: 1 << 26 });
  assert.deepEqual(spec.linux!.resources!.pids, { limit: 50 });
  assert.deepEqual(spec.annotations, { 'org.example': 'x' });
});

test('writeRuntimeSpec writes config.json in the bundle', async () => {
  await writeRuntimeSpec(settings(), host);
  const written = JSON.parse(await readFile(join(dir, 'bundle', 'config.json'), 'utf8')) as { process: { args: string[] } };
  assert.deepEqual(written.process.args, ['sh', '-c', 'echo hi']);
});
