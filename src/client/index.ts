// The typed Docker Engine API client over berthd's unix socket (node:http), with stream helpers.
// Imports api/wire/ and common/.
export * from './api-error.js';
export * from './demux.js';
export * from './json-stream.js';
export * from './host.js';
export * from './engine-client.js';
