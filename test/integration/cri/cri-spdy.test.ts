/**
 * The CRI streaming server over SPDY/3.1, driven by a real kubectl as in a cluster: kubectl
 * speaks SPDY to an API server, which has the kubelet ask the runtime for a streaming URL and
 * relays the upgraded connection there byte for byte. Here a small server on 127.0.0.1 plays
 * the API server and the kubelet: it answers kubectl's discovery and pod lookups, calls the
 * CRI's Exec/Attach/PortForward, and splices kubectl's connection onto the URL they hand out.
 * kubectl's websocket transports are turned off so that it speaks SPDY, as API servers do to
 * kubelets.
 */
import { after, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { cannotRun, eventually, fetchText, findOnPath, startTestDaemon, type TestDaemon } from '../harness.js';
import { criClient, type CriClient } from './cri-client.js';

const KUBECTL = findOnPath('kubectl');
const SCRIPT = findOnPath('script');
const skip = cannotRun((!existsSync('/usr/lib/cni/bridge') && 'no CNI plugins in /usr/lib/cni') || (!KUBECTL && 'no kubectl on PATH (scripts/test-deps installs kubernetes-client)'));

/** Pod name -> the CRI ids the fake kubelet needs, and whether its container keeps stdin. */
type Pods = Map<string, { podId: string; containerId: string; stdin: boolean }>;

/** The API server and kubelet kubectl talks to, on 127.0.0.1. */
async function startFakeApiServer(cri: CriClient, pods: Pods): Promise<{ url: string; upgrades: string[]; close(): Promise<void> }> {
  const upgrades: string[] = [];
  const json = (res: ServerResponse, body: object, statusCode = 200): void => {
    res.writeHead(statusCode, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  const podPath = /^\/api\/v1\/namespaces\/default\/pods\/([a-z0-9-]+)(?:\/(exec|attach|portforward))?$/;
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (url.pathname === '/api') return json(res, { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [] });
    if (url.pathname === '/apis') return json(res, { kind: 'APIGroupList', apiVersion: 'v1', groups: [] });
    if (url.pathname === '/api/v1') {
      const sub = (name: string, kind: string): object => ({ name: `pods/${name}`, singularName: '', namespaced: true, kind, verbs: ['create', 'get'] });
      return json(res, {
        kind: 'APIResourceList', groupVersion: 'v1',
        resources: [{ name: 'pods', singularName: 'pod', namespaced: true, kind: 'Pod', verbs: ['get', 'list'], shortNames: ['po'] }, sub('exec', 'PodExecOptions'), sub('attach', 'PodAttachOptions'), sub('portforward', 'PodPortForwardOptions')],
      });
    }
    const match = podPath.exec(url.pathname);
    const pod = match && !match[2] ? pods.get(match[1]!) : undefined;
    if (!match || !pod) return json(res, { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'NotFound', code: 404, message: `${url.pathname} not found` }, 404);
    json(res, {
      kind: 'Pod', apiVersion: 'v1',
      metadata: { name: match[1], namespace: 'default', uid: `uid-${match[1]}` },
      spec: { containers: [{ name: 'c', image: 'busybox', stdin: pod.stdin }] },
      status: { phase: 'Running', containerStatuses: [{ name: 'c', ready: true, state: { running: {} } }] },
    });
  });
  // What the kubelet does with an exec/attach/portforward: ask the runtime for a URL, then relay the upgraded connection to it.
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    upgrades.push(`${String(req.headers['upgrade'])} ${String(req.headersDistinct['x-stream-protocol-version']?.join(','))}`);
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      const match = podPath.exec(url.pathname);
      const pod = match ? pods.get(match[1]!) : undefined;
      if (!match || !pod || !match[2]) {
        socket.end('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n');
        return;
      }
      const flag = (name: string): boolean => url.searchParams.get(name) === 'true' || url.searchParams.get(name) === '1';
      const streams = { stdin: flag('stdin'), stdout: flag('stdout'), stderr: flag('stderr'), tty: flag('tty') };
      const answer = match[2] === 'exec'
        ? await cri.runtime.Exec!({ container_id: pod.containerId, cmd: url.searchParams.getAll('command'), ...streams })
        : match[2] === 'attach'
          ? await cri.runtime.Attach!({ container_id: pod.containerId, ...streams })
          : await cri.runtime.PortForward!({ pod_sandbox_id: pod.podId, port: url.searchParams.getAll('ports').map(Number) });
      const target = new URL(String(answer['url']));
      const upstream = connect(Number(target.port), target.hostname);
      await new Promise<void>((resolve, reject) => upstream.once('connect', resolve).once('error', reject));
      const headers = Object.entries(req.headersDistinct).flatMap(([name, values]) => (name === 'host' ? [] : (values ?? []).map((v) => `${name}: ${v}\r\n`)));
      upstream.write(`${req.method} ${target.pathname} HTTP/1.1\r\nHost: ${target.host}\r\n${headers.join('')}\r\n`);
      if (head.length > 0) upstream.write(head);
      upstream.pipe(socket);
      socket.pipe(upstream);
      socket.on('error', () => upstream.destroy());
      upstream.on('error', () => socket.destroy());
      socket.on('close', () => upstream.destroy());
      upstream.on('close', () => socket.destroy());
    })().catch((err: unknown) => {
      const body = `${(err as Error).message}\n`;
      socket.end(`HTTP/1.1 500 Internal Server Error\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    upgrades,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

interface KubectlResult {
  exitCode: number | null;
  stdout: string;
  stderr: string;
}

describe('CRI streams over SPDY, from kubectl through a stand-in API server', { skip }, () => {
  let daemon: TestDaemon;
  let cri: CriClient;
  let logDir: string;
  let api: Awaited<ReturnType<typeof startFakeApiServer>>;
  const pods: Pods = new Map();

  before(async () => {
    daemon = await startTestDaemon();
    cri = await criClient(daemon.criSocket);
    logDir = await mkdtemp(join(tmpdir(), 'berth-cri-spdy-'));
    // An empty kubeconfig of its own: none of the machine's is read, and older kubectls warn when the file is missing.
    await writeFile(join(logDir, 'kubeconfig'), 'apiVersion: v1\nkind: Config\n');
    api = await startFakeApiServer(cri, pods);
  });
  beforeEach(() => {
    api.upgrades.length = 0;
  });
  after(async () => {
    await api?.close();
    for (const { podId } of pods.values()) await cri?.runtime.RemovePodSandbox!({ pod_sandbox_id: podId }).catch(() => {});
    cri?.close();
    await daemon?.cleanup();
    if (logDir) await rm(logDir, { recursive: true, force: true });
  });

  /** Run a pod with one container `c` running command, known to the stand-in API server as name. */
  async function runPod(name: string, command: string[], options: { stdin?: boolean } = {}): Promise<{ podId: string; containerId: string }> {
    const config = {
      metadata: { name, uid: `uid-${name}`, namespace: 'default', attempt: 0 },
      hostname: name,
      log_directory: join(logDir, name),
      linux: { security_context: { namespace_options: { network: 'POD', pid: 'CONTAINER', ipc: 'POD' } } },
    };
    const podId = String((await cri.runtime.RunPodSandbox!({ config }))['pod_sandbox_id']);
    const containerId = String((await cri.runtime.CreateContainer!({
      pod_sandbox_id: podId, sandbox_config: config,
      config: { metadata: { name: 'c', attempt: 0 }, image: { image: 'busybox' }, command, log_path: 'c/0.log', stdin: options.stdin ?? false },
    }))['container_id']);
    await cri.runtime.StartContainer!({ container_id: containerId });
    pods.set(name, { podId, containerId, stdin: options.stdin ?? false });
    return { podId, containerId };
  }

  /** kubectl against the stand-in API server, speaking SPDY; input is its stdin. */
  function kubectl(args: string[], input?: string): { done: Promise<KubectlResult>; stdout: () => string; stderr: () => string; kill: () => void } {
    const child = spawn(KUBECTL!, ['--server', api.url, '--cache-dir', join(logDir, 'kube-cache'), '-n', 'default', ...args], {
      env: { ...process.env, KUBECONFIG: join(logDir, 'kubeconfig'), KUBECTL_REMOTE_COMMAND_WEBSOCKETS: 'false', KUBECTL_PORT_FORWARD_WEBSOCKETS: 'false' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    if (input !== undefined) child.stdin.end(input);
    const done = new Promise<KubectlResult>((resolve, reject) => {
      child.once('error', reject);
      child.once('close', (exitCode) => resolve({ exitCode, stdout, stderr }));
    });
    return { done, stdout: () => stdout, stderr: () => stderr, kill: () => child.kill('SIGTERM') };
  }

  it('runs kubectl exec with stdin, stdout, stderr and the exit code', async () => {
    await runPod('exec', ['sleep', '1000']);
    const failing = await kubectl(['exec', '-i', 'exec', '--', 'sh', '-c', 'cat; echo oops >&2; exit 3'], 'hello over spdy\n').done;
    assert.equal(failing.stdout, 'hello over spdy\n');
    assert.match(failing.stderr, /oops\n/);
    assert.match(failing.stderr, /command terminated with exit code 3/);
    assert.equal(failing.exitCode, 3, failing.stderr);
    const fine = await kubectl(['exec', 'exec', '--', 'sh', '-c', 'echo ok; echo to-stderr >&2']).done;
    assert.deepEqual([fine.exitCode, fine.stdout, fine.stderr], [0, 'ok\n', 'to-stderr\n']);
    // 1 MiB of output arrives whole.
    const big = await kubectl(['exec', 'exec', '--', 'sh', '-c', 'head -c 1048576 /dev/zero | tr "\\0" x']).done;
    assert.equal(big.exitCode, 0, big.stderr);
    assert.equal(big.stdout, 'x'.repeat(1048576));
    // Every stream was SPDY, offering the remote command protocols.
    assert.equal(api.upgrades.length, 3);
    for (const upgrade of api.upgrades.splice(0)) assert.match(upgrade, /^SPDY\/3\.1 .*v4\.channel\.k8s\.io/);
  });

  it('runs kubectl exec -it in a terminal: the tty and its size go through the resize stream', { skip: cannotRun(!SCRIPT && 'no script(1) on PATH (util-linux) to give kubectl a terminal') }, async () => {
    await runPod('tty', ['sleep', '1000']);
    // script(1) gives kubectl a terminal of a known size; the size reaches the exec through a resize (it may come after the start).
    const inContainer = 'for i in $(seq 100); do s=$(stty size 2>/dev/null); case "$s" in [1-9]*) break;; esac; sleep 0.1; done; echo "size $s"; tty';
    const command = `stty rows 33 cols 101; exec ${KUBECTL} --server ${api.url} --cache-dir ${join(logDir, 'kube-cache')} -n default exec -it tty -- sh -c '${inContainer}'`;
    const child = spawn(SCRIPT!, ['-qec', command, '/dev/null'], {
      env: { ...process.env, KUBECONFIG: join(logDir, 'kubeconfig'), KUBECTL_REMOTE_COMMAND_WEBSOCKETS: 'false' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    const exitCode = await new Promise<number | null>((resolve) => child.once('close', resolve));
    assert.equal(exitCode, 0, output);
    assert.match(output, /size 33 101\r?\n/);
    assert.match(output, /\/dev\/pts\/\d+/);
    assert.deepEqual(api.upgrades.splice(0).map((u) => u.split(' ')[0]), ['SPDY/3.1']);
  });

  it('runs kubectl attach to a container\'s stdin and output until it exits', async () => {
    const script = 'while read line; do [ "$line" = quit ] && break; echo "got $line"; done; echo bye >&2';
    const { containerId } = await runPod('attach', ['sh', '-c', script], { stdin: true });
    // kubectl sends its stdin once attached: the lines wait in the pipe until then.
    const result = await kubectl(['attach', '-i', 'attach', '-c', 'c'], 'hello\nquit\n').done;
    assert.match(result.stdout, /got hello\n/);
    assert.match(result.stderr, /bye\n/);
    assert.equal(result.exitCode, 0, result.stderr);
    assert.deepEqual(api.upgrades.splice(0).map((u) => u.split(' ')[0]), ['SPDY/3.1']);
    await eventually(async () => ((await cri.runtime.ContainerStatus!({ container_id: containerId }))['status'] as { state: string }).state === 'CONTAINER_EXITED', 'the attached container exits');
  });

  it('forwards local ports to a pod\'s localhost with kubectl port-forward, and says why a port cannot be reached', async () => {
    const { containerId } = await runPod('forward', ['sh', '-c', 'echo forwarded-hello > /tmp/index.html; exec httpd -f -p 127.0.0.1:8080 -h /tmp']);
    // httpd first: a connection kubectl cannot complete may end its port-forward.
    await eventually(async () => (await cri.runtime.ExecSync!({ container_id: containerId, cmd: ['wget', '-qO-', 'http://127.0.0.1:8080/index.html'], timeout: 10 }))['exit_code'] === 0, 'httpd answers in the pod');
    const forwarding = kubectl(['port-forward', 'pod/forward', ':8080']);
    try {
      const localPort = await eventually(async () => /Forwarding from 127\.0\.0\.1:(\d+) -> 8080/.exec(forwarding.stdout())?.[1], 'kubectl port-forward listens', 30_000);
      // Each connection is its own pair of streams on the one SPDY connection.
      for (let i = 0; i < 3; i++) {
        assert.equal(await fetchText(`http://127.0.0.1:${localPort}/index.html`), 'forwarded-hello\n');
      }
    } finally {
      forwarding.kill();
      await forwarding.done;
    }
    const refused = kubectl(['port-forward', 'pod/forward', ':9']);
    try {
      const localPort = await eventually(async () => /Forwarding from 127\.0\.0\.1:(\d+) -> 9/.exec(refused.stdout())?.[1], 'kubectl port-forward listens', 30_000);
      await fetchText(`http://127.0.0.1:${localPort}/`).catch(() => '');
      await eventually(async () => refused.stderr().includes('error forwarding port 9 to pod') || undefined, 'kubectl reports the refused port', 30_000);
      assert.match(refused.stderr(), /error forwarding port 9 to pod [0-9a-f]{64}: connecting to localhost:9 in the pod's network namespace: Connection refused/);
    } finally {
      refused.kill();
      await refused.done;
    }
    assert.deepEqual(api.upgrades.splice(0), ['SPDY/3.1 portforward.k8s.io', 'SPDY/3.1 portforward.k8s.io']);
  });
});
