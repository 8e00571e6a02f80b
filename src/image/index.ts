// Images: the image service (references, records, removal and pruning, the built-in busybox)
// and the engine-facing Image type. Imports store/, snapshot/, oci/, sys/ and common/.
export * from './image.js';
export * from './image-service.js';
export * from './builtin-busybox.js';
