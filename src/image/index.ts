// Images: the image service (references, records, removal and pruning, the built-in busybox),
// registries (pull, push, login), archives (save, load, import) and the engine-facing Image
// type. Imports store/, snapshot/, oci/, sys/ and common/.
export * from './image.js';
export * from './image-service.js';
export * from './builtin-busybox.js';
export * from './progress.js';
export type { RegistryCredentials } from './registry/registry-auth.js';
export { type RegistryOptions, isInsecureRegistry } from './registry/registry-client.js';
export * from './registry/registry-errors.js';
