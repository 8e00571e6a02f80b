// Unpacked image layers on overlayfs, the hardened layer extractor and overlay mounts.
// Imports oci/, sys/ and common/.
export * from './decompress.js';
export * from './layer-extractor.js';
export * from './overlay-snapshotter.js';
export * from './rooted-dir.js';
export * from './tree-packer.js';
export * from './tree-unpacker.js';
export * from './overlay-diff.js';
