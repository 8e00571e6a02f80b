/**
 * The schema walk: every key of the container create body (Config, HostConfig,
 * NetworkingConfig's endpoints) and of the update body is either honoured, with an effect
 * test named here, or refused by unsupported-settings.ts. A key added to the zod schemas
 * without either fails this test.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { containerCreateRequestSchema, containerUpdateRequestSchema, endpointSettingsSchema, hostConfigSchema } from '../wire/index.js';
import {
  refuseUnsupportedCreateSettings,
  refuseUnsupportedEndpointSettings,
  refuseUnsupportedUpdateSettings,
  UNSUPPORTED_CREATE_SETTINGS,
  UNSUPPORTED_ENDPOINT_SETTINGS,
  UNSUPPORTED_UPDATE_SETTINGS,
} from './unsupported-settings.js';

// dist/src/api/translate -> the repository.
const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..');

/** Where a key's effect is tested: a test file and a string in it that exercises the key. */
type Coverage = { test: string; uses: string } | { readOnly: string } | { knownGap: string };

const CONTAINERS = 'test/integration/containers';
const SEMANTICS = 'test/integration/semantics';
const t = (file: string, uses: string): Coverage => ({ test: file, uses });

/** Honoured keys of the create body and the tests that show their effect. */
const HONOURED_CREATE: Record<string, Coverage> = {
  Hostname: t('test/integration/containers/isolation.test.ts', "'-h', 'myhost'"),
  Domainname: t(`${CONTAINERS}/settings.test.ts`, "'--domainname'"),
  User: t(`${CONTAINERS}/docker-cli.test.ts`, "'-u'"),
  AttachStdin: t('test/integration/tty/attach-stdin.test.ts', "'-i'"),
  AttachStdout: t(`${CONTAINERS}/docker-cli.test.ts`, "keeps stdout and stderr apart"),
  AttachStderr: t(`${CONTAINERS}/docker-cli.test.ts`, "keeps stdout and stderr apart"),
  ExposedPorts: t('test/integration/network/network.test.ts', "'--expose'"),
  Tty: t('test/integration/tty/interactive.test.ts', "'-it'"),
  OpenStdin: t('test/integration/tty/attach-stdin.test.ts', "'-i'"),
  StdinOnce: t('test/integration/tty/attach-stdin.test.ts', 'StdinOnce'),
  Env: t('test/integration/exec/exec.test.ts', "'-e'"),
  Cmd: t(`${CONTAINERS}/docker-cli.test.ts`, "'echo', 'hello'"),
  Image: t(`${CONTAINERS}/docker-cli.test.ts`, 'No such image'),
  Volumes: t('test/integration/volumes/volumes.test.ts', 'Volumes'),
  WorkingDir: t('test/integration/exec/exec.test.ts', "'-w'"),
  Entrypoint: t('test/integration/vm/vm-flags.test.ts', "'--entrypoint'"),
  MacAddress: t('test/integration/network/network.test.ts', "'--mac-address'"),
  Labels: t(`${CONTAINERS}/docker-cli.test.ts`, "'--label'"),
  StopSignal: t(`${CONTAINERS}/settings.test.ts`, "'--stop-signal'"),
  StopTimeout: t(`${CONTAINERS}/settings.test.ts`, "'--stop-timeout'"),
  Healthcheck: t(`${CONTAINERS}/healthcheck.test.ts`, "'--health-cmd'"),
  'HostConfig.CpuShares': t('test/integration/resources/resources.test.ts', "'--cpu-shares'"),
  'HostConfig.Memory': t('test/integration/resources/resources.test.ts', "'-m'"),
  'HostConfig.CpuPeriod': t(`${CONTAINERS}/settings.test.ts`, "'--cpu-period'"),
  'HostConfig.CpuQuota': t(`${CONTAINERS}/settings.test.ts`, "'--cpu-quota'"),
  'HostConfig.CpusetCpus': t('test/integration/resources/resources.test.ts', "'--cpuset-cpus'"),
  'HostConfig.MemoryReservation': t('test/integration/resources/resources.test.ts', "'--memory-reservation'"),
  'HostConfig.MemorySwap': t('test/integration/resources/resources.test.ts', "'--memory-swap'"),
  'HostConfig.NanoCpus': t('test/integration/resources/resources.test.ts', "'--cpus'"),
  'HostConfig.OomKillDisable': t(`${CONTAINERS}/settings.test.ts`, "'--oom-kill-disable'"),
  'HostConfig.PidsLimit': t('test/integration/resources/resources.test.ts', "'--pids-limit'"),
  'HostConfig.Ulimits': t('test/integration/resources/resources.test.ts', "'--ulimit'"),
  'HostConfig.Binds': t('test/integration/volumes/volumes.test.ts', "'-v'"),
  'HostConfig.ContainerIDFile': { readOnly: 'the CLI writes the file itself; dockerd ignores the field too' },
  'HostConfig.LogConfig': t(`${CONTAINERS}/logging.test.ts`, "'--log-driver'"),
  'HostConfig.NetworkMode': t('test/integration/containers/isolation.test.ts', "'--network'"),
  'HostConfig.PortBindings': t('test/integration/network/network.test.ts', "'-p'"),
  'HostConfig.RestartPolicy': t(`${CONTAINERS}/restart-policy.test.ts`, "'--restart'"),
  'HostConfig.AutoRemove': t(`${CONTAINERS}/docker-cli.test.ts`, "'--rm'"),
  'HostConfig.VolumeDriver': t('test/integration/volumes/berth-flags.test.ts', "'--volume-driver'"),
  'HostConfig.VolumesFrom': t('test/integration/volumes/volumes.test.ts', "'--volumes-from'"),
  'HostConfig.Mounts': t('test/integration/volumes/volumes.test.ts', "'--mount'"),
  'HostConfig.ConsoleSize': t('test/integration/tty/interactive.test.ts', 'stty size'),
  'HostConfig.CapAdd': t('test/integration/containers/hardening.test.ts', "'--cap-add'"),
  'HostConfig.CapDrop': t('test/integration/containers/hardening.test.ts', "'--cap-drop'"),
  'HostConfig.CgroupnsMode': t(`${CONTAINERS}/settings.test.ts`, "'--cgroupns'"),
  'HostConfig.Dns': t('test/integration/network/dns-forward.test.ts', "'--dns'"),
  'HostConfig.DnsOptions': t('test/integration/network/dns-forward.test.ts', "'--dns-option'"),
  'HostConfig.DnsSearch': t('test/integration/network/dns-forward.test.ts', "'--dns-search'"),
  'HostConfig.ExtraHosts': t('test/integration/network/network.test.ts', "'--add-host'"),
  'HostConfig.GroupAdd': t(`${CONTAINERS}/settings.test.ts`, "'--group-add'"),
  'HostConfig.IpcMode': t(`${CONTAINERS}/settings.test.ts`, "'--ipc'"),
  'HostConfig.OomScoreAdj': t(`${CONTAINERS}/settings.test.ts`, "'--oom-score-adj'"),
  'HostConfig.PidMode': t(`${CONTAINERS}/settings.test.ts`, "'--pid'"),
  'HostConfig.Privileged': t('test/integration/containers/isolation.test.ts', "'--privileged'"),
  'HostConfig.PublishAllPorts': t('test/integration/network/network.test.ts', "'-P'"),
  'HostConfig.ReadonlyRootfs': t('test/integration/volumes/volumes.test.ts', "'--read-only'"),
  'HostConfig.SecurityOpt': t('test/integration/containers/hardening.test.ts', "'--security-opt'"),
  'HostConfig.Tmpfs': t('test/integration/volumes/volumes.test.ts', "'--tmpfs'"),
  'HostConfig.UTSMode': t(`${CONTAINERS}/settings.test.ts`, "'--uts'"),
  'HostConfig.ShmSize': t('test/integration/resources/resources.test.ts', "'--shm-size'"),
  'HostConfig.Sysctls': t(`${CONTAINERS}/settings.test.ts`, "'--sysctl'"),
  'HostConfig.Runtime': t('test/integration/containers/isolation.test.ts', "'--runtime'"),
  'HostConfig.Devices': t(`${CONTAINERS}/devices.test.ts`, "'--device'"),
  'HostConfig.DeviceCgroupRules': t(`${CONTAINERS}/devices.test.ts`, "'--device-cgroup-rule'"),
  'HostConfig.Init': t(`${CONTAINERS}/init.test.ts`, "'--init'"),
  'HostConfig.MemorySwappiness': t(`${SEMANTICS}/resources.test.ts`, "'--memory-swappiness', '30'"),
  'HostConfig.CpuRealtimePeriod': t(`${SEMANTICS}/resources.test.ts`, "'--cpu-rt-period', '100000'"),
  'HostConfig.CpuRealtimeRuntime': t(`${SEMANTICS}/resources.test.ts`, "'--cpu-rt-runtime', '1000'"),
  'HostConfig.BlkioWeight': t(`${SEMANTICS}/resources.test.ts`, "'--blkio-weight', '300'"),
  'HostConfig.BlkioWeightDevice': t(`${SEMANTICS}/resources.test.ts`, "'--blkio-weight-device'"),
  'HostConfig.BlkioDeviceReadBps': t(`${SEMANTICS}/resources.test.ts`, "'--device-read-bps'"),
  'HostConfig.BlkioDeviceWriteBps': t(`${SEMANTICS}/resources.test.ts`, "'--device-write-bps'"),
  'HostConfig.BlkioDeviceReadIOps': t(`${SEMANTICS}/resources.test.ts`, "'--device-read-iops'"),
  'HostConfig.BlkioDeviceWriteIOps': t(`${SEMANTICS}/resources.test.ts`, "'--device-write-iops'"),
  'HostConfig.Isolation': t('test/integration/containers/isolation.test.ts', "'--isolation"),
  'Endpoint.IPAMConfig.IPv4Address': t('test/integration/network/network.test.ts', "'--ip'"),
  'Endpoint.IPAMConfig.IPv6Address': t('test/integration/network/ipv6.test.ts', "'--ip6'"),
  'Endpoint.MacAddress': t('test/integration/network/network.test.ts', "'--mac-address'"),
  'Endpoint.Aliases': t('test/integration/network/network.test.ts', "'--network-alias'"),
  'HostConfig.Links': t(`${SEMANTICS}/links.test.ts`, "'--link', 'lk-db:db'"),
  'Endpoint.Links': t(`${SEMANTICS}/links.test.ts`, 'EndpointsConfig'),
  'Endpoint.NetworkID': { readOnly: "an inspect field; dockerd ignores it in requests" },
  'Endpoint.EndpointID': { readOnly: "an inspect field; dockerd ignores it in requests" },
  'Endpoint.Gateway': { readOnly: "an inspect field; dockerd ignores it in requests" },
  'Endpoint.IPAddress': { readOnly: "an inspect field; dockerd ignores it in requests" },
  'Endpoint.IPPrefixLen': { readOnly: "an inspect field; dockerd ignores it in requests" },
  'Endpoint.IPv6Gateway': { readOnly: "an inspect field; dockerd ignores it in requests" },
  'Endpoint.GlobalIPv6Address': { readOnly: "an inspect field; dockerd ignores it in requests" },
  'Endpoint.GlobalIPv6PrefixLen': { readOnly: "an inspect field; dockerd ignores it in requests" },
  'Endpoint.DNSNames': { readOnly: "an inspect field; dockerd ignores it in requests" },
};

/** Honoured keys of the update body. */
const HONOURED_UPDATE: Record<string, Coverage> = {
  CpuShares: t('test/integration/resources/resources.test.ts', "'update'"),
  Memory: t('test/integration/resources/resources.test.ts', "'update', '-m'"),
  MemorySwap: t('test/integration/resources/resources.test.ts', "'--memory-swap'"),
  MemoryReservation: t('test/integration/resources/resources.test.ts', "'--memory-reservation'"),
  NanoCpus: t('test/integration/resources/resources.test.ts', "'--cpus', '1'"),
  CpusetCpus: t('test/integration/resources/resources.test.ts', "'--cpuset-cpus'"),
  PidsLimit: t(`${CONTAINERS}/settings.test.ts`, 'PidsLimit: -5'),
  CpuPeriod: t(`${SEMANTICS}/resources.test.ts`, "'update', '--cpu-period'"),
  CpuQuota: t(`${SEMANTICS}/resources.test.ts`, "'--cpu-quota', '30000'"),
  CpuRealtimePeriod: t(`${SEMANTICS}/resources.test.ts`, "'update', '--cpu-rt-period'"),
  CpuRealtimeRuntime: t(`${SEMANTICS}/resources.test.ts`, "'update', '--cpu-rt-period', '100000', '--cpu-rt-runtime'"),
  BlkioWeight: t(`${SEMANTICS}/resources.test.ts`, "'update', '--blkio-weight'"),
  RestartPolicy: t('test/integration/resources/resources.test.ts', "'--restart', 'on-failure:3'"),
};

interface ZodLike {
  shape?: Record<string, ZodLike>;
  unwrap?: () => ZodLike;
}

/** The object shape behind optional/nullable wrappers, if the schema is an object. */
function shapeOf(schema: ZodLike): Record<string, ZodLike> | undefined {
  let current: ZodLike | undefined = schema;
  for (let depth = 0; current && depth < 5; depth++) {
    if (current.shape) return current.shape;
    current = current.unwrap?.();
  }
  return undefined;
}

function createKeys(): string[] {
  const keys: string[] = [];
  for (const key of Object.keys(containerCreateRequestSchema.shape)) {
    if (key === 'HostConfig') keys.push(...Object.keys(hostConfigSchema.shape).map((k) => `HostConfig.${k}`));
    else if (key !== 'NetworkingConfig') keys.push(key);
  }
  for (const [key, schema] of Object.entries(endpointSettingsSchema.shape)) {
    const nested = key === 'IPAMConfig' ? shapeOf(schema as ZodLike) : undefined;
    if (nested) keys.push(...Object.keys(nested).map((k) => `Endpoint.${key}.${k}`));
    else keys.push(`Endpoint.${key}`);
  }
  return keys;
}

/** A body with `path` set to a value every refusal counts as set. */
function bodyWith(path: string): Record<string, unknown> {
  const value: unknown = 7;
  const body: Record<string, unknown> = {};
  let cursor = body;
  const parts = path.split('.');
  parts.slice(0, -1).forEach((part) => {
    cursor[part] = {};
    cursor = cursor[part] as Record<string, unknown>;
  });
  cursor[parts.at(-1)!] = value;
  return body;
}

async function assertCovered(key: string, coverage: Coverage | undefined, refused: boolean): Promise<void> {
  assert.ok(coverage !== undefined || refused, `${key}: neither honoured with an effect test nor refused`);
  assert.ok(!(coverage && 'test' in coverage && refused), `${key}: both honoured and refused`);
  if (coverage && 'test' in coverage) {
    const text = await readFile(join(REPO, coverage.test), 'utf8').catch(() => '');
    assert.ok(text.includes(coverage.uses), `${key}: ${coverage.test} does not contain ${coverage.uses}`);
  }
}

describe('the schema walk: every create and update field is honoured or refused', () => {
  it('covers every key of the create body', async () => {
    const refused = new Set(UNSUPPORTED_CREATE_SETTINGS.map((s) => s.path));
    const refusedEndpoint = new Set(UNSUPPORTED_ENDPOINT_SETTINGS.map((s) => `Endpoint.${s.path}`));
    for (const key of createKeys()) await assertCovered(key, HONOURED_CREATE[key], refused.has(key) || refusedEndpoint.has(key));
  });

  it('covers every key of the update body', async () => {
    const refused = new Set(UNSUPPORTED_UPDATE_SETTINGS.map((s) => s.path));
    for (const key of Object.keys(containerUpdateRequestSchema.shape)) await assertCovered(key, HONOURED_UPDATE[key], refused.has(key));
  });

  it('refuses each unsupported field with its name, and lets its unset value through', () => {
    for (const setting of UNSUPPORTED_CREATE_SETTINGS) {
      assert.throws(() => refuseUnsupportedCreateSettings(bodyWith(setting.path)), (err: Error) => err.message.startsWith(`${setting.path} (${setting.flag}) is not supported`), setting.path);
    }
    for (const setting of UNSUPPORTED_UPDATE_SETTINGS) {
      assert.throws(() => refuseUnsupportedUpdateSettings(bodyWith(setting.path)), (err: Error) => err.message.startsWith(`${setting.path} (`), setting.path);
    }
    for (const setting of UNSUPPORTED_ENDPOINT_SETTINGS) {
      assert.throws(() => refuseUnsupportedEndpointSettings(bodyWith(setting.path)), /is not supported/, setting.path);
      assert.throws(() => refuseUnsupportedCreateSettings({ NetworkingConfig: { EndpointsConfig: { net1: bodyWith(setting.path) } } }), (err: Error) => err.message.startsWith(`NetworkingConfig.EndpointsConfig.net1.${setting.path} (`), setting.path);
    }
    // What docker's CLI sends for a plain `docker run` (unset values) passes.
    refuseUnsupportedCreateSettings({
      Healthcheck: null, OnBuild: null,
      HostConfig: { MemorySwappiness: -1, BlkioWeightDevice: [], Devices: [], DeviceRequests: null, CgroupnsMode: '', IpcMode: '', UsernsMode: '', Links: null, Init: null, CpuCount: 0 },
      NetworkingConfig: { EndpointsConfig: { default: { Links: null, DriverOpts: null, GwPriority: 0, IPAMConfig: null } } },
    });
    refuseUnsupportedCreateSettings({ Healthcheck: { Test: ['NONE'] }, HostConfig: { IpcMode: 'shareable', UsernsMode: 'host', CgroupnsMode: 'private' } });
  });
});
