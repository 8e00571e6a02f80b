/**
 * A CRI client for the tests: @grpc/grpc-js over berthd's CRI socket, with the proto file
 * berthd serves. Each RPC is a promise; a failure rejects with the gRPC ServiceError (code,
 * details).
 */
import { credentials, loadPackageDefinition, type Client, type GrpcObject, type ServiceClientConstructor, type ServiceError } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { acceptsConnections } from '../../../src/sys/index.js';
import { eventually } from '../harness.js';
import { CRI_PROTO_PATH, PROTO_LOADER_OPTIONS } from '../../../src/cri/index.js';

type Call = (request: object) => Promise<Record<string, unknown>>;

export interface CriClient {
  runtime: Record<string, Call>;
  image: Record<string, Call>;
  close(): void;
}

function promisify(client: Client): Record<string, Call> {
  return new Proxy({}, {
    get: (_target, name: string) => (request: object) =>
      new Promise((resolve, reject) => {
        const method = (client as unknown as Record<string, (req: object, cb: (err: ServiceError | null, res: Record<string, unknown>) => void) => void>)[name];
        if (typeof method !== 'function') throw new Error(`no RPC ${name}`);
        method.call(client, request, (err, res) => (err ? reject(err) : resolve(res)));
      }),
  });
}

/**
 * A client of the CRI at socketPath, once berthd serves it there (it starts after the Docker
 * API). Waits for a connection, not the file: after a kill -9 the dead daemon's socket file
 * stays until the new one listens.
 */
export async function criClient(socketPath: string): Promise<CriClient> {
  await eventually(() => acceptsConnections(socketPath), `berthd serves the CRI on ${socketPath}`, 20_000);
  const pkg = (loadPackageDefinition(loadSync(CRI_PROTO_PATH, PROTO_LOADER_OPTIONS)) as unknown as { runtime: { v1: GrpcObject } }).runtime.v1;
  const address = `unix://${socketPath}`;
  const runtime = new (pkg['RuntimeService'] as ServiceClientConstructor)(address, credentials.createInsecure());
  const image = new (pkg['ImageService'] as ServiceClientConstructor)(address, credentials.createInsecure());
  return {
    runtime: promisify(runtime),
    image: promisify(image),
    close() {
      runtime.close();
      image.close();
    },
  };
}

/** The gRPC code and details a rejected call carries. */
export async function rejection(call: Promise<unknown>): Promise<{ code: number; details: string }> {
  try {
    await call;
  } catch (err) {
    const e = err as ServiceError;
    return { code: e.code, details: e.details };
  }
  throw new Error('the call succeeded');
}
