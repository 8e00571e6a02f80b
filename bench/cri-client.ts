/**
 * The CRI half of bench/cri: against a CRI socket (berthd's, or containerd's), RUNS times, the wall time of
 * RunPodSandbox (it answers once the pod is ready: its namespaces made, its network up) and of
 * a container's CreateContainer + StartContainer in that pod; each pod is removed after. Prints
 * one tab-separated line per measure: name, median, min, max (milliseconds).
 *
 *   node dist/bench/cri-client.js SOCKET RUNS [HANDLER]
 *
 * HANDLER is the RuntimeClass handler (runtime_handler) of the pods; the default is "".
 */
import { credentials, loadPackageDefinition, type GrpcObject, type ServiceClientConstructor, type ServiceError } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { CRI_PROTO_PATH, PROTO_LOADER_OPTIONS } from '../src/cri/index.js';

const [socket, runsText, handler = ''] = process.argv.slice(2);
if (!socket || !runsText) throw new Error('usage: cri-client.js SOCKET RUNS');
const runs = Number(runsText);
const pkg = (loadPackageDefinition(loadSync(CRI_PROTO_PATH, PROTO_LOADER_OPTIONS)) as unknown as { runtime: { v1: GrpcObject } }).runtime.v1;
const client = new (pkg['RuntimeService'] as ServiceClientConstructor)(`unix://${socket}`, credentials.createInsecure());
const call = (name: string, request: object): Promise<Record<string, unknown>> =>
  new Promise((resolve, reject) => {
    (client as unknown as Record<string, (r: object, cb: (e: ServiceError | null, v: Record<string, unknown>) => void) => void>)[name]!.call(client, request, (err, value) => (err ? reject(err) : resolve(value)));
  });

const namespaces = { network: 'POD', pid: 'CONTAINER', ipc: 'POD' };
const podStarts: number[] = [];
const containerStarts: number[] = [];
for (let i = -1; i < runs; i++) {
  // Run -1 is the warm-up.
  const config = { metadata: { name: `bench-${i + 1}`, uid: `bench-uid-${i + 1}`, namespace: 'bench', attempt: 0 }, hostname: 'bench', linux: { security_context: { namespace_options: namespaces } } };
  const t0 = performance.now();
  const podId = String((await call('RunPodSandbox', { config, runtime_handler: handler }))['pod_sandbox_id']);
  const t1 = performance.now();
  const id = String((await call('CreateContainer', { pod_sandbox_id: podId, sandbox_config: config, config: { metadata: { name: 'c', attempt: 0 }, image: { image: 'busybox' }, command: ['sleep', '1000'], linux: { security_context: { namespace_options: namespaces } } } }))['container_id']);
  await call('StartContainer', { container_id: id });
  const t2 = performance.now();
  // Stopped first, as the kubelet does (containerd refuses to remove a running pod).
  await call('StopPodSandbox', { pod_sandbox_id: podId });
  await call('RemovePodSandbox', { pod_sandbox_id: podId });
  if (i >= 0) {
    podStarts.push(t1 - t0);
    containerStarts.push(t2 - t1);
  }
}
client.close();
const line = (name: string, values: number[]): string => {
  const sorted = [...values].sort((a, b) => a - b);
  const median = sorted.length % 2 ? sorted[(sorted.length - 1) / 2]! : (sorted[sorted.length / 2 - 1]! + sorted[sorted.length / 2]!) / 2;
  return `${name}\t${median.toFixed(1)}\t${sorted[0]!.toFixed(1)}\t${sorted[sorted.length - 1]!.toFixed(1)}`;
};
process.stdout.write(`${line('pod sandbox start to ready (RunPodSandbox)', podStarts)}\n${line("a pod's container start (CreateContainer + StartContainer)", containerStarts)}\n`);
