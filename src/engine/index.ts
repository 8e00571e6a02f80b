// The engine: container records and their life, events, and the ports it needs from the
// image store and the runtime. Imports sys/ and common/; concrete services come from daemon/.
export * from './container.js';
export * from './errors.js';
export * from './events.js';
export * from './ports.js';
export { ManualClock, systemClock, type ClockTimer, type EngineClock } from './clock.js';
export { checkLogConfig, DEFAULT_LOG_DRIVER, logDriverName, LogsNotReadableError, parseRamSize, type LogDriverName, type LogPolicy } from './log-config.js';
export * from './container-service.js';
export * from './engine.js';
export * from './system-check.js';
export type { UnreadableRecord } from './container-store.js';
export * from './exec-service.js';
export * from './volumes.js';
export * from './networks.js';
export type { EndpointSettingsInput } from './container-networking.js';
export { InvalidMountError, type ContainerMountRecord, type MountRequest } from './mounts.js';
export { buildHosts, buildResolvConf } from './etc-files.js';
export * from './archive/index.js';
export { ConflictingUpdateError, NO_CGROUP_FEATURES, type CgroupFeatures, type ResourceUpdate } from './resources.js';
export { linksForInspect } from './legacy-links.js';
