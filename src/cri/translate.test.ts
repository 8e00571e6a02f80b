import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { demultiplex, logPathOf } from './containers.js';
import type { SandboxRecord } from './sandbox-store.js';
import { containerState, createInputOf, nanosOf, portMappingsOf, resourcesOf, sandboxSettings, seccompOption, userOf } from './translate.js';
import type { ContainerConfig, LinuxContainerResources, LinuxContainerSecurityContext, NamespaceOption, PodSandboxConfig } from './wire.js';

const sandbox: SandboxRecord = {
  id: 'p'.repeat(64), createdAtNs: '1', metadata: { name: 'web', uid: 'u1', namespace: 'ns', attempt: 1 }, labels: {}, annotations: {},
  runtimeHandler: '', runtime: 'crun', state: 'SANDBOX_READY', hostname: 'web', logDirectory: '/var/log/pods/x',
  dns: { servers: ['10.0.0.10'], searches: ['svc.local'], options: ['ndots:5'] }, hostNetwork: false, hostPid: false, hostIpc: false,
  ip: '10.88.0.2', ipcPath: '/run/berth/cri/ipc/p', cgroupParent: '/kubepods/podu1', ownsCgroupParent: false, sysctls: { 'net.ipv4.ip_forward': '1' }, portMappings: [],
};

const noResources: LinuxContainerResources = { cpu_period: '0', cpu_quota: '0', cpu_shares: '0', memory_limit_in_bytes: '0', oom_score_adj: '0', cpuset_cpus: '', cpuset_mems: '', hugepage_limits: [], unified: {}, memory_swap_limit_in_bytes: '0' };

function security(overrides: Partial<LinuxContainerSecurityContext> = {}): LinuxContainerSecurityContext {
  return {
    capabilities: null, privileged: false, namespace_options: null, selinux_options: null, run_as_user: null, run_as_username: '', run_as_group: null,
    readonly_rootfs: false, supplemental_groups: [], supplemental_groups_policy: 'Merge', apparmor_profile: '', seccomp_profile_path: '', no_new_privs: false,
    masked_paths: [], readonly_paths: [], seccomp: { profile_type: 'RuntimeDefault', localhost_ref: '' }, apparmor: null, ...overrides,
  };
}

function config(overrides: Partial<ContainerConfig> = {}): ContainerConfig {
  return {
    metadata: { name: 'app', attempt: 2 }, image: { image: 'busybox', annotations: {}, user_specified_image: '', runtime_handler: '' }, command: [], args: [], working_dir: '',
    envs: [], mounts: [], devices: [], labels: { a: 'b' }, annotations: { c: 'd' }, log_path: 'app/2.log', stdin: false, stdin_once: false, tty: false,
    linux: { resources: noResources, security_context: security() }, CDI_devices: [], ...overrides,
  };
}

describe('CRI translation', () => {
  it('turns RFC 3339 times into nanoseconds, docker\'s zero time into 0', () => {
    assert.equal(nanosOf('2026-12-07T15:00:00.123456789Z'), '1796655600123456789');
    assert.equal(nanosOf('2026-12-07T15:00:00Z'), '1796655600000000000');
    assert.equal(nanosOf('0001-01-01T00:00:00Z'), '0');
  });

  it('maps engine states to CRI states', () => {
    assert.equal(containerState('created'), 'CONTAINER_CREATED');
    assert.equal(containerState('paused'), 'CONTAINER_RUNNING');
    assert.equal(containerState('exited'), 'CONTAINER_EXITED');
    assert.equal(containerState('removing'), 'CONTAINER_UNKNOWN');
  });

  it('makes an engine create of a container config, in the pod\'s namespaces, cgroup and log path', () => {
    const input = createInputOf(sandbox, config({ command: ['/bin/sh'], args: ['-c', 'true'], envs: [{ key: 'A', value: '1=2' }] }), '/var/log/pods/x/app/2.log');
    assert.equal(input.name, 'k8s_app_web_ns_u1_2');
    assert.deepEqual(input.entrypoint, ['/bin/sh']);
    assert.deepEqual(input.cmd, ['-c', 'true']);
    assert.deepEqual(input.env, ['A=1=2']);
    assert.equal(input.host.networkMode, `pod:${sandbox.id}`);
    assert.equal(input.host.ipcNamespacePath, sandbox.ipcPath);
    assert.equal(input.host.cgroupParent, '/kubepods/podu1');
    assert.equal(input.host.logPath, '/var/log/pods/x/app/2.log');
    assert.deepEqual([input.host.dns, input.host.dnsSearch, input.host.dnsOptions], [['10.0.0.10'], ['svc.local'], ['ndots:5']]);
    assert.deepEqual(input.host.sysctls, { 'net.ipv4.ip_forward': '1' });
    assert.deepEqual(input.host.securityOpt, []);
    assert.equal(input.labels['io.kubernetes.sandbox.id'], sandbox.id);
    assert.equal(input.labels['a'], 'b');
    // Args without a command keep the image's entrypoint; a command without args drops the image's cmd.
    assert.deepEqual([createInputOf(sandbox, config({ args: ['x'] }), '').entrypoint, createInputOf(sandbox, config({ args: ['x'] }), '').cmd], [null, ['x']]);
    assert.deepEqual(createInputOf(sandbox, config({ command: ['x'] }), '').cmd, []);
    assert.deepEqual([createInputOf(sandbox, config(), '').entrypoint, createInputOf(sandbox, config(), '').cmd], [null, null]);
  });

  it('honours the security context and refuses what it cannot, by field', () => {
    const input = createInputOf(sandbox, config({ linux: { resources: noResources, security_context: security({
      capabilities: { add_capabilities: ['NET_ADMIN'], drop_capabilities: ['KILL'], add_ambient_capabilities: [] },
      run_as_user: { value: '1000' }, run_as_group: { value: '50' }, readonly_rootfs: true, supplemental_groups: ['7'], no_new_privs: true,
      seccomp: { profile_type: 'Unconfined', localhost_ref: '' },
    }) } }), '');
    assert.deepEqual([input.host.capAdd, input.host.capDrop, input.user, input.host.readonlyRootfs, input.host.groupAdd], [['NET_ADMIN'], ['KILL'], '1000:50', true, ['7']]);
    assert.deepEqual(input.host.securityOpt, ['seccomp=unconfined', 'no-new-privileges']);
    const refused = (sc: Partial<LinuxContainerSecurityContext>, pattern: RegExp): void =>
      assert.throws(() => createInputOf(sandbox, config({ linux: { resources: noResources, security_context: security(sc) } }), ''), pattern);
    refused({ selinux_options: { user: '', role: '', type: 'spc_t', level: '' } }, /selinux_options: SELinux/);
    refused({ capabilities: { add_capabilities: [], drop_capabilities: [], add_ambient_capabilities: ['NET_RAW'] } }, /add_ambient_capabilities/);
    refused({ apparmor: { profile_type: 'Localhost', localhost_ref: 'p' } }, /apparmor: AppArmor/);
    refused({ masked_paths: ['/proc/kcore'] }, /masked_paths/);
    refused({ supplemental_groups_policy: 'Strict' }, /supplemental_groups_policy/);
    // pid POD needs a pod made with a shared process namespace; TARGET needs its target.
    refused({ namespace_options: { network: 'POD', pid: 'POD', ipc: 'POD', target_id: '', userns_options: null } }, /namespace_options\.pid: POD: the pod sandbox was not made with a shared process namespace/);
    refused({ namespace_options: { network: 'POD', pid: 'TARGET', ipc: 'POD', target_id: '', userns_options: null } }, /namespace_options\.target_id: pid TARGET needs/);
    const pidOf = (ns: Partial<NamespaceOption>, pod: SandboxRecord = sandbox) =>
      createInputOf(pod, config({ linux: { resources: noResources, security_context: security({ namespace_options: { network: 'POD', pid: 'CONTAINER', ipc: 'POD', target_id: '', userns_options: null, ...ns } }) } }), '').host;
    const shared = { ...sandbox, sharesPid: true, pidHandle: { path: '/run/berth/cri/pid/p1', holderPid: 42 } };
    assert.deepEqual([pidOf({ pid: 'POD' }, shared).pidMode, pidOf({ pid: 'POD' }, shared).pidNamespacePath], ['', '/run/berth/cri/pid/p1']);
    assert.equal(pidOf({ pid: 'CONTAINER' }, shared).pidNamespacePath, undefined);
    assert.equal(pidOf({ pid: 'TARGET', target_id: 'c0ffee' }).pidMode, 'container:c0ffee');
    refused({ namespace_options: { network: 'NODE', pid: 'CONTAINER', ipc: 'POD', target_id: '', userns_options: null } }, /namespace_options\.network: a container shares its pod/);
    refused({ namespace_options: { network: 'POD', pid: 'CONTAINER', ipc: 'POD', target_id: '', userns_options: { mode: 'POD', uids: [], gids: [] } } }, /userns_options/);
    assert.throws(() => createInputOf(sandbox, config({ devices: [{ container_path: '/dev/x', host_path: '/dev/null', permissions: 'r' }] }), ''), /^.*config\.devices: /);
    assert.throws(() => createInputOf(sandbox, config({ image: null }), ''), /config\.image\.image/);
  });

  it('turns mounts into binds with their propagation, refusing the unsupported kinds', () => {
    const mount = { container_path: '/data', host_path: '/srv/data', readonly: true, selinux_relabel: false, propagation: 'PROPAGATION_HOST_TO_CONTAINER' as const, uidMappings: [], gidMappings: [], recursive_read_only: false, image: null };
    assert.deepEqual(createInputOf(sandbox, config({ mounts: [mount] }), '').host.binds, ['/srv/data:/data:ro,rslave']);
    assert.throws(() => createInputOf(sandbox, config({ mounts: [{ ...mount, selinux_relabel: true }] }), ''), /config\.mounts\[0\]\.selinux_relabel/);
    assert.throws(() => createInputOf(sandbox, config({ mounts: [{ ...mount, host_path: 'rel' }] }), ''), /config\.mounts\[0\]\.host_path/);
  });

  it('reads resources, refusing what the engine cannot limit', () => {
    assert.deepEqual(resourcesOf({ ...noResources, memory_limit_in_bytes: '1048576', cpu_quota: '50000', cpu_period: '100000', cpu_shares: '512', hugepage_limits: [{ page_size: '2MB', limit: '0' }] }, 'r'),
      { memoryBytes: 1048576, memorySwapBytes: 1048576, cpuShares: 512, cpuQuota: 50000, cpuPeriod: 100000, cpusetCpus: '', oomScoreAdj: 0 });
    assert.throws(() => resourcesOf({ ...noResources, hugepage_limits: [{ page_size: '2MB', limit: '4194304' }] }, 'r'), /r\.hugepage_limits/);
    assert.throws(() => resourcesOf({ ...noResources, unified: { 'memory.high': '1' } }, 'r'), /r\.unified/);
    assert.throws(() => resourcesOf({ ...noResources, cpuset_mems: '0' }, 'r'), /r\.cpuset_mems/);
  });

  it('checks a pod config: metadata, namespaces and ports', () => {
    const pod: PodSandboxConfig = { metadata: { name: 'p', uid: 'u', namespace: 'n', attempt: 0 }, hostname: '', log_directory: '', dns_config: null, port_mappings: [], labels: {}, annotations: {}, linux: null };
    assert.equal(sandboxSettings(pod).hostNetwork, false);
    assert.throws(() => sandboxSettings({ ...pod, metadata: null }), /config\.metadata/);
    const node = { ...pod, linux: { cgroup_parent: '', sysctls: {}, overhead: null, resources: null, security_context: { namespace_options: { network: 'NODE' as const, pid: 'NODE' as const, ipc: 'NODE' as const, target_id: '', userns_options: null }, selinux_options: null, run_as_user: null, run_as_group: null, readonly_rootfs: false, supplemental_groups: [], supplemental_groups_policy: 'Merge' as const, privileged: false, seccomp: null, apparmor: null, seccomp_profile_path: '' } } };
    assert.deepEqual([sandboxSettings(node).hostNetwork, sandboxSettings(node).hostPid, sandboxSettings(node).hostIpc], [true, true, true]);
    const withNamespaces = (pid: NamespaceOption['pid'], targetId = '') => ({ ...node, linux: { ...node.linux, security_context: { ...node.linux.security_context, namespace_options: { network: 'POD' as const, pid, ipc: 'POD' as const, target_id: targetId, userns_options: null } } } });
    assert.equal(sandboxSettings(withNamespaces('POD')).sharesPid, true);
    assert.equal(sandboxSettings(withNamespaces('CONTAINER')).sharesPid, false);
    assert.throws(() => sandboxSettings(withNamespaces('TARGET', 'c0ffee')), /pid: TARGET is for a container/);
    assert.throws(() => sandboxSettings({ ...node, port_mappings: [{ protocol: 'TCP', container_port: 80, host_port: 8080, host_ip: '' }] }), /port_mappings/);
    assert.deepEqual(portMappingsOf([{ protocol: 'UDP', container_port: 53, host_port: 5353, host_ip: '127.0.0.1' }, { protocol: 'TCP', container_port: 80, host_port: 0, host_ip: '' }]),
      [{ containerPort: 53, hostPort: 5353, hostIp: '127.0.0.1', protocol: 'udp' }]);
  });

  it('picks the seccomp profile and the user', () => {
    assert.equal(seccompOption(null, '', 'f'), 'seccomp=unconfined');
    assert.equal(seccompOption(null, 'runtime/default', 'f'), undefined);
    assert.equal(seccompOption(null, 'localhost/etc/p.json', 'f'), 'seccomp=etc/p.json');
    assert.equal(seccompOption({ profile_type: 'Localhost', localhost_ref: '/etc/p.json' }, '', 'f'), 'seccomp=/etc/p.json');
    assert.equal(userOf(security({ run_as_username: 'nobody' })), 'nobody');
    assert.throws(() => userOf(security({ run_as_user: { value: '1' }, run_as_username: 'x' })), /run_as_username/);
  });

  it('keeps log paths inside the pod\'s log directory and splits exec output', () => {
    assert.equal(logPathOf('/var/log/pods/x', 'app/0.log'), '/var/log/pods/x/app/0.log');
    assert.equal(logPathOf('/var/log/pods/x', ''), undefined);
    assert.throws(() => logPathOf('/var/log/pods/x', '../../y.log'), /config\.log_path/);
    assert.throws(() => logPathOf('/var/log/pods/x', '../xy/a.log'), /config\.log_path/);
    const frame = (stream: number, text: string): Buffer => Buffer.concat([Buffer.from([stream, 0, 0, 0, 0, 0, 0, text.length]), Buffer.from(text)]);
    const { stdout, stderr } = demultiplex([frame(1, 'out'), frame(2, 'err'), frame(1, '!')]);
    assert.deepEqual([stdout.toString(), stderr.toString()], ['out!', 'err']);
  });
});
