// OCI image and runtime spec types, digests and descriptors. Imports common/ only.
export * from './runtime-spec.js';
export * from './image.js';
export * from './digest.js';
export * from './image-changes.js';
