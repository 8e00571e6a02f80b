/**
 * The CRI's gRPC server: the RuntimeService and ImageService of runtime-v1.proto on a unix
 * socket only root may open (0600), each RPC a method of the services in this folder. gRPC
 * itself answers UNIMPLEMENTED for any RPC the proto does not list.
 */
import { chmod, mkdir, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { loadPackageDefinition, Metadata, Server, ServerCredentials, type GrpcObject, type ServiceClientConstructor, type UntypedServiceImplementation, type sendUnaryData, type ServerUnaryCall } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { messageOf, type Logger } from '../common/index.js';
import { failureOf } from './grpc-errors.js';
import { CRI_PROTO_PATH, PROTO_LOADER_OPTIONS } from './proto-path.js';

/** One RPC: the request in, the response out (or a thrown error). */
export type CriHandler = (request: never) => Promise<object> | object;

/** Load runtime.v1 from the proto file. */
export function loadCriPackage(): GrpcObject {
  const definition = loadSync(CRI_PROTO_PATH, PROTO_LOADER_OPTIONS);
  const root = loadPackageDefinition(definition) as unknown as { runtime: { v1: GrpcObject } };
  return root.runtime.v1;
}

/** Wrap plain async handlers as grpc-js unary handlers; every failure becomes a status. */
function unaryHandlers(handlers: Record<string, CriHandler>, logger: Logger, service: string): UntypedServiceImplementation {
  const out: UntypedServiceImplementation = {};
  for (const [name, handler] of Object.entries(handlers)) {
    out[name] = (call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<unknown>) => {
      Promise.resolve()
        .then(() => (handler as (request: unknown) => Promise<object> | object)(call.request))
        .then(
          (response) => callback(null, response),
          (err: unknown) => {
            logger.debug('CRI call failed', { rpc: `${service}/${name}`, error: messageOf(err) });
            const { code, details, berthCode } = failureOf(err);
            const metadata = new Metadata();
            if (berthCode !== undefined) metadata.set('berth-code', berthCode);
            callback({ code, details, metadata });
          },
        );
    };
  }
  return out;
}

/** A running CRI server. */
export interface CriServer {
  socketPath: string;
  close(): Promise<void>;
}

/** Serve `runtime` and `image` handlers on `socketPath` (made root-only). */
export async function serveCri(options: { socketPath: string; runtime: Record<string, CriHandler>; image: Record<string, CriHandler>; logger: Logger }): Promise<CriServer> {
  const pkg = loadCriPackage();
  const server = new Server();
  server.addService((pkg['RuntimeService'] as ServiceClientConstructor).service, unaryHandlers(options.runtime, options.logger, 'RuntimeService'));
  server.addService((pkg['ImageService'] as ServiceClientConstructor).service, unaryHandlers(options.image, options.logger, 'ImageService'));
  await mkdir(dirname(options.socketPath), { recursive: true, mode: 0o700 });
  // A socket left by a daemon that died; the pid file already proved no other berthd runs.
  await rm(options.socketPath, { force: true });
  await new Promise<void>((resolve, reject) => {
    server.bindAsync(`unix://${options.socketPath}`, ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve()));
  });
  await chmod(options.socketPath, 0o600);
  return {
    socketPath: options.socketPath,
    async close() {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, 2000);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      });
      await rm(options.socketPath, { force: true });
    },
  };
}
