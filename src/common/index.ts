// Errors, logging, ids, atomic files and unit parsing shared by every Berth folder.
// Imports no Berth code.
export * from './errors.js';
export * from './log.js';
export * from './ids.js';
export * from './atomic-file.js';
export * from './duration.js';
export * from './timestamp.js';
export * from './detach-keys.js';
export * from './crash-point.js';
export * from './dockerignore.js';
export * from './keyed-lock.js';
export * from './filters.js';
export * from './shared-connection.js';
export * from './stream-framing.js';
