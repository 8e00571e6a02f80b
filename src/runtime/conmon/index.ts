// Driving an OCI runtime through conmon: create/start/kill/delete, exit files, k8s-file logs.
// Imports runtime/spec, oci/, sys/ and common/.
export * from './conmon-runtime.js';
export * from './exit-watcher.js';
export * from './log-reader.js';
export * from './log-rotation.js';
export * from './conmon-exec.js';
