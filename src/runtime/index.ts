// The Runtime interface and its types, the OCI spec builder (spec/) and the conmon-driven runtime (conmon/).
// Imports oci/, sys/ and common/.
export * from './types.js';
export * from './runtime.js';
export * from './errors.js';
export * from './spec/index.js';
export * from './conmon/index.js';
