// The host edge: spawning programs, mounts, cgroups, namespaces. Interfaces with real and fake
// implementations. Imports common/ only.
export * from './run-command.js';
export * from './cgroups.js';
export * from './cgroup-features.js';
export * from './mount.js';
export * from './mount-helper.js';
export * from './process-alive.js';
export * from './host-tools.js';
export * from './cgroup-stats.js';
export * from './socket-alive.js';
