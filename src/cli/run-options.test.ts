import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { UsageError } from './exit.js';
import { rewriteGoBooleans } from './go-flags.js';
import { addCreateOptions, splitImageRef, toCreatePlan, type CreateFlags } from './run-options.js';

function parse(argv: string[], isRun = true) {
  const command = addCreateOptions(new Command().helpOption('--help').option('-d, --detach').argument('<image>').argument('[command...]').passThroughOptions().exitOverride());
  command.parse(rewriteGoBooleans(command, argv), { from: 'user' });
  const [image, args] = command.processedArgs as [string, string[]];
  return toCreatePlan(command.opts<CreateFlags>(), image, args, { isRun, env: { HOME_DIR: '/root' } });
}

test('run flags land in the create body as docker sends them', () => {
  const plan = parse(['--rm', '--name', 'web', '-e', 'A=1', '-e', 'HOME_DIR', '-l', 'k=v', '-w', '/srv', '-u', '1000:1000', '-h', 'box',
    '-m', '512m', '--cpus', '1.5', '--privileged', '--cap-add', 'NET_ADMIN', '--cap-drop', 'ALL', '--read-only', '--isolation', 'vm',
    '--runtime', 'crun', '--network', 'none', '--stop-signal', 'SIGINT', '--stop-timeout', '5', '--init', '-p', '127.0.0.1:8080:80',
    '--restart', 'no', '--entrypoint', '/bin/sh', 'busybox', 'echo', '-n', 'hi']);
  const b = plan.body;
  assert.equal(plan.name, 'web');
  assert.equal(b.Image, 'busybox');
  assert.deepEqual(b.Cmd, ['echo', '-n', 'hi']);
  assert.deepEqual(b.Entrypoint, ['/bin/sh']);
  assert.deepEqual(b.Env, ['A=1', 'HOME_DIR=/root']);
  assert.deepEqual(b.Labels, { k: 'v' });
  assert.equal(b.WorkingDir, '/srv');
  assert.equal(b.User, '1000:1000');
  assert.equal(b.Hostname, 'box');
  assert.equal(b.StopSignal, 'SIGINT');
  assert.equal(b.StopTimeout, 5);
  assert.equal(b.AttachStdout, true);
  assert.equal(b.AttachStdin, false);
  assert.deepEqual(b.ExposedPorts, { '80/tcp': {} });
  const h = b.HostConfig!;
  assert.equal(h.AutoRemove, true);
  assert.equal(h.Memory, 512 * 1024 * 1024);
  assert.equal(h.NanoCpus, 1_500_000_000);
  assert.equal(h.Privileged, true);
  assert.deepEqual(h.CapAdd, ['NET_ADMIN']);
  assert.deepEqual(h.CapDrop, ['ALL']);
  assert.equal(h.ReadonlyRootfs, true);
  assert.equal(h.Isolation, 'vm');
  assert.equal(h.Runtime, 'crun');
  assert.equal(h.NetworkMode, 'none');
  assert.equal(h.Init, true);
  assert.deepEqual(h.PortBindings, { '80/tcp': [{ HostIp: '127.0.0.1', HostPort: '8080' }] });
  assert.deepEqual(h.RestartPolicy, { Name: 'no', MaximumRetryCount: 0 });
});

test('defaults: no command means the image default, detached attaches nothing', () => {
  const plan = parse(['-d', 'busybox']);
  assert.equal(plan.body.Cmd, null);
  assert.equal(plan.body.HostConfig?.NetworkMode, 'default');
  assert.equal(plan.attachStdout, false);
  assert.equal(plan.pull, 'missing');
  assert.deepEqual(parse(['-i', 'busybox']).body.OpenStdin, true);
  assert.equal(parse(['-i', 'busybox']).attachStdin, true);
  assert.deepEqual(parse(['--restart', 'on-failure:3', 'busybox']).body.HostConfig?.RestartPolicy, { Name: 'on-failure', MaximumRetryCount: 3 });
});

test('bad values fail with docker messages before any API call', () => {
  const fails = (argv: string[], message: RegExp) => assert.throws(() => parse(argv), (e: unknown) => e instanceof UsageError && message.test(e.message));
  fails(['--memory', 'abc', 'busybox'], /^invalid argument "abc" for "-m, --memory" flag: invalid size: 'abc'$/);
  fails(['--cpus', 'x', 'busybox'], /failed to parse x as a rational number/);
  fails(['--restart', 'sometimes', 'busybox'], /unknown policy 'sometimes'/);
  fails(['--restart', 'on-failure:x', 'busybox'], /maximum retry count must be an integer/);
  fails(['--restart', 'always', '--rm', 'busybox'], /Conflicting options/);
  fails(['--pull', 'sometimes', 'busybox'], /invalid pull option: 'sometimes'/);
  fails(['--stop-timeout', 'soon', 'busybox'], /strconv.ParseInt/);
  fails(['-a', 'stdfoo', 'busybox'], /valid streams are STDIN, STDOUT and STDERR/);
  fails(['-d', '-a', 'stdout', 'busybox'], /Conflicting options: -a and -d/);
  fails(['-p', '99999:80', 'busybox'], /invalid hostPort/);
});

test('image refs split into name and tag as pull needs them', () => {
  assert.deepEqual(splitImageRef('busybox'), { name: 'busybox', tag: 'latest', display: 'busybox:latest' });
  assert.deepEqual(splitImageRef('localhost:5000/a/b:1.2'), { name: 'localhost:5000/a/b', tag: '1.2', display: 'localhost:5000/a/b:1.2' });
  assert.equal(splitImageRef('localhost:5000/a').tag, 'latest');
});

test('--health-* flags become Healthcheck as docker sends it; --no-healthcheck is NONE', () => {
  const plan = parse(['--health-cmd', 'test -f /ok', '--health-interval', '1s', '--health-timeout', '500ms', '--health-retries', '2',
    '--health-start-period', '1m30s', '--health-start-interval', '2s', 'busybox']);
  assert.deepEqual(plan.body.Healthcheck, { Test: ['CMD-SHELL', 'test -f /ok'], Interval: 1e9, Timeout: 5e8, StartPeriod: 90e9, StartInterval: 2e9, Retries: 2 });
  assert.deepEqual(parse(['--health-interval', '3s', 'busybox']).body.Healthcheck?.Test, null);
  assert.equal(parse(['busybox']).body.Healthcheck, undefined);
  assert.deepEqual(parse(['--no-healthcheck', 'busybox']).body.Healthcheck, { Test: ['NONE'] });
  assert.throws(() => parse(['--no-healthcheck', '--health-cmd', 'true', 'busybox']), /--no-healthcheck conflicts with --health-\* options/);
  assert.throws(() => parse(['--health-interval', '-1s', 'busybox']), /--health-interval cannot be negative/);
  assert.throws(() => parse(['--health-timeout', 'soon', 'busybox']), /invalid argument "soon" for "--health-timeout" flag: time: invalid duration "soon"/);
});

test('--device and --device-cgroup-rule as the docker CLI parses them', () => {
  const h = parse(['--device', '/dev/null', '--device', '/dev/zero:/dev/z', '--device', '/dev/full:r', '--device', '/dev/random:/dev/r:rw',
    '--device-cgroup-rule', 'c 1:3 rwm', 'busybox']).body.HostConfig!;
  assert.deepEqual(h.Devices, [
    { PathOnHost: '/dev/null', PathInContainer: '/dev/null', CgroupPermissions: 'rwm' },
    { PathOnHost: '/dev/zero', PathInContainer: '/dev/z', CgroupPermissions: 'rwm' },
    { PathOnHost: '/dev/full', PathInContainer: '/dev/full', CgroupPermissions: 'r' },
    { PathOnHost: '/dev/random', PathInContainer: '/dev/r', CgroupPermissions: 'rw' },
  ]);
  assert.deepEqual(h.DeviceCgroupRules, ['c 1:3 rwm']);
  assert.throws(() => parse(['--device', '/dev/a:/dev/b:x', 'busybox']), /bad mode specified: x/);
  assert.throws(() => parse(['--device', '/dev/a:rel', 'busybox']), /rel is not an absolute path/);
  assert.throws(() => parse(['--device-cgroup-rule', 'c 1 rwm', 'busybox']), /invalid device cgroup format 'c 1 rwm'/);
});

test('resource, namespace, DNS and label flags docker has land in the body as docker sends them', () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-labels-'));
  const labelFile = join(dir, 'labels');
  writeFileSync(labelFile, '# comment\n\na=from-file\nb=2\nbare\n');
  try {
    const plan = parse(['--cpu-period', '100000', '--cpu-quota', '50000', '--cpuset-mems', '0', '--oom-score-adj', '-500', '--group-add', '1000',
      '--group-add', 'audio', '--cgroupns', 'host', '--cgroup-parent', 'mine', '--userns', 'host', '--dns-option', 'ndots:2', '--dns-search', 'example.test',
      '--annotation', 'org.example=1', '--storage-opt', 'size=1G', '--label-file', labelFile, '-l', 'a=flag', '--cidfile', '/tmp/x.cid', '--cpu-count', '2',
      '--gpus', 'all', 'busybox']);
    const h = plan.body.HostConfig!;
    assert.equal(h.CpuPeriod, 100000);
    assert.equal(h.CpuQuota, 50000);
    assert.equal(h.CpusetMems, '0');
    assert.equal(h.OomScoreAdj, -500);
    assert.deepEqual(h.GroupAdd, ['1000', 'audio']);
    assert.equal(h.CgroupnsMode, 'host');
    assert.equal(h.CgroupParent, 'mine');
    assert.equal(h.UsernsMode, 'host');
    assert.deepEqual(h.DnsOptions, ['ndots:2']);
    assert.deepEqual(h.DnsSearch, ['example.test']);
    assert.deepEqual(h.Annotations, { 'org.example': '1' });
    assert.deepEqual(h.StorageOpt, { size: '1G' });
    assert.equal(h.CpuCount, 2);
    assert.deepEqual(h.DeviceRequests, [{ Driver: '', Count: -1, DeviceIDs: null, Capabilities: [['gpu']], Options: {} }]);
    // A -l flag wins over the file, as in docker.
    assert.deepEqual(plan.body.Labels, { a: 'flag', b: '2', bare: '' });
    assert.equal(plan.cidfile, '/tmp/x.cid');
    assert.deepEqual(plan.warnings, []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the per-network flags make an endpoint on the --network given, or on "default"', () => {
  const plan = parse(['--network', 'front', '--ip', '10.1.0.5', '--ip6', 'fd00:1::5', '--network-alias', 'web', '--link-local-ip', '169.254.1.1',
    '--mac-address', '92:d0:c6:0a:29:33', 'busybox']);
  assert.deepEqual(plan.body.NetworkingConfig?.EndpointsConfig, {
    front: { IPAMConfig: { IPv4Address: '10.1.0.5', IPv6Address: 'fd00:1::5', LinkLocalIPs: ['169.254.1.1'] }, Aliases: ['web'], MacAddress: '92:d0:c6:0a:29:33' },
  });
  assert.deepEqual(parse(['--ip', '10.1.0.5', 'busybox']).body.NetworkingConfig?.EndpointsConfig, { default: { IPAMConfig: { IPv4Address: '10.1.0.5' } } });
  assert.deepEqual(parse(['busybox']).body.NetworkingConfig?.EndpointsConfig, {});
});

test('flags refused before any API call, in docker\'s words', () => {
  assert.throws(() => parse(['--cgroupns', 'x', 'busybox']), { message: '--cgroupns: invalid CGROUP mode' });
  assert.throws(() => parse(['--userns', 'x', 'busybox']), { message: '--userns: invalid USER mode' });
  assert.throws(() => parse(['--storage-opt', 'x', 'busybox']), { message: 'invalid storage option' });
  assert.throws(() => parse(['--mac-address', 'x', 'busybox']), { message: 'x is not a valid mac address' });
  assert.throws(() => parse(['--oom-score-adj', 'x', 'busybox']), { message: 'invalid argument "x" for "--oom-score-adj" flag: strconv.ParseInt: parsing "x": invalid syntax' });
  assert.throws(() => parse(['--kernel-memory', 'x', 'busybox']), { message: 'invalid argument "x" for "--kernel-memory" flag: invalid size: \'x\'' });
  assert.throws(() => parse(['--gpus', 'x', 'busybox']), { message: 'invalid argument "x" for "--gpus" flag: invalid count (x): value must be either "all" or an integer: invalid syntax' });
  assert.throws(() => parse(['--disable-content-trust=false', 'busybox']), UsageError);
  assert.throws(() => parse(['--use-api-socket', 'busybox']), { message: '--use-api-socket is not supported by berth' });
  assert.doesNotThrow(() => parse(['--disable-content-trust', 'busybox']));
  // No kernel memory limit is sent (API 1.42+), and the user is told.
  const plan = parse(['--kernel-memory', '64m', 'busybox']);
  assert.equal(plan.body.HostConfig?.KernelMemory, undefined);
  assert.match(plan.warnings[0] ?? '', /--kernel-memory: .*discarded/);
});
