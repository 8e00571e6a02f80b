// Docker Engine API JSON shapes (PascalCase, as moby's swagger.yaml) and zod schemas for request bodies.
// Imports nothing of ours (only zod).
export * from './container.js';
export * from './host-config.js';
export * from './image.js';
export * from './system.js';
export * from './schemas.js';
export * from './archive.js';
export * from './volume.js';
export * from './stats.js';
export * from './container-update.js';
export * from './network.js';
