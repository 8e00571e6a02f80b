/**
 * What the engine needs from the services below it. The runtime's interface is runtime/'s own
 * `Runtime` (one interface, each isolation level a runtime with declared traits), re-exported
 * here with the types its requests use; the image, volume and network ports have files of their
 * own, re-exported here. The daemon passes in the concrete implementations; the engine sees only
 * these shapes, so tests can hand it fakes.
 */
export * from './image-port.js';
export * from './volume-port.js';
export * from './network-port.js';

export type {
  AttachOptions, AttachSession, BlkioDeviceLimit, ContainerMount, ContainerRuntimeSettings, CreateOptions, CreateResult, ExecProcess, LogFileOptions, LogRecord, Runtime, RuntimeResources,
  RuntimeState, RuntimeStats, RuntimeStatus, RuntimeTraits,
} from '../runtime/index.js';

/** What `docker logs` asks of a container's log (see Runtime.readLogs). */
export interface LogReadOptions {
  follow: boolean;
  tailLines: number | undefined;
  sinceNs: bigint | undefined;
  untilNs: bigint | undefined;
  stdout: boolean;
  stderr: boolean;
  signal: AbortSignal;
}
