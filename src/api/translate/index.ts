// Converters between docker's wire shapes (api/wire) and the engine's records (engine/).
// Imports engine/, api/wire and common/.
export * from './container.js';
export * from './image.js';
export * from './volume.js';
export * from './network.js';
export * from './stats.js';
export * from './event.js';
export { kernelMemoryWarnings, refuseUnsupportedCreateSettings, refuseUnsupportedEndpointSettings, refuseUnsupportedUpdateSettings } from './unsupported-settings.js';
