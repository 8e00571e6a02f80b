// The Runtime interface and its types, the OCI spec builder (spec/) and the conmon-driven runtime (conmon/).
// Imports oci/, sys/ and common/.
export * from './types.js';
export * from './runtime.js';
export * from './errors.js';
export * from './spec/build-runtime-spec.js';
export * from './spec/resolve-user.js';
export * from './spec/seccomp-profile.js';
export * from './spec/defaults.js';
export * from './conmon/conmon-runtime.js';
export * from './conmon/exit-watcher.js';
export * from './conmon/log-reader.js';
