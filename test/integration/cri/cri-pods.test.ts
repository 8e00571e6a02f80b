/**
 * Pods over the CRI against a private berthd: a pod sandbox with its own network namespace on the
 * default bridge, two containers sharing its localhost, logs in the kubelet's format at the path
 * it names, ExecSync, a failing container's status, refusals by field, and cleanup that leaves no
 * namespace, mount or cgroup behind.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, readlink, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { status } from '@grpc/grpc-js';
import { cannotRun, eventually, mountsUnder, startTestDaemon, type TestDaemon } from '../harness.js';
import { criClient, rejection, type CriClient } from './cri-client.js';
import { runCommand } from '../../../src/sys/index.js';

const skip = cannotRun(!existsSync('/usr/lib/cni/bridge') && 'no CNI plugins in /usr/lib/cni');

/** A pod config as the kubelet sends one (cgroupfs driver, its own pod cgroup left to Berth). */
function podConfig(name: string, logDirectory: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    metadata: { name, uid: `uid-${name}`, namespace: 'default', attempt: 0 },
    hostname: name,
    log_directory: logDirectory,
    labels: { app: name, 'io.kubernetes.pod.name': name },
    annotations: { 'example.com/note': `pod ${name}` },
    linux: { security_context: { namespace_options: { network: 'POD', pid: 'CONTAINER', ipc: 'POD' } } },
    ...overrides,
  };
}

function containerConfig(name: string, command: string[], overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    metadata: { name, attempt: 0 },
    image: { image: 'busybox' },
    command,
    log_path: `${name}/0.log`,
    labels: { container: name },
    annotations: { 'example.com/container': name },
    linux: { security_context: { namespace_options: { network: 'POD', pid: 'CONTAINER', ipc: 'POD' } } },
    ...overrides,
  };
}

interface ContainerStatusView {
  state: string;
  exit_code: number;
  reason: string;
  finished_at: string;
  started_at: string;
  log_path: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  metadata: { name: string; attempt: number };
}

describe('CRI: pods and their containers', { skip }, () => {
  let daemon: TestDaemon;
  let cri: CriClient;
  let logDir: string;
  before(async () => {
    daemon = await startTestDaemon();
    cri = await criClient(daemon.criSocket);
    logDir = await mkdtemp(join(tmpdir(), 'berth-cri-logs-'));
  });
  after(async () => {
    cri?.close();
    await daemon?.cleanup();
    if (logDir) await rm(logDir, { recursive: true, force: true });
  });

  const containerStatus = async (id: string): Promise<ContainerStatusView> => (await cri.runtime.ContainerStatus!({ container_id: id }))['status'] as ContainerStatusView;

  it('runs a pod whose two containers share localhost, with logs in the kubelet format, exec and cleanup', async () => {
    const podLogs = join(logDir, 'default_web_uid-web');
    const config = podConfig('web', podLogs);
    const podId = String((await cri.runtime.RunPodSandbox!({ config }))['pod_sandbox_id']);
    assert.match(podId, /^[0-9a-f]{64}$/);

    const podStatus = (await cri.runtime.PodSandboxStatus!({ pod_sandbox_id: podId }))['status'] as { state: string; network: { ip: string }; labels: Record<string, string>; annotations: Record<string, string>; metadata: { name: string }; created_at: string };
    assert.equal(podStatus.state, 'SANDBOX_READY');
    assert.match(podStatus.network.ip, /^\d+\.\d+\.\d+\.\d+$/);
    assert.deepEqual(podStatus.labels, config['labels']);
    assert.deepEqual(podStatus.annotations, config['annotations']);
    assert.ok(BigInt(podStatus.created_at) > 0n);
    const listed = (await cri.runtime.ListPodSandbox!({ filter: { label_selector: { app: 'web' } } }))['items'] as Array<{ id: string }>;
    assert.deepEqual(listed.map((p) => p.id), [podId]);

    const missing = await rejection(cri.runtime.ExecSync!({ container_id: 'x', cmd: ['true'], timeout: 1 }));
    assert.equal(missing.code, status.NOT_FOUND);

    const server = String((await cri.runtime.CreateContainer!({
      pod_sandbox_id: podId,
      sandbox_config: config,
      config: containerConfig('server', ['sh', '-c', 'echo hello-from-server > /tmp/index.html; echo serving; echo oops >&2; exec httpd -f -p 127.0.0.1:8080 -h /tmp']),
    }))['container_id']);
    const client = String((await cri.runtime.CreateContainer!({
      pod_sandbox_id: podId,
      sandbox_config: config,
      config: containerConfig('client', ['sleep', '1000']),
    }))['container_id']);
    assert.equal((await containerStatus(server)).state, 'CONTAINER_CREATED');
    await cri.runtime.StartContainer!({ container_id: server });
    await cri.runtime.StartContainer!({ container_id: client });
    const running = await containerStatus(server);
    assert.equal(running.state, 'CONTAINER_RUNNING');
    assert.deepEqual(running.labels, { container: 'server' });
    assert.deepEqual(running.annotations, { 'example.com/container': 'server' });
    assert.deepEqual(running.metadata, { name: 'server', attempt: 0 });

    // The client container reaches the server on the pod's localhost.
    const fetched = await eventually(async () => {
      const answer = await cri.runtime.ExecSync!({ container_id: client, cmd: ['wget', '-qO-', 'http://127.0.0.1:8080/index.html'], timeout: 10 });
      return answer['exit_code'] === 0 ? Buffer.from(answer['stdout'] as Uint8Array).toString() : undefined;
    }, 'the client container reaches the server on localhost');
    assert.equal(fetched, 'hello-from-server\n');

    // One IPC namespace for the pod (its own, not the node's), and the pod's cgroup as the containers' parent.
    const ipcOf = async (id: string): Promise<string> => {
      const answer = await cri.runtime.ExecSync!({ container_id: id, cmd: ['readlink', '/proc/self/ns/ipc'], timeout: 10 });
      const text = (key: string): string => Buffer.from(answer[key] as Uint8Array).toString().trim();
      assert.equal(answer['exit_code'], 0, `readlink in ${id}: ${text('stderr')}`);
      return text('stdout');
    };
    const serverIpc = await ipcOf(server);
    assert.match(serverIpc, /^ipc:\[\d+\]$/);
    assert.equal(await ipcOf(client), serverIpc);
    assert.notEqual(await readlink('/proc/self/ns/ipc'), serverIpc);
    const verbose = await cri.runtime.ContainerStatus!({ container_id: server, verbose: true });
    const pid = (JSON.parse((verbose['info'] as Record<string, string>)['info']!) as { pid: number }).pid;
    assert.match(await readFile(`/proc/${pid}/cgroup`, 'utf8'), new RegExp(`/berth-pods/${podId}/${server}`));
    const inspect = await daemon.docker(['inspect', server]);
    assert.equal(inspect.exitCode, 0, inspect.stderr);

    // ExecSync keeps the streams apart and reports the exit code.
    const exec = await cri.runtime.ExecSync!({ container_id: client, cmd: ['sh', '-c', 'echo out; echo err >&2; exit 3'], timeout: 0 });
    assert.equal(Buffer.from(exec['stdout'] as Uint8Array).toString(), 'out\n');
    assert.equal(Buffer.from(exec['stderr'] as Uint8Array).toString(), 'err\n');
    assert.equal(exec['exit_code'], 3);
    const timedOut = await rejection(cri.runtime.ExecSync!({ container_id: client, cmd: ['sleep', '60'], timeout: 1 }));
    assert.equal(timedOut.code, status.DEADLINE_EXCEEDED);
    assert.match(timedOut.details, /timed out after 1s/);

    // Logs: the kubelet's format, at log_directory/log_path.
    const logPath = join(podLogs, 'server', '0.log');
    assert.equal(running.log_path, logPath);
    const lines = await eventually(async () => {
      const text = await readFile(logPath, 'utf8').catch(() => '');
      const all = text.split('\n').filter((l) => l !== '');
      return all.length >= 2 ? all : undefined;
    }, 'the server container logged two lines');
    const line = /^(\S+) (stdout|stderr) (F|P) (.*)$/;
    const parsed = lines.map((l) => line.exec(l));
    assert.ok(parsed.every((m) => m !== null), lines.join('\n'));
    assert.ok(parsed.some((m) => m![2] === 'stdout' && m![3] === 'F' && m![4] === 'serving'), lines.join('\n'));
    assert.ok(parsed.some((m) => m![2] === 'stderr' && m![4] === 'oops'), lines.join('\n'));
    assert.match(parsed[0]![1]!, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+(Z|[+-]\d\d:\d\d)$/);

    // After the kubelet rotates the file away, ReopenContainerLog starts a new one at the same path.
    await rename(logPath, `${logPath}.1`);
    await cri.runtime.ReopenContainerLog!({ container_id: server });
    await cri.runtime.ExecSync!({ container_id: server, cmd: ['sh', '-c', 'echo after-reopen > /proc/1/fd/1'], timeout: 10 });
    await eventually(async () => (await readFile(logPath, 'utf8').catch(() => '')).includes(' stdout F after-reopen'), 'a line in the reopened log');

    // docker sees the pod's containers, marked as such.
    const ps = await daemon.docker(['ps', '--filter', `label=io.kubernetes.sandbox.id=${podId}`, '--format', '{{.Names}}']);
    assert.deepEqual(ps.stdout.trim().split('\n').sort(), ['k8s_client_web_default_uid-web_0', 'k8s_server_web_default_uid-web_0']);

    const listedContainers = (await cri.runtime.ListContainers!({ filter: { pod_sandbox_id: podId, state: { state: 'CONTAINER_RUNNING' } } }))['containers'] as Array<{ id: string }>;
    assert.deepEqual(listedContainers.map((c) => c.id).sort(), [client, server].sort());

    await cri.runtime.StopContainer!({ container_id: client, timeout: 0 });
    assert.equal((await containerStatus(client)).state, 'CONTAINER_EXITED');
    await cri.runtime.StopPodSandbox!({ pod_sandbox_id: podId });
    const stopped = (await cri.runtime.PodSandboxStatus!({ pod_sandbox_id: podId }))['status'] as { state: string };
    assert.equal(stopped.state, 'SANDBOX_NOTREADY');
    assert.equal((await containerStatus(server)).state, 'CONTAINER_EXITED');
    // Stopping again is no error.
    await cri.runtime.StopPodSandbox!({ pod_sandbox_id: podId });
    await cri.runtime.RemovePodSandbox!({ pod_sandbox_id: podId });
    await cri.runtime.RemovePodSandbox!({ pod_sandbox_id: podId });
    const gone = await rejection(cri.runtime.PodSandboxStatus!({ pod_sandbox_id: podId }));
    assert.equal(gone.code, status.NOT_FOUND);
    assert.deepEqual((await cri.runtime.ListContainers!({}))['containers'], []);

    // Nothing left: no namespace handle, no mount, no cgroup of the pod.
    assert.deepEqual(await readdir(join(daemon.execRoot, 'netns')).catch(() => []), []);
    assert.deepEqual(await readdir(join(daemon.execRoot, 'cri', 'ipc')).catch(() => []), []);
    assert.deepEqual((await mountsUnder(daemon.execRoot)).filter((m) => m.includes(podId)), []);
    assert.deepEqual((await mountsUnder(daemon.root)).filter((m) => m.includes('/containers/')), []);
    for (const hierarchy of ['', 'memory', 'pids', 'cpu,cpuacct']) {
      const cgroupDirs = await readdir(join('/sys/fs/cgroup', hierarchy, 'berth-pods')).catch(() => [] as string[]);
      assert.ok(!cgroupDirs.includes(podId), `the pod cgroup is removed from ${hierarchy || 'the unified hierarchy'}`);
    }
  });

  it('reports container and pod stats, and updates a container\'s resources', async () => {
    const config = podConfig('stats', join(logDir, 'stats'));
    const podId = String((await cri.runtime.RunPodSandbox!({ config }))['pod_sandbox_id']);
    const id = String((await cri.runtime.CreateContainer!({ pod_sandbox_id: podId, sandbox_config: config, config: containerConfig('busy', ['sh', '-c', 'dd if=/dev/zero of=/tmp/fill bs=1024 count=256 2>/dev/null; touch /tmp/ready; exec sleep 1000']) }))['container_id']);
    await cri.runtime.StartContainer!({ container_id: id });
    await eventually(async () => (await cri.runtime.ExecSync!({ container_id: id, cmd: ['test', '-e', '/tmp/ready'], timeout: 10 }))['exit_code'] === 0, 'the container wrote its file');

    type Usage = { value: string } | null;
    const first = (await cri.runtime.ContainerStats!({ container_id: id }))['stats'] as { attributes: { id: string; labels: Record<string, string> }; cpu: { usage_core_nano_seconds: Usage }; memory: { working_set_bytes: Usage; usage_bytes: Usage; available_bytes: Usage }; writable_layer: { used_bytes: Usage; inodes_used: Usage } };
    assert.equal(first.attributes.id, id);
    assert.deepEqual(first.attributes.labels, { container: 'busy' });
    assert.ok(Number(first.cpu.usage_core_nano_seconds?.value) > 0);
    assert.ok(Number(first.memory.usage_bytes?.value) > 0);
    assert.ok(Number(first.writable_layer.used_bytes?.value) >= 256 * 1024, JSON.stringify(first.writable_layer));
    assert.equal(first.memory.available_bytes, null, 'no limit, no available bytes');

    const listed = (await cri.runtime.ListContainerStats!({ filter: { pod_sandbox_id: podId } }))['stats'] as Array<{ attributes: { id: string } }>;
    assert.deepEqual(listed.map((s) => s.attributes.id), [id]);
    const pod = (await cri.runtime.PodSandboxStats!({ pod_sandbox_id: podId }))['stats'] as { attributes: { id: string }; linux: { process: { process_count: Usage }; network: { default_interface: { name: string; rx_bytes: Usage } }; containers: unknown[]; memory: { usage_bytes: Usage } } };
    assert.equal(pod.attributes.id, podId);
    assert.equal(pod.linux.containers.length, 1);
    assert.ok(Number(pod.linux.process.process_count?.value) >= 1);
    assert.equal(pod.linux.network.default_interface.name, 'eth0');
    assert.ok(Number(pod.linux.memory.usage_bytes?.value) > 0);
    const pods = (await cri.runtime.ListPodSandboxStats!({ filter: { label_selector: { app: 'stats' } } }))['stats'] as Array<{ attributes: { id: string } }>;
    assert.deepEqual(pods.map((p) => p.attributes.id), [podId]);

    await cri.runtime.UpdateContainerResources!({ container_id: id, linux: { memory_limit_in_bytes: 64 * 1024 * 1024, cpu_shares: 512 } });
    const limited = (await cri.runtime.ContainerStats!({ container_id: id }))['stats'] as { memory: { available_bytes: Usage } };
    assert.ok(limited.memory.available_bytes !== null && Number(limited.memory.available_bytes.value) < 64 * 1024 * 1024, JSON.stringify(limited.memory));
    const refused = await rejection(cri.runtime.UpdateContainerResources!({ container_id: id, linux: { unified: { 'memory.high': '1' } } }));
    assert.equal(refused.code, status.UNIMPLEMENTED);
    assert.match(refused.details, /^linux\.unified: /);
    await cri.runtime.RemovePodSandbox!({ pod_sandbox_id: podId });
  });

  it('keeps a pod and its network across a berthd crash and restart', async () => {
    const config = podConfig('survivor', join(logDir, 'survivor'));
    const podId = String((await cri.runtime.RunPodSandbox!({ config }))['pod_sandbox_id']);
    const id = String((await cri.runtime.CreateContainer!({ pod_sandbox_id: podId, sandbox_config: config, config: containerConfig('server', ['sh', '-c', 'echo alive > /tmp/index.html; exec httpd -f -p 127.0.0.1:8080 -h /tmp']) }))['container_id']);
    await cri.runtime.StartContainer!({ container_id: id });
    const ip = ((await cri.runtime.PodSandboxStatus!({ pod_sandbox_id: podId }))['status'] as { network: { ip: string } }).network.ip;
    cri.close();
    await daemon.kill9();
    await daemon.restart();
    cri = await criClient(daemon.criSocket);
    const after = (await cri.runtime.PodSandboxStatus!({ pod_sandbox_id: podId }))['status'] as { state: string; network: { ip: string } };
    assert.deepEqual([after.state, after.network.ip], ['SANDBOX_READY', ip]);
    assert.ok(existsSync(join(daemon.execRoot, 'netns', podId)), 'the pod\'s network namespace is kept');
    // A second container joins the pod after the restart and reaches the first on localhost.
    const late = String((await cri.runtime.CreateContainer!({ pod_sandbox_id: podId, sandbox_config: config, config: containerConfig('late', ['sleep', '1000']) }))['container_id']);
    await cri.runtime.StartContainer!({ container_id: late });
    const answer = await cri.runtime.ExecSync!({ container_id: late, cmd: ['wget', '-qO-', 'http://127.0.0.1:8080/index.html'], timeout: 10 });
    assert.equal(Buffer.from(answer['stdout'] as Uint8Array).toString(), 'alive\n');
    await cri.runtime.RemovePodSandbox!({ pod_sandbox_id: podId });
    assert.ok(!existsSync(join(daemon.execRoot, 'netns', podId)));
  });

  it('runs a pod on the node\'s network and IPC', async () => {
    const nodeNamespaces = { network: 'NODE', pid: 'CONTAINER', ipc: 'NODE' };
    const config = podConfig('hostnet', join(logDir, 'hostnet'), { hostname: '', linux: { security_context: { namespace_options: nodeNamespaces } } });
    const podId = String((await cri.runtime.RunPodSandbox!({ config }))['pod_sandbox_id']);
    const podStatus = (await cri.runtime.PodSandboxStatus!({ pod_sandbox_id: podId }))['status'] as { network: { ip: string }; linux: { namespaces: { options: { network: string; ipc: string } } } };
    assert.equal(podStatus.network.ip, '');
    assert.deepEqual([podStatus.linux.namespaces.options.network, podStatus.linux.namespaces.options.ipc], ['NODE', 'NODE']);
    const id = String((await cri.runtime.CreateContainer!({ pod_sandbox_id: podId, sandbox_config: config, config: containerConfig('host', ['sleep', '1000'], { linux: { security_context: { namespace_options: nodeNamespaces } } }) }))['container_id']);
    await cri.runtime.StartContainer!({ container_id: id });
    const ns = async (kind: string): Promise<string> => Buffer.from((await cri.runtime.ExecSync!({ container_id: id, cmd: ['readlink', `/proc/self/ns/${kind}`], timeout: 10 }))['stdout'] as Uint8Array).toString().trim();
    assert.equal(await ns('net'), await readlink('/proc/self/ns/net'));
    assert.equal(await ns('ipc'), await readlink('/proc/self/ns/ipc'));
    assert.notEqual(await ns('pid'), await readlink('/proc/self/ns/pid'));
    await cri.runtime.RemovePodSandbox!({ pod_sandbox_id: podId });
  });

  it('shares one process namespace among a pod\'s containers (shareProcessNamespace), joins a TARGET\'s, and ends it with the pod', async () => {
    const podNamespaces = { network: 'POD', pid: 'POD', ipc: 'POD' };
    const config = podConfig('sharedpid', join(logDir, 'sharedpid'), { linux: { security_context: { namespace_options: podNamespaces } } });
    const podId = String((await cri.runtime.RunPodSandbox!({ config }))['pod_sandbox_id']);
    const podStatus = (await cri.runtime.PodSandboxStatus!({ pod_sandbox_id: podId }))['status'] as { linux: { namespaces: { options: { pid: string } } } };
    assert.equal(podStatus.linux.namespaces.options.pid, 'POD');
    const create = async (name: string, command: string[], namespaces: Record<string, string>): Promise<string> => {
      const id = String((await cri.runtime.CreateContainer!({ pod_sandbox_id: podId, sandbox_config: config, config: containerConfig(name, command, { linux: { security_context: { namespace_options: namespaces } } }) }))['container_id']);
      await cri.runtime.StartContainer!({ container_id: id });
      return id;
    };
    const run = async (id: string, cmd: string[]): Promise<string> => Buffer.from((await cri.runtime.ExecSync!({ container_id: id, cmd, timeout: 10 }))['stdout'] as Uint8Array).toString();
    const sleeper = await create('sleeper', ['sleep', '1001'], podNamespaces);
    const looker = await create('looker', ['sleep', '1002'], podNamespaces);
    // Each sees the other's process, and PID 1 is the pod's init, not either container.
    const seen = await run(looker, ['ps', '-o', 'pid,args']);
    assert.match(seen, /sleep 1001/);
    assert.match(seen, /sleep 1002/);
    assert.match(seen, /^\s*1\s+\S*tini/m);
    assert.equal(await run(sleeper, ['readlink', '/proc/self/ns/pid']), await run(looker, ['readlink', '/proc/self/ns/pid']));

    // A container of another pod joins a running container's namespace by TARGET.
    const ownPod = String((await cri.runtime.RunPodSandbox!({ config: podConfig('ownpid', join(logDir, 'ownpid')) }))['pod_sandbox_id']);
    const ownConfig = podConfig('ownpid', join(logDir, 'ownpid'));
    const alone = String((await cri.runtime.CreateContainer!({ pod_sandbox_id: ownPod, sandbox_config: ownConfig, config: containerConfig('alone', ['sleep', '1003']) }))['container_id']);
    await cri.runtime.StartContainer!({ container_id: alone });
    const debug = String((await cri.runtime.CreateContainer!({ pod_sandbox_id: ownPod, sandbox_config: ownConfig, config: containerConfig('debug', ['sleep', '1004'], { linux: { security_context: { namespace_options: { network: 'POD', pid: 'TARGET', ipc: 'POD', target_id: alone } } } }) }))['container_id']);
    await cri.runtime.StartContainer!({ container_id: debug });
    assert.match(await run(debug, ['ps', '-o', 'args']), /sleep 1003/);
    assert.doesNotMatch(await run(alone, ['ps', '-o', 'args']), /sleep 1001/);
    await cri.runtime.RemovePodSandbox!({ pod_sandbox_id: ownPod });

    // Stopping the pod ends its init, and nothing of the namespace is left mounted.
    await cri.runtime.StopPodSandbox!({ pod_sandbox_id: podId });
    await eventually(async () => !(await runCommand('ps', ['-eo', 'args='])).stdout.includes(`--pid=${join(daemon.execRoot, 'cri', 'pid', podId)}`), 'the pod\'s init to end', 10_000);
    assert.deepEqual((await mountsUnder(join(daemon.execRoot, 'cri', 'pid'))), []);
    await cri.runtime.RemovePodSandbox!({ pod_sandbox_id: podId });
  });

  it('streams an exec over the websocket channel protocol (v5) from the URL Exec hands out', async () => {
    const config = podConfig('streams', join(logDir, 'streams'));
    const podId = String((await cri.runtime.RunPodSandbox!({ config }))['pod_sandbox_id']);
    const id = String((await cri.runtime.CreateContainer!({ pod_sandbox_id: podId, sandbox_config: config, config: containerConfig('c', ['sleep', '1000']) }))['container_id']);
    await cri.runtime.StartContainer!({ container_id: id });
    const url = String((await cri.runtime.Exec!({ container_id: id, cmd: ['sh', '-c', 'cat; echo done >&2; exit 2'], stdin: true, stdout: true, stderr: true }))['url']);
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/exec\/[0-9a-f]{32}$/);
    const channels = new Map<number, Buffer[]>();
    const ws = new WebSocket(url.replace(/^http:/, 'ws:'), ['v5.channel.k8s.io']);
    ws.binaryType = 'arraybuffer';
    const closed = new Promise<void>((resolve, reject) => {
      ws.addEventListener('close', () => resolve());
      ws.addEventListener('error', () => reject(new Error('the exec websocket failed')));
    });
    ws.addEventListener('message', (event) => {
      const bytes = Buffer.from(event.data as ArrayBuffer);
      channels.set(bytes[0]!, [...(channels.get(bytes[0]!) ?? []), bytes.subarray(1)]);
    });
    await new Promise<void>((resolve) => ws.addEventListener('open', () => resolve()));
    assert.equal(ws.protocol, 'v5.channel.k8s.io');
    ws.send(Buffer.concat([Buffer.from([0]), Buffer.from('hello\n')]));
    ws.send(Buffer.from([255, 0]));
    await closed;
    const text = (channel: number): string => Buffer.concat(channels.get(channel) ?? []).toString();
    assert.equal(text(1), 'hello\n');
    assert.equal(text(2), 'done\n');
    const finalStatus = JSON.parse(text(3)) as { status: string; reason: string; details: { causes: Array<{ reason: string; message: string }> } };
    assert.deepEqual([finalStatus.status, finalStatus.reason, finalStatus.details.causes], ['Failure', 'NonZeroExitCode', [{ reason: 'ExitCode', message: '2' }]]);
    // The URL is good for one connection.
    const again = new WebSocket(url.replace(/^http:/, 'ws:'), ['v5.channel.k8s.io']);
    let reopened = false;
    again.addEventListener('open', () => (reopened = true));
    await new Promise<void>((resolve) => again.addEventListener('close', () => resolve()));
    assert.equal(reopened, false, 'a second connection to the same URL is refused');
    const badTty = await rejection(cri.runtime.Exec!({ container_id: id, cmd: ['true'], tty: true, stdout: true, stderr: true }));
    assert.equal(badTty.code, status.INVALID_ARGUMENT);
    await cri.runtime.RemovePodSandbox!({ pod_sandbox_id: podId });
  });

  /** A websocket to a streaming URL, its messages gathered by channel (the first byte). */
  async function openStream(url: string, protocol: string): Promise<{ ws: WebSocket; closed: Promise<void>; chunks: (channel: number) => Buffer[]; text: (channel: number) => string }> {
    const channels = new Map<number, Buffer[]>();
    const ws = new WebSocket(url.replace(/^http:/, 'ws:'), [protocol]);
    ws.binaryType = 'arraybuffer';
    const closed = new Promise<void>((resolve, reject) => {
      ws.addEventListener('close', () => resolve());
      ws.addEventListener('error', () => reject(new Error(`the websocket to ${url} failed`)));
    });
    ws.addEventListener('message', (event) => {
      const bytes = Buffer.from(event.data as ArrayBuffer);
      channels.set(bytes[0]!, [...(channels.get(bytes[0]!) ?? []), bytes.subarray(1)]);
    });
    await new Promise<void>((resolve) => ws.addEventListener('open', () => resolve()));
    assert.equal(ws.protocol, protocol);
    const chunks = (channel: number): Buffer[] => channels.get(channel) ?? [];
    return { ws, closed, chunks, text: (channel) => Buffer.concat(chunks(channel)).toString() };
  }

  it('attaches to a container\'s stdio over the channel protocol from the URL Attach hands out', async () => {
    const config = podConfig('attach', join(logDir, 'attach'));
    const podId = String((await cri.runtime.RunPodSandbox!({ config }))['pod_sandbox_id']);
    const script = 'while read line; do [ "$line" = quit ] && break; echo "got $line"; done; echo bye >&2';
    const id = String((await cri.runtime.CreateContainer!({ pod_sandbox_id: podId, sandbox_config: config, config: containerConfig('echoer', ['sh', '-c', script], { stdin: true }) }))['container_id']);
    await cri.runtime.StartContainer!({ container_id: id });
    const mismatch = await rejection(cri.runtime.Attach!({ container_id: id, stdin: true, stdout: true, tty: true }));
    assert.equal(mismatch.code, status.INVALID_ARGUMENT);
    assert.match(mismatch.details, /^tty: /);
    const url = String((await cri.runtime.Attach!({ container_id: id, stdin: true, stdout: true, stderr: true }))['url']);
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/attach\/[0-9a-f]{32}$/);
    const stream = await openStream(url, 'v5.channel.k8s.io');
    stream.ws.send(Buffer.concat([Buffer.from([0]), Buffer.from('hello\n')]));
    await eventually(async () => stream.text(1) === 'got hello\n', 'the container answers the attached stdin');
    stream.ws.send(Buffer.concat([Buffer.from([0]), Buffer.from('quit\n')]));
    // The container exits: its output ends, the status is Success, and the websocket closes.
    await stream.closed;
    assert.equal(stream.text(2), 'bye\n');
    assert.equal((JSON.parse(stream.text(3)) as { status: string }).status, 'Success');
    await eventually(async () => (await containerStatus(id)).state === 'CONTAINER_EXITED', 'the attached container exits');
    await cri.runtime.RemovePodSandbox!({ pod_sandbox_id: podId });
  });

  it('forwards a pod\'s ports to its localhost over the URL PortForward hands out, and says why a port cannot be reached', async () => {
    const config = podConfig('forward', join(logDir, 'forward'));
    const podId = String((await cri.runtime.RunPodSandbox!({ config }))['pod_sandbox_id']);
    // Served on the pod's localhost only: reachable through the pod's namespace, not its address.
    const id = String((await cri.runtime.CreateContainer!({ pod_sandbox_id: podId, sandbox_config: config, config: containerConfig('web', ['sh', '-c', 'echo forwarded-hello > /tmp/index.html; exec httpd -f -p 127.0.0.1:8080 -h /tmp']) }))['container_id']);
    await cri.runtime.StartContainer!({ container_id: id });
    await eventually(async () => (await cri.runtime.ExecSync!({ container_id: id, cmd: ['wget', '-qO-', 'http://127.0.0.1:8080/index.html'], timeout: 10 }))['exit_code'] === 0, 'httpd answers in the pod');
    const badPort = await rejection(cri.runtime.PortForward!({ pod_sandbox_id: podId, port: [0] }));
    assert.equal(badPort.code, status.INVALID_ARGUMENT);
    assert.match(badPort.details, /^port: /);
    const url = String((await cri.runtime.PortForward!({ pod_sandbox_id: podId, port: [8080, 9] }))['url']);
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/portforward\/[0-9a-f]{32}$/);
    const stream = await openStream(url, 'v4.channel.k8s.io');
    stream.ws.send(Buffer.concat([Buffer.from([0]), Buffer.from('GET /index.html HTTP/1.0\r\n\r\n')]));
    // httpd answers and closes; nothing listens on port 9: both connections end, and so does the websocket.
    await stream.closed;
    const portOf = (channel: number): number => stream.chunks(channel)[0]?.readUInt16LE(0) ?? -1;
    assert.deepEqual([portOf(0), portOf(1), portOf(2), portOf(3)], [8080, 8080, 9, 9]);
    const response = Buffer.concat(stream.chunks(0).slice(1)).toString();
    assert.match(response, /^HTTP\/1\.[01] 200 OK\r\n/);
    assert.match(response, /\r\n\r\nforwarded-hello\n$/);
    assert.equal(Buffer.concat(stream.chunks(1).slice(1)).length, 0, 'port 8080 reported an error');
    assert.match(Buffer.concat(stream.chunks(3).slice(1)).toString(), new RegExp(`^error forwarding port 9 to pod ${podId}: connecting to localhost:9 in the pod's network namespace: Connection refused`));
    // 4 MiB through one forwarded connection: every byte, in order.
    const made = await cri.runtime.ExecSync!({ container_id: id, cmd: ['sh', '-c', 'head -c 4194304 /dev/urandom > /tmp/big && md5sum < /tmp/big'], timeout: 30 });
    const expectedMd5 = Buffer.from(made['stdout'] as Uint8Array).toString().split(' ')[0];
    const bigStream = await openStream(String((await cri.runtime.PortForward!({ pod_sandbox_id: podId, port: [8080] }))['url']), 'v4.channel.k8s.io');
    bigStream.ws.send(Buffer.concat([Buffer.from([0]), Buffer.from('GET /big HTTP/1.0\r\n\r\n')]));
    await bigStream.closed;
    const bigResponse = Buffer.concat(bigStream.chunks(0).slice(1));
    const body = bigResponse.subarray(bigResponse.indexOf('\r\n\r\n') + 4);
    assert.equal(body.length, 4194304);
    assert.equal(createHash('md5').update(body).digest('hex'), expectedMd5);
    await cri.runtime.RemovePodSandbox!({ pod_sandbox_id: podId });
  });

  it('reports a failing container with its exit code and reason', async () => {
    const config = podConfig('failing', join(logDir, 'failing'));
    const podId = String((await cri.runtime.RunPodSandbox!({ config }))['pod_sandbox_id']);
    const id = String((await cri.runtime.CreateContainer!({ pod_sandbox_id: podId, sandbox_config: config, config: containerConfig('fails', ['sh', '-c', 'echo dying; exit 7']) }))['container_id']);
    await cri.runtime.StartContainer!({ container_id: id });
    const exited = await eventually(async () => {
      const s = await containerStatus(id);
      return s.state === 'CONTAINER_EXITED' ? s : undefined;
    }, 'the failing container exits');
    assert.equal(exited.exit_code, 7);
    assert.equal(exited.reason, 'Error');
    assert.ok(BigInt(exited.finished_at) >= BigInt(exited.started_at) && BigInt(exited.started_at) > 0n);
    const notFound = await rejection(cri.runtime.ContainerStatus!({ container_id: 'f'.repeat(64) }));
    const notRunning = await rejection(cri.runtime.ExecSync!({ container_id: id, cmd: ['true'], timeout: 1 }));
    assert.equal(notRunning.code, status.FAILED_PRECONDITION);
    assert.equal(notFound.code, status.NOT_FOUND);
    await cri.runtime.RemovePodSandbox!({ pod_sandbox_id: podId });
  });

  it('refuses what it cannot honour by field, and leaves nothing behind', async () => {
    const before = ((await cri.runtime.ListPodSandbox!({}))['items'] as unknown[]).length;
    const config = podConfig('refused', join(logDir, 'refused'));
    const selinux = await rejection(cri.runtime.RunPodSandbox!({ config: { ...config, linux: { security_context: { selinux_options: { type: 'spc_t' } } } } }));
    assert.equal(selinux.code, status.UNIMPLEMENTED);
    assert.match(selinux.details, /^config\.linux\.security_context\.selinux_options: /);
    const handler = await rejection(cri.runtime.RunPodSandbox!({ config, runtime_handler: 'kata' }));
    assert.equal(handler.code, status.UNIMPLEMENTED);
    assert.match(handler.details, /^runtime_handler: /);
    assert.equal(((await cri.runtime.ListPodSandbox!({}))['items'] as unknown[]).length, before);

    const podId = String((await cri.runtime.RunPodSandbox!({ config }))['pod_sandbox_id']);
    const devices = await rejection(cri.runtime.CreateContainer!({ pod_sandbox_id: podId, sandbox_config: config, config: containerConfig('dev', ['true'], { devices: [{ container_path: '/dev/x', host_path: '/dev/null', permissions: 'rwm' }] }) }));
    assert.equal(devices.code, status.UNIMPLEMENTED);
    assert.match(devices.details, /^config\.devices: /);
    const sharedPid = await rejection(cri.runtime.CreateContainer!({ pod_sandbox_id: podId, sandbox_config: config, config: containerConfig('pid', ['true'], { linux: { security_context: { namespace_options: { network: 'POD', pid: 'POD', ipc: 'POD' } } } }) }));
    assert.equal(sharedPid.code, status.INVALID_ARGUMENT);
    assert.match(sharedPid.details, /namespace_options\.pid: POD: the pod sandbox was not made with a shared process namespace/);
    const groupOnly = await rejection(cri.runtime.CreateContainer!({ pod_sandbox_id: podId, sandbox_config: config, config: containerConfig('group', ['true'], { linux: { security_context: { run_as_group: { value: 5 } } } }) }));
    assert.equal(groupOnly.code, status.INVALID_ARGUMENT);
    assert.match(groupOnly.details, /run_as_group/);
    assert.deepEqual((await cri.runtime.ListContainers!({ filter: { pod_sandbox_id: podId } }))['containers'], []);
    await cri.runtime.RemovePodSandbox!({ pod_sandbox_id: podId });
  });
});
