// Named volumes and the local volume driver: records under <root>/volumes, data in _data.
// Imports sys/ and common/.
export * from './errors.js';
export * from './volume.js';
export { LocalDriver } from './local-driver.js';
export { VolumeService, type VolumeServiceOptions } from './volume-service.js';
